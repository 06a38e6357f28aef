//! What an operator scrapes from a service that sends through this crate and receives its
//! callbacks, offline: the crate's OpenTelemetry metrics (feature `metrics`) through the SDK and
//! its Prometheus exporter, after a scripted run against the embedded fake.
//!
//! ```text
//! cargo run --example metrics
//! ```
//!
//! The run: an expired token (a 401, a new token), a short outage (two 503s, retried), a call
//! whose own deadline comes before the wait a 429 asks for, a bulk send of 400 messages
//! through the fake's 200 requests/s limit (429s; the rate limiter engages and paces), and the
//! delivery callbacks through `webhook::Receiver` while its handler is
//! stalled for a moment (its queue fills: 503s, redelivered by the API), plus a forged callback
//! and a redelivered copy. It prints the Prometheus text exposition of every instrument, then
//! a summary, and exits non-zero if an instrument is missing.

use opentelemetry_sdk::metrics::SdkMeterProvider;
use prometheus::{Encoder as _, TextEncoder};
use sinch_conversation::fake::{Fake, Fault};
use sinch_conversation::prelude::*;
use sinch_conversation::types::{
    self, AppMessage, ConversationChannel, Recipient, SendMessageRequest,
};
use sinch_conversation::webhook::{self, Event, Receiver, Verifier};
use sinch_conversation::CallOptions;
use std::process::ExitCode;
use std::time::Duration;
use tokio::sync::watch;

const SECRET: &str = "metrics-example-webhook-secret";
const MESSAGES: usize = 400;

/// Every instrument the crate has, as the Prometheus exporter names them.
const INSTRUMENTS: [&str; 14] = [
    "http_client_request_duration_seconds",
    "http_client_active_requests",
    "sinch_client_call_duration_seconds",
    "sinch_client_retries_total",
    "sinch_client_throttled_total",
    "sinch_client_gave_up_total",
    "sinch_client_token_requests_total",
    "sinch_client_token_expiry_seconds",
    "sinch_client_limiter_engaged",
    "sinch_client_limiter_rate_per_second",
    "sinch_client_bulk_window",
    "sinch_webhook_callbacks_total",
    "sinch_webhook_queue_depth",
    "sinch_webhook_handler_duration_seconds",
];

#[tokio::main]
async fn main() -> Result<ExitCode> {
    // What a service does once at start: a meter provider with a Prometheus reader, installed
    // as the global provider before any client or receiver is built.
    let registry = prometheus::Registry::new();
    let exporter = opentelemetry_prometheus::exporter()
        .with_registry(registry.clone())
        .without_target_info()
        .build()
        .expect("a Prometheus exporter");
    let provider = SdkMeterProvider::builder().with_reader(exporter).build();
    opentelemetry::global::set_meter_provider(provider.clone());

    // The fake API, limited to 200 requests/s; it retries callbacks that were not taken.
    let fake = Fake::builder()
        .rate_limit(Some(200.0))
        .queue_rate(10_000.0)
        .callback_retries(12, Duration::from_millis(50))
        .start()
        .await?;
    let client = fake.client();
    let app = fake.create_app("metrics example", &[ConversationChannel::Sms]);
    println!(
        "The embedded fake API at {} (200 requests/s)",
        fake.base_url()
    );

    // The service's callback endpoint. Its handler stalls until `go` is set.
    let (go, stalled) = watch::channel(false);
    let receiver = Receiver::builder(Verifier::new(SECRET))
        .capacity(32)
        .workers(4)
        .start(move |_event: Event| {
            let mut stalled = stalled.clone();
            async move {
                let _ = stalled.wait_for(|go| *go).await;
                Ok::<(), std::convert::Infallible>(())
            }
        });
    let router = axum::Router::new().route_service("/sinch/callbacks", receiver.service());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!(
        "http://{}/sinch/callbacks",
        listener.local_addr().expect("an address")
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    let hook: types::Webhook = serde_json::from_value(serde_json::json!({
        "app_id": app, "target": url, "secret": SECRET, "triggers": ["MESSAGE_DELIVERY"]
    }))
    .expect("a valid webhook");
    client.webhooks_create_webhook().body(hook).send().await?;

    // The token expires: a 401, a new token, the send again.
    let one = SendMessageRequest::new(
        &app,
        Recipient::channel(ConversationChannel::Sms, "+12065550100"),
        AppMessage::text("One more"),
    );
    fake.expire_tokens();
    client.send_message(&one).await?;
    // A short outage: two 503s, retried.
    fake.inject("Messages_SendMessage", Fault::status(503).times(2));
    client.send_message(&one).await?;
    // A call with its own deadline, and a 429 asking for a longer wait: it gives up at once.
    fake.inject(
        "Messages_SendMessage",
        Fault::status(429).retry_after(Duration::from_secs(5)),
    );
    let by = CallOptions::new().deadline(std::time::Instant::now() + Duration::from_secs(1));
    let late = client.send_message_with_options(&one, &by).await;
    assert!(late.is_err(), "the 429 ends the call");

    // A bulk send through the limit: 429s, waited out; the limiter engages.
    let requests = (0..MESSAGES).map(|i| {
        let to = format!("+1206555{:04}", 1000 + i);
        SendMessageRequest::new(
            &app,
            Recipient::channel(ConversationChannel::Sms, to.as_str()),
            AppMessage::text("Your parcel is on its way"),
        )
    });
    let mut outcomes = std::pin::pin!(client.send_all(requests, 64));
    let mut sent = 0;
    while let Some(o) = outcomes.next().await {
        o.result?;
        sent += 1;
    }
    // The handler catches up; the API redelivers what got 503.
    go.send_replace(true);
    // A forged callback, and a copy of one the API delivers again.
    let forged = fake
        .callbacks()
        .first()
        .map(|c| c.body.to_vec())
        .unwrap_or_default();
    let headers = webhook::signed_headers(b"not the secret", &forged, "n-1", now());
    let mut post = reqwest::Client::new().post(&url).body(forged);
    for (k, v) in headers {
        post = post.header(k, v);
    }
    let forged_status = post.send().await.map(|r| r.status().as_u16()).unwrap_or(0);
    fake.redeliver(0);
    let idle = fake.wait_idle(Duration::from_secs(60)).await;
    for _ in 0..1000 {
        if receiver.stats().pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // What Prometheus would scrape.
    let mut text = Vec::new();
    TextEncoder::new()
        .encode(&registry.gather(), &mut text)
        .expect("text exposition");
    let text = String::from_utf8(text).expect("UTF-8");
    println!("--- scrape ---");
    print!("{text}");
    println!("--- end of scrape ---");

    let stats = receiver.stats();
    println!(
        "sent: {sent} in bulk and 2 alone (a third gave up at its deadline); the fake answered 429 {} times",
        fake.requests_for("Messages_SendMessage")
            .iter()
            .filter(|r| r.status == 429)
            .count()
    );
    let expires_in = client
        .token_expiry()
        .and_then(|t| t.duration_since(std::time::SystemTime::now()).ok())
        .map_or("no token".into(), |d| format!("in {} s", d.as_secs()));
    let pace = client
        .pace()
        .map_or("not pacing".into(), |r| format!("{r:.0} requests/s"));
    println!("limiter pace: {pace}; the token expires {expires_in}");
    println!(
        "receiver: {} accepted, {} duplicates, {} rejected (the forgery got {forged_status}), {} answered 503, {} handled",
        stats.accepted, stats.duplicates, stats.rejected, stats.unavailable, stats.handled
    );
    let missing: Vec<_> = INSTRUMENTS
        .iter()
        .filter(|name| !text.lines().any(|l| l.starts_with(*name)))
        .collect();
    receiver.shutdown().await;
    let _ = provider.shutdown();
    if !idle || !missing.is_empty() {
        eprintln!("callbacks all delivered: {idle}; instruments missing: {missing:?}");
        return Ok(ExitCode::FAILURE);
    }
    println!("every instrument reported");
    Ok(ExitCode::SUCCESS)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
