//! A two-way conversation, offline: a service that receives MESSAGE_INBOUND callbacks through
//! `webhook::Receiver` and answers each with a send, against the embedded fake API, which
//! plays the handsets and redelivers callbacks the way the API does.
//!
//! ```text
//! cargo run --example reply_bot
//! ```
//!
//! No account or network: the fake API and the bot's webhook server both listen on loopback.
//! The bot starts late (the API retries the first callback until it is up), and a flaky
//! network loses one of its answers (the API redelivers that callback; the bot recognises the
//! copy and does not answer twice). It prints the conversation and exits 0 when every message
//! got exactly one reply.

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use sinch_conversation::fake::Fake;
use sinch_conversation::prelude::*;
use sinch_conversation::types::SendMessageRequest;
use sinch_conversation::types::{self, AppMessage, ConversationChannel, Recipient};
use sinch_conversation::webhook::{Ack, Event, OrderBy, Receiver, Verifier};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

const SECRET: &str = "reply-bot-webhook-secret";
const SMS: ConversationChannel = ConversationChannel::Sms;

/// What the bot says to a text.
fn reply_to(text: &str) -> String {
    let text = text.to_lowercase();
    if text.contains("open") {
        "We're open 9:00-18:00, Monday to Saturday.".into()
    } else if text.contains("order") {
        "Order 1234 shipped yesterday and arrives tomorrow.".into()
    } else if text.contains("thank") {
        "You're welcome!".into()
    } else {
        "Thanks! A colleague will get back to you shortly.".into()
    }
}

/// The bot: answers each inbound text with a send, then reports it to `main` for printing.
async fn answer(
    client: Client,
    app: String,
    said: mpsc::UnboundedSender<(String, String)>,
    event: Event,
) -> Result<()> {
    let Event::MessageInbound(inbound) = event else {
        return Ok(()); // only MESSAGE_INBOUND is subscribed
    };
    let message = &inbound.message;
    let (Some(text), Some(from)) = (
        message.contact_message.text_message.as_ref(),
        message.channel_identity.as_ref(),
    ) else {
        return Ok(());
    };
    let reply = reply_to(&text.text);
    let request = SendMessageRequest::new(
        app,
        Recipient::channel(from.channel.clone(), &from.identity),
        AppMessage::text(&reply),
    );
    // With Ack::Handled an error here is answered 503, so the API redelivers the message and
    // the bot tries again; the callback is acknowledged only once the reply was accepted.
    client.send_message(&request).await?;
    let _ = said.send((from.identity.clone(), reply));
    Ok(())
}

/// Stands in for a network that loses the bot's answers: the bot got the callback, the API
/// never hears back.
async fn flaky_network(State(lose): State<Arc<AtomicUsize>>, req: Request, next: Next) -> Response {
    let answer = next.run(req).await;
    let lost = lose.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    if lost.is_ok() {
        return http::StatusCode::BAD_GATEWAY.into_response();
    }
    answer
}

/// Waits for the bot's next reply (accepted by the API) and prints it.
async fn next_reply(replies: &mut mpsc::UnboundedReceiver<(String, String)>) -> Result<usize> {
    match tokio::time::timeout(Duration::from_secs(10), replies.recv()).await {
        Ok(Some((to, reply))) => {
            println!("bot to {to}: {reply}");
            Ok(1)
        }
        _ => Err(Error::Timeout("no reply within 10 s".into())),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("reply_bot failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<bool> {
    // The API: retries a callback 8 times from 100 ms, doubling (the real one goes on for hours).
    let fake = Fake::builder()
        .callback_retries(8, Duration::from_millis(100))
        .start()
        .await?;
    let client = fake.client();
    let app = fake.create_app("reply bot", &[SMS]);
    println!(
        "No account needed: the embedded fake API at {}",
        fake.base_url()
    );

    // The bot's address, registered as the app's webhook before the bot is up.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Error::Config(format!("no loopback port: {e}")))?;
    let addr = listener.local_addr().expect("bound");
    drop(listener);
    let url = format!("http://{addr}/sinch/callbacks");
    let webhook = types::Webhook::new(&app, &url, [types::WebhookTrigger::MessageInbound])
        .with_secret(SECRET);
    client
        .webhooks_create_webhook()
        .body(webhook)
        .send()
        .await?;
    println!("The bot is deploying: its webhook {url} does not answer yet");

    let (said, mut replies) = mpsc::unbounded_channel();
    let script = [
        ("+15550101", "Hi! Are you open on Saturday?"),
        ("+15550102", "Where is my order 1234?"),
        ("+15550101", "Thanks, see you Saturday"),
        ("+15550102", "Can I change the delivery address?"),
    ];

    // The first handset writes while the bot is down: the API keeps retrying.
    let (phone, text) = script[0];
    println!("handset {phone}: {text}");
    fake.inbound_text(&app, SMS, phone, text)?;
    while fake.callbacks()[0].attempts.len() < 3 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!("  (the API could not reach the bot: 3 tries so far, retrying)");

    // The bot: verify, deduplicate, keep each handset's messages in order, acknowledge once
    // the reply was accepted.
    let bot = {
        let (client, app) = (client.clone(), app.clone());
        move |event: Event| answer(client.clone(), app.clone(), said.clone(), event)
    };
    let receiver = Receiver::builder(Verifier::new(SECRET))
        .order_by(OrderBy::Contact)
        .ack(Ack::Handled {
            within: Duration::from_secs(2),
        })
        .start(bot);
    let lose_next = Arc::new(AtomicUsize::new(0));
    let router = axum::Router::new()
        .route_service("/sinch/callbacks", receiver.service())
        .layer(middleware::from_fn_with_state(
            lose_next.clone(),
            flaky_network,
        ));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {addr}: {e}")))?;
    tokio::spawn(async move { axum::serve(listener, router).await });
    println!("The bot is up");

    let mut replies_out = next_reply(&mut replies).await?;

    for (i, (phone, text)) in script.iter().enumerate().skip(1) {
        if i == 2 {
            lose_next.store(1, Ordering::SeqCst);
            println!("  (the network will lose the bot's next answer)");
        }
        println!("handset {phone}: {text}");
        fake.inbound_text(&app, SMS, phone, text)?;
        replies_out += next_reply(&mut replies).await?;
        if i == 2 {
            fake.wait_idle(Duration::from_secs(10)).await;
            if receiver.stats().duplicates == 1 {
                println!(
                    "  (the API redelivered that callback; the bot recognised the copy and did not answer twice)"
                );
            }
        }
    }

    // Done: let the API finish, then stop the bot gracefully (it drains what it accepted).
    let idle = fake.wait_idle(Duration::from_secs(10)).await;
    receiver.shutdown().await;
    let stats = receiver.stats();
    // Anything the bot sent after the last expected reply would be a double.
    replies_out += std::iter::from_fn(|| replies.try_recv().ok()).count();
    let callbacks = fake.callbacks();
    let tries: usize = callbacks.iter().map(|c| c.attempts.len()).sum();
    let ok = idle
        && replies_out == script.len()
        && stats.handled == script.len() as u64
        && callbacks.iter().all(|c| c.delivered);
    println!(
        "done: {} messages in, {replies_out} replies out, {} redelivered copy recognised, {} callback tries for {} callbacks, {}",
        script.len(),
        stats.duplicates,
        tries,
        callbacks.len(),
        if ok { "nothing lost or doubled" } else { "MISMATCH" }
    );
    Ok(ok)
}
