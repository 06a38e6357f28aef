//! Send-path throughput against a hand-written floor, in one process and one run.
//!
//! A loopback server answers `messages:send`. The floor is plain reqwest + serde_json doing the
//! same request (precomputed auth header, JSON body borrowed, JSON response), as a tuned
//! hand-written client would. Every contender shares one `reqwest::Client`, so differences are
//! the layers above it:
//!
//! - the floor again with the generated request and response types (what typing costs);
//! - `Client::send_message(&body)` with Basic and with OAuth2, default retry and timeout (the
//!   headline: our send path with auth, hooks, retry bookkeeping and typed bodies);
//! - the generated builder, `messages_send_message().body(body.clone())`;
//! - `send_message` with retries and timeouts off (what that bookkeeping costs);
//! - the one-line constructors (`SendMessageRequest::new`, `Recipient::contact`,
//!   `AppMessage::text`) building each request, then `send_message`;
//! - the floor and `send_message` against the embedded fake API instead of the stub server
//!   (the fake stores every message, resolves contacts and queues deliveries; these two lines
//!   show it is not what limits a test or benchmark).
//!
//! Contenders take turns in chunks, rotating who goes first, and each one's time is summed, so
//! drift in machine load hits all alike. Ratios are to the floor in the same run.
//!
//! `cargo bench --bench send` (env: BENCH_REQUESTS per contender, default 40000; BENCH_CHUNK,
//! default 1000; BENCH_INFLIGHT, default 32; BENCH_ONLY=<index> runs one contender alone, for
//! profiling).

use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use sinch_conversation::fake::Fake;
use sinch_conversation::prelude::*;
use sinch_conversation::types;
use std::time::{Duration, Instant};

#[derive(Serialize)]
struct FloorRequest {
    app_id: String,
    recipient: FloorRecipient,
    message: FloorMessage,
}
#[derive(Serialize)]
struct FloorRecipient {
    contact_id: String,
}
#[derive(Serialize)]
struct FloorMessage {
    text_message: FloorText,
}
#[derive(Serialize)]
struct FloorText {
    text: String,
}
#[derive(Deserialize)]
#[allow(dead_code)]
struct FloorResponse {
    message_id: String,
    accepted_time: String,
}

const PATH: &str = "/v1/projects/bench/messages:send";
const REPLY: &str =
    r#"{"message_id":"01HZX3G7N2Q9W8E5R4T3Y2U1I0","accepted_time":"2024-06-18T12:34:56.123Z"}"#;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn serve() -> String {
    let app = axum::Router::new()
        .route(
            PATH,
            axum::routing::post(|_body: axum::body::Bytes| async {
                ([("content-type", "application/json")], REPLY)
            }),
        )
        .route(
            "/oauth2/token",
            axum::routing::post(|| async {
                (
                    [("content-type", "application/json")],
                    r#"{"access_token":"bench-token","expires_in":3600,"token_type":"bearer"}"#,
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn run<F, Fut>(n: usize, inflight: usize, f: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let start = Instant::now();
    stream::iter(0..n)
        .map(|_| f())
        .buffer_unordered(inflight)
        .for_each(|_| async {})
        .await;
    start.elapsed()
}

/// What the contenders share.
struct Ctx {
    http: reqwest::Client,
    floor_url: String,
    auth: reqwest::header::HeaderValue,
    floor_body: FloorRequest,
    body: types::SendMessageRequest,
    clients: Vec<Client>,
    fake_url: String,
    fake_floor_body: FloorRequest,
    fake_body: types::SendMessageRequest,
    fake_client: Client,
}

const CONTENDERS: &[&str] = &[
    "floor (reqwest + serde_json)",
    "floor with generated types",
    "ours: send_message, Basic",
    "ours: send_message, OAuth2",
    "ours: generated builder, Basic",
    "ours: send_message, no retry/timeout",
    "ours: one-line constructors + send_message",
    "floor against the embedded fake",
    "ours: send_message against the fake",
];

/// One request by contender `k`.
async fn one(k: usize, cx: &Ctx) {
    match k {
        0 | 1 => {
            let req = cx
                .http
                .post(&cx.floor_url)
                .header(reqwest::header::AUTHORIZATION, cx.auth.clone());
            let req = if k == 0 {
                req.json(&cx.floor_body)
            } else {
                req.json(&cx.body)
            };
            let resp = req.send().await.unwrap();
            assert!(resp.status().is_success());
            let bytes = resp.bytes().await.unwrap();
            if k == 0 {
                let _: FloorResponse = serde_json::from_slice(&bytes).unwrap();
            } else {
                let _: types::SendMessageResponse = serde_json::from_slice(&bytes).unwrap();
            }
        }
        2 | 3 | 5 => {
            let client = &cx.clients[if k == 5 { 2 } else { k - 2 }];
            client.send_message(&cx.body).await.unwrap();
        }
        6 => {
            let request = types::SendMessageRequest::new(
                "app",
                types::Recipient::contact("contact"),
                types::AppMessage::text("hello"),
            );
            cx.clients[0].send_message(&request).await.unwrap();
        }
        7 => {
            let resp = cx
                .http
                .post(&cx.fake_url)
                .header(reqwest::header::AUTHORIZATION, cx.auth.clone())
                .json(&cx.fake_floor_body)
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success());
            let bytes = resp.bytes().await.unwrap();
            let _: FloorResponse = serde_json::from_slice(&bytes).unwrap();
        }
        8 => {
            cx.fake_client.send_message(&cx.fake_body).await.unwrap();
        }
        _ => {
            // The generated builder takes the body by value.
            cx.clients[0]
                .messages_send_message()
                .body(cx.body.clone())
                .send()
                .await
                .unwrap();
        }
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let n = env_usize("BENCH_REQUESTS", 40_000);
        let chunk = env_usize("BENCH_CHUNK", 1_000).max(1);
        let inflight = env_usize("BENCH_INFLIGHT", 32);
        let url = serve().await;
        let http = reqwest::Client::new();
        let build = |credentials: Credentials, retry: RetryConfig, timeout: Option<Duration>| {
            Client::builder()
                .project_id("bench")
                .base_url(&url)
                .auth_url(format!("{url}/oauth2/token"))
                .credentials(credentials)
                .retry(retry)
                .timeout(timeout)
                .http_client(http.clone())
                .build()
                .unwrap()
        };
        let defaults = Some(Duration::from_secs(30));
        // The embedded fake, without its request limit or log, with one app and one contact.
        let fake = Fake::builder()
            .key("key", "secret")
            .rate_limit(None)
            .record_requests(false)
            .queue_capacity(usize::MAX)
            .start()
            .await
            .unwrap();
        // CONVERSATION mode: the bench sends to a contact id, which DISPATCH apps refuse.
        let mut app = sinch_conversation::fake::app_request("bench", &[types::ConversationChannel::Sms]);
        app.processing_mode = Some(types::ProcessingMode::Conversation);
        let fake_app = fake.create_app_with(&app).unwrap().id.unwrap();

        let fake_client = fake
            .client_builder()
            .credentials(Credentials::basic("key", "secret"))
            .http_client(http.clone())
            .build()
            .unwrap();
        let contact: types::ContactCreateRequest = serde_json::from_value(serde_json::json!({
            "channel_identities": [{"channel": "SMS", "identity": "+15550000000"}], "language": "EN_US"
        }))
        .unwrap();
        let contact = fake_client
            .contact_create_contact()
            .body(contact)
            .send()
            .await
            .unwrap()
            .into_inner()
            .id
            .unwrap();
        let cx = Ctx {
            floor_url: format!("{url}{PATH}"),
            auth: reqwest::header::HeaderValue::from_static("Basic a2V5OnNlY3JldA=="), // key:secret
            floor_body: FloorRequest {
                app_id: "app".into(),
                recipient: FloorRecipient {
                    contact_id: "contact".into(),
                },
                message: FloorMessage {
                    text_message: FloorText {
                        text: "hello".into(),
                    },
                },
            },
            body: serde_json::from_value(serde_json::json!({
                "app_id": "app",
                "recipient": {"contact_id": "contact"},
                "message": {"text_message": {"text": "hello"}}
            }))
            .unwrap(),
            clients: vec![
                build(
                    Credentials::basic("key", "secret"),
                    RetryConfig::default(),
                    defaults,
                ),
                build(
                    Credentials::oauth2("key", "secret"),
                    RetryConfig::default(),
                    defaults,
                ),
                build(
                    Credentials::basic("key", "secret"),
                    RetryConfig::disabled(),
                    None,
                ),
            ],
            http: http.clone(),
            fake_url: format!("{}/v1/projects/{}/messages:send", fake.base_url(), fake.project_id()),
            fake_floor_body: FloorRequest {
                app_id: fake_app.clone(),
                recipient: FloorRecipient {
                    contact_id: contact.clone(),
                },
                message: FloorMessage {
                    text_message: FloorText {
                        text: "hello".into(),
                    },
                },
            },
            fake_body: types::SendMessageRequest::new(
                &fake_app,
                types::Recipient::contact(&contact),
                types::AppMessage::text("hello"),
            ),
            fake_client,
        };

        // Warm up connections, the token cache and allocators.
        for k in 0..CONTENDERS.len() {
            run(2_000, inflight, || one(k, &cx)).await;
        }
        // For profiling one contender alone: BENCH_ONLY=<index into CONTENDERS>.
        if let Some(k) = std::env::var("BENCH_ONLY")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
        {
            let d = run(n, inflight, || one(k, &cx)).await;
            println!("{}: {:.0} msg/s", CONTENDERS[k], n as f64 / d.as_secs_f64());
            return;
        }
        // Contenders take turns in short chunks, rotating who goes first, and each one's time is
        // summed over all its chunks: drift in machine load hits every contender alike.
        let chunks = (n / chunk).max(1);
        let mut elapsed = vec![Duration::ZERO; CONTENDERS.len()];
        for c in 0..chunks {
            for j in 0..CONTENDERS.len() {
                let k = (j + c) % CONTENDERS.len();
                elapsed[k] += run(chunk, inflight, || one(k, &cx)).await;
            }
        }
        let rate = |d: Duration| (chunks * chunk) as f64 / d.as_secs_f64();
        println!(
            "requests per contender: {}, in flight: {inflight}, chunks of {chunk}",
            chunks * chunk
        );
        for (k, name) in CONTENDERS.iter().enumerate() {
            let r = rate(elapsed[k]);
            println!(
                "{name:<40}{r:>9.0} msg/s  ratio {:.3}",
                r / rate(elapsed[0])
            );
        }
        println!(
            "ratio ours/floor: {:.3}",
            rate(elapsed[2]) / rate(elapsed[0])
        );
        println!(
            "ratio constructors/floor: {:.3}",
            rate(elapsed[6]) / rate(elapsed[0])
        );
        println!(
            "fake: floor against it {:.0} msg/s ({:.2} of the stub), send_message {:.3} of that floor",
            rate(elapsed[7]),
            rate(elapsed[7]) / rate(elapsed[0]),
            rate(elapsed[8]) / rate(elapsed[7])
        );
    });
}
