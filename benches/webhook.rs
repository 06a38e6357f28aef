//! Receiving callbacks: parse and verify cost per callback, in one process and one run.
//!
//! A 670-byte MESSAGE_INBOUND callback, signed as Sinch signs it. Contenders on one core, in
//! turns of `WEBHOOK_CHUNK` callbacks, rotating who goes first, each one's time summed, so load
//! drift hits all alike. Ratios are to parsing the same bytes into a `serde_json::Value`:
//!
//! - `serde_json::Value`: the untyped floor a typed parse should at least match;
//! - typed through a tree: `Value` first, then `from_value` into the kind's type (what
//!   `webhook::parse` did before it skimmed the field names instead);
//! - serde's derived `Deserialize` for `MessageInboundEvent`, as if the kind were known before
//!   reading the body;
//! - `webhook::parse`: the typed parse (one pass, see `src/webhook/parse.rs`);
//! - `MemoryDedup` claiming and completing a new key (what recognising copies costs);
//! - `Verifier::verify_at`: the signature check alone;
//! - `Verifier::verify_and_parse_at`: both.
//!
//! Then, on loopback HTTP (axum + hyper serving, reqwest posting `WEBHOOK_INFLIGHT` at once,
//! client and server sharing the machine), callbacks verified, parsed and handed over per
//! second, each callback distinct (so nothing is a duplicate):
//!
//! - baseline: a hand-written axum handler doing the same work without the framework
//!   (`Verifier::verify_and_parse`, then `try_send` into a bounded channel, 503 when full);
//! - `webhook::Receiver` served with `route_service`: bounds, verifies, parses, claims the
//!   dedup key in a `MemoryDedup`, routes to a worker's queue, counts;
//! - the same with a dedup store that remembers nothing (what deduplication costs);
//! - with `WEBHOOK_REDIS=redis://host:port/`, the same with `RedisDedup` on that server (two
//!   round trips to Redis per callback: claim and complete), as replicas would share it.
//!
//! Last, a burst of `WEBHOOK_BURST` callbacks against a slow application (each event takes
//! 2 ms, 16 workers): peak heap (a counting allocator, whole process) and the deepest queue,
//! for the receiver (capacity 1024; 503s are retried by the sender after 20 ms, as the API
//! would later) against an unbounded hand-off that accepts everything at once.
//!
//! `cargo bench --bench webhook` (env: WEBHOOK_N callbacks per parse contender, default
//! 200000; WEBHOOK_CHUNK, default 5000; WEBHOOK_HTTP_N per HTTP contender, default 20000;
//! WEBHOOK_INFLIGHT, default 32; WEBHOOK_BURST, default 10000; WEBHOOK_REDIS).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use futures_util::stream::{self, StreamExt};
use serde_json::Value;
use sinch_conversation::types;
use sinch_conversation::webhook::{
    self, Claim, DedupKey, DedupStore, Event, Intake, MemoryDedup, Owner, Receiver, RedisDedup,
    StoreError, Verifier,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// Counts heap bytes once `COUNTING` is on (the burst phase; one relaxed load per
/// allocation before that, so the timed phases are not skewed).
struct Counting;
static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            let size = layout.size() as isize;
            let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const SECRET: &[u8] = b"bench-webhook-secret";
const NOW: i64 = 1_718_714_101;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A MESSAGE_INBOUND body of 670 bytes, as the API sends it (compact JSON).
fn inbound_body() -> Vec<u8> {
    let body = serde_json::json!({
        "app_id": "01HZX0APP0000000000000000A",
        "accepted_time": "2024-06-18T12:35:01.512345Z",
        "event_time": "2024-06-18T12:35:00Z",
        "project_id": "f3a2c1d0-0000-4000-8000-000000000001",
        "message": {
            "id": "01HZX0MSG00000000000000002",
            "direction": "TO_APP",
            "contact_message": {"text_message": {"text": "Can I move it to 20:00? We are two more"}},
            "channel_identity": {"channel": "WHATSAPP", "identity": "46700000001", "app_id": ""},
            "conversation_id": "01HZX0CONV0000000000000001",
            "contact_id": "01HZX0CONTACT00000000000C1",
            "metadata": "",
            "accept_time": "2024-06-18T12:35:01.512345Z",
            "sender_id": "",
            "processing_mode": "CONVERSATION",
            "injected": false
        },
        "message_metadata": "ticket T-91",
        "correlation_id": ""
    });
    serde_json::to_vec(&body).unwrap()
}

type Contender<'a> = (&'static str, Box<dyn Fn() + 'a>);

/// Runs each contender `n` times in turns of `chunk`; returns the summed time of each.
fn race(contenders: &[Contender<'_>], n: usize, chunk: usize) -> Vec<Duration> {
    let mut spent = vec![Duration::ZERO; contenders.len()];
    for (_, f) in contenders {
        for _ in 0..chunk.min(n) / 10 {
            f(); // warm-up
        }
    }
    let mut done = 0;
    let mut round = 0;
    while done < n {
        let this = chunk.min(n - done);
        for k in 0..contenders.len() {
            let i = (k + round) % contenders.len();
            let start = Instant::now();
            for _ in 0..this {
                (contenders[i].1)();
            }
            spent[i] += start.elapsed();
        }
        done += this;
        round += 1;
    }
    spent
}

fn parse_phase() {
    let n = env_usize("WEBHOOK_N", 200_000);
    let chunk = env_usize("WEBHOOK_CHUNK", 5_000);
    let body = inbound_body();
    let headers = webhook::signed_headers(SECRET, &body, "01J0BENCHNONCE000000000000", NOW);
    let verifier = Verifier::new(SECRET);

    // Every contender must agree on what the bytes are before anything is timed.
    let typed = webhook::parse(&body).unwrap();
    assert!(matches!(typed, Event::MessageInbound(_)));
    assert_eq!(
        verifier.verify_and_parse_at(&headers, &body, NOW).unwrap(),
        typed
    );

    // Distinct callbacks' keys; the store is sized so it never evicts.
    let keys: Vec<_> = (0..n + chunk)
        .map(|i| {
            let body = String::from_utf8(body.clone())
                .unwrap()
                .replace("01HZX0MSG00000000000000002", &format!("{i:0>26}"));
            webhook::dedup_key(&webhook::parse(body.as_bytes()).unwrap(), body.as_bytes())
        })
        .collect();
    let store = MemoryDedup::new(keys.len() * 8);
    let next = std::cell::Cell::new(0usize);
    let contenders: Vec<Contender<'_>> = vec![
        (
            "serde_json::Value (untyped floor)",
            Box::new(|| {
                black_box(serde_json::from_slice::<Value>(black_box(&body)).unwrap());
            }),
        ),
        (
            "typed through a Value tree (the old parse)",
            Box::new(|| {
                let tree: Value = serde_json::from_slice(black_box(&body)).unwrap();
                let e: types::MessageInboundEvent = serde_json::from_value(tree).unwrap();
                black_box(Event::MessageInbound(Box::new(e)));
            }),
        ),
        (
            "serde derive, kind known in advance",
            Box::new(|| {
                black_box(
                    serde_json::from_slice::<types::MessageInboundEvent>(black_box(&body)).unwrap(),
                );
            }),
        ),
        (
            "webhook::parse (typed)",
            Box::new(|| {
                black_box(webhook::parse(black_box(&body)).unwrap());
            }),
        ),
        (
            "MemoryDedup claim + complete, distinct keys",
            Box::new(|| {
                // A distinct key each time, as a stream of new callbacks would give.
                let i = next.get();
                next.set(i + 1);
                let key = keys[i % keys.len()].clone();
                let t = Instant::now();
                let owner = Owner::random();
                black_box(store.claim_at(&key, owner, t));
                store.complete_at(&key, owner, t);
            }),
        ),
        (
            "Verifier::verify_at (signature only)",
            Box::new(|| {
                verifier.verify_at(&headers, black_box(&body), NOW).unwrap();
            }),
        ),
        (
            "Verifier::verify_and_parse_at",
            Box::new(|| {
                black_box(
                    verifier
                        .verify_and_parse_at(&headers, black_box(&body), NOW)
                        .unwrap(),
                );
            }),
        ),
    ];

    println!(
        "parse: a {}-byte MESSAGE_INBOUND, {n} per contender, turns of {chunk}, one thread",
        body.len()
    );
    let spent = race(&contenders, n, chunk);
    let floor = n as f64 / spent[0].as_secs_f64();
    for ((name, _), t) in contenders.iter().zip(&spent) {
        let rate = n as f64 / t.as_secs_f64();
        println!(
            "parse {name:<44} {:>9.0}/s  ratio to Value {:.2}",
            rate,
            rate / floor
        );
    }
}

/// A store that remembers nothing: every claim is new (what deduplication costs).
struct Forgetful;

impl DedupStore for Forgetful {
    fn claim<'a>(
        &'a self,
        _: &'a DedupKey,
        _: Owner,
    ) -> futures_core::future::BoxFuture<'a, Result<Claim, StoreError>> {
        Box::pin(std::future::ready(Ok(Claim::New)))
    }
    fn complete<'a>(
        &'a self,
        _: &'a DedupKey,
        _: Owner,
    ) -> futures_core::future::BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(std::future::ready(Ok(())))
    }
    fn release<'a>(
        &'a self,
        _: &'a DedupKey,
        _: Owner,
    ) -> futures_core::future::BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(std::future::ready(Ok(())))
    }
}

/// The baseline: the same work in a hand-written handler.
struct Baseline {
    verifier: Verifier,
    tx: mpsc::Sender<Event>,
}

async fn baseline(State(st): State<Arc<Baseline>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    match st.verifier.verify_and_parse(&headers, &body) {
        Ok(event) => match st.tx.try_send(event) {
            Ok(()) => StatusCode::OK,
            Err(_) => StatusCode::SERVICE_UNAVAILABLE,
        },
        Err(webhook::WebhookError::Signature(_)) => StatusCode::UNAUTHORIZED,
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/callbacks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

/// `n` distinct signed MESSAGE_INBOUND callbacks (670 bytes each), ids prefixed `tag`.
fn signed_callbacks(tag: &str, n: usize) -> Vec<(reqwest::header::HeaderMap, Bytes)> {
    let template = String::from_utf8(inbound_body()).unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    (0..n)
        .map(|i| {
            let id = format!("{tag}{i:0>w$}", w = 26 - tag.len());
            let body = template.replace("01HZX0MSG00000000000000002", &id);
            let mut headers = reqwest::header::HeaderMap::new();
            for (k, v) in webhook::signed_headers(SECRET, body.as_bytes(), &id, now) {
                headers.insert(k, v.parse().unwrap());
            }
            (headers, Bytes::from(body))
        })
        .collect()
}

/// Posts every callback, `inflight` at once; a 503 is posted again after `retry` (as the API
/// would redeliver it). Returns the number of 503s.
async fn post_all(
    http: &reqwest::Client,
    url: &str,
    callbacks: &[(reqwest::header::HeaderMap, Bytes)],
    inflight: usize,
    retry: Duration,
) -> u64 {
    let refused = AtomicU64::new(0);
    stream::iter(callbacks)
        .map(|(headers, body)| {
            let refused = &refused;
            async move {
                loop {
                    let status = http
                        .post(url)
                        .headers(headers.clone())
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap()
                        .status();
                    if status == 503 {
                        refused.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(retry).await;
                        continue;
                    }
                    assert_eq!(status, 200);
                    return;
                }
            }
        })
        .buffer_unordered(inflight)
        .for_each(|_| async {})
        .await;
    refused.into_inner()
}

async fn loopback_phase() {
    let n = env_usize("WEBHOOK_HTTP_N", 20_000);
    let chunk = env_usize("WEBHOOK_CHUNK", 5_000).min(n);
    let inflight = env_usize("WEBHOOK_INFLIGHT", 32);
    let http = reqwest::Client::new();
    let handed = Arc::new(AtomicU64::new(0));

    let (tx, mut rx) = mpsc::channel(1024);
    let h = handed.clone();
    tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            black_box(e);
            h.fetch_add(1, Ordering::Relaxed);
        }
    });
    let state = Arc::new(Baseline {
        verifier: Verifier::new(SECRET),
        tx,
    });
    let base_url = serve(
        axum::Router::new()
            .route("/callbacks", axum::routing::post(baseline))
            .with_state(state),
    )
    .await;

    let counting = |handed: Arc<AtomicU64>| {
        move |e: Event| {
            black_box(e);
            handed.fetch_add(1, Ordering::Relaxed);
            std::future::ready(Ok::<(), std::convert::Infallible>(()))
        }
    };
    let ours = Receiver::builder(Verifier::new(SECRET)).start(counting(handed.clone()));
    let ours_url = serve(axum::Router::new().route_service("/callbacks", ours.service())).await;
    let forgetful = Receiver::builder(Intake::new(Verifier::new(SECRET)).dedup(Forgetful))
        .start(counting(handed.clone()));
    let forgetful_url =
        serve(axum::Router::new().route_service("/callbacks", forgetful.service())).await;

    let mut contenders = vec![
        ("baseline: hand-written axum handler", base_url),
        ("webhook::Receiver (MemoryDedup)", ours_url),
        ("webhook::Receiver, no dedup store", forgetful_url),
    ];
    if let Ok(url) = std::env::var("WEBHOOK_REDIS") {
        let redis = sinch_conversation::Redis::open(&url).expect("WEBHOOK_REDIS");
        let store = RedisDedup::new(&redis).prefix(format!("bench:{:x}:", rand::random::<u64>()));
        let shared = Receiver::builder(Intake::new(Verifier::new(SECRET)).dedup(store))
            .start(counting(handed.clone()));
        let url = serve(axum::Router::new().route_service("/callbacks", shared.service())).await;
        contenders.push(("webhook::Receiver (RedisDedup)", url));
    }
    let callbacks: Vec<_> = (0..contenders.len())
        .map(|k| signed_callbacks(&format!("B{k}X"), n))
        .collect();
    println!(
        "loopback: {n} distinct signed callbacks per contender, {inflight} in flight, turns of {chunk}"
    );
    // Warm up connections and code paths on callbacks nobody counts.
    for (k, (_, url)) in contenders.iter().enumerate() {
        post_all(
            &http,
            url,
            &signed_callbacks(&format!("W{k}X"), 500),
            inflight,
            Duration::from_millis(1),
        )
        .await;
    }
    let mut spent = vec![Duration::ZERO; contenders.len()];
    let mut refused = vec![0u64; contenders.len()];
    let mut done = 0;
    let mut round = 0;
    while done < n {
        let this = chunk.min(n - done);
        for t in 0..contenders.len() {
            let k = (t + round) % contenders.len();
            let before = handed.load(Ordering::Relaxed);
            let start = Instant::now();
            refused[k] += post_all(
                &http,
                &contenders[k].1,
                &callbacks[k][done..done + this],
                inflight,
                Duration::from_millis(1),
            )
            .await;
            // Handed over means in the application's hands, not just answered.
            while handed.load(Ordering::Relaxed) < before + this as u64 {
                tokio::task::yield_now().await;
            }
            spent[k] += start.elapsed();
        }
        done += this;
        round += 1;
    }
    let floor = n as f64 / spent[0].as_secs_f64();
    for (k, (name, _)) in contenders.iter().enumerate() {
        let rate = n as f64 / spent[k].as_secs_f64();
        println!(
            "loopback {name:<40} {rate:>8.0}/s  ratio to baseline {:.2}  (503s retried: {})",
            rate / floor,
            refused[k]
        );
    }
}

async fn burst_phase() {
    COUNTING.store(true, Ordering::SeqCst);
    let n = env_usize("WEBHOOK_BURST", 10_000);
    let inflight = 64;
    let http = reqwest::Client::new();
    let slow = Duration::from_millis(2);
    let callbacks = signed_callbacks("BURSTX", n);
    // The unbounded hand-off also sees distinct callbacks.
    let callbacks2 = signed_callbacks("BURSTY", n);
    let body = inbound_body();
    let (held, event, _) = measure(|| async { webhook::parse(&body).unwrap() }).await;
    drop(event);
    println!(
        "burst: {n} callbacks, {inflight} in flight, the application takes {slow:?} per event; \
         one parsed MESSAGE_INBOUND holds {held} bytes"
    );

    // The receiver: capacity 1024 over 16 workers.
    let handled = Arc::new(AtomicU64::new(0));
    let h = handled.clone();
    let receiver = Receiver::builder(Verifier::new(SECRET))
        .capacity(1024)
        .workers(16)
        .start(move |e: Event| {
            let h = h.clone();
            async move {
                tokio::time::sleep(slow).await;
                black_box(e);
                h.fetch_add(1, Ordering::Relaxed);
                Ok::<(), std::convert::Infallible>(())
            }
        });
    let url = serve(axum::Router::new().route_service("/callbacks", receiver.service())).await;
    post_all(
        &http,
        &url,
        &signed_callbacks("BURSTW", 200),
        inflight,
        Duration::from_millis(5),
    )
    .await;
    let deepest = Arc::new(AtomicU64::new(0));
    let watch = {
        let (r, d) = (receiver.clone(), deepest.clone());
        tokio::spawn(async move {
            loop {
                d.fetch_max(r.stats().pending, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_micros(500)).await;
            }
        })
    };
    let (peak, refused, elapsed) = measure(|| async {
        let refused = post_all(&http, &url, &callbacks, inflight, Duration::from_millis(20)).await;
        while handled.load(Ordering::Relaxed) < n as u64 + 200 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        refused
    })
    .await;
    watch.abort();
    let s = receiver.stats();
    println!(
        "burst webhook::Receiver, capacity 1024      peak heap +{:>6.1} MiB  deepest queue {:>5}  503s {:>6}  handed over {} once each  {:.1} s",
        peak as f64 / 1048576.0,
        deepest.load(Ordering::Relaxed),
        refused,
        s.handled - 200,
        elapsed.as_secs_f64()
    );
    assert_eq!(s.duplicates, 0);

    // An unbounded hand-off: accepts everything at once and queues it in memory.
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let handled = Arc::new(AtomicU64::new(0));
    let depth = Arc::new(AtomicU64::new(0));
    let deepest = Arc::new(AtomicU64::new(0));
    let (h, d) = (handled.clone(), depth.clone());
    tokio::spawn(async move {
        // 16 at a time, like the receiver's workers.
        let sem = Arc::new(tokio::sync::Semaphore::new(16));
        while let Some(e) = rx.recv().await {
            let permit = sem.clone().acquire_owned().await.unwrap();
            let (h, d) = (h.clone(), d.clone());
            tokio::spawn(async move {
                tokio::time::sleep(slow).await;
                black_box(e);
                h.fetch_add(1, Ordering::Relaxed);
                d.fetch_sub(1, Ordering::Relaxed);
                drop(permit);
            });
        }
    });
    let verifier = Arc::new(Verifier::new(SECRET));
    let (v, d2, dp) = (verifier.clone(), depth.clone(), deepest.clone());
    let router = axum::Router::new().route(
        "/callbacks",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let (v, tx, d, dp) = (v.clone(), tx.clone(), d2.clone(), dp.clone());
            async move {
                match v.verify_and_parse(&headers, &body) {
                    Ok(e) => {
                        let now = d.fetch_add(1, Ordering::Relaxed) + 1;
                        dp.fetch_max(now, Ordering::Relaxed);
                        let _ = tx.send(e);
                        StatusCode::OK
                    }
                    Err(_) => StatusCode::UNAUTHORIZED,
                }
            }
        }),
    );
    let url = serve(router).await;
    post_all(
        &http,
        &url,
        &signed_callbacks("BURSTV", 200),
        inflight,
        Duration::from_millis(5),
    )
    .await;
    while handled.load(Ordering::Relaxed) < 200 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    deepest.store(0, Ordering::Relaxed);
    let (peak, refused, elapsed) = measure(|| async {
        let refused = post_all(
            &http,
            &url,
            &callbacks2,
            inflight,
            Duration::from_millis(20),
        )
        .await;
        while handled.load(Ordering::Relaxed) < n as u64 + 200 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        refused
    })
    .await;
    println!(
        "burst unbounded hand-off (for contrast)     peak heap +{:>6.1} MiB  deepest queue {:>5}  503s {:>6}  handed over {}  {:.1} s",
        peak as f64 / 1048576.0,
        deepest.load(Ordering::Relaxed),
        refused,
        handled.load(Ordering::Relaxed) - 200,
        elapsed.as_secs_f64()
    );
}

/// Runs `f`; returns the peak heap above what was live when it started, f's result and the
/// time taken. (Memory allocated before counting began and freed during `f` makes this read
/// slightly low, never high.)
async fn measure<F, Fut, T>(f: F) -> (isize, T, Duration)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let start_live = LIVE.load(Ordering::SeqCst);
    PEAK.store(start_live, Ordering::SeqCst);
    let start = Instant::now();
    let out = f().await;
    let elapsed = start.elapsed();
    (PEAK.load(Ordering::SeqCst) - start_live, out, elapsed)
}

fn main() {
    parse_phase();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        loopback_phase().await;
        burst_phase().await;
    });
}
