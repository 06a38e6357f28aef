//! What a client is doing, readable without the `metrics` feature: each rate limiter's pace and
//! the cached token's expiry.

use crate::region::Service;
use progenitor_client::ClientInfo as _;
use std::time::SystemTime;

impl crate::Client {
    /// The pace the rate limiter holds requests to the Conversation API to, in requests per
    /// second; `None` while it lets them go as they come (no 429 in the last 30 s and no
    /// [`RateLimit::ceiling`](crate::RateLimit::ceiling), or [`RateLimit::off`](crate::RateLimit::off)).
    /// [`templates::Client::pace`](crate::templates::Client::pace) and
    /// [`batch::Client::pace`](crate::batch::Client::pace) read the other services' limiters.
    pub fn pace(&self) -> Option<f64> {
        self.inner().0.limiters[Service::Conversation.index()].pace()
    }

    /// When the cached OAuth2 token expires (the client refreshes it a minute before); `None`
    /// with Basic credentials or before the first call.
    pub fn token_expiry(&self) -> Option<SystemTime> {
        self.inner().0.auth.expiry()
    }
}

impl crate::templates::Client {
    /// The pace of this service's rate limiter (see [`crate::Client::pace`]).
    pub fn pace(&self) -> Option<f64> {
        self.inner().0.limiters[Service::Templates.index()].pace()
    }
}

impl crate::batch::Client {
    /// The pace of this service's rate limiter (see [`crate::Client::pace`]).
    pub fn pace(&self) -> Option<f64> {
        self.inner().0.limiters[Service::Batch.index()].pace()
    }
}
