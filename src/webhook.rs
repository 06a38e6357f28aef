//! Receiving callbacks: verify Sinch's signature, parse the body into a typed [`Event`], and
//! hand each callback to your code once.
//!
//! Three layers, use the one that fits:
//!
//! - [`Verifier`] and [`parse`]: framework-agnostic checks on the headers and the raw body
//!   bytes exactly as received. The signature covers those bytes, so verify before parsing and
//!   never re-serialize first.
//! - [`Intake`]: also bounds the body and recognises redelivered copies ([`dedup_key`],
//!   [`DedupStore`]), and says which HTTP status each outcome must get.
//! - [`Receiver`] (feature `tower`): also hands events to your [`Handler`] through a bounded
//!   queue, optionally in order per conversation or contact, and drains on shutdown; served
//!   as a tower `Service` or `Layer` (hyper, axum, tonic), or called from any framework. With
//!   feature `axum`, the [`Callback`] extractor lets you write the handler yourself.
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
//!
//! # What the API is answered
//!
//! The API retries a callback its receiver did not acknowledge with a 2xx. Sinch documents
//! the platform's rule for its SMS and WhatsApp callbacks: 5xx (and 429) are retried with a
//! doubling backoff (5 s, 10 s, 20 s, ... for almost 23 hours), other 4xx are not retried; the
//! Conversation API's callbacks page says only that non-2xx answers are retried. So:
//!
//! | Outcome | Status | What the API does |
//! | --- | --- | --- |
//! | handed over (queued, or handled with `Ack::Handled`) | 200 | done |
//! | a copy of a callback already handed over | 200 | done; your code does not see it again |
//! | signature missing, wrong, stale, or not `HmacSHA256` | 401 | not retried as is (a forgery or replay stays one) |
//! | signed, but not a readable callback | 400 | not retried (a redelivery would be the same bytes) |
//! | body over the limit | 413 | not retried |
//! | queue full, shutting down, a copy still in progress, store down, handler failed (`Ack::Handled`) | 503 + `Retry-After` | redelivered later: not lost |
//!
//! 503, not 429, for "full": every reading of the API's rules retries 5xx, while 429 is
//! documented as retried only for the SMS API.
//!
//! # Guarantees
//!
//! - **Never handed over**: a callback whose signature does not verify with one of the
//!   secrets (forged, tampered, signed with another secret), whose timestamp is outside the
//!   tolerance (stale, replayed later), or that does not parse.
//! - **Handed over once**: every copy of a callback with the same [`dedup_key`] after the
//!   first was handed over, while the store remembers the key ([`MemoryDedup`]: bounded by
//!   count and age). A copy that arrives while the first is still being handed over is
//!   answered 503, and is handed over only if the first fails.
//! - **Not lost**: a callback is acknowledged only once it is in the bounded queue
//!   ([`Ack::Accepted`]) or handled ([`Ack::Handled`]); when it cannot be, the answer is 503
//!   and the API redelivers it.
//! - **Not guaranteed**: with `Ack::Accepted`, events still queued when the process crashes
//!   are lost (acknowledged but not handled; at most the queue's capacity). With
//!   `Ack::Handled`, a crash after your handler's side effect and before the key is marked
//!   done lets the redelivered copy be handled again (at-least-once); make that handler
//!   idempotent, for example keyed by [`dedup_key`] in your database. An in-memory store
//!   forgets on restart and is per instance: several instances need a shared [`DedupStore`].
//!   A copy arriving after its key was evicted is handed over again. [`OrderBy`] keeps the
//!   order in which callbacks were accepted; that is the order they happened in when the
//!   sender retries a webhook's callback before sending the next, as the embedded fake does.
//!   Sinch does not document its own ordering, so compare `accepted_time` or `event_time`
//!   where order matters across a long outage.

mod dedup;
mod events;
#[cfg(feature = "axum")]
mod extract;
mod intake;
mod parse;
#[cfg(feature = "tower")]
mod receiver;
#[cfg(feature = "redis")]
mod redis_dedup;
#[cfg(feature = "tower")]
mod service;
mod verify;

pub use dedup::{dedup_key, Claim, DedupKey, DedupStore, MemoryDedup, Owner, StoreError};
pub use events::{known_kinds, Envelope, Event, ParseError};
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use extract::Callback;
pub use intake::{Admitted, Intake, Rejection, DEFAULT_MAX_BODY};
pub use parse::parse;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub use receiver::{Ack, BoxError, Handler, OrderBy, Receiver, ReceiverBuilder, Stats};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis_dedup::RedisDedup;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub use service::{ReceiverLayer, ReceiverService, WithReceiver};
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
