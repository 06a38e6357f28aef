//! When to retry, how long to wait, and the budget that stops retry storms.

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

/// Retry settings. The default retries up to 3 times with capped, fully jittered exponential
/// backoff, honours `Retry-After`, and gives up when a call has taken 60 s in all.
///
/// What is retried:
/// - 429 always, and not counted as a failure: the API refused the request without processing
///   it, and says when to come back (a `RetryInfo` detail or `Retry-After`; backoff when it
///   does not). Such waits are bounded by the call's deadline and
///   [`RetryConfig::max_throttle_retries`], never by `max_retries` or the retry budget. The
///   client's rate limiter ([`crate::RateLimit`]) makes them rare.
/// - 500, 502, 503, 504, timeouts and other transport failures: for idempotent methods
///   (GET, DELETE, PATCH, PUT).
/// - Non-idempotent POSTs (send message, send event, create, inject, merge): only 429, 503
///   and connection failures before any byte was sent. After an ambiguous failure (another
///   5xx, a timeout mid-request) the message may already be on its way to a handset, and
///   sending it again would deliver it twice; [`RetryConfig::retry_ambiguous_posts`] opts in.
#[derive(Debug, Clone)]
pub struct RetryConfig {
    pub(crate) max_retries: u32,
    pub(crate) max_throttle_retries: u32,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) max_retry_after: Duration,
    pub(crate) max_elapsed: Option<Duration>,
    pub(crate) retry_ambiguous_posts: bool,
    pub(crate) budget: BudgetConfig,
}

/// A token bucket shared by all calls of a client: a retry withdraws `retry_cost` tokens, a
/// success deposits one back. When the API is down the bucket drains and calls fail fast
/// instead of multiplying the load.
#[derive(Debug, Clone, Copy)]
pub struct BudgetConfig {
    /// Tokens in a full bucket.
    pub capacity: u32,
    /// Tokens one retry costs.
    pub retry_cost: u32,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        BudgetConfig {
            capacity: 500,
            retry_cost: 5,
        }
    }
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_retries: 3,
            max_throttle_retries: 100,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(60),
            max_elapsed: Some(Duration::from_secs(60)),
            retry_ambiguous_posts: false,
            budget: BudgetConfig::default(),
        }
    }
}

impl RetryConfig {
    /// No retries at all, not even after a 429 (401 token refresh still happens once).
    pub fn disabled() -> Self {
        RetryConfig {
            max_retries: 0,
            max_throttle_retries: 0,
            ..Self::default()
        }
    }
    /// Retries after failures (5xx, timeouts, transport errors), each paid from the budget.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }
    /// Repeats after 429 answers (default 100; the call's deadline usually ends it first).
    pub fn max_throttle_retries(mut self, n: u32) -> Self {
        self.max_throttle_retries = n;
        self
    }
    /// First backoff step; each further step doubles, up to [`Self::max_backoff`].
    pub fn initial_backoff(mut self, d: Duration) -> Self {
        self.initial_backoff = d;
        self
    }
    /// Cap of one backoff step.
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }
    /// Longest `Retry-After` that is waited for; a longer one ends the call with the error.
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }
    /// Deadline for a whole call, retries and waits included (`None`: no deadline).
    pub fn max_elapsed(mut self, d: Option<Duration>) -> Self {
        self.max_elapsed = d;
        self
    }
    /// Also retry non-idempotent POSTs after ambiguous failures (may send twice).
    pub fn retry_ambiguous_posts(mut self, yes: bool) -> Self {
        self.retry_ambiguous_posts = yes;
        self
    }
    /// The retry budget shared by the client's calls.
    pub fn budget(mut self, budget: BudgetConfig) -> Self {
        self.budget = budget;
        self
    }

    /// Backoff before retry number `retry` (1-based): full jitter over a capped exponential.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(1u32 << retry.saturating_sub(1).min(20));
        let cap = exp.min(self.max_backoff);
        cap.mul_f64(rand::random::<f64>())
    }
}

pub(crate) fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::PATCH
    )
}

/// Whether a failure response with `status` may be retried for a request with `method` (429s
/// are pacing, handled before this).
pub(crate) fn status_is_retryable(cfg: &RetryConfig, method: &Method, status: StatusCode) -> bool {
    match status {
        // The server says it did not take the request: safe even for POST.
        StatusCode::SERVICE_UNAVAILABLE => true,
        StatusCode::INTERNAL_SERVER_ERROR
        | StatusCode::BAD_GATEWAY
        | StatusCode::GATEWAY_TIMEOUT => is_idempotent(method) || cfg.retry_ambiguous_posts,
        _ => false,
    }
}

/// Whether a transport failure may be retried.
pub(crate) fn error_is_retryable(cfg: &RetryConfig, method: &Method, e: &reqwest::Error) -> bool {
    // A failed connect sent nothing.
    if e.is_connect() {
        return true;
    }
    (e.is_timeout() || e.is_request() || e.is_body())
        && (is_idempotent(method) || cfg.retry_ambiguous_posts)
}

/// `Retry-After` as delay-seconds or an HTTP date.
pub fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The shared token bucket (see [`BudgetConfig`]). Lock-free: one atomic per client.
#[derive(Debug)]
pub(crate) struct Budget {
    tokens: AtomicU32,
    cfg: BudgetConfig,
}

impl Budget {
    pub(crate) fn new(cfg: BudgetConfig) -> Self {
        Budget {
            tokens: AtomicU32::new(cfg.capacity),
            cfg,
        }
    }

    /// Takes the cost of one retry; false when the bucket cannot pay for it.
    pub(crate) fn try_withdraw(&self) -> bool {
        self.tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                t.checked_sub(self.cfg.retry_cost)
            })
            .is_ok()
    }

    /// Refunds one token after a success.
    pub(crate) fn deposit(&self) {
        // Skip the write when full: the common case on a healthy API touches no shared line.
        if self.tokens.load(Ordering::Relaxed) < self.cfg.capacity {
            let _ = self
                .tokens
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                    (t < self.cfg.capacity).then_some(t + 1)
                });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_jittered_and_capped() {
        let cfg = RetryConfig::default()
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_millis(300));
        for retry in 1..10 {
            let cap =
                Duration::from_millis(100 * (1 << (retry - 1))).min(Duration::from_millis(300));
            for _ in 0..50 {
                assert!(cfg.backoff(retry) <= cap);
            }
        }
    }

    #[test]
    fn retry_after_seconds_and_date() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(7)));
        let later = SystemTime::now() + Duration::from_secs(30);
        h.insert(RETRY_AFTER, httpdate::fmt_http_date(later).parse().unwrap());
        let d = parse_retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(27) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        h.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(parse_retry_after(&h), None);
    }

    #[test]
    fn post_is_not_retried_after_ambiguous_failures() {
        let cfg = RetryConfig::default();
        assert!(status_is_retryable(
            &cfg,
            &Method::POST,
            StatusCode::SERVICE_UNAVAILABLE
        ));
        assert!(!status_is_retryable(
            &cfg,
            &Method::POST,
            StatusCode::INTERNAL_SERVER_ERROR
        ));
        assert!(!status_is_retryable(
            &cfg,
            &Method::POST,
            StatusCode::BAD_GATEWAY
        ));
        assert!(status_is_retryable(
            &cfg,
            &Method::GET,
            StatusCode::INTERNAL_SERVER_ERROR
        ));
        assert!(!status_is_retryable(
            &cfg,
            &Method::GET,
            StatusCode::BAD_REQUEST
        ));
        let opted = cfg.retry_ambiguous_posts(true);
        assert!(status_is_retryable(
            &opted,
            &Method::POST,
            StatusCode::INTERNAL_SERVER_ERROR
        ));
    }

    #[test]
    fn budget_drains_and_refills() {
        let b = Budget::new(BudgetConfig {
            capacity: 10,
            retry_cost: 5,
        });
        assert!(b.try_withdraw());
        assert!(b.try_withdraw());
        assert!(!b.try_withdraw());
        for _ in 0..5 {
            b.deposit();
        }
        assert!(b.try_withdraw());
        for _ in 0..100 {
            b.deposit();
        }
        assert_eq!(b.tokens.load(Ordering::Relaxed), 10);
    }
}
