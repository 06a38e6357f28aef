//! progenitor's `exec` hook: authentication, retries, deadlines, tracing, metrics and error
//! bodies for every generated operation, in one loop.

use crate::auth::{Auth, Token};
use crate::call_options::CallOptions;
use crate::error::{from_error_body, BodyTooLarge, Failure};
use crate::limit::{Limiter, Ticket};
use crate::metrics::{self, ClientMetrics, GaveUp, RetryReason};
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
    pub(crate) limiters: [Arc<Limiter>; 3],
    pub(crate) metrics: ClientMetrics,
    pub(crate) max_response_bytes: u64,
    pub(crate) timeout: Option<Duration>,
    /// The timeout the HTTP client applies to every request itself (`None` for a caller's
    /// client, whose settings are unknown).
    pub(crate) client_timeout: Option<Duration>,
    pub(crate) project_id: String,
    /// Each service's base URL (with the project path), in [`Service::index`] order, parsed
    /// once for the generated operations.
    pub(crate) bases: [crate::calls::Base; 3],
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

/// A generated client and the service it calls.
pub(crate) trait Api: ClientInfo<Inner> {
    const SERVICE: Service;
}

/// What a generated operation's `send` awaits (see `codegen/calls.rs`): [`run`], repeating an
/// attempt with a request built again by `rebuild`, with the builder's per-call `options`.
pub(crate) fn call<'a, C: Api>(
    client: &'a C,
    request: Request,
    info: &OperationInfo,
    rebuild: &'a (dyn Fn() -> Option<Request> + Send + Sync),
    options: Option<&'a CallOptions>,
) -> impl std::future::Future<Output = reqwest::Result<Response>> + 'a {
    run(
        client,
        C::SERVICE,
        request,
        info.operation_id,
        Some(rebuild),
        false,
        options,
    )
}

/// Every generated client sends through [`run`], with its service.
macro_rules! hooks {
    ($($client:ty => $service:expr),*) => {$(
        impl Api for $client {
            const SERVICE: Service = $service;
        }

        impl ClientHooks<Inner> for $client {
            fn exec(
                &self,
                request: Request,
                info: &OperationInfo,
            ) -> impl std::future::Future<Output = reqwest::Result<Response>> {
                run(self, $service, request, info.operation_id, None, false, None)
            }
        }
    )*};
}

hooks! {
    crate::generated::Client => Service::Conversation,
    crate::generated::templates::Client => Service::Templates,
    crate::generated::batch::Client => Service::Batch
}

/// Sends `request` with pacing, auth, retries and deadlines ([`attempts`]), and records the
/// call's duration and outcome.
#[allow(clippy::manual_async_fn)] // kept small, see `attempts`
pub(crate) fn run<'a, C: ClientInfo<Inner>>(
    client: &'a C,
    service: Service,
    request: Request,
    op: &'static str,
    rebuild: Option<&'a (dyn Fn() -> Option<Request> + Send + Sync)>,
    at_most_once: bool,
    options: Option<&'a CallOptions>,
) -> impl std::future::Future<Output = reqwest::Result<Response>> + 'a {
    async move {
        let metrics = &client.inner().0.metrics;
        let timer = metrics.call_timer();
        let result = attempts(client, service, request, op, rebuild, at_most_once, options).await;
        metrics.call(timer, op, &result);
        result
    }
}

/// The attempts of one call. A repeat is a copy of the request made before each attempt that
/// may be repeated, or, when the caller can build the request again cheaply (`rebuild`), a new
/// one made only when a repeat actually happens. `at_most_once` overrides
/// [`RetryConfig::retry_ambiguous_posts`] (bulk sends never risk a duplicate); `options`
/// replace the client's timeout, retry settings or deadline for this call.
///
/// Every call's future holds this one, so it is kept small: whatever only a failure, a wait
/// or a token fetch needs lives in futures boxed when that happens ([`after_failure`]), and the
/// arguments are used where the future captured them (an `async fn` keeps a second copy).
#[allow(clippy::manual_async_fn)] // on purpose, see above
fn attempts<'a, C: ClientInfo<Inner>>(
    client: &'a C,
    service: Service,
    mut request: Request,
    op: &'static str,
    rebuild: Option<&'a (dyn Fn() -> Option<Request> + Send + Sync)>,
    at_most_once: bool,
    options: Option<&'a CallOptions>,
) -> impl std::future::Future<Output = reqwest::Result<Response>> + 'a {
    async move {
        let shared = &*client.inner().0;
        if service == Service::Batch && !shared.auth.is_oauth() {
            let why = "the Batch API accepts only OAuth2 bearer tokens: build the client with \
                   Credentials::oauth2 (no request was sent)";
            return Ok(failure_response(
                Failure::Config(why.into()),
                StatusCode::UNAUTHORIZED,
            ));
        }
        let started = Instant::now();
        let (cfg, timeout, deadline) = CallOptions::resolve(options, shared, started);
        let mut state = Attempts {
            strict: at_most_once && cfg.retry_ambiguous_posts,
            deadline,
            retries: 0,
            throttled: 0,
            refreshed: false,
        };
        with_user_agent(&mut request);
        let limiter = &shared.limiters[service.index()];
        let metrics = &shared.metrics;

        loop {
            // Keep a copy only if another attempt can happen. A JSON body is in memory, so the
            // copy shares its bytes.
            let may_repeat = state.retries < cfg.max_retries
                || state.throttled < cfg.max_throttle_retries
                || (!state.refreshed && shared.auth.is_oauth());
            let spare = if may_repeat && rebuild.is_none() {
                request.try_clone()
            } else {
                None
            };
            // Requests wait here, not in a retry loop, once the API has asked us to slow down.
            let ticket = match limiter.try_acquire() {
                Some(ticket) => ticket,
                None => {
                    let acquired = Box::pin(limiter.acquire(state.deadline)).await;
                    metrics.pace(service, limiter.paced_rate());
                    match acquired {
                        Ok(ticket) => ticket,
                        Err(_) => {
                            metrics.gave_up(op, GaveUp::Deadline);
                            return Ok(deadline_response(started));
                        }
                    }
                }
            };
            let token = match shared.auth.authorize(&mut request).await {
                Ok(t) => t,
                Err(e) => return Ok(failure_response(Failure::Auth(e), StatusCode::UNAUTHORIZED)),
            };
            if let Some(t) = attempt_timeout(timeout, state.deadline) {
                if t.is_zero() {
                    metrics.gave_up(op, GaveUp::Deadline);
                    return Ok(deadline_response(started));
                }
                if shared.client_timeout != Some(t) {
                    *request.timeout_mut() = Some(t);
                }
            }
            let method = request.method().clone();

            let attempt = state.retries + state.throttled + u32::from(state.refreshed) + 1;
            let span = tracing::debug_span!(
                "sinch.request",
                otel.kind = "client",
                otel.name = method.as_str(),
                otel.status_code = tracing::field::Empty,
                http.request.method = method.as_str(),
                server.address = request.url().host_str().unwrap_or_default(),
                server.port = request.url().port_or_known_default().unwrap_or_default(),
                http.request.resend_count = tracing::field::Empty,
                http.response.status_code = tracing::field::Empty,
                "error.type" = tracing::field::Empty,
                sinch.operation = op,
                attempt,
            );
            let timed = metrics.attempt(service, &method);
            let result = if span.is_disabled() {
                client.client().execute(request).await
            } else {
                if attempt > 1 {
                    span.record("http.request.resend_count", attempt - 1);
                }
                let result = client
                    .client()
                    .execute(request)
                    .instrument(span.clone())
                    .await;
                record_outcome(&span, &result);
                result
            };
            timed.end(op, &result);
            let result = match result {
                Ok(resp) if resp.status().is_success() => {
                    shared.budget.deposit();
                    limiter.accepted();
                    return Ok(bounded(resp, shared.max_response_bytes));
                }
                other => other,
            };
            let failed = Failed {
                result,
                method,
                spare,
                ticket,
                token,
            };
            match Box::pin(after_failure(
                shared, service, cfg, &mut state, failed, rebuild, op,
            ))
            .await
            {
                Next::Done(result) => return result,
                Next::Again(next) => request = next,
            }
        }
    }
}

/// The client span's status, as OpenTelemetry's HTTP conventions have it: an error for a
/// 4xx or 5xx answer or no answer, with `error.type`.
fn record_outcome(span: &tracing::Span, result: &reqwest::Result<Response>) {
    let error = match result {
        Ok(resp) => {
            let status = resp.status();
            span.record("http.response.status_code", status.as_u16());
            if status.as_u16() < 400 {
                return;
            }
            span.record("error.type", status.as_str());
            span.record("otel.status_code", "ERROR");
            return;
        }
        Err(e) => metrics::transport_error(e),
    };
    span.record("error.type", error);
    span.record("otel.status_code", "ERROR");
}

/// Where a call stands between attempts.
struct Attempts {
    /// Never repeat after an ambiguous failure, whatever the retry settings say.
    strict: bool,
    deadline: Option<Instant>,
    retries: u32,
    throttled: u32,
    refreshed: bool,
}

/// An attempt that did not succeed, with what is needed to repeat it.
struct Failed {
    result: reqwest::Result<Response>,
    method: reqwest::Method,
    spare: Option<Request>,
    ticket: Ticket,
    token: Option<Arc<Token>>,
}

enum Next {
    Done(reqwest::Result<Response>),
    /// Send this request next (any wait the failure asked for is over).
    Again(Request),
}

/// Decides what follows an unsuccessful attempt: a fresh token, a paced repeat after a 429,
/// a retry after backoff, or the end of the call with the error.
async fn after_failure(
    shared: &Shared,
    service: Service,
    cfg: &RetryConfig,
    state: &mut Attempts,
    failed: Failed,
    rebuild: Option<&(dyn Fn() -> Option<Request> + Send + Sync)>,
    op: &'static str,
) -> Next {
    let limiter = &shared.limiters[service.index()];
    let m = &shared.metrics;
    let strict;
    let cfg = if state.strict {
        strict = cfg.clone().retry_ambiguous_posts(false);
        &strict
    } else {
        cfg
    };
    let Failed {
        result,
        method,
        mut spare,
        ticket,
        token,
    } = failed;
    let mut again = || {
        spare.take().or_else(|| {
            let mut r = rebuild?()?;
            with_user_agent(&mut r);
            Some(r)
        })
    };
    let limit = shared.max_response_bytes;
    let (wait, reason, detail, next) = match result {
        Ok(resp) => {
            let status = resp.status();
            // A rejected token is replaced once, whatever the retry settings say.
            if let (StatusCode::UNAUTHORIZED, false, Some(used)) = (status, state.refreshed, &token)
            {
                if let Some(next) = again() {
                    shared.auth.invalidate(used);
                    state.refreshed = true;
                    m.retry(op, RetryReason::Unauthorized);
                    return Next::Again(next);
                }
            }
            if status == StatusCode::TOO_MANY_REQUESTS {
                // Pacing, not failure: slow down, wait as the API says, go again; the outage
                // budget is not touched.
                limiter.throttled(ticket);
                m.throttled(service, op);
                m.pace(service, limiter.paced_rate());
                let header = retry::parse_retry_after(resp.headers());
                let failed = read_error(resp, limit).await;
                // The body's RetryInfo is the more precise (Retry-After has whole seconds).
                let asked = failed
                    .extensions()
                    .get::<Failure>()
                    .and_then(Failure::retry_delay)
                    .or(header);
                let next = (state.throttled < cfg.max_throttle_retries)
                    .then(&mut again)
                    .flatten();
                let wait = asked.unwrap_or_else(|| cfg.backoff(state.throttled + 1));
                return match next {
                    Some(next) if wait <= cfg.max_retry_after && within(state.deadline, wait) => {
                        state.throttled += 1;
                        m.retry(op, RetryReason::Throttled);
                        tracing::debug!(operation = op, ?wait, "429: waiting as asked");
                        tokio::time::sleep(wait).await;
                        Next::Again(next)
                    }
                    Some(_) if wait <= cfg.max_retry_after => {
                        m.gave_up(op, GaveUp::Deadline);
                        Next::Done(Ok(failed))
                    }
                    _ => Next::Done(Ok(failed)),
                };
            }
            let retry =
                state.retries < cfg.max_retries && retry::status_is_retryable(cfg, &method, status);
            let Some(next) = retry.then(&mut again).flatten() else {
                return Next::Done(Ok(read_error(resp, limit).await));
            };
            let wait = match retry::parse_retry_after(resp.headers()) {
                Some(w) if w > cfg.max_retry_after => {
                    return Next::Done(Ok(read_error(resp, limit).await))
                }
                Some(w) => w,
                None => cfg.backoff(state.retries + 1),
            };
            if let Some(why) = cannot_retry(shared, state, wait) {
                m.gave_up(op, why);
                return Next::Done(Ok(read_error(resp, limit).await));
            }
            (
                wait,
                RetryReason::ServerError,
                format!("HTTP {status}"),
                next,
            )
        }
        Err(e) => {
            let retry =
                state.retries < cfg.max_retries && retry::error_is_retryable(cfg, &method, &e);
            let Some(next) = retry.then(&mut again).flatten() else {
                return Next::Done(Err(e));
            };
            let wait = cfg.backoff(state.retries + 1);
            if let Some(why) = cannot_retry(shared, state, wait) {
                m.gave_up(op, why);
                return Next::Done(Err(e));
            }
            let reason = if e.is_timeout() {
                RetryReason::Timeout
            } else {
                RetryReason::Transport
            };
            (wait, reason, e.without_url().to_string(), next)
        }
    };
    state.retries += 1;
    m.retry(op, reason);
    tracing::debug!(operation = op, retry = state.retries, ?wait, reason = %detail, "retrying");
    tokio::time::sleep(wait).await;
    Next::Again(next)
}

/// Also covers a caller-supplied reqwest::Client, which has its own default headers.
fn with_user_agent(request: &mut Request) {
    request
        .headers_mut()
        .entry(reqwest::header::USER_AGENT)
        .or_insert(reqwest::header::HeaderValue::from_static(
            crate::config::USER_AGENT,
        ));
}

/// What stops a retry after `wait`, if anything: the deadline, or an empty retry budget (a
/// retry that can happen pays for itself).
fn cannot_retry(shared: &Shared, state: &Attempts, wait: Duration) -> Option<GaveUp> {
    if !within(state.deadline, wait) {
        Some(GaveUp::Deadline)
    } else if !shared.budget.try_withdraw() {
        Some(GaveUp::RetryBudget)
    } else {
        None
    }
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
