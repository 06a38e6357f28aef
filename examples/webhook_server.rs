//! A webhook receiver: verifies each callback's signature, parses it, and prints it.
//!
//! ```sh
//! SINCH_WEBHOOK_SECRET=... cargo run --example webhook_server   # listens on 127.0.0.1:3000
//! ```
//!
//! Point a webhook (target `https://<your tunnel>/callbacks`, with the same secret) at it, or try
//! it locally: `cargo run --example webhook_server -- --self-test` signs and posts one callback.
//!
//! This is the hand-wired minimum. `webhook::Receiver` (feature `tower`, see
//! `examples/reply_bot.rs`) also recognises redelivered copies, answers 503 instead of dropping
//! when your code is busy, and keeps order and drains on shutdown.

use axum::{body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post, Router};
use sinch_conversation::webhook::{self, Event, Verifier, WebhookError};
use std::sync::Arc;

async fn callback(
    State(verifier): State<Arc<Verifier>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    match verifier.verify_and_parse(&headers, &body) {
        Ok(event) => {
            report(&event);
            // Answer quickly: Sinch retries callbacks that are not acknowledged with a 2xx.
            StatusCode::OK
        }
        Err(WebhookError::Signature(e)) => {
            eprintln!("rejected callback: {e}");
            StatusCode::UNAUTHORIZED
        }
        Err(WebhookError::Parse(e)) => {
            // Signed but unreadable: a redelivery would be the same bytes. Sinch does not retry
            // a 4xx; log it.
            eprintln!("unparseable callback: {e}");
            StatusCode::BAD_REQUEST
        }
        Err(e) => {
            eprintln!("callback error: {e}");
            StatusCode::BAD_REQUEST
        }
    }
}

fn report(event: &Event) {
    let env = event.envelope();
    match event {
        Event::MessageInbound(e) => {
            let text = e
                .message
                .contact_message
                .text_message
                .as_ref()
                .map(|t| t.text.as_str());
            println!(
                "message from {:?}: {:?}",
                e.message.contact_id,
                text.unwrap_or("(not text)")
            );
        }
        Event::MessageDeliveryReport(e) => {
            let r = &e.message_delivery_report;
            println!("message {} is {}", r.message_id, r.status);
        }
        Event::Unknown(raw) => println!("a callback kind this version does not know: {raw:?}"),
        other => println!(
            "{} callback for app {:?}",
            other.trigger().unwrap_or("?"),
            env.app_id
        ),
    }
}

#[tokio::main]
async fn main() {
    let Ok(secret) = std::env::var("SINCH_WEBHOOK_SECRET") else {
        eprintln!(
            "Set SINCH_WEBHOOK_SECRET to the secret configured on your webhook (Webhooks_CreateWebhook \
             `secret`); this server then verifies every callback with it and prints the events. \
             Add `-- --self-test` to send itself one signed callback."
        );
        std::process::exit(2);
    };
    let verifier = Arc::new(Verifier::new(&secret));
    let app = Router::new()
        .route("/callbacks", post(callback))
        .with_state(verifier);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000")
        .await
        .expect("bind 127.0.0.1:3000");
    println!(
        "listening on http://{}/callbacks",
        listener.local_addr().unwrap()
    );

    if std::env::args().any(|a| a == "--self-test") {
        tokio::spawn(async move {
            let body = br#"{"app_id":"demo","project_id":"demo","message":{"contact_id":"c1","contact_message":{"text_message":{"text":"hello"}}}}"#;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            let mut request = reqwest::Client::new()
                .post("http://127.0.0.1:3000/callbacks")
                .body(body.as_slice());
            for (name, value) in
                webhook::signed_headers(secret.as_bytes(), body, "self-test-nonce", now)
            {
                request = request.header(name, value);
            }
            let status = request.send().await.map(|r| r.status());
            println!("self-test answered {status:?}");
            std::process::exit(0);
        });
    }
    axum::serve(listener, app).await.unwrap();
}
