//! Sends one text message, and shows its delivery callbacks.
//!
//! ```text
//! cargo run --example send_text -- "Hello from Rust"
//! ```
//!
//! Without `SINCH_*` variables it runs against the crate's embedded fake API: it creates an app
//! and a webhook that points at a receiver in this process, sends the text, and prints the
//! delivery callbacks as they arrive, each verified with `webhook::Verifier`. With
//! `SINCH_PROJECT_ID`, `SINCH_KEY_ID`, `SINCH_KEY_SECRET`, `SINCH_REGION`, `SINCH_APP_ID` and
//! `SINCH_TO` set (and optionally `SINCH_BASE_URL`, `SINCH_AUTH_URL`) it sends a real SMS
//! instead.

use axum::{body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post, Router};
use sinch_conversation::fake::Fake;
use sinch_conversation::prelude::*;
use sinch_conversation::types::{
    self, AppMessage, ConversationChannel, Recipient, SendMessageRequest,
};
use sinch_conversation::webhook::{Event, Verifier};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

const VARS: [&str; 6] = [
    "SINCH_PROJECT_ID",
    "SINCH_KEY_ID",
    "SINCH_KEY_SECRET",
    "SINCH_REGION",
    "SINCH_APP_ID",
    "SINCH_TO",
];

const HELP: &str = "\
To send a real SMS, set SINCH_PROJECT_ID, SINCH_KEY_ID and SINCH_KEY_SECRET to your project id \
and an access key from the Sinch dashboard (Settings > Access keys), SINCH_REGION to the region \
your app was created in (us, eu or br), SINCH_APP_ID to the app that sends, and SINCH_TO to the \
recipient's phone number in E.164 form (+15551234567). The message text is the first argument.";

#[tokio::main]
async fn main() -> ExitCode {
    let text = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "Hello from Rust".into());
    let set: Vec<&str> = VARS
        .into_iter()
        .filter(|v| std::env::var_os(v).is_some())
        .collect();
    let result = match set.len() {
        0 => offline(text).await,
        n if n == VARS.len() => online(text).await,
        _ => {
            let missing: Vec<&str> = VARS.into_iter().filter(|v| !set.contains(v)).collect();
            eprintln!("missing {}\n\n{HELP}", missing.join(", "));
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sending failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Against Sinch, as configured in the environment.
async fn online(text: String) -> Result<()> {
    let client = Client::from_env()?;
    let var = |n: &str| std::env::var(n).unwrap_or_default();
    let request = SendMessageRequest::new(
        var("SINCH_APP_ID"),
        Recipient::channel(ConversationChannel::Sms, var("SINCH_TO")),
        AppMessage::text(text),
    );
    let sent = client.send_message(&request).await?;
    println!(
        "accepted: message id {}",
        sent.message_id.clone().unwrap_or_default()
    );
    Ok(())
}

/// Against the embedded fake, with a real webhook receiver in this process.
async fn offline(text: String) -> Result<()> {
    let fake = Fake::start().await?;
    let client = fake.client();
    println!(
        "No SINCH_* variables set: using the embedded fake API at {}",
        fake.base_url()
    );

    // An app with SMS credentials, created through the API as you would on Sinch.
    let sms = types::ConversationChannelCredential::static_bearer(
        ConversationChannel::Sms,
        "demo-service-plan",
        "demo-token",
    );
    let app = types::AppCreateRequest::new("send_text example", [sms]);
    let app = client.app_create_app().body(app).send().await?.into_inner();
    let app_id = app.id.unwrap_or_default();

    // A webhook with a secret, pointing at a receiver that verifies every callback.
    let secret = "example-webhook-secret";
    let (events, mut received) = mpsc::unbounded_channel();
    let url = receive(Verifier::new(secret), events).await;
    let webhook = types::Webhook::new(&app_id, url, [types::WebhookTrigger::MessageDelivery])
        .with_secret(secret);
    client
        .webhooks_create_webhook()
        .body(webhook)
        .send()
        .await?;

    let request = SendMessageRequest::new(
        &app_id,
        Recipient::channel(ConversationChannel::Sms, "+15551234567"),
        AppMessage::text(text),
    );
    let sent = client.send_message(&request).await?;
    println!(
        "accepted: message id {}",
        sent.message_id.clone().unwrap_or_default()
    );

    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), received.recv()).await;
        let Ok(Some(Event::MessageDeliveryReport(report))) = event else {
            return Err(Error::Timeout("no DELIVERED callback within 10 s".into()));
        };
        let r = &report.message_delivery_report;
        println!(
            "verified callback: MESSAGE_DELIVERY {} for message {}",
            r.status, r.message_id
        );
        if r.status == types::DeliveryStatus::Delivered {
            break;
        }
    }
    println!("That was the embedded fake. {HELP}");
    Ok(())
}

/// Serves `POST /callbacks` on a free loopback port; each callback that verifies is passed on.
async fn receive(verifier: Verifier, events: mpsc::UnboundedSender<Event>) -> String {
    async fn callback(
        State((verifier, events)): State<(Arc<Verifier>, mpsc::UnboundedSender<Event>)>,
        headers: HeaderMap,
        body: Bytes,
    ) -> StatusCode {
        match verifier.verify_and_parse(&headers, &body) {
            Ok(event) => {
                let _ = events.send(event);
                StatusCode::OK
            }
            Err(e) => {
                eprintln!("rejected a callback: {e}");
                StatusCode::UNAUTHORIZED
            }
        }
    }
    let router = Router::new()
        .route("/callbacks", post(callback))
        .with_state((Arc::new(verifier), events));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free loopback port");
    let url = format!("http://{}/callbacks", listener.local_addr().expect("bound"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}
