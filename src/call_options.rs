//! Settings for one call: a timeout, retry settings or a deadline that replace the client's
//! for that call only, without building another client.

use crate::hooks::Shared;
use crate::retry::RetryConfig;
use std::time::Duration;
use tokio::time::Instant;

/// Settings for one call, in place of the client's: give them to an operation's builder with
/// `.options(..)`, or to [`Client::send_message_with_options`](crate::Client::send_message_with_options).
///
/// What is not set here stays as the client was built. Cheap to clone; build one and reuse it.
///
/// ```no_run
/// use std::time::{Duration, Instant};
/// use sinch_conversation::{prelude::*, CallOptions, Client, RetryConfig};
///
/// # async fn demo(client: &Client, request: &sinch_conversation::types::SendMessageRequest) -> Result<()> {
/// // A lookup on a user's request: fail fast rather than retry for a minute.
/// let quick = CallOptions::new()
///     .timeout(Duration::from_secs(2))
///     .retry(RetryConfig::default().max_retries(1));
/// let contact = client.contact_get_contact().contact_id("A_CONTACT_ID").options(quick).send().await?;
///
/// // A send that must be done before the caller's own deadline.
/// let by = CallOptions::new().deadline(Instant::now() + Duration::from_secs(5));
/// client.send_message_with_options(request, &by).await?;
/// # let _ = contact; Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct CallOptions {
    timeout: Option<Duration>,
    retry: Option<RetryConfig>,
    deadline: Option<Instant>,
}

impl CallOptions {
    /// Nothing replaced: the client's settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// The timeout of each attempt of this call, in place of
    /// [`ClientBuilder::timeout`](crate::ClientBuilder::timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retry settings for this call, in place of the client's: retries, backoff, how long a
    /// `Retry-After` is waited for, [`RetryConfig::max_elapsed`] and whether ambiguous POSTs
    /// are repeated. Retries are still paid from the client's retry budget (its
    /// [`RetryConfig::budget`] is the client's).
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = Some(retry);
        self
    }

    /// The call ends with [`Error::Timeout`](crate::Error::Timeout) at `at` at the latest,
    /// waits and retries included (or at the retry settings' `max_elapsed`, if that comes
    /// first): the last attempt's timeout is shortened to fit, and no wait or retry starts
    /// that would end after it.
    pub fn deadline(mut self, at: std::time::Instant) -> Self {
        self.deadline = Some(Instant::from_std(at));
        self
    }

    /// The retry settings, the attempt timeout and the deadline of a call that started at
    /// `started`, with `options` in place of the client's settings where given.
    pub(crate) fn resolve<'a>(
        options: Option<&'a CallOptions>,
        shared: &'a Shared,
        started: Instant,
    ) -> (&'a RetryConfig, Option<Duration>, Option<Instant>) {
        let Some(o) = options else {
            let deadline = shared.retry.max_elapsed.map(|d| started + d);
            return (&shared.retry, shared.timeout, deadline);
        };
        let retry = o.retry.as_ref().unwrap_or(&shared.retry);
        let elapsed = retry.max_elapsed.map(|d| started + d);
        let deadline = match (elapsed, o.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        (retry, o.timeout.or(shared.timeout), deadline)
    }
}
