//! Bulk sending against a server that enforces a request rate: the embedded fake with its
//! project limit at R requests/s (429 + `Retry-After` + `RetryInfo` beyond it).
//!
//! Each contender sends the same N messages with `Client::send_all` (64 in flight) to a fresh
//! fake and reports one line: delivered, failed, duplicated (counted by the server from each
//! message's unique metadata), 429 answers, wall time and its ratio to N/R, the best possible.
//!
//! `cargo bench --bench bulk` (env: BULK_N, default 10000; BULK_RATE, default 2000;
//! BULK_INFLIGHT, default 64).

use futures_util::StreamExt;
use sinch_conversation::fake::Fake;
use sinch_conversation::prelude::*;
use sinch_conversation::types::{AppMessage, ConversationChannel, Recipient, SendMessageRequest};
use std::collections::HashSet;
use std::time::{Duration, Instant};

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Contender {
    name: &'static str,
    rate_limit: RateLimit,
    retry: RetryConfig,
}

async fn run(c: &Contender, n: usize, rate: f64, inflight: usize) {
    let fake = Fake::builder()
        .rate_limit(Some(rate))
        .queue_capacity(usize::MAX)
        .start()
        .await
        .expect("fake");
    let app = fake.create_app("bulk", &[ConversationChannel::Sms]);
    let client = fake
        .client_builder()
        .rate_limit(c.rate_limit.clone())
        .retry(c.retry.clone())
        .build()
        .expect("client");
    client
        .app_get_app()
        .app_id(&app)
        .send()
        .await
        .expect("warm-up"); // token, connection
    let requests = (0..n).map(|i| {
        let mut r = SendMessageRequest::new(
            &app,
            Recipient::channel(ConversationChannel::Sms, format!("+1555{:07}", i % 1000)),
            AppMessage::text("Your table is ready"),
        );
        r.message_metadata = Some(i.to_string());
        r
    });
    let started = Instant::now();
    let failed = client
        .send_all(requests, inflight)
        .filter(|o| futures_util::future::ready(o.result.is_err()))
        .count()
        .await;
    let took = started.elapsed();
    let stored = fake.messages();
    let distinct: HashSet<_> = stored.iter().map(|m| m.metadata.clone()).collect();
    let throttled = fake.requests().iter().filter(|r| r.status == 429).count();
    let ideal = Duration::from_secs_f64(n as f64 / rate);
    println!(
        "{:<44} delivered {:>6}  failed {:>5}  duplicated {:>3}  429s {:>6}  wall {:>6.2}s  ratio to N/R {:.3}",
        c.name,
        distinct.len(),
        failed,
        stored.len() - distinct.len(),
        throttled,
        took.as_secs_f64(),
        took.as_secs_f64() / ideal.as_secs_f64(),
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let n: usize = env("BULK_N", 10_000);
    let rate: f64 = env("BULK_RATE", 2_000.0);
    let inflight: usize = env("BULK_INFLIGHT", 64);
    let contenders = [
        Contender {
            name: "limiter on (default)",
            rate_limit: RateLimit::adaptive(),
            retry: RetryConfig::default(),
        },
        Contender {
            name: "limiter off, 429s waited out",
            rate_limit: RateLimit::off(),
            retry: RetryConfig::default(),
        },
        Contender {
            name: "limiter off, at most 3 retries per 429",
            rate_limit: RateLimit::off(),
            retry: RetryConfig::default().max_throttle_retries(3),
        },
    ];
    println!(
        "bulk: N = {n} messages, server limit R = {rate}/s, {inflight} in flight, N/R = {:.2}s",
        n as f64 / rate
    );
    rt.block_on(async {
        for c in &contenders {
            run(c, n, rate, inflight).await;
        }
    });
}
