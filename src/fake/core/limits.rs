//! The project request limit: a token bucket refilled at the configured rate.

use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

pub(crate) struct Bucket {
    rate: f64,
    burst: f64,
    /// (tokens, when they were counted)
    state: Mutex<(f64, Instant)>,
}

impl Bucket {
    /// `burst` defaults to a tenth of a second's worth, at least one request.
    pub fn new(rate: f64, burst: Option<f64>) -> Self {
        let burst = burst.unwrap_or(rate / 10.0).max(1.0);
        Bucket {
            rate,
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Takes one request's token, or says how long until one is available.
    pub fn take(&self) -> Result<(), Duration> {
        let now = Instant::now();
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let tokens = (s.0 + now.duration_since(s.1).as_secs_f64() * self.rate).min(self.burst);
        if tokens >= 1.0 {
            *s = (tokens - 1.0, now);
            Ok(())
        } else {
            *s = (tokens, now);
            Err(Duration::from_secs_f64((1.0 - tokens) / self.rate))
        }
    }
}
