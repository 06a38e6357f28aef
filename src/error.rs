//! The crate's one error type.
//!
//! Generated calls return `progenitor_client::Error<()>`; `?` (or `.map_err(Error::from)`)
//! turns it into [`Error`]. Error bodies are read by the client's hooks, not by the generated
//! code, so every API failure keeps its status and headers whether or not its body is JSON.

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::Deserialize;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Longest body excerpt kept in a [`Error::Decode`]; enough to recognise an HTML error page.
pub(crate) const SNIPPET_LIMIT: usize = 512;

/// Everything that can go wrong in a call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API answered with an error status and its documented JSON error body.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// A response (success or error) whose body is not the documented JSON.
    #[error("undecodable response{}: {source}; body starts with {snippet:?}", status_suffix(*.status))]
    Decode {
        /// The HTTP status; `None` when a 2xx body failed to match its type.
        status: Option<StatusCode>,
        /// At most 512 bytes of the body, lossily decoded as UTF-8.
        snippet: String,
        /// What did not parse.
        #[source]
        source: Arc<serde_json::Error>,
    },
    /// Credentials were rejected by the token endpoint, or no token could be obtained.
    #[error("authentication failed: {0}")]
    Auth(AuthError),
    /// The request or the whole call (retries included) ran out of time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// Connecting, sending or reading failed.
    #[error("transport error: {0}")]
    Transport(#[source] reqwest::Error),
    /// The client is misconfigured (missing project id, plain http to a remote host, ...).
    #[error("configuration error: {0}")]
    Config(String),
    /// A request could not be built from the given arguments (e.g. a missing required field).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The response body was larger than the client's limit
    /// ([`crate::ClientBuilder::max_response_bytes`]); it was not read whole.
    #[error("response body (HTTP {status}) is larger than the limit of {limit} bytes")]
    ResponseTooLarge {
        /// The status of the oversized response.
        status: StatusCode,
        /// The limit in force.
        limit: u64,
    },
}

fn status_suffix(status: Option<StatusCode>) -> String {
    status.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
}

/// An error status with the API's JSON error body.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status of the response.
    pub status: StatusCode,
    /// `error.code`: the HTTP status code as the API reports it.
    pub code: Option<i64>,
    /// `error.message`: a message meant for developers.
    pub message: String,
    /// `error.status`: the status name, such as `INVALID_ARGUMENT` or `UNAUTHENTICATED`.
    pub error_status: Option<String>,
    /// `error.details`: machine-readable details, each a JSON object with an `@type`.
    pub details: Vec<serde_json::Value>,
    /// Response headers (request ids, `Retry-After`, ...).
    pub headers: HeaderMap,
}

impl ApiError {
    /// The wait the API asked for in a `google.rpc.RetryInfo` detail (`"retryDelay": "1.5s"`).
    pub fn retry_delay(&self) -> Option<Duration> {
        self.details.iter().find_map(|d| {
            let kind = d.get("@type")?.as_str()?;
            if !kind.ends_with("google.rpc.RetryInfo") {
                return None;
            }
            parse_duration(d.get("retryDelay")?)
        })
    }
}

/// A protobuf `Duration` in JSON: `"1.5s"`, or the `{"seconds", "nanos"}` object form.
fn parse_duration(v: &serde_json::Value) -> Option<Duration> {
    if let Some(s) = v.as_str() {
        let secs: f64 = s.trim().strip_suffix('s')?.parse().ok()?;
        return Duration::try_from_secs_f64(secs).ok();
    }
    let seconds = v
        .get("seconds")
        .map_or(Some(0), |s| s.as_u64().or_else(|| s.as_str()?.parse().ok()))?;
    let nanos = v
        .get("nanos")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    Some(Duration::from_secs(seconds) + Duration::from_nanos(nanos))
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "API error {}", self.status)?;
        if let Some(s) = &self.error_status {
            write!(f, " {s}")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

/// Why no token or basic credentials could be used.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The token endpoint rejected the key (HTTP 400 or 401): not retried.
    #[error("the token endpoint rejected the credentials (HTTP {status}): {message}")]
    Rejected {
        /// Status from the token endpoint.
        status: StatusCode,
        /// Its explanation, when it gave one.
        message: String,
    },
    /// The token endpoint kept failing (429, 5xx or transport) after retries.
    #[error("the token endpoint is unavailable: {0}")]
    Unavailable(String),
    /// The token endpoint answered 2xx with something that is not a token.
    #[error("the token endpoint sent an unusable response: {0}")]
    InvalidResponse(String),
}

impl Error {
    /// The HTTP status, when the failure came with a response.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Decode { status, .. } => *status,
            Error::Auth(AuthError::Rejected { status, .. }) => Some(*status),
            Error::Transport(e) => e.status(),
            Error::ResponseTooLarge { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether repeating the same call later may succeed: rate limits, server errors,
    /// timeouts and transport failures. The client's own retries have already run.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(e) => is_retryable_status(e.status),
            Error::Decode { status, .. } => status.is_some_and(is_retryable_status),
            Error::Timeout(_) | Error::Transport(_) => true,
            Error::Auth(AuthError::Unavailable(_)) => true,
            Error::Auth(_)
            | Error::Config(_)
            | Error::InvalidRequest(_)
            | Error::ResponseTooLarge { .. } => false,
        }
    }

    /// The API error body, if this is an [`Error::Api`].
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The wait the server asked for: a `RetryInfo` detail in the error body (the more precise)
    /// or the `Retry-After` header.
    pub fn retry_after(&self) -> Option<Duration> {
        let e = self.api()?;
        e.retry_delay()
            .or_else(|| crate::retry::parse_retry_after(&e.headers))
    }
}

fn is_retryable_status(s: StatusCode) -> bool {
    s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error()
}

/// The failure the hooks attach to a response (as an extension) so that the synchronous
/// conversion below can build a typed error without reading the body again.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    Api(Box<ApiError>),
    Decode {
        status: StatusCode,
        snippet: String,
        source: Arc<serde_json::Error>,
    },
    Auth(AuthError),
    Timeout(String),
    TooLarge {
        status: StatusCode,
        limit: u64,
    },
    Config(String),
}

impl Failure {
    /// The wait an error body's `RetryInfo` detail asks for.
    pub(crate) fn retry_delay(&self) -> Option<Duration> {
        match self {
            Failure::Api(e) => e.retry_delay(),
            _ => None,
        }
    }
}

impl From<Failure> for Error {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Api(e) => Error::Api(e),
            Failure::Decode {
                status,
                snippet,
                source,
            } => Error::Decode {
                status: Some(status),
                snippet,
                source,
            },
            Failure::Auth(a) => Error::Auth(a),
            Failure::Timeout(s) => Error::Timeout(s),
            Failure::TooLarge { status, limit } => Error::ResponseTooLarge { status, limit },
            Failure::Config(s) => Error::Config(s),
        }
    }
}

/// The documented error envelope `{"error": {...}}`.
#[derive(Deserialize)]
struct Envelope {
    error: EnvelopeBody,
}

#[derive(Deserialize)]
struct EnvelopeBody {
    code: Option<i64>,
    #[serde(default)]
    message: String,
    status: Option<String>,
    #[serde(default)]
    details: Vec<serde_json::Value>,
}

/// Builds the failure for a non-2xx response from its status, headers and body.
pub(crate) fn from_error_body(status: StatusCode, headers: HeaderMap, body: &Bytes) -> Failure {
    match serde_json::from_slice::<Envelope>(body) {
        Ok(Envelope { error: e }) => Failure::Api(Box::new(ApiError {
            status,
            code: e.code,
            message: e.message,
            error_status: e.status,
            details: e.details,
            headers,
        })),
        Err(source) => Failure::Decode {
            status,
            snippet: snippet(body),
            source: Arc::new(source),
        },
    }
}

pub(crate) fn snippet(body: &[u8]) -> String {
    let cut = &body[..body.len().min(SNIPPET_LIMIT)];
    String::from_utf8_lossy(cut).into_owned()
}

impl<E> From<progenitor_client::Error<E>> for Error {
    fn from(e: progenitor_client::Error<E>) -> Self {
        use progenitor_client::Error as G;
        match e {
            G::InvalidRequest(s) => Error::InvalidRequest(s),
            G::CommunicationError(e) | G::ResponseBodyError(e) | G::InvalidUpgrade(e) => {
                transport(e)
            }
            G::ErrorResponse(rv) => Error::Api(Box::new(ApiError {
                status: rv.status(),
                code: None,
                message: String::new(),
                error_status: None,
                details: vec![],
                headers: rv.headers().clone(),
            })),
            G::InvalidResponsePayload(body, source) => Error::Decode {
                status: None,
                snippet: snippet(&body),
                source: Arc::new(source),
            },
            G::UnexpectedResponse(resp) => match resp.extensions().get::<Failure>() {
                Some(f) => f.clone().into(),
                None => Error::Api(Box::new(ApiError {
                    status: resp.status(),
                    code: None,
                    message: String::new(),
                    error_status: None,
                    details: vec![],
                    headers: resp.headers().clone(),
                })),
            },
            G::Custom(s) => Error::Config(s),
        }
    }
}

pub(crate) fn transport(e: reqwest::Error) -> Error {
    if let Some(too_large) = find_source::<BodyTooLarge>(&e) {
        return Error::ResponseTooLarge {
            status: too_large.status,
            limit: too_large.limit,
        };
    }
    if e.is_timeout() {
        Error::Timeout(e.to_string())
    } else {
        Error::Transport(e.without_url())
    }
}

/// Raised while reading a body past the client's limit (see [`Error::ResponseTooLarge`]).
#[derive(Debug, thiserror::Error)]
#[error("response body is larger than {limit} bytes")]
pub(crate) struct BodyTooLarge {
    pub status: StatusCode,
    pub limit: u64,
}

fn find_source<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<T>() {
            return Some(t);
        }
        cur = err.source();
    }
    None
}
