//! A fake Sinch API that runs inside your tokio runtime (cargo feature `fake`): the
//! Conversation API, the Template Management API v2 and the Batch API, for tests and offline
//! runs.
//!
//! It behaves like the API, by the API's documented rules, rather than replaying scripts:
//! OAuth2 and Basic auth, every operation of the three documents in `spec/` with state per
//! project, requests checked against the documents' limits, the API's error bodies and list
//! shapes, processing modes, each app's outgoing queue, a delivery lifecycle per channel with
//! the documented failure reasons, [test recipients](recipients) for each outcome, signed
//! callbacks retried like the API's, and a clock tests can move. Fault plans rehearse
//! outages; everything received and delivered can be inspected. [`rules`] lists every rule
//! with its source.
//!
//! ```toml
//! [dev-dependencies]
//! sinch-conversation = { version = "0.1", features = ["fake"] }
//! ```
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> sinch_conversation::Result<()> {
//! use sinch_conversation::fake::{recipients, Fake};
//! use sinch_conversation::prelude::*;
//! use sinch_conversation::types::{AppMessage, ConversationChannel, Recipient, SendMessageRequest};
//!
//! let fake = Fake::start().await?;
//! let client = fake.client();
//! let app = fake.create_app("My app", &[ConversationChannel::Sms]);
//! let request = SendMessageRequest::new(
//!     &app,
//!     Recipient::channel(ConversationChannel::Sms, recipients::NOT_REACHABLE),
//!     AppMessage::text("Hello"),
//! );
//! let sent = client.send_message(&request).await?;
//! assert_eq!(fake.messages()[0].id, sent.message_id);
//! // The send was accepted; the channel's failure arrives later, as a FAILED delivery report.
//! # Ok(()) }
//! ```
//!
//! Several fakes can run in one process (each binds its own port), so tests stay parallel.
//! The Template Management API is served at [`Fake::templates_url`] (the same address: its
//! paths are distinct) and the Batch API under [`Fake::batch_url`] (`/batch`: its paths
//! overlap the Conversation API's); [`Fake::client`] is set up for all three.

mod batch;
mod control;
mod conversation;
pub(crate) mod core;
pub mod recipients;
pub mod rules;
mod templates;

pub use self::conversation::Timings;
pub use self::core::callbacks::{Attempt, DeliveredCallback};
pub use self::core::faults::Fault;
pub use self::core::inspect::RecordedRequest;

use self::core::callbacks::Policy;
use self::core::service::ServiceDef;
use self::core::state::Shared;
use crate::{types, Client, ClientBuilder, Credentials};
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
    pub callbacks: Policy,
    pub record_requests: bool,
    pub manual_clock: bool,
    pub timings: Timings,
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
                callbacks: Policy {
                    attempts: 5,
                    backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(60),
                    timeout: Duration::from_secs(5),
                },
                record_requests: true,
                manual_clock: false,
                timings: Timings::default(),
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
    /// Lifetime of issued OAuth2 tokens (`expires_in`; default one hour, on the fake's clock).
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
    /// Messages per second each app's outgoing queue drains at (default 20, as documented).
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
    /// tries from 100 ms, at most a minute apart). Sinch documents that it retries failed
    /// callbacks with backoff, not its schedule; the fake's waits run on its clock, so
    /// [`Fake::advance`] brings a retry forward.
    pub fn callback_retries(mut self, attempts: u32, first_backoff: Duration) -> Self {
        self.cfg.callbacks.attempts = attempts.max(1);
        self.cfg.callbacks.backoff = first_backoff;
        self
    }
    /// How long a webhook may take to answer one callback before the try counts as failed
    /// (default 5 s).
    pub fn callback_timeout(mut self, timeout: Duration) -> Self {
        self.cfg.callbacks.timeout = timeout;
        self
    }
    /// A clock that moves only when the test says ([`Fake::advance`]): queues, delivery
    /// reports, callback retries, scheduled batches and token expiry then depend on the
    /// test's steps alone. Default off (real time, which `advance` can still jump ahead).
    pub fn manual_clock(mut self, yes: bool) -> Self {
        self.cfg.manual_clock = yes;
        self
    }
    /// How long channels and recipients take (see [`Timings`]).
    pub fn timings(mut self, timings: Timings) -> Self {
        self.cfg.timings = timings;
        self
    }
    /// Keep every request for [`Fake::requests`] (default on; turn off for long benchmarks).
    pub fn record_requests(mut self, yes: bool) -> Self {
        self.cfg.record_requests = yes;
        self
    }

    /// Binds the address and serves in the background of the current tokio runtime.
    pub async fn start(self) -> crate::Result<Fake> {
        let shared = core::server::start(self.cfg, SERVICES).await?;
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

/// The services the fake serves; each registers its document, handlers and state.
const SERVICES: &[ServiceDef] = &[conversation::SERVICE, templates::SERVICE, batch::SERVICE];

/// Every operationId the fake answers, across the three documents.
pub fn operations() -> impl Iterator<Item = &'static str> {
    core::schema::operations()
        .iter()
        .filter(|op| core::server::handler(SERVICES, op).is_some())
        .map(|op| op.id.as_str())
}

/// An `App_CreateApp` request with placeholder credentials for `channels` (for
/// [`Fake::create_app_with`], after setting what the test needs, such as
/// `processing_mode: Some(ProcessingMode::Conversation)`).
pub fn app_request(name: &str, channels: &[types::ConversationChannel]) -> types::AppCreateRequest {
    let credentials: Vec<serde_json::Value> = channels
        .iter()
        .map(|c| {
            let key = match c {
                types::ConversationChannel::Messenger | types::ConversationChannel::Viber => {
                    "static_token"
                }
                types::ConversationChannel::Mms => "mms_credentials",
                types::ConversationChannel::Instagram => "instagram_credentials",
                types::ConversationChannel::Telegram => "telegram_credentials",
                types::ConversationChannel::Kakaotalk => "kakaotalk_credentials",
                types::ConversationChannel::Kakaotalkchat => "kakaotalkchat_credentials",
                types::ConversationChannel::Line => "line_credentials",
                types::ConversationChannel::Wechat => "wechat_credentials",
                types::ConversationChannel::Applebc => "applebc_credentials",
                _ => "static_bearer",
            };
            let creds = serde_json::json!({
                "claimed_identity": "+12065550199", "token": "fake",
                "account_id": "fake", "api_key": "fake", "default_sender": "+12065550199",
                "basic_auth": {"username": "fake", "password": "fake"},
                "kakaotalk_plus_friend_id": "fake", "kakaotalk_sender_key": "fake",
                "secret": "fake", "app_id": "fake", "app_secret": "fake", "aes_key": "fake",
                "business_chat_account_id": "fake",
            });
            serde_json::json!({"channel": c.as_str(), key: creds})
        })
        .collect();
    serde_json::from_value(serde_json::json!({
        "display_name": name,
        "channel_credentials": credentials,
    }))
    .expect("a well-formed app request")
}

/// Moves the fake's clock and runs what became due.
pub(crate) fn advance(shared: &Arc<Shared>, by: Duration) {
    shared.clock.advance(by);
    core::timers::run_due(shared);
}

/// Every message of the default project, as inspection shows them.
pub(crate) fn all_messages(shared: &Shared) -> Vec<types::ConversationMessage> {
    shared.with_project(&shared.cfg.project_id, |p| {
        p.conv()
            .messages
            .values()
            .map(|m| m.item.message())
            .collect()
    })
}

/// See [`Fake::wait_idle`].
pub(crate) async fn wait_idle(shared: &Shared, timeout: Duration) -> bool {
    let until = tokio::time::Instant::now() + timeout;
    loop {
        if shared.is_idle() {
            return true;
        }
        if tokio::time::Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn refused(f: core::reply::ApiFailure) -> crate::Error {
    crate::Error::InvalidRequest(f.message)
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

    /// Where the Conversation API is served, e.g. `http://127.0.0.1:43121`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }
    /// Where the Template Management API is served (the same address).
    pub fn templates_url(&self) -> String {
        self.base_url()
    }
    /// Where the Batch API is served (`/batch` on the same address).
    pub fn batch_url(&self) -> String {
        format!("{}{}", self.base_url(), batch::SERVICE.prefix)
    }
    /// The OAuth2 token endpoint.
    pub fn token_url(&self) -> String {
        format!("{}{}", self.base_url(), core::auth::TOKEN_PATH)
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

    /// A client builder for the default project, pointed at this fake's three services with
    /// OAuth2 credentials.
    pub fn client_builder(&self) -> ClientBuilder {
        Client::builder()
            .project_id(self.project_id())
            .base_url(self.base_url())
            .templates_url(self.templates_url())
            .batch_url(self.batch_url())
            .auth_url(self.token_url())
            .credentials(Credentials::oauth2(self.key_id(), self.key_secret()))
    }

    /// A client for the default project with the crate's default settings.
    pub fn client(&self) -> Client {
        self.client_builder()
            .build()
            .expect("the fake's own settings are a valid configuration")
    }

    /// Creates an app in the default project with (placeholder) credentials for `channels`,
    /// without a request (test set-up), with the API's defaults: DISPATCH processing, which
    /// keeps no contacts or conversations. Returns its id. See [`Self::create_app_with`].
    pub fn create_app(
        &self,
        display_name: &str,
        channels: &[types::ConversationChannel],
    ) -> String {
        let request = app_request(display_name, channels);
        self.create_app_with(&request)
            .expect("placeholder credentials make a valid app")
            .id
            .unwrap_or_default()
    }

    /// Creates an app from a full request, checked and filled in exactly as `App_CreateApp`
    /// would (for example with `processing_mode: CONVERSATION`); see [`app_request`].
    pub fn create_app_with(
        &self,
        request: &types::AppCreateRequest,
    ) -> crate::Result<types::AppResponse> {
        conversation::create_app(&self.shared, request).map_err(refused)
    }

    /// Stops answering on `operation` (an operationId such as `Messages_SendMessage`, or `*`
    /// for every operation) as `fault` says, for its next calls. Plans queue up in order.
    pub fn inject(&self, operation: &str, fault: Fault) {
        self.shared.faults.push(operation, fault);
    }

    /// Makes every issued OAuth2 token expired, as if an hour had passed.
    pub fn expire_tokens(&self) {
        self.shared.tokens.expire_all(self.shared.clock.elapsed());
    }

    /// Moves the fake's clock forward by `by` and runs everything that became due (queue
    /// drains, delivery reports, replies, scheduled batches, callback retries); their
    /// callbacks are on their way when this returns ([`Self::wait_idle`] waits for them).
    pub fn advance(&self, by: Duration) {
        advance(&self.shared, by);
    }

    /// The fake's current time.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.shared.clock.now()
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

    /// Every message of the default project (both directions, both processing modes), in the
    /// order accepted, including those the API no longer shows (deleted, or not kept: a
    /// DISPATCH app keeps none by default).
    pub fn messages(&self) -> Vec<types::ConversationMessage> {
        all_messages(&self.shared)
    }

    /// Every contact of the default project, oldest first.
    pub fn contacts(&self) -> Vec<types::Contact> {
        self.shared.with_project(self.project_id(), |p| {
            p.conv().contacts.values().cloned().collect()
        })
    }

    /// Every callback the fake has sent or is sending, in the order produced.
    pub fn callbacks(&self) -> Vec<DeliveredCallback> {
        self.shared.outbox.snapshot()
    }

    /// Sends callback `index` (of [`Self::callbacks`]) again, delivered or not, as the API
    /// does when an answer was lost on the way back: the same body, freshly signed, as a new
    /// entry of [`Self::callbacks`] with `redelivery_of` set. `false` if there is no such
    /// callback.
    pub fn redeliver(&self, index: usize) -> bool {
        self.shared.outbox.redeliver(index)
    }

    /// A contact's message arriving on `channel` from `identity` to `app_id`, as a handset
    /// would send it: in CONVERSATION mode creates the contact and conversation when new,
    /// stores the message, opens the channel's reply window, and posts `MESSAGE_INBOUND` to
    /// the app's webhooks. Returns the stored message.
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
        conversation::inbound(&self.shared, app_id, channel, identity, message).map_err(refused)
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

    /// A contact's event (composing, a generic event, ...) arriving as `EVENT_INBOUND`.
    pub fn inbound_event(
        &self,
        app_id: &str,
        channel: types::ConversationChannel,
        identity: &str,
        event: types::ContactEvent,
    ) -> crate::Result<()> {
        conversation::inbound_event(&self.shared, app_id, channel, identity, event).map_err(refused)
    }

    /// Waits until nothing more will happen without the test: no queued message, pending
    /// report or scheduled batch (with a manual clock: none due yet), and every callback
    /// delivered or given up on; false if that did not happen within `timeout`.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        wait_idle(&self.shared, timeout).await
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
