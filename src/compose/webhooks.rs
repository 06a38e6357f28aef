//! Webhooks: where an app delivers which callbacks, and how it authenticates there.

use crate::types::{required, Webhook, WebhookClientCredentials, WebhookTrigger};

impl Webhook {
    /// App `app_id` posts the callbacks of `triggers` to `target` (a URL). The API requires
    /// only the app and the target, but a webhook without triggers receives nothing, so they
    /// are asked for here. Sign the callbacks with `with_secret` (see
    /// [`crate::webhook::Verifier`]).
    ///
    /// ```
    /// use sinch_conversation::types::{Webhook, WebhookTrigger};
    /// let webhook = Webhook::new(
    ///     "01HAPP...",
    ///     "https://hooks.example.com/sinch",
    ///     [WebhookTrigger::MessageInbound, WebhookTrigger::MessageDelivery],
    /// )
    /// .with_secret("a-webhook-secret");
    /// ```
    pub fn new(
        app_id: impl Into<String>,
        target: impl Into<String>,
        triggers: impl IntoIterator<Item = WebhookTrigger>,
    ) -> Self {
        Webhook::from(required::Webhook {
            app_id: app_id.into(),
            target: target.into(),
        })
        .with_triggers(triggers)
    }
}

impl WebhookClientCredentials {
    /// The webhook's target wants an OAuth2 bearer token: the API gets one from `endpoint`
    /// with this client id and secret (client credentials grant).
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        endpoint: impl Into<String>,
    ) -> Self {
        required::WebhookClientCredentials {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            endpoint: endpoint.into(),
        }
        .into()
    }
}
