//! Sending at the API's limits, on loopback servers: 429 is pacing (nothing lost, the outage
//! budget untouched), the adaptive limiter converges on a server's limit alone and shared,
//! bulk sends never duplicate, and oversized responses are refused.

#[path = "support/fakes.rs"]
mod fakes;

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use fakes::{campaign, limited};
use futures_util::StreamExt;
use serde_json::json;
use sinch_conversation::fake::{Fake, Fault};
use sinch_conversation::prelude::*;
use sinch_conversation::types::{
    AppMessage, ConversationChannel as Ch, Recipient, SendMessageRequest,
};
use sinch_conversation::BudgetConfig;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `n` requests, each with its index as `message_metadata` so the server can count duplicates.
fn requests(app: &str, n: usize) -> Vec<SendMessageRequest> {
    (0..n)
        .map(|i| {
            let mut r = SendMessageRequest::new(
                app,
                Recipient::channel(Ch::Sms, format!("+1555{:07}", i % 50)),
                AppMessage::text("load"),
            );
            r.message_metadata = Some(i.to_string());
            r
        })
        .collect()
}

/// (stored, distinct) message counts by metadata: stored > distinct means a duplicate.
fn stored(fake: &Fake) -> (usize, usize) {
    let all = fake.messages();
    let distinct: HashSet<_> = all.iter().map(|m| m.metadata.clone()).collect();
    (all.len(), distinct.len())
}

fn throttled(fake: &Fake) -> usize {
    fake.requests().iter().filter(|r| r.status == 429).count()
}

/// A server that refuses each request once with 429 (`Retry-After: 1`, no body detail) and
/// accepts it the second time, recognising requests by their `message_metadata`.
async fn refuse_each_once() -> String {
    let seen = Arc::new(Mutex::new(HashSet::<String>::new()));
    let app = axum::Router::new().fallback(move |body: Bytes| {
        let seen = seen.clone();
        async move {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let key = v["message_metadata"].as_str().unwrap_or_default().to_owned();
            if seen.lock().unwrap().insert(key) {
                return axum::response::Response::builder()
                    .status(429)
                    .header("retry-after", "1")
                    .body(Body::from(r#"{"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED"}}"#))
                    .unwrap();
            }
            axum::response::Response::builder()
                .header("content-type", "application/json")
                .body(Body::from(r#"{"message_id":"m","accepted_time":"2026-01-01T00:00:00Z"}"#))
                .unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn client_for(url: &str) -> sinch_conversation::ClientBuilder {
    Client::builder()
        .project_id("p")
        .region(Region::Us)
        .base_url(url)
        .credentials(Credentials::basic("k", "s"))
}

/// Every send of a bulk send succeeded (else: how many failed, and the first error).
fn assert_all_sent(outcomes: &[sinch_conversation::BulkOutcome]) {
    let failed: Vec<_> = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().err())
        .collect();
    assert!(
        failed.is_empty(),
        "{} failed, e.g. {:?}",
        failed.len(),
        failed.first()
    );
}

#[tokio::test]
async fn two_hundred_sends_each_refused_once_are_all_delivered() {
    let url = refuse_each_once().await;
    // A small budget: 429s must not draw from it. The limiter is off: this server's 429s are
    // not about the rate (it refuses every new request once, whatever the pace), which an
    // adaptive limiter cannot tell from overload and would slow down for.
    let client = client_for(&url)
        .retry(RetryConfig::default().budget(BudgetConfig {
            capacity: 10,
            retry_cost: 5,
        }))
        .rate_limit(RateLimit::off())
        .build()
        .unwrap();
    let outcomes: Vec<_> = client.send_all(requests("app", 200), 200).collect().await;
    assert_all_sent(&outcomes);
    assert_eq!(outcomes.len(), 200);
}

#[tokio::test]
async fn a_slot_guessed_past_the_deadline_does_not_end_the_call_the_request_goes_before_it() {
    // One 429 engages the limiter at a crawl (one request seen: about 10/s); fifty sends then
    // wait for slots up to five seconds away, with calls that may take two. Each must be
    // sent before its deadline and succeed (the API takes them all), not end early with a
    // deadline error because of where the limiter guessed its slot would be.
    let refused = Arc::new(AtomicBool::new(false));
    let app = axum::Router::new().fallback(move || {
        let refused = refused.clone();
        async move {
            if !refused.swap(true, Ordering::SeqCst) {
                let body = json!({"error": {"code": 429, "message": "wait", "status": "RESOURCE_EXHAUSTED",
                    "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.001s"}]}});
                return (StatusCode::TOO_MANY_REQUESTS, body.to_string());
            }
            (StatusCode::OK, r#"{"message_id":"m","accepted_time":"2026-01-01T00:00:00Z"}"#.to_string())
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = client_for(&url)
        .retry(RetryConfig::default().max_elapsed(Some(Duration::from_secs(2))))
        .rate_limit(RateLimit::adaptive().recovery(Duration::from_secs(30)))
        .build()
        .unwrap();
    client
        .send_message(&requests("app", 1)[0])
        .await
        .expect("the 429 is waited out");
    let started = Instant::now();
    let outcomes: Vec<_> = client.send_all(requests("app", 50), 50).collect().await;
    assert_all_sent(&outcomes);
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn retry_info_alone_is_honoured() {
    let seen = Arc::new(Mutex::new(0u32));
    let app = axum::Router::new().fallback(move || {
        let seen = seen.clone();
        async move {
            let n = {
                let mut s = seen.lock().unwrap();
                *s += 1;
                *s
            };
            if n == 1 {
                let body = json!({"error": {"code": 429, "message": "wait", "status": "RESOURCE_EXHAUSTED",
                    "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.300s"}]}});
                return (StatusCode::TOO_MANY_REQUESTS, body.to_string());
            }
            (StatusCode::OK, r#"{"apps":[]}"#.to_string())
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = client_for(&url)
        .retry(
            RetryConfig::default()
                .initial_backoff(Duration::from_millis(1))
                .max_backoff(Duration::from_millis(2)),
        )
        .build()
        .unwrap();
    let started = Instant::now();
    client.app_list_apps().send().await.unwrap();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(300),
        "waited {took:?}, not the 300 ms asked"
    );
    assert!(took < Duration::from_millis(900), "{took:?}");
}

#[tokio::test]
async fn sustained_sending_at_twice_the_limit_delivers_everything_in_about_n_over_r() {
    const R: f64 = 400.0;
    const N: usize = 800;
    let (fake, app) = limited(R).await;
    let client = fake.client();
    client.app_get_app().app_id(&app).send().await.unwrap(); // token, connection
                                                             // Offer 2R: one send every 1/(2R), each on its own task.
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / (2.0 * R)));
    let mut tasks = vec![];
    for r in requests(&app, N) {
        tick.tick().await;
        let c = client.clone();
        tasks.push(tokio::spawn(async move { c.send_message(&r).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let took = started.elapsed().as_secs_f64();
    let ideal = N as f64 / R;
    assert_eq!(stored(&fake), (N, N), "every message once");
    assert!(
        took <= ideal * 1.25 + 0.2,
        "took {took:.2}s for N/R = {ideal:.2}s"
    );
    println!(
        "{N} at 2x a {R}/s limit: {took:.2}s (N/R {ideal:.2}s), {} answers were 429",
        throttled(&fake)
    );
}

#[tokio::test]
async fn four_clients_sharing_one_limit_converge_on_it() {
    const R: f64 = 800.0;
    const EACH: usize = 600;
    let (fake, app) = limited(R).await;
    // Four independent clients (own limiter, token, pool), as four processes would be.
    let clients: Vec<Client> = (0..4).map(|_| fake.client()).collect();
    for c in &clients {
        c.app_get_app().app_id(&app).send().await.unwrap();
    }
    let started = std::time::SystemTime::now();
    let first_done = Arc::new(Mutex::new(None));
    let runs = clients.iter().enumerate().map(|(k, c)| {
        let batch: Vec<_> = requests(&app, 4 * EACH)
            .into_iter()
            .skip(k * EACH)
            .take(EACH)
            .collect();
        let first_done = first_done.clone();
        async move {
            let failed = c
                .send_all(batch, 32)
                .filter(|o| futures_util::future::ready(o.result.is_err()))
                .count()
                .await;
            first_done
                .lock()
                .unwrap()
                .get_or_insert(std::time::SystemTime::now());
            failed
        }
    });
    let failures: usize = futures_util::future::join_all(runs).await.into_iter().sum();
    assert_eq!(failures, 0);
    assert_eq!(stored(&fake), (4 * EACH, 4 * EACH));
    // The combined rate while all four were sending, as the server counted it.
    let until = first_done.lock().unwrap().unwrap();
    let accepted = fake
        .requests_for("Messages_SendMessage")
        .iter()
        .filter(|r| r.status == 200 && r.received_at >= started && r.received_at <= until)
        .count();
    let window = until.duration_since(started).unwrap().as_secs_f64();
    let rate = accepted as f64 / window;
    println!(
        "4 clients: {rate:.0}/s combined over {window:.2}s against {R}/s, {} answers were 429",
        throttled(&fake)
    );
    assert!(
        (0.9 * R..=1.1 * R).contains(&rate),
        "combined {rate:.0}/s against {R}/s"
    );
    // Few requests refused (the bench's figure is 3%; a loose bound for loaded machines).
    let share = throttled(&fake) as f64 / (4 * EACH + throttled(&fake)) as f64;
    assert!(
        share < 0.1,
        "{:.1}% of the requests were refused",
        share * 100.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_uncoordinated_clients_lose_nothing_and_keep_429s_under_a_tenth() {
    const R: f64 = 800.0;
    const N: usize = 3200;
    let (fake, app) = limited(R).await;
    let r = campaign(&fake, &app, 16, N, RateLimit::adaptive()).await;
    println!("16 independent clients against {R}/s: {r:?}");
    // No send ends early with a deadline error, none is repeated after the API took it.
    assert_eq!((r.delivered, r.duplicated, r.failed), (N, 0, 0), "{r:?}");
    // The bench (release, 8,000 messages) shows 6-7%; the issue's bound is 10%.
    assert!(r.refused * 10 <= r.requests, "{r:?}");
    // The limit used: N/R plus the ramp up and the last clients' tail (the bench's figure is
    // 0.88-0.99 of the limit; a debug build beside other tests is given room).
    let ideal = N as f64 / R;
    assert!(r.took.as_secs_f64() < ideal * 1.5, "{r:?}");
}

/// A server that holds each request 20 ms and records how many were in flight at each arrival.
async fn slow_counting_server() -> (String, Arc<Mutex<Vec<usize>>>) {
    let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(vec![]));
    let record = seen.clone();
    let app = axum::Router::new().fallback(move || {
        let (in_flight, record) = (in_flight.clone(), record.clone());
        async move {
            use std::sync::atomic::Ordering::SeqCst;
            let now = in_flight.fetch_add(1, SeqCst) + 1;
            record.lock().unwrap().push(now);
            tokio::time::sleep(Duration::from_millis(20)).await;
            in_flight.fetch_sub(1, SeqCst);
            axum::response::Response::builder()
                .header("content-type", "application/json")
                .body(Body::from(
                    r#"{"message_id":"m","accepted_time":"2026-01-01T00:00:00Z"}"#,
                ))
                .unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn a_bulk_send_starts_with_a_few_in_flight_and_grows_to_its_concurrency() {
    let (url, seen) = slow_counting_server().await;
    let client = client_for(&url).build().unwrap();
    let outcomes: Vec<_> = client.send_all(requests("app", 400), 64).collect().await;
    assert_all_sent(&outcomes);
    let seen = seen.lock().unwrap();
    // The first wave: two requests, then one more per four answers (by the sixteenth request
    // at least twelve answers are in, so at most five in flight).
    assert!(seen[..2].iter().all(|&n| n <= 2), "{:?}", &seen[..8]);
    assert!(seen[..16].iter().all(|&n| n <= 5), "{:?}", &seen[..16]);
    // Then all 64 at once.
    let peak = seen.iter().copied().max().unwrap();
    assert!((60..=64).contains(&peak), "peak {peak}");
}

#[tokio::test]
async fn a_clients_next_bulk_send_starts_where_the_last_one_got() {
    // The ramp is paid once: the same client's second bulk send starts where its first got.
    let (url, seen) = slow_counting_server().await;
    let client = client_for(&url).build().unwrap();
    let first: Vec<_> = client.send_all(requests("app", 200), 64).collect().await;
    assert!(first.iter().all(|o| o.result.is_ok()));
    let before = seen.lock().unwrap().len();
    let second: Vec<_> = client.send_all(requests("app", 200), 64).collect().await;
    assert!(second.iter().all(|o| o.result.is_ok()));
    let seen = seen.lock().unwrap();
    let start = seen[before..before + 64].iter().copied().max().unwrap();
    assert!(
        start > 32,
        "the second bulk send started with {start} in flight"
    );
}

#[tokio::test]
async fn a_500_on_a_send_is_never_repeated_even_in_bulk_with_ambiguous_retries_on() {
    let fake = Fake::start().await.unwrap();
    let app = fake.create_app("a", &[Ch::Sms]);
    let client = fake
        .client_builder()
        .retry(
            RetryConfig::default()
                .retry_ambiguous_posts(true)
                .initial_backoff(Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    fake.inject("Messages_SendMessage", Fault::status(500).times(3));
    let outcomes: Vec<_> = client.send_all(requests(&app, 3), 3).collect().await;
    assert!(outcomes
        .iter()
        .all(|o| o.result.as_ref().err().and_then(|e| e.status())
            == Some(StatusCode::INTERNAL_SERVER_ERROR)));
    assert_eq!(
        fake.requests_for("Messages_SendMessage").len(),
        3,
        "each sent once"
    );
    assert!(fake.messages().is_empty());
    // 503 and a dropped connection before anything was taken... a 503 is repeated, in bulk too.
    fake.inject("Messages_SendMessage", Fault::status(503));
    let outcomes: Vec<_> = client.send_all(requests(&app, 1), 1).collect().await;
    assert!(outcomes[0].result.is_ok());
    assert_eq!(stored(&fake), (1, 1));
}

#[tokio::test]
async fn the_outage_budget_caps_5xx_retries_but_not_429s() {
    let fake = Fake::start().await.unwrap();
    let client = fake
        .client_builder()
        .retry(
            RetryConfig::default()
                .initial_backoff(Duration::from_millis(1))
                .max_backoff(Duration::from_millis(2))
                .budget(BudgetConfig {
                    capacity: 10,
                    retry_cost: 5,
                }),
        )
        .rate_limit(RateLimit::off())
        .build()
        .unwrap();
    // Ten 429s in a row: all waited out, the budget untouched.
    fake.inject(
        "App_ListApps",
        Fault::status(429).times(10).retry_after(Duration::ZERO),
    );
    client.app_list_apps().send().await.unwrap();
    // A 503 outage: two retries empty the budget, after that calls fail fast.
    fake.inject("App_ListApps", Fault::status(503).times(1000));
    let before = fake.requests_for("App_ListApps").len();
    for _ in 0..5 {
        let e = client
            .app_list_apps()
            .send()
            .await
            .map_err(Error::from)
            .unwrap_err();
        assert_eq!(e.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    }
    let sent = fake.requests_for("App_ListApps").len() - before;
    assert_eq!(sent, 5 + 2, "five calls, two retries paid for");
}

#[tokio::test]
async fn bulk_yields_every_outcome_once_with_its_index() {
    let (fake, app) = limited(2000.0).await;
    let client = fake.client();
    let mut indexes = vec![];
    let mut outcomes =
        std::pin::pin!(client.send_stream(futures_util::stream::iter(requests(&app, 300)), 16));
    while let Some(o) = outcomes.next().await {
        assert_eq!(o.request.message_metadata, Some(o.index.to_string()));
        assert!(o.result.is_ok(), "{:?}", o.result);
        indexes.push(o.index);
    }
    indexes.sort();
    assert_eq!(indexes, (0..300).collect::<Vec<_>>());
    assert_eq!(stored(&fake), (300, 300));
}

async fn big_server(with_length: bool, size: usize) -> String {
    let app = axum::Router::new().fallback(move || async move {
        let chunk = Bytes::from(vec![b' '; 64 * 1024]);
        let chunks = size / chunk.len();
        let stream = futures_util::stream::iter(
            (0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
        );
        let mut resp =
            axum::response::Response::builder().header("content-type", "application/json");
        if with_length {
            resp = resp.header("content-length", (chunks * 64 * 1024).to_string());
        }
        resp.body(Body::from_stream(stream)).unwrap()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test]
async fn oversized_responses_are_a_clear_error() {
    // 64 MiB announced: refused by the default limit without reading it.
    let url = big_server(true, 64 << 20).await;
    let client = client_for(&url).build().unwrap();
    let started = Instant::now();
    let e = client
        .app_list_apps()
        .send()
        .await
        .map_err(Error::from)
        .unwrap_err();
    assert!(
        matches!(e, Error::ResponseTooLarge { limit, .. } if limit == sinch_conversation::DEFAULT_MAX_RESPONSE_BYTES),
        "{e:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    let e = client
        .send_message(&requests("app", 1)[0])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::ResponseTooLarge { .. }), "{e:?}");
    // Streamed without a length: cut off once past a (smaller) limit, on both call paths.
    let url = big_server(false, 4 << 20).await;
    let client = client_for(&url)
        .max_response_bytes(1 << 20)
        .build()
        .unwrap();
    let e = client
        .app_list_apps()
        .send()
        .await
        .map_err(Error::from)
        .unwrap_err();
    assert!(
        matches!(e, Error::ResponseTooLarge { limit: 1048576, .. }),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains("larger than the limit of 1048576 bytes"),
        "{e}"
    );
    let e = client
        .send_message(&requests("app", 1)[0])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::ResponseTooLarge { .. }), "{e:?}");
}
