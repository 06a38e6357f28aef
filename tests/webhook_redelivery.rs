//! The receiver against the embedded fake's real callback delivery and redelivery: a receiver
//! that is down, failing, losing its answers or too slow, then recovering, hands every
//! callback to the application exactly once (in order where asked); forged, stale and
//! tampered callbacks never reach it.

#[path = "support/serve.rs"]
mod serve;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serve::{now, post};
use sinch_conversation::fake::Fake;
use sinch_conversation::prelude::*;
use sinch_conversation::types::{self, ConversationChannel};
use sinch_conversation::webhook::{self, Ack, Event, OrderBy, Receiver, Verifier};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "redelivery-test-secret";
const SMS: ConversationChannel = ConversationChannel::Sms;

/// What the application handled: (sender, text), in the order handled. The sender is the
/// channel identity, which both processing modes report (DISPATCH has no contacts).
#[derive(Clone, Default)]
struct Handled(Arc<Mutex<Vec<(String, String)>>>);

impl Handled {
    fn record(&self, e: &Event) {
        if let Event::MessageInbound(m) = e {
            let text = m.message.contact_message.text_message.as_ref();
            let from = m.message.channel_identity.as_ref();
            self.0.lock().unwrap().push((
                from.map(|c| c.identity.clone()).unwrap_or_default(),
                text.map(|t| t.text.clone()).unwrap_or_default(),
            ));
        }
    }
    fn texts(&self) -> Vec<String> {
        let mut t: Vec<String> = self
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|(_, t)| t.clone())
            .collect();
        t.sort();
        t
    }
    /// Texts per sender, in the order handled.
    fn per_sender(&self) -> HashMap<String, Vec<String>> {
        let mut m: HashMap<String, Vec<String>> = HashMap::new();
        for (c, t) in self.0.lock().unwrap().iter() {
            m.entry(c.clone()).or_default().push(t.clone());
        }
        m
    }
}

/// A front between the fake and the receiver, standing in for the network and proxies:
/// answers 500 without passing a request on, or passes it on and loses the answer.
#[derive(Clone, Default)]
struct Front {
    fail_next: Arc<AtomicUsize>,
    lose_answer_next: Arc<AtomicUsize>,
    captured: Arc<Mutex<Vec<(http::HeaderMap, Bytes)>>>,
}

fn take(n: &AtomicUsize) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
        .is_ok()
}

async fn front(State(front): State<Front>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    front
        .captured
        .lock()
        .unwrap()
        .push((parts.headers.clone(), body.clone()));
    if take(&front.fail_next) {
        return http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let answer = next
        .run(Request::from_parts(parts, axum::body::Body::from(body)))
        .await;
    if take(&front.lose_answer_next) {
        return http::StatusCode::BAD_GATEWAY.into_response();
    }
    answer
}

async fn serve_on(listener: tokio::net::TcpListener, receiver: &Receiver, f: &Front) {
    let router = axum::Router::new()
        .route_service("/callbacks", receiver.service())
        .layer(middleware::from_fn_with_state(f.clone(), front));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
}

async fn listen() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/callbacks", listener.local_addr().unwrap());
    (listener, url)
}

/// A fake whose callbacks are retried `attempts` times from `backoff`, an SMS app in
/// `mode` (`CONVERSATION`: contacts and conversations; `DISPATCH`: neither), and a webhook
/// for MESSAGE_INBOUND at `url` signed with `secret`; returns the app and webhook ids.
async fn fake_with_webhook(
    url: &str,
    secret: &str,
    attempts: u32,
    backoff: Duration,
    mode: &str,
) -> (Fake, String, String) {
    let fake = Fake::builder()
        .callback_retries(attempts, backoff)
        .start()
        .await
        .unwrap();
    let app: types::AppCreateRequest = serde_json::from_value(serde_json::json!({
        "display_name": "bot",
        "processing_mode": mode,
        "channel_credentials": [{"channel": "SMS", "static_bearer": {"claimed_identity": "bot", "token": "bot"}}],
    }))
    .unwrap();
    let app = fake
        .client()
        .app_create_app()
        .body(app)
        .send()
        .await
        .unwrap()
        .into_inner()
        .id
        .unwrap();
    let webhook: types::Webhook = serde_json::from_value(serde_json::json!({
        "app_id": app, "target": url, "secret": secret, "triggers": ["MESSAGE_INBOUND"]
    }))
    .unwrap();
    let created = fake
        .client()
        .webhooks_create_webhook()
        .body(webhook)
        .send()
        .await
        .unwrap()
        .into_inner();
    (fake, app, created.id.unwrap())
}

fn recording_receiver(handled: &Handled, builder: webhook::ReceiverBuilder) -> Receiver {
    let h = handled.clone();
    builder.start(move |e: Event| {
        let h = h.clone();
        async move {
            h.record(&e);
            Ok::<(), std::io::Error>(())
        }
    })
}

/// Three handsets, each sending `per` texts, interleaved; returns the texts sent. Texts sort
/// in the order they were sent when `round`s increase.
fn chat(fake: &Fake, app: &str, round: char, per: usize) -> Vec<String> {
    let mut sent = vec![];
    for i in 0..per {
        for phone in ["+15550101", "+15550102", "+15550103"] {
            let text = format!("{phone} {round}{i:02}");
            fake.inbound_text(app, SMS, phone, &text).unwrap();
            sent.push(text);
        }
    }
    sent.sort();
    sent
}

fn assert_in_order_per_sender(handled: &Handled, senders: usize, per: usize) {
    let per_sender = handled.per_sender();
    assert_eq!(per_sender.len(), senders);
    for (sender, texts) in per_sender {
        let mut sorted = texts.clone();
        sorted.sort();
        assert_eq!(texts, sorted, "order of {sender}");
        assert_eq!(texts.len(), per);
    }
}

#[tokio::test]
async fn a_receiver_that_is_down_for_a_while_gets_everything_once_in_order() {
    // Reserve a port, then close it: the fake's first tries are refused.
    let (listener, url) = listen().await;
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let (fake, app, _) =
        fake_with_webhook(&url, SECRET, 12, Duration::from_millis(20), "DISPATCH").await;
    let sent = chat(&fake, &app, 'a', 4);

    tokio::time::sleep(Duration::from_millis(400)).await;
    let refused = fake.callbacks()[0].attempts.len();
    assert!(refused >= 3, "tried {refused} times while down");
    assert!(fake.callbacks()[0]
        .attempts
        .iter()
        .all(|a| a.status.is_none()));

    let handled = Handled::default();
    let receiver = recording_receiver(
        &handled,
        Receiver::builder(Verifier::new(SECRET))
            .workers(4)
            .order_by(OrderBy::Contact),
    );
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    serve_on(listener, &receiver, &Front::default()).await;

    assert!(fake.wait_idle(Duration::from_secs(30)).await);
    receiver.shutdown().await;
    assert_eq!(handled.texts(), sent, "each exactly once");
    assert_in_order_per_sender(&handled, 3, 4);
    assert!(fake.callbacks().iter().all(|c| c.delivered));
    assert_eq!(receiver.stats().duplicates, 0);
}

#[tokio::test]
async fn a_receiver_answering_5xx_or_losing_its_answers_hands_each_over_once() {
    let (listener, url) = listen().await;
    let f = Front::default();
    f.fail_next.store(4, Ordering::SeqCst);
    let handled = Handled::default();
    // One conversation per handset here, so per conversation is per contact.
    let receiver = recording_receiver(
        &handled,
        Receiver::builder(Verifier::new(SECRET)).order_by(OrderBy::Conversation),
    );
    serve_on(listener, &receiver, &f).await;
    let (fake, app, _) =
        fake_with_webhook(&url, SECRET, 10, Duration::from_millis(10), "CONVERSATION").await;

    let mut sent = chat(&fake, &app, 'a', 2);
    assert!(fake.wait_idle(Duration::from_secs(30)).await);
    // Then the answers get lost after the receiver took the callbacks (a proxy failing, a
    // connection reset): the API redelivers what the application already has.
    f.lose_answer_next.store(5, Ordering::SeqCst);
    sent.extend(chat(&fake, &app, 'b', 2));
    sent.sort();
    assert!(fake.wait_idle(Duration::from_secs(30)).await);
    receiver.shutdown().await;

    let callbacks = fake.callbacks();
    assert_eq!(callbacks.len(), 12);
    assert!(callbacks.iter().all(|c| c.delivered));
    let answers: Vec<u16> = callbacks
        .iter()
        .flat_map(|c| c.attempts.iter().filter_map(|a| a.status))
        .collect();
    assert_eq!(answers.iter().filter(|s| **s == 500).count(), 4);
    assert_eq!(answers.iter().filter(|s| **s == 502).count(), 5);
    assert_eq!(handled.texts(), sent, "each exactly once");
    assert_in_order_per_sender(&handled, 3, 4);
    let s = receiver.stats();
    assert_eq!((s.accepted, s.duplicates), (12, 5), "{s:?}");
}

#[tokio::test]
async fn a_slow_application_gets_backpressure_not_loss_and_keeps_order() {
    let (listener, url) = listen().await;
    let handled = Handled::default();
    let h = handled.clone();
    let receiver = Receiver::builder(Verifier::new(SECRET))
        .workers(2)
        .capacity(2)
        .order_by(OrderBy::Contact)
        .start(move |e: Event| {
            let h = h.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(40)).await;
                h.record(&e);
                Ok::<(), std::io::Error>(())
            }
        });
    serve_on(listener, &receiver, &Front::default()).await;
    let (fake, app, _) =
        fake_with_webhook(&url, SECRET, 14, Duration::from_millis(5), "DISPATCH").await;

    let sent = chat(&fake, &app, 'a', 8);
    assert!(fake.wait_idle(Duration::from_secs(60)).await);
    receiver.shutdown().await;

    assert_eq!(handled.texts(), sent, "each exactly once");
    assert_in_order_per_sender(&handled, 3, 8);
    let s = receiver.stats();
    assert!(s.unavailable > 0, "the queue filled up: {s:?}");
    assert_eq!((s.accepted, s.handled, s.duplicates), (24, 24, 0), "{s:?}");
    let refused: usize = fake
        .callbacks()
        .iter()
        .map(|c| c.attempts.iter().filter(|a| a.status == Some(503)).count())
        .sum();
    assert_eq!(refused as u64, s.unavailable);
}

#[tokio::test]
async fn with_ack_handled_a_handler_slower_than_the_answer_still_runs_once() {
    let (listener, url) = listen().await;
    let handled = Handled::default();
    let runs = Arc::new(AtomicUsize::new(0));
    let (h, r) = (handled.clone(), runs.clone());
    let receiver = Receiver::builder(Verifier::new(SECRET))
        .ack(Ack::Handled {
            within: Duration::from_millis(50),
        })
        .order_by(OrderBy::Contact)
        .start(move |e: Event| {
            let (h, r) = (h.clone(), r.clone());
            async move {
                r.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(200)).await;
                h.record(&e);
                Ok::<(), std::io::Error>(())
            }
        });
    serve_on(listener, &receiver, &Front::default()).await;
    let (fake, app, _) =
        fake_with_webhook(&url, SECRET, 12, Duration::from_millis(20), "CONVERSATION").await;

    let sent = chat(&fake, &app, 'a', 1);
    assert!(fake.wait_idle(Duration::from_secs(60)).await);
    receiver.shutdown().await;

    assert_eq!(handled.texts(), sent);
    assert_eq!(runs.load(Ordering::SeqCst), 3, "one run per message");
    let s = receiver.stats();
    assert!(s.unavailable >= 3, "answered 503 while running: {s:?}");
    assert_eq!(
        s.duplicates, 3,
        "then 200 for the copy after it finished: {s:?}"
    );
}

#[tokio::test]
async fn forged_stale_and_tampered_callbacks_never_reach_the_application() {
    let (listener, url) = listen().await;
    let f = Front::default();
    let handled = Handled::default();
    // A short window, so a captured callback goes stale within the test.
    let verifier = Verifier::new(SECRET).tolerance(Duration::from_secs(2));
    let receiver = recording_receiver(&handled, Receiver::builder(verifier));
    serve_on(listener, &receiver, &f).await;

    // A genuine callback, captured on its way in.
    let (fake, app, _) =
        fake_with_webhook(&url, SECRET, 3, Duration::from_millis(10), "DISPATCH").await;
    fake.inbound_text(&app, SMS, "+15550101", "genuine")
        .unwrap();
    assert!(fake.wait_idle(Duration::from_secs(10)).await);
    let (headers, body) = f.captured.lock().unwrap()[0].clone();
    let as_pairs: Vec<(&str, String)> = headers
        .iter()
        .filter(|(k, _)| k.as_str().starts_with("x-sinch"))
        .map(|(k, v)| (k.as_str(), v.to_str().unwrap().to_owned()))
        .collect();

    // Replayed at once: verifies, but it is a copy: acknowledged, not handed over.
    assert_eq!(post(&url, &as_pairs, body.clone()).await.status, 200);
    // Tampered: the same headers over another body.
    let tampered = String::from_utf8(body.to_vec())
        .unwrap()
        .replace("genuine", "tampered");
    assert_eq!(post(&url, &as_pairs, tampered).await.status, 401);
    // Forged: a webhook whose secret the receiver does not know (the fake retries the 401s).
    let (forger, forger_app, _) = fake_with_webhook(
        &url,
        "someone-elses-secret",
        2,
        Duration::from_millis(10),
        "DISPATCH",
    )
    .await;
    forger
        .inbound_text(&forger_app, SMS, "+15550109", "forged")
        .unwrap();
    assert!(forger.wait_idle(Duration::from_secs(10)).await);
    assert!(forger.callbacks()[0]
        .attempts
        .iter()
        .all(|a| a.status == Some(401)));
    // Stale: the captured callback replayed after the window.
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let stale = post(&url, &as_pairs, body.clone()).await;
    assert_eq!(stale.status, 401, "{}", stale.text);
    // A fresh signature with a fake timestamp from the past.
    let old = webhook::signed_headers(SECRET.as_bytes(), &body, "old", now() - 5);
    assert_eq!(post(&url, &old, body.clone()).await.status, 401);

    receiver.shutdown().await;
    assert_eq!(handled.texts(), ["genuine"]);
    let s = receiver.stats();
    assert_eq!((s.accepted, s.duplicates, s.rejected), (1, 1, 5), "{s:?}");
}

#[tokio::test]
async fn rotating_the_webhook_secret_loses_nothing() {
    let (listener, url) = listen().await;
    let handled = Handled::default();
    let verifier = Verifier::new("new-secret").accept_also(SECRET);
    let receiver = recording_receiver(&handled, Receiver::builder(verifier));
    serve_on(listener, &receiver, &Front::default()).await;
    let (fake, app, webhook_id) =
        fake_with_webhook(&url, SECRET, 3, Duration::from_millis(10), "DISPATCH").await;

    fake.inbound_text(&app, SMS, "+15550101", "before").unwrap();
    let patch: types::Webhook = serde_json::from_value(serde_json::json!({
        "app_id": app, "target": url, "secret": "new-secret", "triggers": ["MESSAGE_INBOUND"]
    }))
    .unwrap();
    fake.client()
        .webhooks_update_webhook()
        .webhook_id(&webhook_id)
        .update_mask_paths(vec!["secret".to_string()])
        .body(patch)
        .send()
        .await
        .unwrap();
    fake.inbound_text(&app, SMS, "+15550101", "after").unwrap();
    assert!(fake.wait_idle(Duration::from_secs(10)).await);
    receiver.shutdown().await;

    assert_eq!(handled.texts(), ["after", "before"]);
    assert!(fake.callbacks().iter().all(|c| c.attempts.len() == 1));
}
