//! Answers as the API gives them: JSON bodies, and errors as `{"error": {code, message, status,
//! details}}`.

use bytes::Bytes;
use serde::Serialize;
use std::time::Duration;

/// A successful answer: status 200 with a JSON body.
pub(crate) struct Reply(pub Bytes);

impl Reply {
    pub fn json<T: Serialize>(value: &T) -> Result<Reply, ApiFailure> {
        serde_json::to_vec(value)
            .map(|v| Reply(v.into()))
            .map_err(|e| ApiFailure::internal(format!("serializing the response: {e}")))
    }
    /// The API's answer to a delete and other calls without a result.
    pub fn empty() -> Result<Reply, ApiFailure> {
        Ok(Reply(Bytes::from_static(b"{}")))
    }
}

/// A failed call, rendered as the API's error body.
#[derive(Debug, Clone)]
pub(crate) struct ApiFailure {
    pub status: u16,
    pub message: String,
    /// `error.status` when it is not the usual name for the code (`FAILED_PRECONDITION`).
    pub name: Option<&'static str>,
    /// Sent as `WWW-Authenticate` (an expired token's challenge).
    pub www_authenticate: Option<String>,
    /// Sent as `Retry-After` (whole seconds, rounded up) and as a `RetryInfo` detail.
    pub retry_after: Option<Duration>,
}

impl ApiFailure {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        ApiFailure {
            status,
            message: message.into(),
            name: None,
            www_authenticate: None,
            retry_after: None,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }
    /// A well-formed request the resource's current state refuses (400 `FAILED_PRECONDITION`).
    pub fn precondition(message: impl Into<String>) -> Self {
        ApiFailure {
            name: Some("FAILED_PRECONDITION"),
            ..Self::new(400, message)
        }
    }
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(404, format!("{what} {id} not found"))
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, message)
    }
    pub fn rate_limited(message: impl Into<String>, wait: Duration) -> Self {
        ApiFailure {
            retry_after: Some(wait),
            ..Self::new(429, message)
        }
    }

    /// The gRPC-style status name the API puts in `error.status`.
    pub fn status_name(&self) -> &'static str {
        if let Some(name) = self.name {
            return name;
        }
        match self.status {
            400 | 413 | 415 => "INVALID_ARGUMENT",
            401 => "UNAUTHENTICATED",
            403 => "PERMISSION_DENIED",
            404 => "NOT_FOUND",
            409 => "ALREADY_EXISTS",
            429 => "RESOURCE_EXHAUSTED",
            501 => "UNIMPLEMENTED",
            503 => "UNAVAILABLE",
            504 => "DEADLINE_EXCEEDED",
            _ => "INTERNAL",
        }
    }

    pub fn body(&self) -> Bytes {
        let mut details = vec![];
        if let Some(wait) = self.retry_after {
            details.push(serde_json::json!({
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": format!("{:.3}s", wait.as_secs_f64()),
            }));
        }
        let body = serde_json::json!({"error": {
            "code": self.status,
            "message": self.message,
            "status": self.status_name(),
            "details": details,
        }});
        Bytes::from(body.to_string())
    }

    /// `Retry-After` in whole seconds, at least one.
    pub fn retry_after_header(&self) -> Option<String> {
        let wait = self.retry_after?;
        Some(wait.as_secs_f64().ceil().max(1.0).to_string())
    }

    /// The headers that go with the error body.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![];
        if let Some(v) = self.retry_after_header() {
            h.push(("retry-after", v));
        }
        if let Some(v) = &self.www_authenticate {
            h.push(("www-authenticate", v.clone()));
        }
        h
    }
}
