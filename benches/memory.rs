//! Memory of a long bulk send: `Client::send_stream` over a lazily made stream of requests, at
//! a fixed number in flight, against a loopback server in a child process (so that only the
//! client's memory is counted).
//!
//! First MEM_N requests (default 1,000,000) at 64 in flight, printing the resident set every
//! tenth of the way: it must stay flat (the last figure within 10% of the first, once the
//! connections and allocator pools are warm). Then the peak resident set (`VmHWM`) of a fresh
//! process sending MEM_PEAK_N requests (default 200,000) at 64, 2,000 and 10,000 in flight,
//! with `send_stream` and with the floor: plain reqwest + serde_json posting the same bodies
//! with `buffer_unordered` (each in-flight request holds an HTTP/1.1 connection and its
//! buffers, whoever sends it).
//!
//! `cargo bench --bench memory` (env: MEM_N, MEM_PEAK_N, MEM_INFLIGHT, default "64,2000,10000";
//! MEM_DELAY_MS, default 0: how long the server holds each request).

use futures_util::{stream, StreamExt};
use sinch_conversation::prelude::*;
use sinch_conversation::types::{AppMessage, ConversationChannel, Recipient, SendMessageRequest};
use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

const PATH: &str = "/v1/projects/bench/messages:send";
const REPLY: &str =
    r#"{"message_id":"01HZX3G7N2Q9W8E5R4T3Y2U1I0","accepted_time":"2024-06-18T12:34:56.123Z"}"#;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The child: a stub `messages:send` server; prints its address, serves until stdin closes.
fn serve() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let delay = Duration::from_millis(env("MEM_DELAY_MS", 0));
    rt.block_on(async move {
        let app = axum::Router::new().route(
            PATH,
            axum::routing::post(move |_body: axum::body::Bytes| async move {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                ([("content-type", "application/json")], REPLY)
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("http://{}", listener.local_addr().unwrap());
        std::io::stdout().flush().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        // Parent gone (stdin closed): stop.
        tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            while std::io::stdin().lock().read_line(&mut sink).unwrap_or(0) > 0 {}
        })
        .await
        .unwrap();
    });
}

/// A field of /proc/self/status, in MiB.
fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn requests(n: usize) -> impl futures_util::Stream<Item = SendMessageRequest> {
    stream::iter(0..n).map(|i| {
        SendMessageRequest::new(
            "01HZX3G7N2Q9W8E5R4T3Y2APP0",
            Recipient::channel(
                ConversationChannel::Sms,
                format!("+1555{:07}", i % 10_000_000),
            ),
            AppMessage::text(format!("message number {i}")),
        )
    })
}

/// Sends `n` requests at `inflight`, calling `sample(done)` every `every` outcomes.
async fn run(
    client: &Client,
    n: usize,
    inflight: usize,
    every: usize,
    mut sample: impl FnMut(usize),
) -> (usize, Duration) {
    let started = Instant::now();
    let mut failed = 0;
    let mut done = 0;
    let mut outcomes = std::pin::pin!(client.send_stream(requests(n), inflight));
    while let Some(o) = outcomes.next().await {
        failed += usize::from(o.result.is_err());
        done += 1;
        if done % every == 0 {
            sample(done);
        }
    }
    (failed, started.elapsed())
}

fn client(url: &str) -> Client {
    Client::builder()
        .project_id("bench")
        .region(Region::Us)
        .base_url(url)
        .credentials(Credentials::basic("key", "secret"))
        .build()
        .unwrap()
}

/// A child that sends `n` requests at `inflight` with `send_stream` or the floor and prints its
/// peak resident set.
async fn peak(url: &str, floor: bool, n: usize, inflight: usize) {
    let started = Instant::now();
    let failed = if floor {
        let http = reqwest::Client::new();
        let target = format!("{url}{PATH}");
        stream::iter(0..n)
            .map(|i| {
                let body = serde_json::json!({
                    "app_id": "01HZX3G7N2Q9W8E5R4T3Y2APP0",
                    "recipient": {"identified_by": {"channel_identities": [
                        {"channel": "SMS", "identity": format!("+1555{:07}", i % 10_000_000)}
                    ]}},
                    "message": {"text_message": {"text": format!("message number {i}")}},
                });
                let req = http
                    .post(&target)
                    .header("authorization", "Basic a2V5OnNlY3JldA==")
                    .json(&body);
                async move {
                    let r = req.send().await.ok()?.error_for_status().ok()?;
                    r.json::<serde_json::Value>().await.ok()
                }
            })
            .buffer_unordered(inflight)
            .filter(|r| futures_util::future::ready(r.is_none()))
            .count()
            .await
    } else {
        run(&client(url), n, inflight, usize::MAX, |_| {}).await.0
    };
    println!(
        "memory: {:<11} {inflight:>5} in flight: peak resident {:>6.1} MiB ({n} requests in {:.1}s, {failed} failed)",
        if floor { "floor" } else { "send_stream" },
        status_mib("VmHWM:"),
        started.elapsed().as_secs_f64()
    );
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

/// 10,000 connections need more descriptors than a default soft limit of 1,024 allows.
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write the struct passed, nothing else.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn main() {
    raise_fd_limit();
    if std::env::var_os("MEM_SERVER").is_some() {
        return serve();
    }
    let me = std::env::current_exe().unwrap();
    let peak_n = env("MEM_PEAK_N", 200_000usize);
    if let Ok(what) = std::env::var("MEM_PEAK") {
        let (who, inflight) = what.split_once(',').unwrap();
        let url = std::env::var("MEM_URL").unwrap();
        return runtime().block_on(peak(
            &url,
            who == "floor",
            peak_n,
            inflight.parse().unwrap(),
        ));
    }
    let mut child = std::process::Command::new(&me)
        .env("MEM_SERVER", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("server process");
    let mut url = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let url = url.trim().to_owned();

    let n = env("MEM_N", 1_000_000usize);
    let levels: Vec<usize> = std::env::var("MEM_INFLIGHT")
        .unwrap_or_else(|_| "64,2000,10000".into())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    runtime().block_on(async {
        let client = client(&url);
        println!("memory: resident set before sending {:.1} MiB", status_mib("VmRSS:"));

        // Flat over a long run.
        let mut samples = vec![];
        let (failed, took) = run(&client, n, 64, (n / 10).max(1), |done| {
            let rss = status_mib("VmRSS:");
            samples.push(rss);
            println!("memory: 64 in flight, {done:>8} sent, resident {rss:.1} MiB");
        })
        .await;
        let (first, last) = (samples[0], *samples.last().unwrap());
        println!(
            "memory: {n} requests at 64 in flight in {:.1}s ({:.0}/s), {failed} failed; resident {first:.1} MiB after a tenth, {last:.1} MiB at the end: {:.2}x{}",
            took.as_secs_f64(),
            n as f64 / took.as_secs_f64(),
            last / first,
            if last <= first * 1.1 { " (flat)" } else { " (GROWING)" }
        );

    });
    // Peaks, each in a fresh process.
    for &inflight in &levels {
        for who in ["send_stream", "floor"] {
            let status = std::process::Command::new(&me)
                .env("MEM_PEAK", format!("{who},{inflight}"))
                .env("MEM_URL", &url)
                .status()
                .expect("peak process");
            assert!(status.success(), "{who} at {inflight} in flight: {status}");
        }
    }
    drop(child.stdin.take());
    let _ = child.wait();
}
