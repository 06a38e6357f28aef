//! The request log behind [`crate::fake::Fake::requests`].

use bytes::Bytes;
use std::sync::Mutex;
use std::time::SystemTime;

/// One request the fake received, with the status it answered.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The operationId (`Messages_SendMessage`, ...), `oauth2.token`, or `unknown` for a path
    /// the API does not have.
    pub operation: String,
    /// HTTP method.
    pub method: String,
    /// Path as received.
    pub path: String,
    /// Query string, if any.
    pub query: Option<String>,
    /// `Authorization` scheme used (`Basic`, `Bearer`), never the credential itself.
    pub auth_scheme: Option<String>,
    /// Body bytes as received.
    pub body: Bytes,
    /// Status answered; 0 when the connection was dropped by a fault plan.
    pub status: u16,
    /// When it arrived.
    pub received_at: SystemTime,
}

impl RecordedRequest {
    /// The body as JSON, when it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

#[derive(Default)]
pub(crate) struct Log {
    entries: Mutex<Vec<RecordedRequest>>,
}

impl Log {
    pub fn push(&self, r: RecordedRequest) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(r);
    }

    pub fn snapshot(&self) -> Vec<RecordedRequest> {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
