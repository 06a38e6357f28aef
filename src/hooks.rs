//! progenitor's `exec` hook: authentication, retries, deadlines, tracing and error bodies for
//! every generated operation, in one loop.

use crate::auth::Auth;
use crate::error::{from_error_body, BodyTooLarge, Failure};
use crate::limit::Limiter;
use crate::region::Service;
use crate::retry::{self, Budget, RetryConfig};
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::{Request, Response, StatusCode};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tracing::Instrument as _;

/// State shared by every clone of a [`crate::Client`] and the service clients it hands out:
/// credentials, token cache, retry settings, budget, rate limiters. Built by
/// [`crate::ClientBuilder`].
#[derive(Clone)]
pub struct Inner(pub(crate) Arc<Shared>);

pub(crate) struct Shared {
    pub(crate) auth: Auth,
    pub(crate) retry: RetryConfig,
    pub(crate) budget: Budget,
    /// One per service: each API counts its requests on its own.
    pub(crate) limiters: [Limiter; 3],
    pub(crate) max_response_bytes: u64,
    pub(crate) timeout: Option<Duration>,
    pub(crate) project_id: String,
    /// Base URLs (with the project path) of the Template Management and Batch APIs.
    pub(crate) templates_url: String,
    pub(crate) batch_url: String,
    /// `Messages_SendMessage`'s full URL, parsed once for [`crate::Client::send_message`].
    pub(crate) send_url: reqwest::Url,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner")
            .field("project_id", &self.0.project_id)
            .field("auth", &self.0.auth)
            .field("retry", &self.0.retry)
            .field("timeout", &self.0.timeout)
            .finish()
    }
}

/// Every generated client sends through [`run`], with its service.
macro_rules! hooks {
    ($($client:ty => $service:expr),*) => {$(
        impl ClientHooks<Inner> for $client {
            async fn exec(&self, request: Request, info: &OperationInfo) -> reqwest::Result<Response> {
                run(self, $service, request, info.operation_id, None, false).await
            }
        }
    )*};
}

hooks! {
    crate::generated::Client => Service::Conversation,
    crate::generated::templates::Client => Service::Templates,
    crate::generated::batch::Client => Service::Batch
}

/// Sends `request` with pacing, auth, retries and deadlines. A repeat is a copy of the request
/// made before each attempt that may be repeated, or, when the caller can build the request
/// again cheaply (`rebuild`), a new one made only when a repeat actually happens. `at_most_once`
/// overrides [`RetryConfig::retry_ambiguous_posts`] (bulk sends never risk a duplicate).
pub(crate) async fn run<C: ClientInfo<Inner>>(
    client: &C,
    service: Service,
    request: Request,
    op: &'static str,
    rebuild: Option<&(dyn Fn() -> Request + Send + Sync)>,
    at_most_once: bool,
) -> reqwest::Result<Response> {
    let shared = &*client.inner().0;
    let strict;
    let cfg = if at_most_once && shared.retry.retry_ambiguous_posts {
        strict = shared.retry.clone().retry_ambiguous_posts(false);
        &strict
    } else {
        &shared.retry
    };
    let started = Instant::now();
    let deadline = cfg.max_elapsed.map(|d| started + d);
    let method = request.method().clone();
    let mut request = with_user_agent(request);
    let again = |spare: &mut Option<Request>| {
        spare
            .take()
            .or_else(|| rebuild.map(|f| with_user_agent(f())))
    };
    if service == Service::Batch && !shared.auth.is_oauth() {
        let why = "the Batch API accepts only OAuth2 bearer tokens: build the client with \
                   Credentials::oauth2 (no request was sent)";
        return Ok(failure_response(
            Failure::Config(why.into()),
            StatusCode::UNAUTHORIZED,
        ));
    }
    let limiter = &shared.limiters[service.index()];
    let mut retries = 0u32;
    let mut throttled = 0u32;
    let mut refreshed = false;

    loop {
        let attempt = retries + throttled + u32::from(refreshed) + 1;
        // Keep a copy only if another attempt can happen. A JSON body is in memory, so the
        // copy shares its bytes.
        let may_repeat = retries < cfg.max_retries
            || throttled < cfg.max_throttle_retries
            || (!refreshed && shared.auth.is_oauth());
        let mut spare = if may_repeat && rebuild.is_none() {
            request.try_clone()
        } else {
            None
        };
        // Requests wait here, not in a retry loop, once the API has asked us to slow down.
        let Ok(ticket) = limiter.acquire(deadline).await else {
            return Ok(deadline_response(started));
        };
        let token = match shared.auth.authorize(&mut request).await {
            Ok(t) => t,
            Err(e) => return Ok(failure_response(Failure::Auth(e), StatusCode::UNAUTHORIZED)),
        };
        if let Some(t) = attempt_timeout(shared.timeout, deadline) {
            if t.is_zero() {
                return Ok(deadline_response(started));
            }
            *request.timeout_mut() = Some(t);
        }

        let span = tracing::debug_span!(
            "sinch.request",
            operation = op,
            attempt,
            status = tracing::field::Empty
        );
        let result = client
            .client()
            .execute(request)
            .instrument(span.clone())
            .await;

        let (wait, reason) = match result {
            Ok(resp) => {
                let status = resp.status();
                span.record("status", status.as_u16());
                if status.is_success() {
                    shared.budget.deposit();
                    return Ok(bounded(resp, shared.max_response_bytes));
                }
                // A rejected token is replaced once, whatever the retry settings say.
                if let (StatusCode::UNAUTHORIZED, false, Some(used)) = (status, refreshed, &token) {
                    if let Some(next) = again(&mut spare) {
                        shared.auth.invalidate(used);
                        refreshed = true;
                        request = next;
                        continue;
                    }
                }
                if status == StatusCode::TOO_MANY_REQUESTS {
                    // Pacing, not failure: slow down, wait as the API says, go again; the
                    // outage budget is not touched.
                    limiter.throttled(ticket);
                    let header = retry::parse_retry_after(resp.headers());
                    let failed = read_error(resp, shared.max_response_bytes).await;
                    // The body's RetryInfo is the more precise (Retry-After has whole seconds).
                    let asked = failed
                        .extensions()
                        .get::<Failure>()
                        .and_then(Failure::retry_delay)
                        .or(header);
                    let next = (throttled < cfg.max_throttle_retries)
                        .then(|| again(&mut spare))
                        .flatten();
                    let wait = asked.unwrap_or_else(|| cfg.backoff(throttled + 1));
                    match next {
                        Some(next) if wait <= cfg.max_retry_after && within(deadline, wait) => {
                            throttled += 1;
                            request = next;
                            tracing::debug!(operation = op, ?wait, "429: waiting as asked");
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                        _ => return Ok(failed),
                    }
                }
                let retry =
                    retries < cfg.max_retries && retry::status_is_retryable(cfg, &method, status);
                let Some(next) = retry.then(|| again(&mut spare)).flatten() else {
                    return Ok(read_error(resp, shared.max_response_bytes).await);
                };
                let wait = match retry::parse_retry_after(resp.headers()) {
                    Some(w) if w > cfg.max_retry_after => {
                        return Ok(read_error(resp, shared.max_response_bytes).await)
                    }
                    Some(w) => w,
                    None => cfg.backoff(retries + 1),
                };
                if !within(deadline, wait) || !shared.budget.try_withdraw() {
                    return Ok(read_error(resp, shared.max_response_bytes).await);
                }
                request = next;
                (wait, format!("HTTP {status}"))
            }
            Err(e) => {
                let retry =
                    retries < cfg.max_retries && retry::error_is_retryable(cfg, &method, &e);
                let Some(next) = retry.then(|| again(&mut spare)).flatten() else {
                    return Err(e);
                };
                let wait = cfg.backoff(retries + 1);
                if !within(deadline, wait) || !shared.budget.try_withdraw() {
                    return Err(e);
                }
                request = next;
                (wait, e.without_url().to_string())
            }
        };
        retries += 1;
        tracing::debug!(operation = op, retry = retries, ?wait, %reason, "retrying");
        tokio::time::sleep(wait).await;
    }
}

/// Also covers a caller-supplied reqwest::Client, which has its own default headers.
fn with_user_agent(mut request: Request) -> Request {
    request
        .headers_mut()
        .entry(reqwest::header::USER_AGENT)
        .or_insert(reqwest::header::HeaderValue::from_static(
            crate::config::USER_AGENT,
        ));
    request
}

fn within(deadline: Option<Instant>, wait: Duration) -> bool {
    deadline.is_none_or(|d| Instant::now() + wait < d)
}

/// The per-attempt timeout: the configured one, shortened to what is left of the deadline.
fn attempt_timeout(timeout: Option<Duration>, deadline: Option<Instant>) -> Option<Duration> {
    let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
    match (timeout, left) {
        (Some(t), Some(l)) => Some(t.min(l)),
        (t, l) => t.or(l),
    }
}

/// Reads an error response's body once (up to `limit` bytes) and carries the parsed failure
/// to `Error::from`.
async fn read_error(mut resp: Response, limit: u64) -> Response {
    let status = resp.status();
    let headers = std::mem::take(resp.headers_mut());
    let mut body = Vec::new();
    let failure = loop {
        match resp.chunk().await {
            Ok(Some(chunk)) if body.len() as u64 + chunk.len() as u64 > limit => {
                break Failure::TooLarge { status, limit };
            }
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => break from_error_body(status, headers, &body.into()),
            Err(e) => break Failure::Timeout(e.without_url().to_string()),
        }
    };
    failure_response(failure, status)
}

/// A success response whose body cannot grow past `limit`: refused at once when its
/// `Content-Length` says so, cut off with [`BodyTooLarge`] while reading otherwise.
fn bounded(resp: Response, limit: u64) -> Response {
    let status = resp.status();
    match resp.content_length() {
        Some(n) if n > limit => {
            failure_response(Failure::TooLarge { status, limit }, status_for_failure())
        }
        Some(_) => resp,
        None => {
            use futures_util::StreamExt as _;
            let (parts, body) = http::Response::<reqwest::Body>::from(resp).into_parts();
            let mut seen = 0u64;
            let chunks = http_body_util::BodyDataStream::new(body).map(move |chunk| {
                let chunk = chunk?;
                seen += chunk.len() as u64;
                if seen > limit {
                    return Err(Box::new(BodyTooLarge { status, limit })
                        as Box<dyn std::error::Error + Send + Sync>);
                }
                Ok(chunk)
            });
            Response::from(http::Response::from_parts(
                parts,
                reqwest::Body::wrap_stream(chunks),
            ))
        }
    }
}

/// The status on a synthetic failure response for a success that could not be used: any
/// status the generated code does not expect makes it hand the response back unread.
fn status_for_failure() -> StatusCode {
    StatusCode::BAD_GATEWAY
}

fn deadline_response(started: Instant) -> Response {
    let msg = format!("call deadline reached after {:?}", started.elapsed());
    failure_response(Failure::Timeout(msg), StatusCode::REQUEST_TIMEOUT)
}

/// A body-less response that carries `failure`; the generated code hands it back unread as
/// `UnexpectedResponse` (the normalised spec documents no error statuses).
fn failure_response(failure: Failure, status: StatusCode) -> Response {
    let mut resp = http::Response::new(Vec::<u8>::new());
    *resp.status_mut() = status;
    resp.extensions_mut().insert(failure);
    Response::from(resp)
}
