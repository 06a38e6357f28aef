//! A fake Sinch Conversation API that runs inside your tokio runtime (cargo feature `fake`).
//!
//! It behaves like the API rather than replaying scripts: OAuth2 and Basic auth, every
//! operation of the spec with in-memory state per project, ULID ids, paging, the API's error
//! bodies, the project rate limit (429 with `Retry-After` and a `google.rpc.RetryInfo` detail),
//! each app's outgoing queue drained at its rate, and signed callbacks to your webhooks. Fault
//! plans rehearse outages; everything received and delivered can be inspected.
//!
//! ```toml
//! [dev-dependencies]
//! sinch-conversation = { version = "0.1", features = ["fake"] }
//! ```
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> sinch_conversation::Result<()> {
//! use sinch_conversation::fake::Fake;
//! use sinch_conversation::prelude::*;
//! use sinch_conversation::types::{AppMessage, ConversationChannel, Recipient, SendMessageRequest};
//!
//! let fake = Fake::start().await?;
//! let client = fake.client();
//! let app = fake.create_app("My app", &[ConversationChannel::Sms]);
//! let request = SendMessageRequest::new(
//!     &app,
//!     Recipient::channel(ConversationChannel::Sms, "+15551234567"),
//!     AppMessage::text("Hello"),
//! );
//! let sent = client.send_message(&request).await?;
//! assert_eq!(fake.messages()[0].id, sent.message_id);
//! # Ok(()) }
//! ```
//!
//! Several fakes can run in one process (each binds its own port), so tests stay parallel.
//! What it does not model: real channels (delivery always succeeds unless the recipient opted
//! out), per-channel rate limits, billing, and Smart Conversations analysis.

mod apps;
mod auth;
mod callbacks;
mod contacts;
mod conversations;
mod ctx;
mod events;
mod extras;
mod faults;
mod inspect;
mod limits;
mod messages;
mod patch;
mod queue;
mod reply;
mod request;
mod routes;
mod server;
mod state;

pub use callbacks::{Attempt, DeliveredCallback};
pub use faults::Fault;
pub use inspect::RecordedRequest;
pub use routes::operations;

use crate::{types, Client, ClientBuilder, Credentials};
use state::Shared;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Settings of a [`Fake`]; start with [`Fake::builder`].
#[derive(Clone, Debug)]
pub struct FakeBuilder {
    cfg: Config,
}

/// What the fake was started with.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub addr: SocketAddr,
    pub project_id: String,
    pub key_id: String,
    pub key_secret: String,
    /// Further (project, key id, key secret) triples.
    pub extra_projects: Vec<(String, String, String)>,
    pub token_ttl: Duration,
    pub rate_limit: Option<f64>,
    pub burst: Option<f64>,
    pub queue_rate: f64,
    pub queue_capacity: usize,
    pub max_body: usize,
    pub callback_attempts: u32,
    pub callback_backoff: Duration,
    pub record_requests: bool,
}

impl Default for FakeBuilder {
    fn default() -> Self {
        FakeBuilder {
            cfg: Config {
                addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                project_id: "fake-project".into(),
                key_id: "fake-key-id".into(),
                key_secret: "fake-key-secret".into(),
                extra_projects: vec![],
                token_ttl: Duration::from_secs(3600),
                rate_limit: Some(800.0),
                burst: None,
                queue_rate: 20.0,
                queue_capacity: 500_000,
                max_body: 1024 * 1024,
                callback_attempts: 5,
                callback_backoff: Duration::from_millis(100),
                record_requests: true,
            },
        }
    }
}

impl FakeBuilder {
    /// Address to listen on (default `127.0.0.1:0`, a free port).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.cfg.addr = addr;
        self
    }
    /// The project id (default `fake-project`).
    pub fn project_id(mut self, id: impl Into<String>) -> Self {
        self.cfg.project_id = id.into();
        self
    }
    /// The access key of the project (default `fake-key-id` / `fake-key-secret`).
    pub fn key(mut self, key_id: impl Into<String>, key_secret: impl Into<String>) -> Self {
        self.cfg.key_id = key_id.into();
        self.cfg.key_secret = key_secret.into();
        self
    }
    /// The key id of the project's access key (default `fake-key-id`).
    pub fn key_id(mut self, key_id: impl Into<String>) -> Self {
        self.cfg.key_id = key_id.into();
        self
    }
    /// The secret of the project's access key (default `fake-key-secret`).
    pub fn key_secret(mut self, key_secret: impl Into<String>) -> Self {
        self.cfg.key_secret = key_secret.into();
        self
    }
    /// Another project with its own key and its own state (a key only reaches its project).
    pub fn extra_project(
        mut self,
        project_id: impl Into<String>,
        key_id: impl Into<String>,
        key_secret: impl Into<String>,
    ) -> Self {
        let p = (project_id.into(), key_id.into(), key_secret.into());
        self.cfg.extra_projects.push(p);
        self
    }
    /// Lifetime of issued OAuth2 tokens (`expires_in`; default one hour).
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.cfg.token_ttl = ttl;
        self
    }
    /// Requests per second per project before 429 (default 800, as the API documents;
    /// `None`: no limit).
    pub fn rate_limit(mut self, per_second: Option<f64>) -> Self {
        self.cfg.rate_limit = per_second.filter(|r| *r > 0.0);
        self
    }
    /// Requests the project limit lets through at once (default a tenth of a second's worth,
    /// at least one).
    pub fn rate_limit_burst(mut self, burst: f64) -> Self {
        self.cfg.burst = Some(burst.max(1.0));
        self
    }
    /// Messages per second each app's outgoing queue drains at (default 20).
    pub fn queue_rate(mut self, per_second: f64) -> Self {
        self.cfg.queue_rate = per_second.max(0.001);
        self
    }
    /// Messages an app's outgoing queue holds before sends get 429 (default 500,000).
    pub fn queue_capacity(mut self, messages: usize) -> Self {
        self.cfg.queue_capacity = messages;
        self
    }
    /// Largest request body accepted (default 1 MiB); larger ones get 413.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.cfg.max_body = bytes;
        self
    }
    /// How often a callback is tried and the first wait between tries, doubling (default 5
    /// tries from 100 ms).
    pub fn callback_retries(mut self, attempts: u32, first_backoff: Duration) -> Self {
        self.cfg.callback_attempts = attempts.max(1);
        self.cfg.callback_backoff = first_backoff;
        self
    }
    /// Keep every request for [`Fake::requests`] (default on; turn off for long benchmarks).
    pub fn record_requests(mut self, yes: bool) -> Self {
        self.cfg.record_requests = yes;
        self
    }

    /// Binds the address and serves in the background of the current tokio runtime.
    pub async fn start(self) -> crate::Result<Fake> {
        let shared = server::start(self.cfg).await?;
        Ok(Fake { shared })
    }
}

/// A running fake API. Dropping it stops the server and its background tasks.
pub struct Fake {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Fake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fake")
            .field("base_url", &self.base_url())
            .field("project_id", &self.project_id())
            .finish_non_exhaustive()
    }
}

impl Fake {
    /// Settings for a fake; [`FakeBuilder::start`] runs it.
    pub fn builder() -> FakeBuilder {
        FakeBuilder::default()
    }

    /// A fake with the defaults on a free loopback port.
    pub async fn start() -> crate::Result<Fake> {
        Self::builder().start().await
    }

    /// Where the API is served, e.g. `http://127.0.0.1:43121`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }
    /// The OAuth2 token endpoint.
    pub fn token_url(&self) -> String {
        format!("{}{}", self.base_url(), auth::TOKEN_PATH)
    }
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }
    /// The default project's id.
    pub fn project_id(&self) -> &str {
        &self.shared.cfg.project_id
    }
    /// The default project's key id.
    pub fn key_id(&self) -> &str {
        &self.shared.cfg.key_id
    }
    /// The default project's key secret.
    pub fn key_secret(&self) -> &str {
        &self.shared.cfg.key_secret
    }

    /// A client builder for the default project, pointed at this fake with OAuth2 credentials.
    pub fn client_builder(&self) -> ClientBuilder {
        Client::builder()
            .project_id(self.project_id())
            .base_url(self.base_url())
            .auth_url(self.token_url())
            .credentials(Credentials::oauth2(self.key_id(), self.key_secret()))
    }

    /// A client for the default project with the crate's default settings.
    pub fn client(&self) -> Client {
        self.client_builder()
            .build()
            .expect("the fake's own settings are a valid configuration")
    }

    /// Creates an app in the default project, with credentials for `channels`, without a
    /// request (test set-up); returns its id.
    pub fn create_app(
        &self,
        display_name: &str,
        channels: &[types::ConversationChannel],
    ) -> String {
        self.shared.create_app(display_name, channels)
    }

    /// Stops answering on `operation` (an operationId such as `Messages_SendMessage`, or `*`
    /// for every operation) as `fault` says, for its next calls. Plans queue up in order.
    pub fn inject(&self, operation: &str, fault: Fault) {
        self.shared.faults.push(operation, fault);
    }

    /// Makes every issued OAuth2 token expired, as if an hour had passed.
    pub fn expire_tokens(&self) {
        self.shared.tokens.expire_all();
    }

    /// Every request received so far, oldest first (see [`FakeBuilder::record_requests`]).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.log.snapshot()
    }

    /// Requests received for one operation.
    pub fn requests_for(&self, operation: &str) -> Vec<RecordedRequest> {
        let mut all = self.requests();
        all.retain(|r| r.operation == operation);
        all
    }

    /// Every message of the default project (both directions), in the order accepted.
    pub fn messages(&self) -> Vec<types::ConversationMessage> {
        self.shared.with_project(self.project_id(), |p| {
            p.messages.values().map(|m| m.item.clone()).collect()
        })
    }

    /// Every contact of the default project, oldest first.
    pub fn contacts(&self) -> Vec<types::Contact> {
        self.shared.with_project(self.project_id(), |p| {
            p.contacts.values().cloned().collect()
        })
    }

    /// Every callback the fake has sent or is sending, in the order produced.
    pub fn callbacks(&self) -> Vec<DeliveredCallback> {
        self.shared.outbox.snapshot()
    }

    /// A contact's reply arriving on `channel` from `identity` to `app_id`, as a handset would
    /// send it: creates the contact and conversation when new, stores the message and posts
    /// `MESSAGE_INBOUND` to the app's webhooks. Returns the stored message.
    ///
    /// On SMS-like channels the keywords `STOP` and `START` also opt the identity out of (or
    /// back into) the app's `OPT_OUT_ALL` consent list, with an `OPT_OUT`/`OPT_IN` callback.
    pub fn inbound(
        &self,
        app_id: &str,
        channel: types::ConversationChannel,
        identity: &str,
        message: types::ContactMessage,
    ) -> crate::Result<types::ConversationMessage> {
        self.shared.inbound(app_id, channel, identity, message)
    }

    /// [`Self::inbound`] with a text message.
    pub fn inbound_text(
        &self,
        app_id: &str,
        channel: types::ConversationChannel,
        identity: &str,
        text: &str,
    ) -> crate::Result<types::ConversationMessage> {
        let message = types::ContactMessage {
            text_message: Some(types::TextMessage { text: text.into() }),
            ..Default::default()
        };
        self.inbound(app_id, channel, identity, message)
    }

    /// [`Self::inbound`] with a media message (an image, a document, ...).
    pub fn inbound_media(
        &self,
        app_id: &str,
        channel: types::ConversationChannel,
        identity: &str,
        url: &str,
    ) -> crate::Result<types::ConversationMessage> {
        let message = types::ContactMessage {
            media_message: Some(types::MediaMessage {
                url: url.into(),
                thumbnail_url: None,
                filename_override: None,
            }),
            ..Default::default()
        };
        self.inbound(app_id, channel, identity, message)
    }

    /// [`Self::inbound`] with the contact tapping a choice (`postback_data`) of `message_id`.
    pub fn inbound_choice(
        &self,
        app_id: &str,
        channel: types::ConversationChannel,
        identity: &str,
        message_id: &str,
        postback_data: &str,
    ) -> crate::Result<types::ConversationMessage> {
        let message = types::ContactMessage {
            choice_response_message: Some(types::ChoiceResponseMessage {
                message_id: message_id.into(),
                postback_data: postback_data.into(),
            }),
            ..Default::default()
        };
        self.inbound(app_id, channel, identity, message)
    }

    /// Waits until every app queue has drained and every callback has been delivered or given
    /// up on; false if that did not happen within `timeout`.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let until = tokio::time::Instant::now() + timeout;
        loop {
            if self.shared.is_idle() {
                return true;
            }
            if tokio::time::Instant::now() >= until {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Stops the server and its background tasks (also done on drop).
    pub fn stop(&self) {
        self.shared.stop();
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.shared.stop();
    }
}
