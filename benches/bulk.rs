//! Bulk sending against a server that enforces a request rate: the embedded fake with its
//! project limit at R requests/s (429 + `Retry-After` + `RetryInfo` beyond it), shared by one
//! client or by several independent clients (each its own `Client`, limiter, token and
//! connections, as instances of a service would be), none of them told the limit.
//!
//! Each contender sends N messages in all with `Client::send_all` (each client its share, 64 in
//! flight) to a fresh fake and reports what the server counted: delivered, lost (failed or
//! never stored), duplicated (from each message's unique metadata), the share of send requests
//! answered 429, and throughput as a fraction of the limit (N / (R x wall time), wall time
//! until the last client is done).
//!
//! With `BULK_REDIS=redis://host:port/` the same client counts run again with their limiters
//! sharing one pace through that Redis server (`RateLimit::shared`), as replicas of a service
//! would; each run uses keys of its own.
//!
//! `cargo bench --bench bulk` (env: BULK_N, default 8000; BULK_RATE, default 800;
//! BULK_INFLIGHT, default 64; BULK_CLIENTS, default "1,4,8,16"; BULK_REDIS; BULK_OFF=0 skips
//! the limiter-off lines; BULK_TRACE=1 prints accepted and refused requests per BULK_TRACE_MS,
//! default 250).

use futures_util::StreamExt;
use sinch_conversation::fake::Fake;
use sinch_conversation::prelude::*;
use sinch_conversation::types::{AppMessage, ConversationChannel, Recipient, SendMessageRequest};
use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime};

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Contender {
    name: String,
    clients: usize,
    rate_limit: RateLimit,
    retry: RetryConfig,
}

struct Settings {
    n: usize,
    rate: f64,
    inflight: usize,
    trace: bool,
    /// Width of a trace line.
    slot_ms: u128,
}

async fn run(c: &Contender, s: &Settings) {
    let fake = Fake::builder()
        .rate_limit(Some(s.rate))
        .queue_capacity(usize::MAX)
        .start()
        .await
        .expect("fake");
    let app = fake.create_app("bulk", &[ConversationChannel::Sms]);
    let clients: Vec<Client> = (0..c.clients)
        .map(|_| {
            fake.client_builder()
                .rate_limit(c.rate_limit.clone())
                .retry(c.retry.clone())
                .build()
                .expect("client")
        })
        .collect();
    for client in &clients {
        // Token and connection, before the clock starts.
        client
            .app_get_app()
            .app_id(&app)
            .send()
            .await
            .expect("warm-up");
    }
    let share = s.n.div_ceil(c.clients);
    let started = Instant::now();
    let since = SystemTime::now();
    // Each client in a task of its own, as separate processes would be scheduled (polled in
    // one task, the first client would always be polled first and take the early burst).
    let runs = clients.iter().cloned().enumerate().map(|(k, client)| {
        let first = k * share;
        let app = app.clone();
        let requests = (first..(first + share).min(s.n)).map(move |i| {
            let mut r = SendMessageRequest::new(
                &app,
                Recipient::channel(ConversationChannel::Sms, format!("+1555{:07}", i % 1000)),
                AppMessage::text("Your table is ready"),
            );
            r.message_metadata = Some(i.to_string());
            r
        });
        let inflight = s.inflight;
        tokio::spawn(async move {
            // When each of this client's sends completed, for the trace.
            let mut completed = vec![];
            let failed = client
                .send_all(requests, inflight)
                .filter(|o| {
                    completed.push(started.elapsed());
                    futures_util::future::ready(o.result.is_err())
                })
                .count()
                .await;
            (failed, started.elapsed(), completed)
        })
    });
    let done: Vec<_> = futures_util::future::join_all(runs)
        .await
        .into_iter()
        .map(|d| d.expect("client task"))
        .collect();
    let took = started.elapsed();
    let failed: usize = done.iter().map(|d| d.0).sum();
    let (first, last) = done
        .iter()
        .fold((took, Duration::ZERO), |(a, b), d| (a.min(d.1), b.max(d.1)));

    let stored = fake.messages();
    let distinct: HashSet<_> = stored.iter().map(|m| m.metadata.clone()).collect();
    let sends = fake.requests_for("Messages_SendMessage");
    let refused = sends.iter().filter(|r| r.status == 429).count();
    println!(
        "bulk {:<40} delivered {:>6}/{}  lost {:>4}  duplicated {:>3}  429s {:>6} ({:>5.2}% of {} requests)  throughput {:.3} of the limit (wall {:.2}s; clients done {:.2}-{:.2}s)",
        c.name,
        distinct.len(),
        s.n,
        s.n - distinct.len(),
        stored.len() - distinct.len(),
        refused,
        100.0 * refused as f64 / sends.len().max(1) as f64,
        sends.len(),
        distinct.len() as f64 / (s.rate * took.as_secs_f64()),
        took.as_secs_f64(),
        first.as_secs_f64(),
        last.as_secs_f64(),
    );
    if failed > 0 {
        println!("bulk {:<40} {failed} sends failed", c.name);
    }
    if s.trace {
        // Accepted and refused send requests per 250 ms, as the server saw them.
        let slot = |t: SystemTime| {
            (t.duration_since(since).unwrap_or_default().as_millis() / s.slot_ms) as usize
        };
        let slots = slot(SystemTime::now()) + 1;
        let (mut ok, mut no) = (vec![0u32; slots], vec![0u32; slots]);
        for r in &sends {
            let i = slot(r.received_at).min(slots - 1);
            if r.status == 429 {
                no[i] += 1;
            } else {
                ok[i] += 1;
            }
        }
        // And each client's completed sends per slot.
        let mut per_client = vec![vec![0u32; slots]; done.len()];
        for (k, d) in done.iter().enumerate() {
            for t in &d.2 {
                per_client[k][((t.as_millis() / s.slot_ms) as usize).min(slots - 1)] += 1;
            }
        }
        for i in 0..slots {
            let clients: Vec<String> = per_client.iter().map(|c| format!("{:>4}", c[i])).collect();
            println!(
                "trace {:>6.3}s accepted {:>4} ({:>5.0}/s) refused {:>4}  per client {}",
                (i as u128 * s.slot_ms) as f64 / 1000.0,
                ok[i],
                ok[i] as f64 * 1000.0 / s.slot_ms as f64,
                no[i],
                clients.join(" ")
            );
        }
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let s = Settings {
        n: env("BULK_N", 8_000),
        rate: env("BULK_RATE", 800.0),
        inflight: env("BULK_INFLIGHT", 64),
        trace: env("BULK_TRACE", 0) == 1,
        slot_ms: env("BULK_TRACE_MS", 250),
    };
    let counts: Vec<usize> = std::env::var("BULK_CLIENTS")
        .unwrap_or_else(|_| "1,4,8,16".into())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    let mut contenders: Vec<Contender> = counts
        .iter()
        .map(|&k| Contender {
            name: match k {
                1 => "1 client, limiter on (default)".into(),
                k => format!("{k} independent clients, limiters on"),
            },
            clients: k,
            rate_limit: RateLimit::adaptive(),
            retry: RetryConfig::default(),
        })
        .collect();
    if let Ok(url) = std::env::var("BULK_REDIS") {
        let redis = sinch_conversation::Redis::open(&url).expect("BULK_REDIS");
        for &k in &counts {
            contenders.push(Contender {
                name: format!(
                    "{k} client{}, limiter shared through Redis",
                    if k == 1 { "" } else { "s" }
                ),
                clients: k,
                rate_limit: RateLimit::adaptive()
                    .shared(&redis)
                    .shared_prefix(format!("bench:{:x}:", rand::random::<u64>())),
                retry: RetryConfig::default(),
            });
        }
    }
    if env("BULK_OFF", 1) == 1 {
        contenders.push(Contender {
            name: "1 client, limiter off, 429s waited out".into(),
            clients: 1,
            rate_limit: RateLimit::off(),
            retry: RetryConfig::default(),
        });
        contenders.push(Contender {
            name: "1 client, limiter off, 3 retries per 429".into(),
            clients: 1,
            rate_limit: RateLimit::off(),
            retry: RetryConfig::default().max_throttle_retries(3),
        });
    }
    println!(
        "bulk: N = {} messages in all, server limit R = {}/s, {} in flight per client, N/R = {:.2}s",
        s.n,
        s.rate,
        s.inflight,
        s.n as f64 / s.rate
    );
    rt.block_on(async {
        for c in &contenders {
            run(c, &s).await;
        }
    });
}
