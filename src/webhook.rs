//! Receiving callbacks: verify Sinch's signature, then parse the body into a typed [`Event`].
//!
//! Framework-agnostic: give it the request headers and the raw body bytes exactly as received.
//! The signature covers those bytes, so verify before parsing and never re-serialize first.
//!
//! ```
//! use sinch_conversation::webhook::{self, Event, Verifier};
//! # let body = br#"{"app_id":"a","message":{"contact_message":{"text_message":{"text":"hi"}}}}"#;
//! # let now = 1_700_000_000;
//! # let headers = webhook::signed_headers(b"secret", body, "nonce-1", now);
//! let verifier = Verifier::new("secret");
//! match verifier.verify_and_parse_at(&headers, body, now)? {
//!     Event::MessageInbound(e) => println!("{:?}", e.message.contact_message.text_message),
//!     other => println!("{:?} callback", other.trigger()),
//! }
//! # Ok::<(), webhook::WebhookError>(())
//! ```

mod events;
mod parse;
mod verify;

pub use events::{known_kinds, Envelope, Event, ParseError};
pub use parse::parse;
pub use verify::{
    sign, signed_headers, HeaderSource, SignatureError, Verifier, ALGORITHM, ALGORITHM_HEADER,
    DEFAULT_TOLERANCE, NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};

/// A callback that failed verification or parsing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The signature was not accepted: answer 401 and do not act on the body.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The body was signed but could not be parsed.
    #[error(transparent)]
    Parse(#[from] ParseError),
}

impl Verifier {
    /// Verifies against the system clock, then parses.
    pub fn verify_and_parse<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
    ) -> Result<Event, WebhookError> {
        self.verify(headers, body)?;
        Ok(parse(body)?)
    }

    /// Verifies as if the time were `now` (Unix seconds), then parses.
    pub fn verify_and_parse_at<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
        now: i64,
    ) -> Result<Event, WebhookError> {
        self.verify_at(headers, body, now)?;
        Ok(parse(body)?)
    }
}
