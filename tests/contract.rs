//! One contract suite, two targets: scenarios written once from the API's documented behaviour
//! (sending and its callbacks, list shapes and paging, each error class, templates, batches),
//! run against the embedded fake by `cargo test`, and against Sinch with
//!
//! ```text
//! SINCH_CONTRACT=1 SINCH_PROJECT_ID=.. SINCH_KEY_ID=.. SINCH_KEY_SECRET=.. [SINCH_REGION=eu] \
//!   [SINCH_APP_ID=..] [SINCH_TO=+1..] [SINCH_CONTRACT_WRITES=1] \
//!   cargo test --test contract -- --nocapture against_sinch
//! ```
//!
//! One line per scenario: `ok`, `FAILED: why` or `skipped: why`. Against Sinch the suite only
//! reads (and transcodes, which sends nothing), and sends nothing the API could accept, unless
//! `SINCH_CONTRACT_WRITES=1` (then it creates and deletes an app, a contact and a template,
//! sends one SMS to `SINCH_TO` with a `message_metadata` and a `correlation_id`, and tries
//! webhooks, sends and a batch the API should refuse).
//! Callbacks need a public webhook, so against Sinch the send scenario checks the answer only.

#[path = "support/receiver.rs"]
mod receiver;

use serde_json::{json, Value};
use sinch_conversation::fake::{app_request, recipients, Fake};
use sinch_conversation::prelude::*;
use sinch_conversation::types::{ConversationChannel as Ch, DeliveryStatus, ProcessingMode};
use sinch_conversation::webhook::Event;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

const SECRET: &str = "contract-secret";

/// What a scenario runs against.
struct Env {
    target: &'static str,
    client: Client,
    api: Api,
    /// An app to read and send with.
    app: Option<String>,
    /// A number to send to.
    to: Option<String>,
    /// Whether scenarios may create things and send messages.
    writes: bool,
    /// A webhook receiver the fake can reach (none against Sinch).
    receiver: Option<receiver::Receiver>,
    _fake: Option<Fake>,
}

/// Plain HTTP with a bearer token, to see what the wire carries (absent vs empty).
struct Api {
    http: reqwest::Client,
    conversation: String,
    templates: String,
    batch: String,
    token: String,
}

impl Api {
    async fn new(
        auth_url: &str,
        key_id: &str,
        key_secret: &str,
        project: &str,
        hosts: [String; 3],
    ) -> Api {
        let http = reqwest::Client::new();
        let token: Value = http
            .post(auth_url)
            .basic_auth(key_id, Some(key_secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("the token endpoint answers")
            .json()
            .await
            .expect("a token");
        let [c, t, b] = hosts;
        Api {
            http,
            conversation: format!("{c}/v1/projects/{project}"),
            templates: format!("{t}/v2/projects/{project}"),
            batch: format!("{b}/v1/projects/{project}"),
            token: token["access_token"]
                .as_str()
                .expect("an access token")
                .to_owned(),
        }
    }

    async fn call(&self, method: &str, url: String, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method.parse().unwrap(), url)
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("the API answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", format!("{}/{path}", self.conversation), None)
            .await
    }
}

type Check = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($why:tt)+) => {
        if !$cond {
            return Err(format!($($why)+));
        }
    };
}

/// `{"error": {code, message, status, details}}` with this status and name.
fn is_error(got: &(u16, Value), status: u16, name: &str) -> Check {
    let (s, body) = got;
    ensure!(*s == status, "expected {status} {name}, got {s}: {body}");
    let e = &body["error"];
    ensure!(
        e["code"] == status && e["status"] == name,
        "expected error.status {name}: {body}"
    );
    ensure!(e["message"].is_string(), "no message: {body}");
    Ok(())
}

const NOBODY: &str = "01HZZZZZZZZZZZZZZZZZZZZZZZ";

enum Outcome {
    Ok,
    Failed(String),
    Skipped(&'static str),
}

type Scenario = for<'a> fn(&'a Env) -> Pin<Box<dyn Future<Output = Outcome> + 'a>>;

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        const SCENARIOS: &[(&str, Scenario)] = &[$((stringify!($name), |env| Box::pin($name(env)))),*];
    };
}

scenarios!(
    wrong_key_is_refused_by_the_token_endpoint,
    missing_credentials_are_401,
    a_malformed_id_is_400,
    an_unknown_app_is_404,
    lists_carry_their_array_and_an_empty_last_token,
    page_sizes_beyond_the_maximum_are_refused,
    conversations_list_without_only_active,
    send_then_callbacks,
    a_send_over_the_metadata_limit_is_refused,
    templates_list_create_update_delete,
    a_batch_more_than_seven_days_ahead_is_refused,
    an_unknown_batch_is_404,
    contacts_create_and_delete,
    an_app_without_a_mode_is_dispatch_with_every_setting,
    webhook_targets_follow_the_rules,
    conversation_only_fields_follow_the_apps_mode,
    transcoding_to_whatsapp_follows_the_documented_shapes,
);

async fn wrong_key_is_refused_by_the_token_endpoint(env: &Env) -> Outcome {
    let check = async {
        let wrong = env.client_with_secret("not-the-secret")?;
        match wrong.app_list_apps().send().await.map_err(Error::from) {
            Err(Error::Auth(_)) => Ok(()),
            other => Err(format!("expected Error::Auth, got {other:?}")),
        }
    };
    outcome(check.await)
}

async fn missing_credentials_are_401(env: &Env) -> Outcome {
    let resp = env
        .api
        .http
        .get(format!("{}/apps", env.api.conversation))
        .send()
        .await;
    let Ok(resp) = resp else {
        return Outcome::Failed("no answer".into());
    };
    let status = resp.status().as_u16();
    let body = resp.json::<Value>().await.unwrap_or_default();
    outcome(is_error(&(status, body), 401, "UNAUTHENTICATED"))
}

async fn a_malformed_id_is_400(env: &Env) -> Outcome {
    outcome(is_error(
        &env.api.get("apps/not-a-ulid").await,
        400,
        "INVALID_ARGUMENT",
    ))
}

async fn an_unknown_app_is_404(env: &Env) -> Outcome {
    let check = async {
        is_error(
            &env.api.get(&format!("apps/{NOBODY}")).await,
            404,
            "NOT_FOUND",
        )?;
        // The typed client reports it as the API's error.
        match env
            .client
            .app_get_app()
            .app_id(NOBODY)
            .send()
            .await
            .map_err(Error::from)
        {
            Err(Error::Api(e)) if e.status.as_u16() == 404 => Ok(()),
            other => Err(format!("the client: {other:?}")),
        }
    };
    outcome(check.await)
}

async fn lists_carry_their_array_and_an_empty_last_token(env: &Env) -> Outcome {
    let check = async {
        let (s, apps) = env.api.get("apps").await;
        ensure!(s == 200 && apps["apps"].is_array(), "apps: {s} {apps}");
        // Follow the contacts to their last page.
        let mut token = String::new();
        for _ in 0..1000 {
            let (s, page) = env
                .api
                .get(&format!("contacts?page_size=20&page_token={token}"))
                .await;
            ensure!(
                s == 200 && page["contacts"].is_array(),
                "contacts: {s} {page}"
            );
            let next = page["next_page_token"].as_str();
            ensure!(next.is_some(), "next_page_token is always sent: {page}");
            token = next.unwrap_or_default().to_owned();
            if token.is_empty() {
                return Ok(());
            }
        }
        Err("more than 20,000 contacts".into())
    };
    outcome(check.await)
}

async fn page_sizes_beyond_the_maximum_are_refused(env: &Env) -> Outcome {
    let check = async {
        is_error(
            &env.api.get("contacts?page_size=21").await,
            400,
            "INVALID_ARGUMENT",
        )?;
        is_error(
            &env.api.get("messages?page_size=1001").await,
            400,
            "INVALID_ARGUMENT",
        )
    };
    outcome(check.await)
}

async fn conversations_list_without_only_active(env: &Env) -> Outcome {
    let Some(app) = &env.app else {
        return Outcome::Skipped("needs SINCH_APP_ID");
    };
    let check = async {
        let (s, list) = env.api.get(&format!("conversations?app_id={app}")).await;
        ensure!(s == 200 && list["conversations"].is_array(), "{s} {list}");
        ensure!(list["next_page_token"].is_string(), "{list}");
        is_error(&env.api.get("conversations").await, 400, "INVALID_ARGUMENT")
    };
    outcome(check.await)
}

async fn send_then_callbacks(env: &Env) -> Outcome {
    let (Some(app), Some(to), true) = (&env.app, &env.to, env.writes) else {
        return Outcome::Skipped("needs SINCH_APP_ID, SINCH_TO and SINCH_CONTRACT_WRITES=1");
    };
    let check = async {
        // CB-7: the report echoes message_metadata as its metadata, correlation_id in the
        // envelope; the envelope's message_metadata is the channel's.
        let body = json!({"app_id": app, "recipient": {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": to}]}}, "message": {"text_message": {"text": "sinch-conversation contract suite"}}, "message_metadata": "contract-metadata", "correlation_id": "contract-correlation"});
        let (s, sent) = env
            .api
            .call(
                "POST",
                format!("{}/messages:send", env.api.conversation),
                Some(body),
            )
            .await;
        ensure!(s == 200, "{s} {sent}");
        let keys: Vec<&String> = sent
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        ensure!(
            keys == ["accepted_time", "message_id"],
            "the answer is the id and the time: {sent}"
        );
        let id = sent["message_id"].as_str().unwrap_or_default().to_owned();
        let Some(receiver) = &env.receiver else {
            return Ok(());
        };
        let events = receiver
            .wait_until(Duration::from_secs(30), |e| {
                e.iter().any(|e| matches!(e, Event::MessageDeliveryReport(r) if r.message_delivery_report.message_id == id && r.message_delivery_report.status == DeliveryStatus::Delivered))
            })
            .await;
        let statuses: Vec<DeliveryStatus> = events
            .iter()
            .filter_map(|e| match e {
                Event::MessageDeliveryReport(r) if r.message_delivery_report.message_id == id => {
                    Some(r.message_delivery_report.status.clone())
                }
                _ => None,
            })
            .collect();
        ensure!(
            statuses == [DeliveryStatus::QueuedOnChannel, DeliveryStatus::Delivered],
            "{statuses:?}"
        );
        for e in &events {
            let Event::MessageDeliveryReport(r) = e else {
                continue;
            };
            let report = &r.message_delivery_report;
            if report.message_id != id {
                continue;
            }
            ensure!(
                report.metadata.as_deref() == Some("contract-metadata"),
                "the report's metadata is the send's message_metadata: {r:?}"
            );
            ensure!(
                r.correlation_id.as_deref() == Some("contract-correlation"),
                "the envelope carries the send's correlation_id: {r:?}"
            );
            ensure!(
                r.message_metadata.as_deref().unwrap_or_default().is_empty(),
                "the envelope's message_metadata is the channel's, none on SMS: {r:?}"
            );
        }
        Ok(())
    };
    outcome(check.await)
}

async fn a_send_over_the_metadata_limit_is_refused(env: &Env) -> Outcome {
    // Were the API to accept it, this would send a message.
    let (Some(app), Some(to), true) = (&env.app, &env.to, env.writes) else {
        return Outcome::Skipped("needs SINCH_APP_ID, SINCH_TO and SINCH_CONTRACT_WRITES=1");
    };
    let body = json!({"app_id": app, "recipient": {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": to}]}}, "message": {"text_message": {"text": "x"}}, "message_metadata": "m".repeat(1025)});
    let got = env
        .api
        .call(
            "POST",
            format!("{}/messages:send", env.api.conversation),
            Some(body),
        )
        .await;
    outcome(is_error(&got, 400, "INVALID_ARGUMENT"))
}

async fn templates_list_create_update_delete(env: &Env) -> Outcome {
    let check = async {
        let (s, list) = env
            .api
            .call("GET", format!("{}/templates", env.api.templates), None)
            .await;
        ensure!(s == 200 && list["templates"].is_array(), "{s} {list}");
        if !env.writes {
            return Ok(());
        }
        let template = json!({"description": "contract suite", "default_translation": "en-US", "translations": [{"language_code": "en-US", "version": "1", "text_message": {"text": "Hi ${name}"}, "variables": [{"key": "name", "preview_value": "Ada"}]}]});
        let (s, created) = env
            .api
            .call(
                "POST",
                format!("{}/templates", env.api.templates),
                Some(template.clone()),
            )
            .await;
        ensure!(s == 200 && created["version"] == 1, "{s} {created}");
        let id = created["id"].as_str().unwrap_or_default().to_owned();
        let url = format!("{}/templates/{id}", env.api.templates);
        let mut stale = template.clone();
        stale["version"] = json!(7);
        let refused = env.api.call("PUT", url.clone(), Some(stale)).await;
        let mut current = template;
        current["version"] = json!(1);
        let (s, updated) = env.api.call("PUT", url.clone(), Some(current)).await;
        let (d, _) = env.api.call("DELETE", url.clone(), None).await;
        ensure!(refused.0 == 400, "a stale version: {refused:?}");
        ensure!(s == 200 && updated["version"] == 2, "{s} {updated}");
        ensure!(d == 200, "delete: {d}");
        is_error(&env.api.call("GET", url, None).await, 404, "NOT_FOUND")
    };
    outcome(check.await)
}

async fn a_batch_more_than_seven_days_ahead_is_refused(env: &Env) -> Outcome {
    // Were the API to accept it, this would schedule a batch.
    let (Some(app), true) = (&env.app, env.writes) else {
        return Outcome::Skipped("needs SINCH_APP_ID and SINCH_CONTRACT_WRITES=1");
    };
    let later = (chrono::Utc::now() + chrono::Duration::days(8)).to_rfc3339();
    let body = json!({"app_id": app, "message": {"text_message": {"text": "x"}}, "recipient_and_params": [{"recipient": {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": recipients::DELIVERED}]}}}], "send_after": later});
    let got = env
        .api
        .call("POST", format!("{}/messages", env.api.batch), Some(body))
        .await;
    outcome(is_error(&got, 400, "INVALID_ARGUMENT"))
}

async fn an_unknown_batch_is_404(env: &Env) -> Outcome {
    let got = env
        .api
        .call("GET", format!("{}/messages/{NOBODY}", env.api.batch), None)
        .await;
    outcome(is_error(&got, 404, "NOT_FOUND"))
}

async fn contacts_create_and_delete(env: &Env) -> Outcome {
    if !env.writes {
        return Outcome::Skipped("needs SINCH_CONTRACT_WRITES=1");
    }
    let check = async {
        let url = format!("{}/contacts", env.api.conversation);
        let refused = env
            .api
            .call(
                "POST",
                url.clone(),
                Some(json!({"channel_identities": [], "language": "EN_US"})),
            )
            .await;
        is_error(&refused, 400, "INVALID_ARGUMENT")?;
        let body = json!({"channel_identities": [{"channel": "SMS", "identity": "+12065550123"}], "language": "EN_US"});
        let (s, c) = env.api.call("POST", url.clone(), Some(body)).await;
        ensure!(s == 200, "{s} {c}");
        let id = c["id"].as_str().unwrap_or_default().to_owned();
        let (d, _) = env.api.call("DELETE", format!("{url}/{id}"), None).await;
        ensure!(
            c["display_name"].is_string() && c["email"].is_string(),
            "unset strings are sent: {c}"
        );
        ensure!(d == 200, "delete: {d}");
        is_error(
            &env.api.call("GET", format!("{url}/{id}"), None).await,
            404,
            "NOT_FOUND",
        )
    };
    outcome(check.await)
}

fn outcome(r: Check) -> Outcome {
    match r {
        Ok(()) => Outcome::Ok,
        Err(why) => Outcome::Failed(why),
    }
}

impl Env {
    fn client_with_secret(&self, secret: &str) -> Result<Client, String> {
        let builder = match &self._fake {
            Some(fake) => fake.client_builder(),
            None => Client::builder()
                .project_id(var("SINCH_PROJECT_ID").unwrap_or_default())
                .region(
                    var("SINCH_REGION")
                        .and_then(|r| r.parse().ok())
                        .unwrap_or(Region::Us),
                ),
        };
        let key = var("SINCH_KEY_ID").unwrap_or_else(|| "fake-key-id".into());
        builder
            .credentials(Credentials::oauth2(key, secret))
            .retry(RetryConfig::disabled())
            .build()
            .map_err(|e| e.to_string())
    }

    async fn fake() -> Env {
        let fake = Fake::builder().queue_rate(1000.0).start().await.unwrap();
        let mut request = app_request("contract", &[Ch::Sms]);
        request.processing_mode = Some(ProcessingMode::Conversation);
        let app = fake.create_app_with(&request).unwrap().id.unwrap();
        let client = fake.client();
        let receiver = receiver::Receiver::start(SECRET).await;
        let hook: sinch_conversation::types::Webhook =
            serde_json::from_value(json!({"app_id": app, "target": receiver.url, "triggers": ["MESSAGE_DELIVERY"], "secret": SECRET})).unwrap();
        client
            .webhooks_create_webhook()
            .body(hook)
            .send()
            .await
            .unwrap();
        let hosts = [fake.base_url(), fake.templates_url(), fake.batch_url()];
        let api = Api::new(
            &fake.token_url(),
            fake.key_id(),
            fake.key_secret(),
            fake.project_id(),
            hosts,
        )
        .await;
        Env {
            target: "fake",
            client,
            api,
            app: Some(app),
            to: Some(recipients::DELIVERED.into()),
            writes: true,
            receiver: Some(receiver),
            _fake: Some(fake),
        }
    }

    async fn sinch() -> Option<Env> {
        var("SINCH_CONTRACT")?;
        let client =
            Client::from_env().expect("SINCH_PROJECT_ID, SINCH_KEY_ID and SINCH_KEY_SECRET");
        let region: Region = var("SINCH_REGION")
            .and_then(|r| r.parse().ok())
            .unwrap_or(Region::Us);
        let hosts = [
            var("SINCH_BASE_URL").unwrap_or_else(|| region.base_url()),
            var("SINCH_TEMPLATES_URL").unwrap_or_else(|| region.templates_url()),
            var("SINCH_BATCH_URL").unwrap_or_else(|| region.batch_url()),
        ];
        let auth =
            var("SINCH_AUTH_URL").unwrap_or_else(|| sinch_conversation::DEFAULT_AUTH_URL.into());
        let project = var("SINCH_PROJECT_ID")?;
        let api = Api::new(
            &auth,
            &var("SINCH_KEY_ID")?,
            &var("SINCH_KEY_SECRET")?,
            &project,
            hosts,
        )
        .await;
        Some(Env {
            target: "sinch",
            client,
            api,
            app: var("SINCH_APP_ID"),
            to: var("SINCH_TO"),
            writes: var("SINCH_CONTRACT_WRITES").as_deref() == Some("1"),
            receiver: None,
            _fake: None,
        })
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Runs every scenario, printing one line each; returns the failures.
async fn run(env: &Env) -> Vec<String> {
    let mut failed = vec![];
    for (name, scenario) in SCENARIOS {
        match scenario(env).await {
            Outcome::Ok => println!("contract {name}: ok ({})", env.target),
            Outcome::Skipped(why) => println!("contract {name}: skipped ({}): {why}", env.target),
            Outcome::Failed(why) => {
                println!("contract {name}: FAILED ({}): {why}", env.target);
                failed.push(format!("{name}: {why}"));
            }
        }
    }
    failed
}

#[tokio::test]
async fn against_the_fake() {
    let env = Env::fake().await;
    let failed = run(&env).await;
    assert!(failed.is_empty(), "{failed:#?}");
}

#[tokio::test]
async fn against_sinch() {
    let Some(env) = Env::sinch().await else {
        println!(
            "contract: against Sinch skipped (set SINCH_CONTRACT=1 and the SINCH_* variables)"
        );
        return;
    };
    let failed = run(&env).await;
    assert!(
        failed.is_empty(),
        "the fake and Sinch disagree on: {failed:#?}"
    );
}

async fn an_app_without_a_mode_is_dispatch_with_every_setting(env: &Env) -> Outcome {
    if !env.writes {
        return Outcome::Skipped("needs SINCH_CONTRACT_WRITES=1");
    }
    let check = async {
        let url = format!("{}/apps", env.api.conversation);
        let body =
            json!({"display_name": "sinch-conversation contract suite", "channel_credentials": []});
        let (s, app) = env.api.call("POST", url.clone(), Some(body)).await;
        ensure!(s == 200, "{s} {app}");
        let id = app["id"].as_str().unwrap_or_default().to_owned();
        let (d, _) = env.api.call("DELETE", format!("{url}/{id}"), None).await;
        ensure!(
            app["processing_mode"] == "DISPATCH",
            "the default since 2025-04-16: {app}"
        );
        for key in [
            "retention_policy",
            "dispatch_retention_policy",
            "rate_limits",
            "queue_stats",
        ] {
            ensure!(app[key].is_object(), "{key} is sent: {app}");
        }
        ensure!(d == 200, "delete: {d}");
        Ok(())
    };
    outcome(check.await)
}

async fn webhook_targets_follow_the_rules(env: &Env) -> Outcome {
    // Were the API to accept them, these would create webhooks.
    let (Some(app), true) = (&env.app, env.writes) else {
        return Outcome::Skipped("needs SINCH_APP_ID and SINCH_CONTRACT_WRITES=1");
    };
    let check = async {
        let url = format!("{}/webhooks", env.api.conversation);
        let long = format!("https://example.com/{}", "a".repeat(742));
        for target in [long.as_str(), "https://conversation-api.eu.sinch.com/hook"] {
            let body = json!({"app_id": app, "target": target, "triggers": ["MESSAGE_INBOUND"]});
            is_error(
                &env.api.call("POST", url.clone(), Some(body)).await,
                400,
                "INVALID_ARGUMENT",
            )?;
        }
        let unspecified = json!({"app_id": app, "target": "https://example.com/contract", "triggers": ["UNSPECIFIED_TRIGGER"]});
        is_error(
            &env.api.call("POST", url, Some(unspecified)).await,
            400,
            "INVALID_ARGUMENT",
        )
    };
    outcome(check.await)
}

async fn conversation_only_fields_follow_the_apps_mode(env: &Env) -> Outcome {
    // MSG-13, MSG-15: were the API to accept the request, this would send a message.
    let (Some(app), Some(to), true) = (&env.app, &env.to, env.writes) else {
        return Outcome::Skipped("needs SINCH_APP_ID, SINCH_TO and SINCH_CONTRACT_WRITES=1");
    };
    let check = async {
        let (s, read) = env.api.get(&format!("apps/{app}")).await;
        ensure!(s == 200, "{s} {read}");
        let mut body = json!({"app_id": app, "recipient": {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": to}]}}, "message": {"text_message": {"text": "x"}}});
        if read["processing_mode"] == "DISPATCH" {
            // Merging metadata is a CONVERSATION-mode feature.
            body["conversation_metadata"] = json!({"contract": true});
            body["conversation_metadata_update_strategy"] = json!("MERGE_PATCH");
        } else {
            // A DISPATCH_ONLY send on a CONVERSATION app takes no conversation fields.
            body["processing_strategy"] = json!("DISPATCH_ONLY");
            body["correlation_id"] = json!("contract");
        }
        let url = format!("{}/messages:send", env.api.conversation);
        is_error(
            &env.api.call("POST", url, Some(body)).await,
            400,
            "INVALID_ARGUMENT",
        )
    };
    outcome(check.await)
}

async fn transcoding_to_whatsapp_follows_the_documented_shapes(env: &Env) -> Outcome {
    // TRN-2, TRN-3, TRN-4: transcoding sends nothing.
    let Some(app) = &env.app else {
        return Outcome::Skipped("needs SINCH_APP_ID");
    };
    let check = async {
        let url = format!("{}/messages:transcode", env.api.conversation);
        let whatsapp = |message: Value| {
            let body = json!({"app_id": app, "channels": ["WHATSAPP"], "app_message": message});
            let url = url.clone();
            async move {
                let (s, out) = env.api.call("POST", url, Some(body)).await;
                let text = out["transcoded_message"]["WHATSAPP"]
                    .as_str()
                    .unwrap_or_default();
                (
                    s,
                    serde_json::from_str::<Value>(text).unwrap_or(out.clone()),
                )
            }
        };
        let location = json!({"location_message": {"title": "Phare d'Eckmühl", "label": "Pointe de Penmarch", "coordinates": {"latitude": 47.7981899, "longitude": -4.3727685}}});
        let (s, got) = whatsapp(location).await;
        let expected = json!({"to": "{{to}}", "type": "location", "recipient_type": "individual", "location": {"longitude": "-4.3727684", "latitude": "47.79819", "name": "Phare d'Eckmühl", "address": "Pointe de Penmarch"}, "messaging_product": "whatsapp", "biz_opaque_callback_data": null});
        ensure!(s == 200 && got == expected, "location: {s} {got}");
        let (s, got) =
            whatsapp(json!({"media_message": {"url": "https://example.com/menu.jpg"}})).await;
        ensure!(
            s == 200
                && got["type"] == "image"
                && got["image"]["link"] == "https://example.com/menu.jpg",
            "an image: {s} {got}"
        );
        let choices = json!({"choice_message": {"text_message": {"text": "Table for two?"}, "choices": [{"text_message": {"text": "Yes"}}, {"text_message": {"text": "No"}}]}});
        let (s, got) = whatsapp(choices).await;
        ensure!(
            s == 200
                && got["type"] == "interactive"
                && got["interactive"]["type"] == "button"
                && got["interactive"]["action"]["buttons"][1]["reply"]["title"] == "No",
            "two short text choices are reply buttons: {s} {got}"
        );
        Ok(())
    };
    outcome(check.await)
}
