//! The fake's answers to bad input, with a plain HTTP client: each gets the API's error body and
//! status, and leaves the state as it was.

use serde_json::{json, Value};
use sinch_conversation::fake::Fake;
use sinch_conversation::types::ConversationChannel as Ch;

struct Raw {
    fake: Fake,
    http: reqwest::Client,
    app: String,
}

impl Raw {
    async fn start() -> Raw {
        Self::with(Fake::builder()).await
    }

    async fn with(builder: sinch_conversation::fake::FakeBuilder) -> Raw {
        let fake = builder.start().await.unwrap();
        let app = fake.create_app("a", &[Ch::Sms]);
        Raw {
            fake,
            http: reqwest::Client::new(),
            app,
        }
    }

    fn url(&self, rest: &str) -> String {
        format!(
            "{}/v1/projects/{}/{rest}",
            self.fake.base_url(),
            self.fake.project_id()
        )
    }

    fn basic(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        req.basic_auth(self.fake.key_id(), Some(self.fake.key_secret()))
    }

    async fn post_raw(&self, rest: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
        let resp = self
            .basic(self.http.post(self.url(rest)))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        answer(resp).await
    }

    async fn post(&self, rest: &str, body: Value) -> (u16, Value) {
        self.post_raw(rest, "application/json", body.to_string().into_bytes())
            .await
    }

    async fn get(&self, rest: &str) -> (u16, Value) {
        answer(
            self.basic(self.http.get(self.url(rest)))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// What a client could observe of the project.
    async fn state(&self) -> Value {
        let mut out = serde_json::Map::new();
        for list in [
            "apps",
            "contacts?page_size=1000",
            "messages?page_size=1000",
            "events?page_size=1000",
        ] {
            out.insert(list.into(), self.get(list).await.1);
        }
        out.insert(
            "webhooks".into(),
            self.get(&format!("apps/{}/webhooks", self.app)).await.1,
        );
        out.insert("callbacks".into(), json!(self.fake.callbacks().len()));
        Value::Object(out)
    }
}

async fn answer(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// The documented envelope: `{"error": {"code", "message", "status", "details"}}`.
fn assert_error(got: &(u16, Value), status: u16, name: &str, mentions: &str) {
    let (s, body) = got;
    assert_eq!(*s, status, "{body}");
    let e = &body["error"];
    assert_eq!(e["code"], status, "{body}");
    assert_eq!(e["status"], name, "{body}");
    assert!(e["details"].is_array(), "{body}");
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains(mentions),
        "{message:?} should mention {mentions:?}"
    );
}

fn send_body(app: &str) -> Value {
    json!({"app_id": app, "recipient": {"contact_id": "x"}, "message": {"text_message": {"text": "hi"}}})
}

#[tokio::test]
async fn malformed_json_wrong_type_and_missing_fields_change_nothing() {
    let raw = Raw::start().await;
    let before = raw.state().await;

    let r = raw
        .post_raw(
            "messages:send",
            "application/json",
            b"{\"app_id\": ".to_vec(),
        )
        .await;
    assert_error(&r, 400, "INVALID_ARGUMENT", "invalid request body");
    let r = raw.post_raw("contacts", "text/plain", b"{}".to_vec()).await;
    assert_error(&r, 400, "INVALID_ARGUMENT", "Content-Type");
    let r = raw
        .post(
            "messages:send",
            json!({"recipient": {"contact_id": "x"}, "message": {"text_message": {"text": "hi"}}}),
        )
        .await;
    assert_error(&r, 400, "INVALID_ARGUMENT", "app_id");
    let r = raw.post("contacts", json!({"language": "EN_US"})).await;
    assert_error(&r, 400, "INVALID_ARGUMENT", "channel_identities");
    let r = raw
        .post(
            "webhooks",
            json!({"app_id": raw.app, "target": "not a url", "triggers": ["MESSAGE_INBOUND"]}),
        )
        .await;
    assert_error(&r, 400, "INVALID_ARGUMENT", "not a URL");
    // Semantic checks: a recipient needs exactly one form, a message exactly one kind.
    let mut both = send_body(&raw.app);
    both["recipient"]["identified_by"] =
        json!({"channel_identities": [{"channel": "SMS", "identity": "+1"}]});
    assert_error(
        &raw.post("messages:send", both).await,
        400,
        "INVALID_ARGUMENT",
        "not both",
    );
    let mut two = send_body(&raw.app);
    two["message"]["media_message"] = json!({"url": "https://example.com/a.png"});
    assert_error(
        &raw.post("messages:send", two).await,
        400,
        "INVALID_ARGUMENT",
        "exactly one kind",
    );
    // An identity on a channel the app lacks.
    let mut wa = send_body(&raw.app);
    wa["recipient"] = json!({"identified_by": {"channel_identities": [{"channel": "WHATSAPP", "identity": "+1"}]}});
    assert_error(
        &raw.post("messages:send", wa).await,
        400,
        "INVALID_ARGUMENT",
        "credentials",
    );

    assert_eq!(raw.state().await, before);
}

#[tokio::test]
async fn unknown_ids_and_paths_are_404() {
    let raw = Raw::start().await;
    let before = raw.state().await;
    for path in [
        "apps/01NOPE",
        "contacts/01NOPE",
        "conversations/01NOPE",
        "messages/01NOPE",
        "events/01NOPE",
        "webhooks/01NOPE",
    ] {
        assert_error(&raw.get(path).await, 404, "NOT_FOUND", "01NOPE");
    }
    assert_error(
        &raw.post("messages:send", send_body("01NOAPP")).await,
        404,
        "NOT_FOUND",
        "01NOAPP",
    );
    assert_error(
        &raw.post("messages:send", send_body(&raw.app)).await,
        404,
        "NOT_FOUND",
        "contact x",
    );
    assert_error(
        &raw.get("no/such/operation").await,
        404,
        "NOT_FOUND",
        "no operation",
    );
    let merge = raw
        .post("contacts/01NOPE:merge", json!({"source_id": "01OTHER"}))
        .await;
    assert_error(&merge, 404, "NOT_FOUND", "01NOPE");
    assert_eq!(raw.state().await, before);
}

#[tokio::test]
async fn wrong_missing_and_expired_credentials() {
    let raw = Raw::start().await;
    let url = raw.url("apps");
    let none = answer(raw.http.get(&url).send().await.unwrap()).await;
    assert_error(&none, 401, "UNAUTHENTICATED", "missing");
    let wrong = answer(
        raw.http
            .get(&url)
            .basic_auth(raw.fake.key_id(), Some("nope"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&wrong, 401, "UNAUTHENTICATED", "invalid credentials");
    let bogus = answer(
        raw.http
            .get(&url)
            .bearer_auth("made-up")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&bogus, 401, "UNAUTHENTICATED", "invalid credentials");

    // The token endpoint checks the key and the grant type.
    let token = |secret: &str, grant: &str| {
        raw.http
            .post(raw.fake.token_url())
            .basic_auth(raw.fake.key_id(), Some(secret.to_owned()))
            .form(&[("grant_type", grant)])
            .send()
    };
    let (s, b) = answer(token("nope", "client_credentials").await.unwrap()).await;
    assert_eq!((s, b["error"].as_str()), (401, Some("invalid_client")));
    let (s, b) = answer(token(raw.fake.key_secret(), "password").await.unwrap()).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (s, b) = answer(
        token(raw.fake.key_secret(), "client_credentials")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, b["token_type"].as_str(), b["expires_in"].as_u64()),
        (200, Some("bearer"), Some(3600))
    );
    let access = b["access_token"].as_str().unwrap().to_owned();
    let ok = answer(
        raw.http
            .get(&url)
            .bearer_auth(&access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ok.0, 200);
    raw.fake.expire_tokens();
    let expired = answer(
        raw.http
            .get(&url)
            .bearer_auth(&access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&expired, 401, "UNAUTHENTICATED", "expired");
}

#[tokio::test]
async fn a_key_reaches_only_its_own_project() {
    let raw =
        Raw::with(Fake::builder().extra_project("other-project", "other-key", "other-secret"))
            .await;
    let other = format!("{}/v1/projects/other-project/apps", raw.fake.base_url());
    let denied = answer(raw.basic(raw.http.get(&other)).send().await.unwrap()).await;
    assert_error(&denied, 403, "PERMISSION_DENIED", "other-project");
    let own = answer(
        raw.http
            .get(&other)
            .basic_auth("other-key", Some("other-secret"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(own.0, 200);
    // Empty lists are left out, as the API does.
    assert!(
        own.1["apps"].as_array().is_none_or(Vec::is_empty),
        "projects keep separate state"
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let raw = Raw::with(Fake::builder().max_body(4096)).await;
    let before = raw.state().await;
    let mut big = send_body(&raw.app);
    big["message"]["text_message"]["text"] = json!("x".repeat(10_000));
    let r = raw.post("messages:send", big).await;
    assert_error(&r, 413, "INVALID_ARGUMENT", "larger than 4096 bytes");
    assert_eq!(raw.state().await, before);
}

#[tokio::test]
async fn the_project_limit_answers_429_with_retry_info() {
    let raw = Raw::with(Fake::builder().rate_limit(Some(5.0)).rate_limit_burst(2.0)).await;
    let mut answers = vec![];
    for _ in 0..4 {
        let resp = raw
            .basic(raw.http.get(raw.url("apps")))
            .send()
            .await
            .unwrap();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        answers.push((answer(resp).await, retry_after));
    }
    assert_eq!(
        answers.iter().map(|(a, _)| a.0).collect::<Vec<_>>(),
        [200, 200, 429, 429]
    );
    let ((_, body), retry_after) = &answers[2];
    assert_error(&answers[2].0, 429, "RESOURCE_EXHAUSTED", "limit");
    assert_eq!(retry_after.as_deref(), Some("1"));
    let detail = &body["error"]["details"][0];
    assert_eq!(detail["@type"], "type.googleapis.com/google.rpc.RetryInfo");
    let delay = detail["retryDelay"].as_str().unwrap();
    let secs: f64 = delay.strip_suffix('s').unwrap().parse().unwrap();
    assert!(secs > 0.0 && secs <= 0.2, "one token at 5/s: {delay}");
}

#[tokio::test]
async fn a_full_app_queue_answers_429() {
    let raw = Raw::with(Fake::builder().queue_capacity(2).queue_rate(0.5)).await;
    let to = |n: u32| {
        let mut b = send_body(&raw.app);
        b["recipient"] = json!({"identified_by": {"channel_identities": [{"channel": "SMS", "identity": format!("+1555{n}")}]}});
        b
    };
    assert_eq!(raw.post("messages:send", to(1)).await.0, 200);
    // The first item leaves the queue at once; the next two fill it.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(raw.post("messages:send", to(2)).await.0, 200);
    assert_eq!(raw.post("messages:send", to(3)).await.0, 200);
    let before = raw.fake.messages().len();
    let full = raw.post("messages:send", to(4)).await;
    assert_error(&full, 429, "RESOURCE_EXHAUSTED", "queue");
    assert_eq!(
        raw.fake.messages().len(),
        before,
        "a refused send stores nothing"
    );
    assert_eq!(raw.fake.contacts().len(), 3, "nor creates its contact");
}
