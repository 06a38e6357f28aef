//! Receiving callbacks: verify Sinch's signature, then parse the body into a typed [`Event`].
//!
//! Framework-agnostic: give it the request headers and the raw body bytes, exactly as received
//! (the signature covers the bytes, so parse only after verifying, and never re-serialize first).

mod events;

pub use events::{known_kinds, parse, Envelope, Event, ParseError};
