//! Callback signatures: `base64(HMAC-SHA256(secret, body "." nonce "." timestamp))`.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Header carrying the base64 signature.
pub const SIGNATURE_HEADER: &str = "x-sinch-webhook-signature";
/// Header carrying the nonce mixed into the signature.
pub const NONCE_HEADER: &str = "x-sinch-webhook-signature-nonce";
/// Header carrying the signing time, in Unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-sinch-webhook-signature-timestamp";
/// Header naming the algorithm; Sinch uses `HmacSHA256`.
pub const ALGORITHM_HEADER: &str = "x-sinch-webhook-signature-algorithm";
/// The only algorithm Sinch signs with.
pub const ALGORITHM: &str = "HmacSHA256";
/// How far a timestamp may be from now by default: five minutes either way.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Why a callback's signature was not accepted. Messages never contain the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// A required signature header is absent.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// A header is present but unusable (not UTF-8, not a number, not base64).
    #[error("malformed header {header}: {reason}")]
    MalformedHeader {
        /// The header's name.
        header: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The algorithm header names something other than `HmacSHA256`.
    #[error("unsupported signature algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// The timestamp is further from now than the tolerance: a replay or a wrong clock.
    #[error("signature timestamp is {skew_seconds} s away from now, more than the {tolerance_seconds} s allowed")]
    StaleTimestamp {
        /// Signing time minus now, in seconds (negative: in the past).
        skew_seconds: i64,
        /// The tolerance in force.
        tolerance_seconds: u64,
    },
    /// The signature does not match the body, nonce, timestamp and secret.
    #[error("signature does not match")]
    BadSignature,
}

/// Where signature headers are read from: an [`http::HeaderMap`] or `(name, value)` pairs.
/// Names match case-insensitively.
pub trait HeaderSource {
    /// The value of the first header named `name`, as bytes.
    fn header(&self, name: &str) -> Option<&[u8]>;
}

impl HeaderSource for http::HeaderMap {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.get(name).map(|v| v.as_bytes())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderSource for [(K, V)] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref().as_bytes())
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> HeaderSource for [(K, V); N] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderSource for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header(name)
    }
}

fn hmac(secret: &[u8], body: &[u8], nonce: &[u8], timestamp: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    mac.update(b".");
    mac.update(nonce);
    mac.update(b".");
    mac.update(timestamp);
    mac
}

/// Signs a callback the way Sinch does, for testing your own handlers.
///
/// ```
/// use sinch_conversation::webhook::sign;
/// let sig = sign(b"my_secret_key", br#"{"event":"test"}"#, "01JHFFHWYY7HSS4FWTMDTQEK8V", 1736760161);
/// assert_eq!(sig, "ehhrg9MUuhpJUCo2drsI3zoqWViaojp8d6RahfBY3cg=");
/// ```
pub fn sign(secret: &[u8], body: &[u8], nonce: &str, timestamp: i64) -> String {
    let ts = timestamp.to_string();
    BASE64.encode(
        hmac(secret, body, nonce.as_bytes(), ts.as_bytes())
            .finalize()
            .into_bytes(),
    )
}

/// The four headers of a signed callback, for testing your own handlers.
pub fn signed_headers(
    secret: &[u8],
    body: &[u8],
    nonce: &str,
    timestamp: i64,
) -> Vec<(&'static str, String)> {
    vec![
        (SIGNATURE_HEADER, sign(secret, body, nonce, timestamp)),
        (NONCE_HEADER, nonce.to_owned()),
        (TIMESTAMP_HEADER, timestamp.to_string()),
        (ALGORITHM_HEADER, ALGORITHM.to_owned()),
    ]
}

/// Checks callback signatures with a webhook's secret (or several, during a rotation).
///
/// ```
/// use sinch_conversation::webhook::{self, Verifier};
/// # let (secret, body) = (b"s3cret".as_slice(), br#"{"app_id":"a"}"#.as_slice());
/// # let headers = webhook::signed_headers(secret, body, "n", 1_700_000_000);
/// let verifier = Verifier::new(secret);
/// verifier.verify_at(&headers, body, 1_700_000_000)?;
/// let event = webhook::parse(body)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Verifier {
    /// The webhook's secret first, then secrets still accepted during a rotation.
    secrets: Vec<Vec<u8>>,
    tolerance: Duration,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field(
                "secrets",
                &format_args!("[{} redacted]", self.secrets.len()),
            )
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

impl Drop for Verifier {
    fn drop(&mut self) {
        // Best effort: do not leave secrets in freed memory.
        for secret in &mut self.secrets {
            secret.iter_mut().for_each(|b| *b = 0);
        }
        std::hint::black_box(&self.secrets);
    }
}

impl Verifier {
    /// A verifier for the secret configured on the webhook, with a five-minute tolerance.
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        Verifier {
            secrets: vec![secret.as_ref().to_vec()],
            tolerance: DEFAULT_TOLERANCE,
        }
    }

    /// Also accepts signatures made with `secret`. For rotating a webhook's secret without
    /// rejecting a callback: accept the new and the old secret, update the webhook
    /// (`webhooks_update_webhook`), and drop the old one once callbacks signed with it can no
    /// longer arrive (after the tolerance, plus the API's redelivery horizon). Each secret is
    /// compared in constant time; a signature matching none costs one HMAC per secret.
    ///
    /// ```
    /// use sinch_conversation::webhook::{signed_headers, Verifier};
    /// let verifier = Verifier::new("new-secret").accept_also("old-secret");
    /// let body = br#"{"app_id":"a"}"#;
    /// let signed_before = signed_headers(b"old-secret", body, "n1", 1_700_000_000);
    /// assert!(verifier.verify_at(&signed_before, body, 1_700_000_000).is_ok());
    /// ```
    pub fn accept_also(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.secrets.push(secret.as_ref().to_vec());
        self
    }

    /// How far the signing time may be from now, either way. Keep it short: it bounds how long
    /// a captured callback can be replayed.
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Verifies against the system clock.
    pub fn verify<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
    ) -> Result<(), SignatureError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.verify_at(headers, body, i64::try_from(now).unwrap_or(i64::MAX))
    }

    /// Verifies as if the time were `now` (Unix seconds).
    ///
    /// Checks, in order: the headers are present and well formed, the algorithm is
    /// `HmacSHA256` (assumed when the header is absent), the timestamp is within the tolerance,
    /// and the signature matches (compared in constant time).
    pub fn verify_at<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
        now: i64,
    ) -> Result<(), SignatureError> {
        let text = |name: &'static str| -> Result<&str, SignatureError> {
            let raw = headers
                .header(name)
                .ok_or(SignatureError::MissingHeader(name))?;
            std::str::from_utf8(raw)
                .map(str::trim)
                .map_err(|_| SignatureError::MalformedHeader {
                    header: name,
                    reason: "not UTF-8",
                })
        };
        let signature = text(SIGNATURE_HEADER)?;
        let nonce = text(NONCE_HEADER)?;
        let timestamp = text(TIMESTAMP_HEADER)?;
        match text(ALGORITHM_HEADER) {
            Ok(alg) if !alg.eq_ignore_ascii_case(ALGORITHM) => {
                return Err(SignatureError::UnsupportedAlgorithm(alg.to_owned()))
            }
            Err(e @ SignatureError::MalformedHeader { .. }) => return Err(e),
            _ => {}
        }
        let signed_at: i64 = timestamp
            .parse()
            .map_err(|_| SignatureError::MalformedHeader {
                header: TIMESTAMP_HEADER,
                reason: "not a whole number of seconds",
            })?;
        let expected = BASE64
            .decode(signature)
            .map_err(|_| SignatureError::MalformedHeader {
                header: SIGNATURE_HEADER,
                reason: "not base64",
            })?;

        let skew = signed_at.saturating_sub(now);
        if skew.unsigned_abs() > self.tolerance.as_secs() {
            return Err(SignatureError::StaleTimestamp {
                skew_seconds: skew,
                tolerance_seconds: self.tolerance.as_secs(),
            });
        }
        // The timestamp is signed as sent, so a value with a leading `+` or zeros still verifies.
        let matches = |secret: &Vec<u8>| {
            hmac(secret, body, nonce.as_bytes(), timestamp.as_bytes())
                .verify_slice(&expected)
                .is_ok()
        };
        if self.secrets.iter().any(matches) {
            Ok(())
        } else {
            Err(SignatureError::BadSignature)
        }
    }
}
