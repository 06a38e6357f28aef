//! The fake's control endpoints under `/_fake`, used over plain HTTP as a test in another
//! language would: discover the fake, set up apps, play the handset, plan faults, move the
//! clock, expire tokens, wait for quiet and inspect what happened. Callbacks are received by
//! a real, verifying webhook receiver.

#[path = "support/receiver.rs"]
mod receiver;

use receiver::Receiver;
use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use sinch_conversation::fake::{recipients, Fake};
use sinch_conversation::webhook::Event;
use std::time::{Duration, Instant};

const SECRET: &str = "webhook-secret";
const WAIT: Duration = Duration::from_secs(10);

/// The fake as another language sees it: a base URL, and what `GET /_fake` says.
struct Remote {
    http: reqwest::Client,
    base: String,
    info: Value,
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

async fn answer(resp: reqwest::Response) -> Answer {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        headers,
        body,
    }
}

impl Remote {
    async fn new(fake: &Fake) -> Remote {
        let http = reqwest::Client::new();
        let base = fake.base_url();
        let info = answer(http.get(format!("{base}/_fake")).send().await.unwrap()).await;
        assert_eq!(info.status, 200, "{}", info.body);
        Remote {
            http,
            base,
            info: info.body,
        }
    }

    fn control(&self, path: &str) -> String {
        format!("{}/_fake{path}", self.base)
    }

    async fn get(&self, path: &str) -> Answer {
        answer(self.http.get(self.control(path)).send().await.unwrap()).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        let req = self.http.post(self.control(path)).json(&body);
        answer(req.send().await.unwrap()).await
    }

    /// A body as given, JSON or not.
    async fn post_text(&self, path: &str, body: &str) -> Answer {
        let req = self
            .http
            .post(self.control(path))
            .header("content-type", "application/json")
            .body(body.to_owned());
        answer(req.send().await.unwrap()).await
    }

    async fn token(&self) -> String {
        let resp = self
            .http
            .post(self.info["token_url"].as_str().unwrap())
            .basic_auth(
                self.info["key_id"].as_str().unwrap(),
                self.info["key_secret"].as_str(),
            )
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        let a = answer(resp).await;
        assert_eq!(a.status, 200, "{}", a.body);
        a.body["access_token"].as_str().unwrap().to_owned()
    }

    /// A Conversation API call (`path` after `/v1/projects/{project}/`).
    async fn api(&self, token: &str, method: &str, path: &str, body: Option<Value>) -> Answer {
        let url = format!(
            "{}/v1/projects/{}/{path}",
            self.info["base_url"].as_str().unwrap(),
            self.info["project_id"].as_str().unwrap()
        );
        let mut req = self
            .http
            .request(method.parse().unwrap(), url)
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        answer(req.send().await.unwrap()).await
    }

    /// An app made through `POST /_fake/apps`: its id.
    async fn app(&self, channels: &[&str], mode: &str) -> String {
        let a = self
            .post(
                "/apps",
                json!({"display_name": "control app", "channels": channels, "processing_mode": mode}),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
        a.body["id"].as_str().unwrap().to_owned()
    }

    /// A webhook for `app` posting `triggers` to `receiver`, made through the API.
    async fn webhook(&self, token: &str, app: &str, receiver: &Receiver, triggers: &[&str]) {
        let body =
            json!({"app_id": app, "target": receiver.url, "triggers": triggers, "secret": SECRET});
        let a = self.api(token, "POST", "webhooks", Some(body)).await;
        assert_eq!(a.status, 200, "{}", a.body);
    }

    /// The callbacks `GET /_fake/callbacks` lists.
    async fn callbacks(&self) -> Vec<Value> {
        let a = self.get("/callbacks").await;
        assert_eq!(a.status, 200);
        a.body.as_array().unwrap().clone()
    }
}

/// Asserts an answer is the API's error body with this status.
fn assert_error(a: &Answer, status: u16, name: &str) {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(
        a.headers.get("content-type").map(|v| v.to_str().unwrap()),
        Some("application/json")
    );
    let e = &a.body["error"];
    assert_eq!(
        (&e["code"], &e["status"]),
        (&json!(status), &json!(name)),
        "{}",
        a.body
    );
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        a.body
    );
    assert!(e["details"].is_array(), "{}", a.body);
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn info_describes_the_fake_and_its_test_recipients() {
    let fake = Fake::start().await.unwrap();
    let remote = Remote::new(&fake).await;
    let info = &remote.info;
    assert_eq!(info["base_url"], fake.base_url());
    assert_eq!(info["token_url"], fake.token_url());
    assert_eq!(info["templates_url"], fake.templates_url());
    assert_eq!(info["batch_url"], fake.batch_url());
    assert_eq!(info["project_id"], fake.project_id());
    assert_eq!(info["key_id"], fake.key_id());
    assert_eq!(info["key_secret"], fake.key_secret());
    assert_eq!(info["manual_clock"], false);
    let now: chrono::DateTime<chrono::Utc> = serde_json::from_value(info["now"].clone()).unwrap();
    assert!((fake.now() - now).num_seconds().abs() < 5, "{now}");
    assert!(!info["endpoints"].as_array().unwrap().is_empty());

    let listed: Vec<(String, String)> = info["test_recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let field = |k: &str| r[k].as_str().unwrap().to_owned();
            (field("identity"), field("outcome"))
        })
        .collect();
    let want: Vec<(String, String)> = recipients::all()
        .map(|(i, o)| (i.to_owned(), o.to_owned()))
        .collect();
    assert_eq!(listed, want);
    assert_eq!(listed.len(), 12);
    let not_reachable = listed
        .iter()
        .find(|(i, _)| i == recipients::NOT_REACHABLE)
        .unwrap();
    assert!(
        not_reachable.1.contains("RECIPIENT_NOT_REACHABLE"),
        "{not_reachable:?}"
    );

    // What info gives is enough to call the API.
    let token = remote.token().await;
    let a = remote.api(&token, "GET", "apps", None).await;
    assert_eq!((a.status, &a.body["apps"]), (200, &json!([])));
    let clock = remote.get("/clock").await;
    assert_eq!(clock.status, 200);
    assert_eq!(clock.body["manual"], false);
}

#[tokio::test]
async fn apps_take_the_short_form_or_a_full_create_body() {
    // APP-1 APP-2 ERR-1 (as the control endpoint applies them)
    let fake = Fake::start().await.unwrap();
    let remote = Remote::new(&fake).await;
    let token = remote.token().await;

    let short = remote
        .post(
            "/apps",
            json!({"display_name": "Support", "channels": ["SMS", "WHATSAPP"], "processing_mode": "CONVERSATION"}),
        )
        .await;
    assert_eq!(short.status, 200, "{}", short.body);
    let id = short.body["id"].as_str().unwrap();
    assert_eq!(id.len(), 26);
    assert_eq!(short.body["processing_mode"], "CONVERSATION");
    let channels: Vec<&Value> = short.body["channel_credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["channel"])
        .collect();
    assert_eq!(channels, ["SMS", "WHATSAPP"]);
    let got = remote.api(&token, "GET", &format!("apps/{id}"), None).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["display_name"], "Support");

    let default_mode = remote
        .post(
            "/apps",
            json!({"display_name": "Plain", "channels": ["SMS"]}),
        )
        .await;
    assert_eq!(default_mode.status, 200, "{}", default_mode.body);
    assert_eq!(default_mode.body["processing_mode"], "DISPATCH");

    // A full App_CreateApp body is taken as it is.
    let full = remote
        .post(
            "/apps",
            json!({
                "display_name": "Full",
                "channel_credentials": [
                    {"channel": "SMS", "static_bearer": {"claimed_identity": "+12065550199", "token": "t"}},
                    {"channel": "MESSENGER", "static_token": {"token": "t"}}
                ],
                "processing_mode": "CONVERSATION",
                "retention_policy": {"retention_type": "MESSAGE_EXPIRE_POLICY", "ttl_days": 30}
            }),
        )
        .await;
    assert_eq!(full.status, 200, "{}", full.body);
    let channels: Vec<&Value> = full.body["channel_credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["channel"])
        .collect();
    assert_eq!(channels, ["SMS", "MESSENGER"], "{}", full.body);
    assert_eq!(full.body["processing_mode"], "CONVERSATION");
    assert_eq!(full.body["retention_policy"]["ttl_days"], 30);

    // What the API would refuse is refused with its error body, and creates nothing.
    for bad in [
        json!({}),
        json!({"display_name": "", "channels": ["SMS"]}),
        json!({"display_name": "x", "channels": ["CARRIER_PIGEON"]}),
        json!({"display_name": "x", "channel_credentials": [{"channel": "SMS"}]}),
    ] {
        let a = remote.post("/apps", bad.clone()).await;
        assert_error(&a, 400, "INVALID_ARGUMENT");
    }
    assert_error(
        &remote.post_text("/apps", "not json").await,
        400,
        "INVALID_ARGUMENT",
    );
    let listed = remote.api(&token, "GET", "apps", None).await;
    assert_eq!(
        listed.body["apps"].as_array().unwrap().len(),
        3,
        "{}",
        listed.body
    );
}

#[tokio::test]
async fn inbound_text_reaches_a_real_webhook() {
    // CB-1 MODE-1 (an inbound message creates the contact in CONVERSATION mode)
    let fake = Fake::start().await.unwrap();
    let remote = Remote::new(&fake).await;
    let token = remote.token().await;
    let app = remote.app(&["SMS"], "CONVERSATION").await;
    let receiver = Receiver::start(SECRET).await;
    remote
        .webhook(&token, &app, &receiver, &["MESSAGE_INBOUND"])
        .await;

    let a = remote
        .post(
            "/inbound",
            json!({"app_id": app, "channel": "SMS", "identity": "+46700000001", "text": "hello"}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let message = a.body;
    assert_eq!(message["direction"], "TO_APP");
    assert_eq!(message["contact_message"]["text_message"]["text"], "hello");
    let message_id = message["id"].as_str().unwrap();

    let events = receiver.wait_until(WAIT, |evs| !evs.is_empty()).await;
    let Event::MessageInbound(inbound) = &events[0] else {
        panic!("{events:#?}")
    };
    let received = serde_json::to_value(&inbound.message).unwrap();
    assert_eq!(received["id"], message_id);
    assert_eq!(received["contact_message"]["text_message"]["text"], "hello");
    assert_eq!(received["channel_identity"]["identity"], "+46700000001");
    assert_eq!(receiver.rejected(), 0);

    // The full message form.
    let a = remote
        .post(
            "/inbound",
            json!({"app_id": app, "channel": "SMS", "identity": "+46700000001",
                   "message": {"media_message": {"url": "https://example.com/cat.jpg"}}}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);

    // The stored messages and the contact the first one created (CONVERSATION mode).
    let messages = remote.get("/messages").await;
    assert_eq!(messages.status, 200);
    assert_eq!(ids(&messages.body)[0], message_id);
    assert_eq!(messages.body.as_array().unwrap().len(), 2);
    let contacts = remote.get("/contacts").await;
    assert_eq!(
        contacts.body.as_array().unwrap().len(),
        1,
        "{}",
        contacts.body
    );
    assert_eq!(
        contacts.body[0]["id"], message["contact_id"],
        "{}",
        contacts.body
    );
    assert_eq!(
        contacts.body[0]["channel_identities"][0]["identity"],
        "+46700000001"
    );

    // Refused: nothing to send, no app, an unknown app, a channel the app lacks.
    let a = remote
        .post(
            "/inbound",
            json!({"app_id": app, "channel": "SMS", "identity": "+1"}),
        )
        .await;
    assert_error(&a, 400, "INVALID_ARGUMENT");
    let a = remote
        .post(
            "/inbound",
            json!({"channel": "SMS", "identity": "+1", "text": "x"}),
        )
        .await;
    assert_error(&a, 400, "INVALID_ARGUMENT");
    let a = remote
        .post(
            "/inbound",
            json!({"app_id": "01HZZZZZZZZZZZZZZZZZZZZZZZ", "channel": "SMS", "identity": "+1", "text": "x"}),
        )
        .await;
    assert_error(&a, 404, "NOT_FOUND");
    let a = remote
        .post(
            "/inbound",
            json!({"app_id": app, "channel": "WHATSAPP", "identity": "+1", "text": "x"}),
        )
        .await;
    assert_error(&a, 400, "INVALID_ARGUMENT");
    assert_eq!(
        remote.get("/messages").await.body.as_array().unwrap().len(),
        2
    );
}

#[tokio::test]
async fn inbound_event_reaches_a_real_webhook() {
    let fake = Fake::start().await.unwrap();
    let remote = Remote::new(&fake).await;
    let token = remote.token().await;
    let app = remote.app(&["SMS"], "CONVERSATION").await;
    let receiver = Receiver::start(SECRET).await;
    remote
        .webhook(&token, &app, &receiver, &["EVENT_INBOUND"])
        .await;

    let a = remote
        .post(
            "/inbound-event",
            json!({"app_id": app, "channel": "SMS", "identity": "+46700000001",
                   "event": {"composing_event": {}}}),
        )
        .await;
    assert_eq!((a.status, &a.body), (200, &json!({})));
    let events = receiver.wait_until(WAIT, |evs| !evs.is_empty()).await;
    let Event::EventInbound(e) = &events[0] else {
        panic!("{events:#?}")
    };
    let e = serde_json::to_value(e).unwrap();
    assert!(
        e["event"]["contact_event"]["composing_event"].is_object(),
        "{e}"
    );
    assert_eq!(e["event"]["channel_identity"]["identity"], "+46700000001");
    assert_eq!(e["app_id"], app.as_str());

    let a = remote
        .post(
            "/inbound-event",
            json!({"app_id": app, "channel": "SMS", "identity": "+46700000001"}),
        )
        .await;
    assert_error(&a, 400, "INVALID_ARGUMENT");
    assert_error(
        &remote.post_text("/inbound-event", "{").await,
        400,
        "INVALID_ARGUMENT",
    );
}

#[tokio::test]
async fn fault_plans_answer_or_delay_the_next_calls_until_cleared() {
    // ERR-1 (an injected status has the API's error body)
    let fake = Fake::start().await.unwrap();
    let remote = Remote::new(&fake).await;
    let token = remote.token().await;
    let app = remote.app(&["SMS"], "DISPATCH").await;

    // A status, twice, with Retry-After and a RetryInfo detail; other operations unharmed.
    let plan =
        json!({"operation": "App_ListApps", "status": 503, "retry_after_ms": 2500, "times": 2});
    let a = remote.post("/faults", plan).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let other = remote
        .api(&token, "GET", &format!("apps/{app}"), None)
        .await;
    assert_eq!(other.status, 200, "{}", other.body);
    for _ in 0..2 {
        let a = remote.api(&token, "GET", "apps", None).await;
        assert_error(&a, 503, "UNAVAILABLE");
        assert_eq!(
            a.headers.get("retry-after").map(|v| v.to_str().unwrap()),
            Some("3"),
            "whole seconds, rounded up"
        );
        let detail = &a.body["error"]["details"][0];
        assert_eq!(detail["@type"], "type.googleapis.com/google.rpc.RetryInfo");
        assert_eq!(detail["retryDelay"], "2.500s");
    }
    assert_eq!(remote.api(&token, "GET", "apps", None).await.status, 200);

    // A delay: answered normally, late.
    let a = remote
        .post(
            "/faults",
            json!({"operation": "App_ListApps", "delay_ms": 400}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let started = Instant::now();
    assert_eq!(remote.api(&token, "GET", "apps", None).await.status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );

    // The token endpoint has a plan of its own.
    let a = remote
        .post(
            "/faults",
            json!({"operation": "oauth2.token", "status": 503}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let refused = remote
        .http
        .post(remote.info["token_url"].as_str().unwrap())
        .basic_auth(fake.key_id(), Some(fake.key_secret()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 503);
    assert_eq!(remote.token().await.len(), token.len(), "then tokens again");

    // `*` covers every operation; DELETE forgets every plan.
    let a = remote
        .post(
            "/faults",
            json!({"operation": "*", "status": 500, "times": 10}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let a = remote
        .api(&token, "GET", &format!("apps/{app}"), None)
        .await;
    assert_error(&a, 500, "INTERNAL");
    let cleared = answer(
        remote
            .http
            .delete(remote.control("/faults"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((cleared.status, &cleared.body), (200, &json!({})));
    assert_eq!(remote.api(&token, "GET", "apps", None).await.status, 200);

    // The request log shows each answer (0: dropped).
    let log = remote.get("/requests?operation=App_ListApps").await;
    assert_eq!(log.status, 200);
    let statuses: Vec<u64> = log
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [503, 503, 200, 200, 200]);

    // A plan is exactly one of status, delay_ms and drop, for an operation the fake has.
    for bad in [
        json!({"operation": "App_ListApps", "status": 500, "drop": true}),
        json!({"operation": "App_ListApps", "status": 500, "delay_ms": 10}),
        json!({"operation": "App_ListApps", "retry_after_ms": 10}),
        json!({"operation": "App_ListApps", "delay_ms": 10, "retry_after_ms": 10}),
        json!({"status": 500}),
        json!({"operation": "App_ListAps", "status": 500}),
        json!({"operation": "App_ListApps", "status": 200}),
        json!({"operation": "App_ListApps", "status": "busy"}),
        json!({"operation": "App_ListApps", "status": 503, "times": 0}),
    ] {
        let a = remote.post("/faults", bad.clone()).await;
        assert_error(&a, 400, "INVALID_ARGUMENT");
    }
    assert_error(
        &remote.post_text("/faults", "[]").await,
        400,
        "INVALID_ARGUMENT",
    );
    assert_eq!(
        remote.api(&token, "GET", "apps", None).await.status,
        200,
        "refused plans were not added"
    );
}

#[tokio::test]
async fn a_drop_fault_closes_the_connection_unanswered() {
    let fake = Fake::start().await.unwrap();
    let remote = Remote::new(&fake).await;
    let token = remote.token().await;
    let a = remote
        .post(
            "/faults",
            json!({"operation": "App_ListApps", "drop": true}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let url = format!("{}/v1/projects/{}/apps", fake.base_url(), fake.project_id());
    let dropped = reqwest::Client::new()
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await;
    assert!(dropped.is_err(), "no answer expected: {dropped:?}");
    assert_eq!(remote.api(&token, "GET", "apps", None).await.status, 200);
    let log = remote.get("/requests?operation=App_ListApps").await;
    let statuses: Vec<&Value> = log
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["status"])
        .collect();
    assert_eq!(statuses, [0, 200], "0: dropped");
}

#[tokio::test]
async fn clock_advance_drives_a_delivery_report() {
    // DLV-1 DLV-4 (on the fake's manual clock)
    let fake = Fake::builder().manual_clock(true).start().await.unwrap();
    let remote = Remote::new(&fake).await;
    assert_eq!(remote.info["manual_clock"], true);
    let token = remote.token().await;
    let app = remote.app(&["SMS"], "DISPATCH").await;
    let receiver = Receiver::start(SECRET).await;
    remote
        .webhook(&token, &app, &receiver, &["MESSAGE_DELIVERY"])
        .await;
    let start: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(remote.get("/clock").await.body["now"].clone()).unwrap();

    // A recipient delivered 30 s after reaching the channel.
    let sent = remote
        .api(
            &token,
            "POST",
            "messages:send",
            Some(json!({
                "app_id": app,
                "recipient": {"identified_by": {"channel_identities": [
                    {"channel": "SMS", "identity": recipients::DELIVERED_LATE}]}},
                "message": {"text_message": {"text": "hi"}},
            })),
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let statuses = || {
        receiver
            .events()
            .iter()
            .map(|e| serde_json::to_value(e).unwrap()["message_delivery_report"]["status"].clone())
            .collect::<Vec<_>>()
    };
    let idle = remote.post("/idle", json!({"timeout_ms": 5000})).await;
    assert_eq!(idle.body, json!({"idle": true}));
    assert_eq!(statuses(), [json!("QUEUED_ON_CHANNEL")]);

    let a = remote.post("/clock/advance", json!({"ms": 29_000})).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let now: chrono::DateTime<chrono::Utc> = serde_json::from_value(a.body["now"].clone()).unwrap();
    assert_eq!(now - start, chrono::Duration::seconds(29));
    remote.post("/idle", json!({})).await;
    assert_eq!(statuses(), [json!("QUEUED_ON_CHANNEL")], "not yet");

    let a = remote.post("/clock/advance", json!({"ms": 1_000})).await;
    assert_eq!(a.status, 200);
    receiver.wait_until(WAIT, |evs| evs.len() == 2).await;
    assert_eq!(statuses(), [json!("QUEUED_ON_CHANNEL"), json!("DELIVERED")]);
    let clock = remote.get("/clock").await.body;
    assert_eq!(clock["manual"], true);
    let now: chrono::DateTime<chrono::Utc> = serde_json::from_value(clock["now"].clone()).unwrap();
    assert_eq!(now - start, chrono::Duration::seconds(30));

    for bad in [json!({}), json!({"ms": -5}), json!({"ms": "soon"})] {
        let a = remote.post("/clock/advance", bad).await;
        assert_error(&a, 400, "INVALID_ARGUMENT");
    }
}

#[tokio::test]
async fn expired_tokens_get_a_401_with_the_challenge() {
    // AUTH-3
    let fake = Fake::start().await.unwrap();
    let remote = Remote::new(&fake).await;
    let token = remote.token().await;
    assert_eq!(remote.api(&token, "GET", "apps", None).await.status, 200);

    let a = remote.post_text("/tokens/expire", "").await;
    assert_eq!(a.status, 200, "{}", a.body);
    let refused = remote.api(&token, "GET", "apps", None).await;
    assert_error(&refused, 401, "UNAUTHENTICATED");
    assert_eq!(
        refused
            .headers
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap()),
        Some(r#"Bearer error="invalid_token", error_description="Jwt expired""#)
    );
    // A new token works.
    let fresh = remote.token().await;
    assert_ne!(fresh, token);
    assert_eq!(remote.api(&fresh, "GET", "apps", None).await.status, 200);
}

#[tokio::test]
async fn idle_waits_for_callbacks_and_says_when_they_are_not_done() {
    // CB-3 (the retry waits on the fake's clock)
    let fake = Fake::builder().manual_clock(true).start().await.unwrap();
    let remote = Remote::new(&fake).await;
    let token = remote.token().await;
    let app = remote.app(&["SMS"], "CONVERSATION").await;
    let receiver = Receiver::start(SECRET).await;
    remote
        .webhook(&token, &app, &receiver, &["MESSAGE_INBOUND"])
        .await;
    receiver.fail_next(1000);
    let a = remote
        .post(
            "/inbound",
            json!({"app_id": app, "channel": "SMS", "identity": "+46700000001", "text": "hi"}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);

    // The first try failed; the retry waits on the (manual) clock, so the fake is not idle.
    let idle = remote.post("/idle", json!({"timeout_ms": 300})).await;
    assert_eq!((idle.status, &idle.body), (200, &json!({"idle": false})));
    let callbacks = remote.callbacks().await;
    assert_eq!(callbacks.len(), 1, "{callbacks:?}");
    let c = &callbacks[0];
    assert_eq!(c["trigger"], "MESSAGE_INBOUND");
    assert_eq!(c["target"], receiver.url.as_str());
    assert_eq!(
        (&c["delivered"], &c["finished"]),
        (&json!(false), &json!(false))
    );
    let tries: Vec<&Value> = c["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["status"])
        .collect();
    assert_eq!(tries, [500]);

    receiver.fail_next(0);
    let a = remote.post("/clock/advance", json!({"ms": 1000})).await;
    assert_eq!(a.status, 200);
    let idle = remote.post_text("/idle", "").await;
    assert_eq!((idle.status, &idle.body), (200, &json!({"idle": true})));
    let callbacks = remote.callbacks().await;
    let c = &callbacks[0];
    assert_eq!(
        (&c["delivered"], &c["finished"]),
        (&json!(true), &json!(true))
    );
    let tries: Vec<&Value> = c["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["status"])
        .collect();
    assert_eq!(tries, [500, 200]);
    assert_eq!(
        c["body"]["message"]["contact_message"]["text_message"]["text"],
        "hi"
    );
    assert!(c["webhook_id"].is_string());
    assert!(c["attempts"][1]["headers"]["x-sinch-webhook-signature"].is_string());
    assert_eq!(receiver.events().len(), 1);

    // A lost answer: the same callback again, as a new entry; an unknown one is 404.
    let a = remote.post("/callbacks/0/redeliver", json!({})).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let idle = remote.post_text("/idle", "").await;
    assert_eq!(idle.body, json!({"idle": true}));
    let callbacks = remote.callbacks().await;
    assert_eq!(callbacks[1]["redelivery_of"], 0);
    assert_eq!(callbacks[1]["body"], callbacks[0]["body"]);
    assert_eq!(receiver.events().len(), 2);
    let a = remote.post("/callbacks/9/redeliver", json!({})).await;
    assert_error(&a, 404, "NOT_FOUND");

    let a = remote.post("/idle", json!({"timeout_ms": "soon"})).await;

    assert_error(&a, 400, "INVALID_ARGUMENT");
}

#[tokio::test]
async fn requests_messages_and_contacts_can_be_inspected() {
    let fake = Fake::start().await.unwrap();
    let remote = Remote::new(&fake).await;
    let token = remote.token().await;
    let app = remote.app(&["SMS"], "CONVERSATION").await;
    let send = json!({
        "app_id": app,
        "recipient": {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": "+46700000002"}]}},
        "message": {"text_message": {"text": "inspect me"}},
    });
    let sent = remote
        .api(&token, "POST", "messages:send", Some(send))
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let refused = remote
        .api(
            &token,
            "POST",
            "messages:send",
            Some(json!({"app_id": app})),
        )
        .await;
    assert_eq!(refused.status, 400);

    let log = remote.get("/requests?operation=Messages_SendMessage").await;
    assert_eq!(log.status, 200);
    let entries = log.body.as_array().unwrap();
    assert_eq!(entries.len(), 2, "{}", log.body);
    let first = &entries[0];
    assert_eq!(first["operation"], "Messages_SendMessage");
    assert_eq!(first["method"], "POST");
    assert_eq!(
        first["path"],
        format!("/v1/projects/{}/messages:send", fake.project_id())
    );
    assert_eq!(first["auth_scheme"], "Bearer");
    assert_eq!(first["status"], 200);
    assert_eq!(
        first["body"]["message"]["text_message"]["text"],
        "inspect me"
    );
    assert!(first["received_at"].is_string());
    assert_eq!(entries[1]["status"], 400);
    let everything = remote.get("/requests").await.body;
    let operations: Vec<&str> = everything
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["operation"].as_str().unwrap())
        .collect();
    assert_eq!(
        operations,
        [
            "oauth2.token",
            "Messages_SendMessage",
            "Messages_SendMessage"
        ],
        "control calls are not API requests"
    );
    let none = remote.get("/requests?operation=App_DeleteApp").await;
    assert_eq!(none.body, json!([]));

    let messages = remote.get("/messages").await.body;
    assert_eq!(ids(&messages), [sent.body["message_id"].as_str().unwrap()]);
    assert_eq!(
        messages[0]["app_message"]["text_message"]["text"],
        "inspect me"
    );
    let contacts = remote.get("/contacts").await.body;
    assert_eq!(contacts.as_array().unwrap().len(), 1);
    assert_eq!(contacts[0]["id"], messages[0]["contact_id"]);
    assert_eq!(
        remote.callbacks().await,
        Vec::<Value>::new(),
        "no webhooks, no callbacks"
    );
}
