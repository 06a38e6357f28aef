//! The Conversation Batch API (beta): one message to many recipients with per-recipient
//! parameters, scheduled sends, bulk contacts and consents. Same client, token, retries and
//! errors as the Conversation API: get it with [`crate::Client::batch`]. It accepts OAuth2
//! bearer tokens only; a client with Basic credentials refuses its calls without sending them.

pub use crate::generated::batch::{builder, ext, types, Client, PATH_PREFIX};

impl crate::Client {
    /// The Batch API, sharing this client's configuration, token cache and connection pool.
    pub fn batch(&self) -> Client {
        Client::new_with_client(
            &self.inner.0.batch_url,
            self.client.clone(),
            self.inner.clone(),
        )
    }
}
