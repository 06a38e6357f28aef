//! Send-path throughput against a hand-written floor, in one process and one run.
//!
//! A loopback server answers `messages:send`; the floor is plain reqwest + serde_json doing the
//! same request (auth header, JSON body, JSON response); ours is the generated client with its
//! hooks (auth, retry bookkeeping, typed bodies). Both share one `reqwest::Client`, so the
//! difference is our layer alone; the floor precomputes its auth header as a tuned hand-written
//! client would. Rounds alternate (and swap which goes first) so both see the same machine; the
//! reported ratio is the median of the per-round ratios.
//!
//! `cargo bench --bench send` (env: BENCH_REQUESTS per round, default 20000; BENCH_INFLIGHT,
//! default 32; BENCH_ROUNDS, default 5). Prints messages/s for each and the ratio ours/floor.

use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use sinch_conversation::prelude::*;
use sinch_conversation::types;
use std::time::{Duration, Instant};

#[derive(Serialize, Clone)]
struct FloorRequest {
    app_id: String,
    recipient: FloorRecipient,
    message: FloorMessage,
}
#[derive(Serialize, Clone)]
struct FloorRecipient {
    contact_id: String,
}
#[derive(Serialize, Clone)]
struct FloorMessage {
    text_message: FloorText,
}
#[derive(Serialize, Clone)]
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
    let app = axum::Router::new().route(
        PATH,
        axum::routing::post(|_body: axum::body::Bytes| async {
            ([("content-type", "application/json")], REPLY)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn run<F, Fut>(n: usize, inflight: usize, f: F) -> f64
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
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let n = env_usize("BENCH_REQUESTS", 20_000);
        let inflight = env_usize("BENCH_INFLIGHT", 32);
        let url = serve().await;

        let http = reqwest::Client::new();
        let auth = reqwest::header::HeaderValue::from_static("Basic a2V5OnNlY3JldA=="); // key:secret
        let floor_url = format!("{url}{PATH}");
        let floor_body = FloorRequest {
            app_id: "app".into(),
            recipient: FloorRecipient {
                contact_id: "contact".into(),
            },
            message: FloorMessage {
                text_message: FloorText {
                    text: "hello".into(),
                },
            },
        };
        let floor = || {
            let (http, url, body, auth) = (&http, &floor_url, floor_body.clone(), auth.clone());
            async move {
                let resp = http
                    .post(url)
                    .header(reqwest::header::AUTHORIZATION, auth)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert!(resp.status().is_success());
                let _: FloorResponse =
                    serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
            }
        };

        let client = Client::builder()
            .project_id("bench")
            .base_url(&url)
            .credentials(Credentials::basic("key", "secret"))
            .http_client(http.clone())
            .build()
            .unwrap();
        let body: types::SendMessageRequest = serde_json::from_value(serde_json::json!({
            "app_id": "app",
            "recipient": {"contact_id": "contact"},
            "message": {"text_message": {"text": "hello"}}
        }))
        .unwrap();
        let ours = || {
            let (client, body) = (&client, body.clone());
            async move {
                client
                    .messages_send_message()
                    .body(body)
                    .send()
                    .await
                    .unwrap();
            }
        };

        // Warm up connections and allocators.
        run(2_000, inflight, &floor).await;
        run(2_000, inflight, &ours).await;
        let rounds = env_usize("BENCH_ROUNDS", 5).max(1);
        let (mut f, mut o, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let (a, b) = if round % 2 == 0 {
                let a = run(n, inflight, &floor).await;
                (a, run(n, inflight, &ours).await)
            } else {
                let b = run(n, inflight, &ours).await;
                (run(n, inflight, &floor).await, b)
            };
            f.push(a);
            o.push(b);
            ratios.push(b / a);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let median = |v: &[f64]| {
            let mut v = v.to_vec();
            v.sort_by(|a, b| a.total_cmp(b));
            v[v.len() / 2]
        };
        println!("requests per round: {n}, in flight: {inflight}, rounds: {rounds} (medians)");
        println!("floor (reqwest + serde_json): {:>9.0} msg/s", median(&f));
        println!("sinch-conversation:           {:>9.0} msg/s", median(&o));
        println!(
            "ratio ours/floor: {:.3} (per round: {})",
            median(&ratios),
            ratios
                .iter()
                .map(|r| format!("{r:.3}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    });
}
