//! The Template Management API v2: the templates that template messages send, with their
//! translations, channel overrides and variables. Same client, credentials, token, retries and
//! errors as the Conversation API: get it with [`crate::Client::templates`].

pub use crate::generated::templates::{builder, ext, types, Client, PATH_PREFIX};

impl crate::Client {
    /// The Template Management API, sharing this client's configuration, token cache and
    /// connection pool.
    ///
    /// ```no_run
    /// # async fn demo(client: sinch_conversation::Client) -> sinch_conversation::Result<()> {
    /// use sinch_conversation::prelude::*;
    /// let templates = client.templates().templates_v2_list_templates().send().await?;
    /// for t in &templates.templates {
    ///     println!("{:?} v{:?}: {:?}", t.id, t.version, t.description);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn templates(&self) -> Client {
        Client::new_with_client(
            &self.inner.0.templates_url,
            self.client.clone(),
            self.inner.clone(),
        )
    }
}
