//! The front half of receiving a callback: bound, verify, parse, recognise copies; and the
//! HTTP status each outcome must get so the API does the right thing.

use super::dedup::{dedup_key, Claim, DedupKey, DedupStore, MemoryDedup, Owner, StoreError};
use super::{parse, Event, HeaderSource, ParseError, SignatureError, Verifier};
use http::StatusCode;
use std::fmt;
use std::sync::Arc;

/// Bodies larger than this are refused by default (413). Callbacks are a few kilobytes.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

/// Turns a request into a verified, typed, first-seen [`Event`], or says why not.
///
/// Framework-agnostic: give it the headers and the raw body. [`Receiver`](super::Receiver)
/// (feature `tower`) adds the hand-off to your code; use `Intake` alone when your framework
/// is something else and you hand events over yourself:
///
/// ```
/// use sinch_conversation::webhook::{self, Intake, Verifier};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let body = br#"{"app_id":"a","message":{"id":"m1","contact_message":{"text_message":{"text":"hi"}}}}"#;
/// # let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
/// # let headers = webhook::signed_headers(b"secret", body, "nonce-1", now);
/// let intake = Intake::new(Verifier::new("secret"));
/// let status = match intake.admit(&headers, body).await {
///     Ok(admitted) => {
///         // Hand `admitted.event` over (a queue, a database); then mark it done, so copies
///         // the API redelivers are acknowledged without being handed over again.
///         intake.complete(&admitted.key, admitted.owner).await;
///         200
///     }
///     // 200 for a copy already handed over; 401, 400 or 413 for what must not be retried
///     // as is; 503 when a copy is still being handled or the store is unavailable.
///     Err(rejection) => rejection.status().as_u16(),
/// };
/// assert_eq!(status, 200);
/// # }
/// ```
#[derive(Clone)]
pub struct Intake {
    verifier: Verifier,
    max_body: usize,
    dedup: Arc<dyn DedupStore>,
}

impl fmt::Debug for Intake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Intake")
            .field("verifier", &self.verifier)
            .field("max_body", &self.max_body)
            .finish_non_exhaustive()
    }
}

/// A callback that passed every check: handed over to you, with its key claimed.
#[derive(Debug)]
#[non_exhaustive]
pub struct Admitted {
    /// The typed event.
    pub event: Event,
    /// The key its copies share; [`Intake::complete`] or [`Intake::release`] it.
    pub key: DedupKey,
    /// This copy's claim on the key.
    pub owner: Owner,
}

/// Why a callback is not handed over, and what to answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The body is larger than the limit: 413 (the API does not retry 4xx as is).
    #[error("callback body over {limit} bytes")]
    TooLarge {
        /// The limit in force.
        limit: usize,
    },
    /// The signature is missing, wrong, stale or uses another algorithm: 401. Forged,
    /// tampered and replayed-after-the-window callbacks end here, never in your code.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// Signed, but not a callback this crate can read: 400 (a redelivery would be the same).
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The body could not be read (the connection broke): 400; nobody is left to answer, and
    /// the API retries a try that got no answer.
    #[error("callback body could not be read")]
    Unreadable,
    /// A copy of a callback already handed over: 200, so the API stops redelivering it.
    #[error("already handed over")]
    Duplicate,
    /// A copy of a callback that is being handed over right now and may still fail: 503, so
    /// the API asks again later (by then it is done, or free to be handed over).
    #[error("a copy is being handled")]
    InProgress,
    /// The dedup store could not answer: 503, redelivered later.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The receiver is full or shutting down: 503, redelivered later (feature `tower`).
    #[error("receiver is {0}")]
    Unavailable(&'static str),
    /// The application's handler failed or took too long (`Ack::Handled` only): 503.
    #[error("handler did not finish: {0}")]
    Handler(String),
}

impl Rejection {
    /// The HTTP status that makes the API do the right thing (see the module docs).
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::Signature(_) => StatusCode::UNAUTHORIZED,
            Rejection::Parse(_) | Rejection::Unreadable => StatusCode::BAD_REQUEST,
            Rejection::Duplicate => StatusCode::OK,
            Rejection::InProgress
            | Rejection::Store(_)
            | Rejection::Unavailable(_)
            | Rejection::Handler(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl Intake {
    /// Checks signatures with `verifier`; bodies up to 1 MiB; copies recognised by an
    /// in-memory [`MemoryDedup`] with its defaults.
    pub fn new(verifier: Verifier) -> Self {
        Intake {
            verifier,
            max_body: DEFAULT_MAX_BODY,
            dedup: Arc::new(MemoryDedup::default()),
        }
    }

    /// The largest body accepted, in bytes (default 1 MiB).
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Where keys of handled callbacks are kept (default: [`MemoryDedup::default`]).
    pub fn dedup(self, store: impl DedupStore) -> Self {
        self.dedup_shared(Arc::new(store))
    }

    /// [`Self::dedup`] with a store you keep a handle to (to inspect it, or share it).
    pub fn dedup_shared(mut self, store: Arc<dyn DedupStore>) -> Self {
        self.dedup = store;
        self
    }

    /// The body limit in force.
    pub fn body_limit(&self) -> usize {
        self.max_body
    }

    /// Bounds, verifies (system clock), parses and claims a callback.
    ///
    /// On `Ok` the key is claimed: call [`Self::complete`] once the event is safely handed
    /// over, or [`Self::release`] if that failed, so a redelivered copy is handed over.
    pub async fn admit<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
    ) -> Result<Admitted, Rejection> {
        if body.len() > self.max_body {
            return Err(Rejection::TooLarge {
                limit: self.max_body,
            });
        }
        self.verifier.verify(headers, body)?;
        let event = parse(body)?;
        let key = dedup_key(&event, body);
        let owner = Owner::random();
        match self.dedup.claim(&key, owner).await? {
            Claim::New => Ok(Admitted { event, key, owner }),
            Claim::Done => Err(Rejection::Duplicate),
            Claim::InProgress => Err(Rejection::InProgress),
        }
    }

    /// Marks `key` handed over by `owner`. A store error is logged: the event is already with
    /// you, and at worst a later copy is handed over again.
    pub async fn complete(&self, key: &DedupKey, owner: Owner) {
        if let Err(e) = self.dedup.complete(key, owner).await {
            tracing::warn!(key = %key, error = %e, "could not mark a callback handled");
        }
    }

    /// Forgets `owner`'s claim on `key`, so the next copy is handed over. A store error is
    /// logged: the claim then holds until its lease runs out, and copies are answered 503
    /// until it does.
    pub async fn release(&self, key: &DedupKey, owner: Owner) {
        if let Err(e) = self.dedup.release(key, owner).await {
            tracing::warn!(key = %key, error = %e, "could not release a callback's claim");
        }
    }
}
