//! The fake's answers to bad, hostile and random input, with a plain HTTP client: each gets
//! the API's error status and body, never a 5xx or a panic, and leaves the state as it was.
//! Each test names the rules of `src/fake/RULES.md` it holds the fake to.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};
use sinch_conversation::fake::{app_request, Fake, FakeBuilder};
use sinch_conversation::types::{ConversationChannel as Ch, ProcessingMode};

struct Raw {
    fake: Fake,
    http: reqwest::Client,
    app: String,
}

impl Raw {
    async fn start() -> Raw {
        Self::with(Fake::builder()).await
    }

    async fn with(builder: FakeBuilder) -> Raw {
        let fake = builder.start().await.unwrap();
        let mut request = app_request("a", &[Ch::Sms]);
        request.processing_mode = Some(ProcessingMode::Conversation);
        let app = fake.create_app_with(&request).unwrap().id.unwrap();
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

    async fn send_raw(
        &self,
        method: &str,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, Value) {
        let resp = self
            .basic(self.http.request(method.parse().unwrap(), url))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        answer(resp).await
    }

    async fn post_raw(&self, rest: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
        self.send_raw("POST", &self.url(rest), content_type, body)
            .await
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

    /// What a client could observe of the project, and what it was sent.
    async fn state(&self) -> Value {
        let mut out = serde_json::Map::new();
        for list in ["apps", "contacts?page_size=20", "messages?page_size=1000"] {
            out.insert(list.into(), self.get(list).await.1);
        }
        out.insert(
            "conversations".into(),
            self.get(&format!("conversations?app_id={}", self.app))
                .await
                .1,
        );
        out.insert(
            "webhooks".into(),
            self.get(&format!("apps/{}/webhooks", self.app)).await.1,
        );
        let templates = format!(
            "{}/v2/projects/{}/templates",
            self.fake.base_url(),
            self.fake.project_id()
        );
        out.insert(
            "templates".into(),
            answer(self.basic(self.http.get(templates)).send().await.unwrap())
                .await
                .1,
        );
        out.insert("settings".into(), self.get("settings").await.1);
        out.insert("messages seen".into(), json!(self.fake.messages().len()));
        out.insert("callbacks".into(), json!(self.fake.callbacks().len()));
        Value::Object(out)
    }
}

async fn answer(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
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

const NOBODY: &str = "01HZZZZZZZZZZZZZZZZZZZZZZZ";

fn send_body(app: &str) -> Value {
    json!({"app_id": app, "recipient": {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": "+12065550100"}]}}, "message": {"text_message": {"text": "hi"}}})
}

#[tokio::test]
async fn malformed_json_wrong_types_and_missing_fields_change_nothing() {
    // ERR-1 ERR-3 ERR-4 ERR-8 MSG-2
    let raw = Raw::start().await;
    let before = raw.state().await;
    let r = raw
        .post_raw(
            "messages:send",
            "application/json",
            b"{\"app_id\": ".to_vec(),
        )
        .await;
    assert_error(&r, 400, "INVALID_ARGUMENT", "invalid JSON body");
    let r = raw.post_raw("contacts", "text/plain", b"{}".to_vec()).await;
    assert_error(&r, 400, "INVALID_ARGUMENT", "Content-Type");
    let r = raw.post_raw("contacts", "application/json", vec![]).await;
    assert_error(&r, 400, "INVALID_ARGUMENT", "JSON body");
    let r = raw.post("messages:send", json!([1, 2])).await;
    assert_error(&r, 400, "INVALID_ARGUMENT", "JSON object");
    let mut no_app = send_body(&raw.app);
    no_app.as_object_mut().unwrap().remove("app_id");
    assert_error(
        &raw.post("messages:send", no_app).await,
        400,
        "INVALID_ARGUMENT",
        "app_id: required field missing",
    );
    let mut mistyped = send_body(&raw.app);
    mistyped["recipient"]["identified_by"]["channel_identities"][0]["identity"] =
        json!(12065550100u64);
    assert_error(
        &raw.post("messages:send", mistyped).await,
        400,
        "INVALID_ARGUMENT",
        "recipient.identified_by.channel_identities[0].identity: expected a string",
    );
    assert_error(
        &raw.post("contacts", json!({"language": "EN_US"})).await,
        400,
        "INVALID_ARGUMENT",
        "channel_identities",
    );
    assert_error(
        &raw.post(
            "webhooks",
            json!({"app_id": raw.app, "target": "not a url", "triggers": ["MESSAGE_INBOUND"]}),
        )
        .await,
        400,
        "INVALID_ARGUMENT",
        "not a URL",
    );
    let mut both = send_body(&raw.app);
    both["recipient"]["contact_id"] = json!(NOBODY);
    assert_error(
        &raw.post("messages:send", both).await,
        400,
        "INVALID_ARGUMENT",
        "exactly one of contact_id",
    );
    assert_eq!(raw.state().await, before);
}

#[tokio::test]
async fn ids_are_checked_for_form_then_looked_up() {
    // ERR-2 ERR-5 ERR-8
    let raw = Raw::start().await;
    let before = raw.state().await;
    for kind in [
        "apps",
        "contacts",
        "conversations",
        "messages",
        "events",
        "webhooks",
    ] {
        assert_error(
            &raw.get(&format!("{kind}/{NOBODY}")).await,
            404,
            "NOT_FOUND",
            NOBODY,
        );
        assert_error(
            &raw.get(&format!("{kind}/01NOPE")).await,
            400,
            "INVALID_ARGUMENT",
            "required form",
        );
    }
    assert_error(
        &raw.post("messages:send", send_body(NOBODY)).await,
        404,
        "NOT_FOUND",
        NOBODY,
    );
    assert_error(
        &raw.post("messages:send", send_body("my-app")).await,
        400,
        "INVALID_ARGUMENT",
        "app_id",
    );
    assert_error(
        &raw.get("no/such/operation").await,
        404,
        "NOT_FOUND",
        "no operation",
    );
    assert_error(
        &raw.get("messages?contact_id=nope").await,
        400,
        "INVALID_ARGUMENT",
        "contact_id",
    );
    let merge = raw
        .post(
            &format!("contacts/{NOBODY}:merge"),
            json!({"source_id": NOBODY}),
        )
        .await;
    assert_error(&merge, 400, "INVALID_ARGUMENT", "merged into itself");
    let other = "01HYYYYYYYYYYYYYYYYYYYYYYY";
    assert_error(
        &raw.post(
            &format!("contacts/{NOBODY}:merge"),
            json!({"source_id": other}),
        )
        .await,
        404,
        "NOT_FOUND",
        NOBODY,
    );
    assert_error(
        &raw.post(&format!("contacts/{NOBODY}:explode"), json!({}))
            .await,
        404,
        "NOT_FOUND",
        "no operation",
    );
    let wrong_method = raw
        .send_raw("PUT", &raw.url("apps"), "application/json", b"{}".to_vec())
        .await;
    assert_error(&wrong_method, 404, "NOT_FOUND", "no operation");
    assert_eq!(raw.state().await, before);
}

#[tokio::test]
async fn wrong_missing_and_expired_credentials() {
    // AUTH-1 AUTH-2 AUTH-3
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
    // JWT-shaped, with its expiry, as SDKs that renew ahead of time read it.
    use base64::Engine as _;
    let claims = access.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .unwrap(),
    )
    .unwrap();
    let exp = claims["exp"].as_i64().unwrap();
    assert!(
        (exp - raw.fake.now().timestamp() - 3600).abs() <= 2,
        "{claims}"
    );
    // The form may carry the key instead of the header.
    let form = raw
        .http
        .post(raw.fake.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", raw.fake.key_id()),
            ("client_secret", raw.fake.key_secret()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);

    assert_eq!(
        answer(
            raw.http
                .get(&url)
                .bearer_auth(&access)
                .send()
                .await
                .unwrap()
        )
        .await
        .0,
        200
    );
    raw.fake.expire_tokens();
    let resp = raw
        .http
        .get(&url)
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_error(&answer(resp).await, 401, "UNAUTHENTICATED", "expired");
    assert_eq!(
        challenge.as_deref(),
        Some("Bearer error=\"invalid_token\", error_description=\"Jwt expired\""),
        "what the SDKs renew on"
    );
}

#[tokio::test]
async fn a_key_reaches_only_its_own_project() {
    // AUTH-4 LIST-1
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
    assert_eq!(
        own,
        (200, json!({"apps": []})),
        "projects keep separate state; the array is always sent"
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    // ERR-7 ERR-8
    let raw = Raw::with(Fake::builder().max_body(4096)).await;
    let before = raw.state().await;
    let mut big = send_body(&raw.app);
    big["message"]["text_message"]["text"] = json!("x".repeat(10_000));
    assert_error(
        &raw.post("messages:send", big).await,
        413,
        "INVALID_ARGUMENT",
        "larger than 4096 bytes",
    );
    assert_eq!(raw.state().await, before);
}

#[tokio::test]
async fn the_project_limit_answers_429_with_retry_info() {
    // LIM-1
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
async fn a_full_app_queue_answers_429_and_stores_nothing() {
    // DLV-2 ERR-8
    let raw = Raw::with(Fake::builder().manual_clock(true).queue_capacity(2)).await;
    let to = |n: u32| {
        let mut b = send_body(&raw.app);
        b["recipient"] = json!({"identified_by": {"channel_identities": [{"channel": "SMS", "identity": format!("+120655501{n:02}")}]}});
        b
    };
    // The first leaves at once; the next two fill the queue.
    for n in 1..=3 {
        assert_eq!(raw.post("messages:send", to(n)).await.0, 200);
    }
    let before = raw.fake.messages().len();
    assert_error(
        &raw.post("messages:send", to(4)).await,
        429,
        "RESOURCE_EXHAUSTED",
        "queue",
    );
    assert_eq!(
        raw.fake.messages().len(),
        before,
        "a refused send stores nothing"
    );
    assert_eq!(raw.fake.contacts().len(), 3, "nor creates its contact");
}

/// Arbitrary JSON, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        Just(json!("01HZZZZZZZZZZZZZZZZZZZZZZZ")),
        Just(json!("x".repeat(5000))),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::hash_map("[a-z_]{1,20}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A valid body for each operation that takes one, to mutate.
fn valid_bodies(app: &str) -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("POST", "messages:send", send_body(app)),
        (
            "POST",
            "contacts",
            json!({"channel_identities": [{"channel": "SMS", "identity": "+12065550100"}], "language": "EN_US"}),
        ),
        (
            "POST",
            "apps",
            json!({"display_name": "x", "channel_credentials": [{"channel": "SMS", "static_bearer": {"claimed_identity": "a", "token": "b"}}]}),
        ),
        (
            "POST",
            "webhooks",
            json!({"app_id": app, "target": "https://example.com/h", "triggers": ["MESSAGE_INBOUND"]}),
        ),
        (
            "POST",
            "events:send",
            json!({"app_id": app, "recipient": {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": "+12065550100"}]}}, "event": {"composing_event": {}}}),
        ),
        (
            "POST",
            "messages:fetch-last-message",
            json!({"channel_identities": ["+12065550100"]}),
        ),
        (
            "POST",
            "messages:transcode",
            json!({"app_id": app, "channels": ["SMS"], "app_message": {"text_message": {"text": "x"}}}),
        ),
        (
            "POST",
            "capability:query",
            json!({"app_id": app, "recipient": {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": "+12065550100"}]}}}),
        ),
        (
            "POST",
            "settings",
            json!({"contact_settings": {"unified_contact_id_enabled": false}}),
        ),
        (
            "PATCH",
            "settings",
            json!({"contact_settings": {"unified_contact_id_enabled": true}}),
        ),
        (
            "POST",
            "TEMPLATES",
            json!({"default_translation": "en-US", "translations": [{"language_code": "en-US", "text_message": {"text": "x"}}]}),
        ),
    ]
}

/// Replaces, adds or removes one field somewhere in `v`, by `path` (indexes into the object
/// keys met on the way).
fn mutate(v: &mut Value, path: &[usize], with: Value, remove: bool) {
    match v {
        Value::Object(obj) if !obj.is_empty() => {
            let keys: Vec<String> = obj.keys().cloned().collect();
            let key = &keys[path.first().copied().unwrap_or(0) % keys.len()];
            if path.len() <= 1 {
                if remove {
                    obj.remove(key);
                } else {
                    obj.insert(key.clone(), with);
                }
            } else {
                mutate(obj.get_mut(key).unwrap(), &path[1..], with, remove);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let i = path.first().copied().unwrap_or(0) % items.len();
            mutate(&mut items[i], path.get(1..).unwrap_or(&[]), with, remove);
        }
        other => *other = with,
    }
}

/// Runs `cases` requests made from `strategy` against one fake: every answer is a documented
/// status with the API's body, none is a 5xx, and a refused request leaves the state as it was.
fn hostile_requests(cases: u32, strategy: impl Strategy<Value = (usize, Vec<u8>)>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let raw = rt.block_on(Raw::with(
        Fake::builder().rate_limit(None).record_requests(false),
    ));
    let bodies = valid_bodies(&raw.app);
    let templates = format!(
        "{}/v2/projects/{}/templates",
        raw.fake.base_url(),
        raw.fake.project_id()
    );
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |(op, bytes)| {
            let (method, path, _) = &bodies[op % bodies.len()];
            let url = if *path == "TEMPLATES" {
                templates.clone()
            } else {
                raw.url(path)
            };
            rt.block_on(async {
                let before = raw.state().await;
                let (status, body) = raw
                    .send_raw(method, &url, "application/json", bytes.clone())
                    .await;
                prop_assert!(
                    [200, 400, 404, 413].contains(&status),
                    "{method} {path} {} -> {status} {body}",
                    String::from_utf8_lossy(&bytes)
                );
                if status != 200 {
                    let e = &body["error"];
                    prop_assert_eq!(&e["code"], &json!(status), "{}", body);
                    prop_assert!(
                        e["status"].is_string() && e["message"].is_string(),
                        "{}",
                        body
                    );
                    prop_assert_eq!(
                        raw.state().await,
                        before,
                        "{} {} changed state: {}",
                        method,
                        path,
                        body
                    );
                }
                Ok(())
            })
        })
        .unwrap();
}

#[test]
fn random_mutations_of_valid_bodies_get_the_apis_errors() {
    // ERR-1 ERR-4 ERR-6 ERR-8
    let strategy = (
        0usize..11,
        prop::collection::vec(0usize..8, 1..5),
        any_json(),
        any::<bool>(),
    )
        .prop_map(|(op, path, with, remove)| {
            let mut body = valid_bodies("01HXXXXXXXXXXXXXXXXXXXXXXX")[op].2.clone();
            mutate(&mut body, &path, with, remove);
            (op, body.to_string().into_bytes())
        });
    hostile_requests(300, strategy);
}

#[test]
fn random_bytes_and_json_get_the_apis_errors() {
    // ERR-3 ERR-8
    let bytes = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        any_json().prop_map(|v| v.to_string().into_bytes()),
        Just(b"{\"a\":".repeat(200)),
        Just([b"[".repeat(300), b"]".repeat(300)].concat()),
        Just(vec![0xff, 0xfe, b'{', b'}']),
    ];
    hostile_requests(200, (0usize..11, bytes));
}

#[tokio::test]
async fn hostile_paths_and_queries_get_the_apis_errors() {
    // ERR-2 ERR-5 ERR-6 LIST-3
    let raw = Raw::start().await;
    let before = raw.state().await;
    for path in [
        "messages/%00%01",
        "messages/..%2F..%2Fetc",
        "contacts/%F0%9F%92%A9",
        "apps/%2e%2e",
        "conversations?app_id=&contact_id=",
        "messages?page_size=-1",
        "messages?page_size=99999999999999999999",
        "messages?start_time=yesterday",
        "messages?only_recipient_originated=maybe",
        "contacts?page_token=%%%",
        "contacts?page_token=bm90LWEta2V5",
        "conversations:recent?app_id=01HZZZZZZZZZZZZZZZZZZZZZZZ&order=SIDEWAYS",
        "apps/01HZZZZZZZZZZZZZZZZZZZZZZZ/consents/EVERYTHING",
    ] {
        let (status, body) = raw.get(path).await;
        assert!([400, 404].contains(&status), "{path} -> {status} {body}");
        assert_eq!(body["error"]["code"], status, "{path}: {body}");
    }
    let long = format!("contacts/{}", "A".repeat(20_000));
    let (status, _) = raw.get(&long).await;
    assert!(status == 400 || status == 414 || status == 431, "{status}");
    assert_eq!(raw.state().await, before);
}
