//! Set-up shared by the tests of the embedded fake: apps in a chosen processing mode, verified
//! webhooks, typed API errors, and raw HTTP for requests the typed client cannot make.
#![allow(dead_code)]

use futures_util::StreamExt as _;
use serde_json::{json, Value};
use sinch_conversation::fake::{app_request, Fake};
use sinch_conversation::prelude::*;
use sinch_conversation::types::{self, ConversationChannel as Ch};
use std::collections::HashSet;
use std::time::{Duration, Instant};

pub const SECRET: &str = "webhook-secret";

/// Every trigger the fake produces for the Conversation API.
pub const TRIGGERS: [&str; 19] = [
    "MESSAGE_DELIVERY",
    "MESSAGE_SUBMIT",
    "MESSAGE_INBOUND",
    "EVENT_DELIVERY",
    "EVENT_INBOUND",
    "CONVERSATION_START",
    "CONVERSATION_STOP",
    "CONVERSATION_DELETE",
    "CONTACT_CREATE",
    "CONTACT_UPDATE",
    "CONTACT_DELETE",
    "CONTACT_MERGE",
    "CONTACT_IDENTITIES_DUPLICATION",
    "CAPABILITY",
    "OPT_IN",
    "OPT_OUT",
    "BATCH_STATUS_UPDATE",
    "SMART_CONVERSATION",
    "UNSUPPORTED",
];

/// A fake on a manual clock whose app queues hand over 1,000 messages a second (a test
/// advances the clock instead of waiting out the documented 20 a second).
pub async fn manual_fast() -> Fake {
    Fake::builder()
        .manual_clock(true)
        .queue_rate(1000.0)
        .start()
        .await
        .unwrap()
}

/// A fake whose project limit is `rate` requests/s (429 beyond it), with no limit on the queue,
/// recording every request, and an SMS app on it.
pub async fn limited(rate: f64) -> (Fake, String) {
    let fake = Fake::builder()
        .rate_limit(Some(rate))
        .queue_capacity(usize::MAX)
        .record_requests(true)
        .start()
        .await
        .unwrap();
    let app = fake.create_app("load", &[Ch::Sms]);
    (fake, app)
}

/// What a campaign of several clients came to, as the fake saw it.
#[derive(Debug)]
pub struct Campaign {
    pub delivered: usize,
    pub duplicated: usize,
    pub failed: usize,
    pub requests: usize,
    pub refused: usize,
    pub took: Duration,
    /// When the first and the last client finished.
    pub done: (Duration, Duration),
}

/// `n` messages split over `clients` independent clients (each its own limiter, token and
/// connections, each in a task of its own), all built with `rate_limit`.
pub async fn campaign(
    fake: &Fake,
    app: &str,
    clients: usize,
    n: usize,
    rate_limit: RateLimit,
) -> Campaign {
    let clients: Vec<Client> = (0..clients)
        .map(|_| {
            fake.client_builder()
                .rate_limit(rate_limit.clone())
                .build()
                .unwrap()
        })
        .collect();
    for c in &clients {
        c.app_get_app().app_id(app).send().await.unwrap(); // token and connection
    }
    let share = n.div_ceil(clients.len());
    let started = Instant::now();
    let tasks = clients.into_iter().enumerate().map(|(k, client)| {
        let app = app.to_owned();
        tokio::spawn(async move {
            let requests = (k * share..((k + 1) * share).min(n)).map(|i| {
                let mut r = types::SendMessageRequest::new(
                    &app,
                    types::Recipient::channel(Ch::Sms, format!("+1555{:07}", i % 100)),
                    types::AppMessage::text("campaign"),
                );
                r.message_metadata = Some(i.to_string());
                r
            });
            let failed = client
                .send_all(requests, 32)
                .filter(|o| std::future::ready(o.result.is_err()))
                .count()
                .await;
            (failed, started.elapsed())
        })
    });
    let ends: Vec<(usize, Duration)> = futures_util::future::join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let took = started.elapsed();
    let stored = fake.messages();
    let distinct: HashSet<_> = stored.iter().map(|m| m.metadata.clone()).collect();
    let sends = fake.requests_for("Messages_SendMessage");
    Campaign {
        delivered: distinct.len(),
        duplicated: stored.len() - distinct.len(),
        failed: ends.iter().map(|e| e.0).sum(),
        requests: sends.len(),
        refused: sends.iter().filter(|r| r.status == 429).count(),
        took,
        done: ends
            .iter()
            .fold((took, Duration::ZERO), |(a, b), e| (a.min(e.1), b.max(e.1))),
    }
}

pub fn body<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

/// An app in `mode` with placeholder credentials for `channels`.
pub fn app_in(fake: &Fake, mode: types::ProcessingMode, channels: &[Ch]) -> String {
    let mut request = app_request("test app", channels);
    request.processing_mode = Some(mode);
    fake.create_app_with(&request).unwrap().id.unwrap()
}

/// An app in CONVERSATION mode (contacts and conversations are kept).
pub fn conversation_app(fake: &Fake, channels: &[Ch]) -> String {
    app_in(fake, types::ProcessingMode::Conversation, channels)
}

pub async fn webhook(
    client: &Client,
    app: &str,
    target: &str,
    triggers: &[&str],
) -> types::Webhook {
    let w: types::Webhook =
        body(json!({"app_id": app, "target": target, "triggers": triggers, "secret": SECRET}));
    client
        .webhooks_create_webhook()
        .body(w)
        .send()
        .await
        .unwrap()
        .into_inner()
}

/// The API error a call ended with (panics on success or another error).
pub fn api_err<T>(
    r: std::result::Result<T, progenitor_client::Error<()>>,
) -> sinch_conversation::ApiError {
    match r.map_err(Error::from) {
        Err(Error::Api(e)) => *e,
        Err(other) => panic!("expected an API error, got {other:?}"),
        Ok(_) => panic!("expected an API error, got success"),
    }
}

/// Status and `error.status` of an API error.
pub fn status_of(e: &sinch_conversation::ApiError) -> (u16, &str) {
    (e.status.as_u16(), e.error_status.as_deref().unwrap_or(""))
}

/// Plain HTTP against the fake with a bearer token: what another client would send.
pub struct Raw {
    pub http: reqwest::Client,
    pub base: String,
    pub project: String,
    pub token: String,
}

impl Raw {
    pub async fn new(fake: &Fake) -> Raw {
        let http = reqwest::Client::new();
        let token: Value = http
            .post(fake.token_url())
            .basic_auth(fake.key_id(), Some(fake.key_secret()))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Raw {
            http,
            base: fake.base_url(),
            project: fake.project_id().to_owned(),
            token: token["access_token"].as_str().unwrap().to_owned(),
        }
    }

    /// `path` after `/v1/projects/{project}/`; `body` sent as JSON text when given.
    pub async fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let url = format!("{}/v1/projects/{}/{path}", self.base, self.project);
        self.call_url(method, &url, body.map(str::to_owned)).await
    }

    /// A whole URL (another service's host, say); `body` sent as JSON text when given.
    pub async fn call_url(&self, method: &str, url: &str, body: Option<String>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method.parse().unwrap(), url)
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        read(req.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(&body.to_string())).await
    }
}

/// An answer's status and body (JSON, or the text as a JSON string).
pub async fn read(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}
