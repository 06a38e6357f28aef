//! The receiver over real HTTP on loopback: the status of every outcome, backpressure, the two
//! acknowledgement modes, panics, shutdown, hyper without axum, the layer and the extractor.

#[path = "support/serve.rs"]
mod serve;

use axum::routing::post as post_route;
use bytes::Bytes;
use serve::{inbound, now, post, post_signed, serve_axum, serve_hyper};
use sinch_conversation::webhook::{
    self, Ack, Callback, Event, Intake, MemoryDedup, OrderBy, Receiver, Stats, Verifier,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

const SECRET: &str = "receiver-test-secret";

/// What the application saw, in order.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn push(&self, e: &Event) {
        let id = match e {
            Event::MessageInbound(m) => m.message.id.clone().unwrap_or_default(),
            other => other.trigger().unwrap_or("?").to_owned(),
        };
        self.0.lock().unwrap().push(id);
    }
    fn ids(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

async fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn start(receiver: &Receiver) -> String {
    let router = axum::Router::new().route_service("/callbacks", receiver.service());
    format!("{}/callbacks", serve_axum(router).await)
}

fn recorder(
    seen: &Seen,
) -> impl Fn(Event) -> futures_util::future::Ready<Result<(), std::io::Error>> + Send + Sync + 'static
{
    let seen = seen.clone();
    move |e| {
        seen.push(&e);
        futures_util::future::ready(Ok(()))
    }
}

#[tokio::test]
async fn every_outcome_gets_its_status_and_only_genuine_first_copies_reach_the_app() {
    let seen = Seen::default();
    let intake = Intake::new(Verifier::new(SECRET)).max_body(2048);
    let receiver = Receiver::builder(intake).start(recorder(&seen));
    let url = start(&receiver).await;
    let body = inbound("app", "m1", "c1", "hello");

    // The first try is handed over; a redelivery (new nonce, new timestamp) is acknowledged
    // and not handed over again.
    assert_eq!(post_signed(&url, SECRET, &body).await.status, 200);
    let again = post_signed(&url, SECRET, &body).await;
    assert_eq!(
        (again.status, again.text.as_str()),
        (200, "already handed over")
    );

    // Forged (another secret), tampered (body changed after signing), stale, from the future,
    // unsigned, another algorithm: 401.
    let other = inbound("app", "m2", "c1", "forged");
    assert_eq!(
        post_signed(&url, "not-the-secret", &other).await.status,
        401
    );
    let headers = webhook::signed_headers(SECRET.as_bytes(), &other, "n-1", now());
    let tampered = inbound("app", "m2", "c1", "tampered");
    assert_eq!(post(&url, &headers, tampered).await.status, 401);
    let stale = webhook::signed_headers(SECRET.as_bytes(), &other, "n-2", now() - 400);
    assert_eq!(post(&url, &stale, other.clone()).await.status, 401);
    let future = webhook::signed_headers(SECRET.as_bytes(), &other, "n-3", now() + 400);
    assert_eq!(post(&url, &future, other.clone()).await.status, 401);
    assert_eq!(post(&url, &[], other.clone()).await.status, 401);
    let mut sha1 = webhook::signed_headers(SECRET.as_bytes(), &other, "n-4", now());
    sha1[3].1 = "HmacSHA1".into();
    assert_eq!(post(&url, &sha1, other.clone()).await.status, 401);

    // Signed but unreadable: 400.
    for junk in [
        &b"not json"[..],
        b"[1,2]",
        br#"{"message":"not an object"}"#,
    ] {
        let a = post_signed(&url, SECRET, junk).await;
        assert_eq!(
            a.status,
            400,
            "{}: {}",
            String::from_utf8_lossy(junk),
            a.text
        );
    }

    // Too large: declared, and streamed without a length.
    let big = vec![b' '; 4096];
    assert_eq!(post_signed(&url, SECRET, &big).await.status, 413);
    let chunks: Vec<Result<Bytes, std::io::Error>> =
        (0..8).map(|_| Ok(Bytes::from(vec![b' '; 512]))).collect();
    let streamed = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let headers = webhook::signed_headers(SECRET.as_bytes(), &big, "n-5", now());
    assert_eq!(post(&url, &headers, streamed).await.status, 413);

    // Not a POST: 405 with Allow.
    let get = reqwest::get(&url).await.unwrap();
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "POST");

    // An unknown kind is still a callback: handed over, kept verbatim.
    let unknown = br#"{"app_id":"app","hologram_notification":{"depth":3}}"#;
    assert_eq!(post_signed(&url, SECRET, unknown).await.status, 200);

    wait_for("two events", || seen.ids().len() == 2).await;
    assert_eq!(seen.ids(), ["m1", "?"]);
    let stats = receiver.stats();
    assert_eq!(
        (
            stats.received,
            stats.accepted,
            stats.duplicates,
            stats.rejected
        ),
        (15, 2, 1, 12),
        "{stats:?}"
    );
}

#[tokio::test]
async fn a_full_receiver_answers_503_and_takes_the_callback_once_there_is_room() {
    let seen = Seen::default();
    let gate = Arc::new(Semaphore::new(0));
    let (s, g) = (seen.clone(), gate.clone());
    let receiver = Receiver::builder(Verifier::new(SECRET))
        .workers(1)
        .capacity(1)
        .start(move |e: Event| {
            let (s, g) = (s.clone(), g.clone());
            async move {
                g.acquire().await.unwrap().forget();
                s.push(&e);
                Ok::<(), std::io::Error>(())
            }
        });
    let url = start(&receiver).await;
    let bodies: Vec<_> = (1..=3)
        .map(|i| inbound("app", &format!("m{i}"), "c", "hi"))
        .collect();

    assert_eq!(post_signed(&url, SECRET, &bodies[0]).await.status, 200); // the worker holds it
    wait_for("the worker to take m1", || receiver.stats().pending == 1).await;
    assert_eq!(post_signed(&url, SECRET, &bodies[1]).await.status, 200); // queued
    let full = post_signed(&url, SECRET, &bodies[2]).await;
    assert_eq!((full.status, full.retry_after.as_deref()), (503, Some("1")));

    // Not lost: its key was released, so the redelivery is taken once there is room.
    gate.add_permits(10);
    wait_for("m1 and m2", || seen.ids().len() == 2).await;
    assert_eq!(post_signed(&url, SECRET, &bodies[2]).await.status, 200);
    wait_for("m3", || seen.ids().len() == 3).await;
    assert_eq!(seen.ids(), ["m1", "m2", "m3"]);
    let s: Stats = receiver.stats();
    assert_eq!(
        (s.accepted, s.unavailable, s.handled, s.pending),
        (3, 1, 3, 0)
    );
}

#[tokio::test]
async fn with_ack_handled_the_answer_waits_for_the_handler_and_a_failure_is_redelivered() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Seen::default();
    let (c, s) = (calls.clone(), seen.clone());
    let receiver = Receiver::builder(Verifier::new(SECRET))
        .ack(Ack::Handled {
            within: Duration::from_millis(300),
        })
        .start(move |e: Event| {
            let (c, s) = (c.clone(), s.clone());
            async move {
                let n = c.fetch_add(1, Ordering::SeqCst);
                let Event::MessageInbound(m) = &e else {
                    return Ok(());
                };
                match m.message.id.as_deref() {
                    // Fails on its first try only.
                    Some("flaky") if n == 0 => return Err("database down".into()),
                    // Slower than the answer may wait.
                    Some("slow") => tokio::time::sleep(Duration::from_millis(1000)).await,
                    _ => {}
                }
                s.push(&e);
                Ok::<(), webhook::BoxError>(())
            }
        });
    let url = start(&receiver).await;

    let flaky = inbound("app", "flaky", "c", "hi");
    let a = post_signed(&url, SECRET, &flaky).await;
    assert_eq!(a.status, 503, "{}", a.text);
    assert!(a.text.contains("database down"), "{}", a.text);
    assert_eq!(
        post_signed(&url, SECRET, &flaky).await.status,
        200,
        "redelivered"
    );
    assert_eq!(
        post_signed(&url, SECRET, &flaky).await.text,
        "already handed over"
    );

    let slow = inbound("app", "slow", "c", "hi");
    assert_eq!(
        post_signed(&url, SECRET, &slow).await.status,
        503,
        "timed out"
    );
    // A copy while the first is still running: not handed over, asked to come back.
    let copy = post_signed(&url, SECRET, &slow).await;
    assert_eq!(
        (copy.status, copy.text.as_str()),
        (503, "a copy is being handled")
    );
    wait_for("slow", || seen.ids().contains(&"slow".to_string())).await;
    assert_eq!(post_signed(&url, SECRET, &slow).await.status, 200);

    assert_eq!(seen.ids(), ["flaky", "slow"]);
    assert_eq!(calls.load(Ordering::SeqCst), 3, "flaky twice, slow once");
}

#[tokio::test]
async fn a_panicking_handler_is_counted_and_its_worker_goes_on() {
    let seen = Seen::default();
    let s = seen.clone();
    let receiver = Receiver::builder(Verifier::new(SECRET))
        .workers(1)
        .start(move |e: Event| {
            let s = s.clone();
            async move {
                if matches!(&e, Event::MessageInbound(m) if m.message.id.as_deref() == Some("boom"))
                {
                    panic!("handler bug");
                }
                s.push(&e);
                Ok::<(), std::io::Error>(())
            }
        });
    let url = start(&receiver).await;
    for id in ["a", "boom", "b"] {
        let body = inbound("app", id, "c", "hi");
        assert_eq!(post_signed(&url, SECRET, &body).await.status, 200);
    }
    wait_for("a and b", || seen.ids().len() == 2).await;
    assert_eq!(seen.ids(), ["a", "b"]);
    let s = receiver.stats();
    assert_eq!((s.handled, s.failed, s.pending), (2, 1, 0));
}

#[tokio::test]
async fn shutdown_refuses_new_callbacks_and_drains_every_accepted_one() {
    let seen = Seen::default();
    let s = seen.clone();
    let receiver = Receiver::builder(Verifier::new(SECRET))
        .workers(2)
        .capacity(64)
        .start(move |e: Event| {
            let s = s.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                s.push(&e);
                Ok::<(), std::io::Error>(())
            }
        });
    let url = start(&receiver).await;
    for i in 0..20 {
        let body = inbound("app", &format!("m{i}"), "c", "hi");
        assert_eq!(post_signed(&url, SECRET, &body).await.status, 200);
    }
    assert!(seen.ids().len() < 20, "still working when shutdown starts");
    receiver.shutdown().await;
    assert_eq!(seen.ids().len(), 20, "everything accepted was handled");
    assert!(receiver.is_closing());
    let late = post_signed(&url, SECRET, &inbound("app", "late", "c", "hi")).await;
    assert_eq!(
        (late.status, late.text.as_str()),
        (503, "receiver is shutting down")
    );
    receiver.shutdown().await; // idempotent
}

#[tokio::test]
async fn hyper_serves_the_service_and_the_layer_mounts_it_in_front_of_another_service() {
    let seen = Seen::default();
    let receiver = Receiver::builder(Verifier::new(SECRET)).start(recorder(&seen));

    // hyper alone, no axum.
    let base = serve_hyper(receiver.service()).await;
    let body = inbound("app", "via-hyper", "c", "hi");
    assert_eq!(
        post_signed(&format!("{base}/any"), SECRET, &body)
            .await
            .status,
        200
    );

    // A layer in a tower stack: the callback path goes to the receiver, the rest to the app.
    let app = tower::ServiceBuilder::new()
        .layer(receiver.layer("/sinch"))
        .service(tower::service_fn(
            |r: http::Request<hyper::body::Incoming>| async move {
                let text = format!("app saw {}", r.uri().path());
                Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(
                    Bytes::from(text),
                )))
            },
        ));
    let base = serve_hyper(app).await;
    let body = inbound("app", "via-layer", "c", "hi");
    let a = post_signed(&format!("{base}/sinch"), SECRET, &body).await;
    assert_eq!((a.status, a.text.as_str()), (200, "ok"));
    let other = post_signed(&format!("{base}/orders"), SECRET, &body).await;
    assert_eq!(
        (other.status, other.text.as_str()),
        (200, "app saw /orders")
    );
    let forged = post_signed(&format!("{base}/sinch"), "wrong", &body).await;
    assert_eq!(forged.status, 401);

    wait_for("two", || seen.ids().len() == 2).await;
    assert_eq!(seen.ids(), ["via-hyper", "via-layer"]);
}

#[tokio::test]
async fn the_axum_extractor_answers_for_you_and_releases_what_you_did_not_finish() {
    let seen = Seen::default();
    let fail_once = Arc::new(AtomicUsize::new(1));
    let (s, f) = (seen.clone(), fail_once.clone());
    let handler = move |callback: Callback| {
        let (s, f) = (s.clone(), f.clone());
        async move {
            if f.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                // Could not handle it: drop the callback unfinished and ask for it again.
                return http::StatusCode::SERVICE_UNAVAILABLE;
            }
            s.push(callback.event());
            callback.done().await;
            http::StatusCode::OK
        }
    };
    let store = Arc::new(MemoryDedup::new(100));
    let intake = Intake::new(Verifier::new(SECRET)).dedup_shared(store.clone());
    let router = axum::Router::new()
        .route("/callbacks", post_route(handler))
        .with_state(intake);
    let url = format!("{}/callbacks", serve_axum(router).await);
    let body = inbound("app", "m1", "c", "hi");

    assert_eq!(post_signed(&url, SECRET, &body).await.status, 503);
    // The drop released the key (in a spawned task): the redelivery is handed over.
    wait_for("release", || store.is_empty()).await;
    assert_eq!(post_signed(&url, SECRET, &body).await.status, 200);
    let copy = post_signed(&url, SECRET, &body).await;
    assert_eq!(
        (copy.status, copy.text.as_str()),
        (200, "already handed over")
    );
    assert_eq!(post_signed(&url, "wrong", &body).await.status, 401);
    assert_eq!(post_signed(&url, SECRET, b"{").await.status, 400);
    assert_eq!(seen.ids(), ["m1"]);
}

/// Three messages of one conversation, the first slow to handle, four workers: without an
/// order they finish out of order; with `OrderBy::Conversation` (or `Contact`) in order.
#[tokio::test]
async fn order_by_keeps_a_conversation_in_order_and_others_flowing() {
    async fn run(order_by: OrderBy) -> Vec<String> {
        let seen = Seen::default();
        let s = seen.clone();
        let receiver = Receiver::builder(Verifier::new(SECRET))
            .workers(4)
            .order_by(order_by)
            .start(move |e: Event| {
                let s = s.clone();
                async move {
                    if matches!(&e, Event::MessageInbound(m) if m.message.id.as_deref() == Some("a1")) {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                    s.push(&e);
                    Ok::<(), std::io::Error>(())
                }
            });
        let url = start(&receiver).await;
        for (id, conversation) in [("a1", "A"), ("a2", "A"), ("b1", "B"), ("a3", "A")] {
            let body = inbound("app", id, conversation, "hi");
            assert_eq!(post_signed(&url, SECRET, &body).await.status, 200);
        }
        receiver.shutdown().await;
        seen.ids()
    }
    let unordered = run(OrderBy::None).await;
    assert_eq!(
        unordered.last().map(String::as_str),
        Some("a1"),
        "{unordered:?}"
    );
    for by in [OrderBy::Conversation, OrderBy::Contact] {
        let ordered = run(by).await;
        let a: Vec<_> = ordered.iter().filter(|id| id.starts_with('a')).collect();
        assert_eq!(a, ["a1", "a2", "a3"], "{by:?}");
        assert!(ordered.contains(&"b1".to_string()));
    }
}

/// Posts `body` signed, on a new connection each time; the status, or the transport error.
async fn post_raw(url: &str, body: Vec<u8>, chunked: bool) -> Result<u16, String> {
    let nonce = format!("nonce-{}", rand::random::<u64>());
    let headers = webhook::signed_headers(SECRET.as_bytes(), &body, &nonce, now());
    let body = if chunked {
        let chunks: Vec<Result<Bytes, std::io::Error>> = body
            .chunks(64 * 1024)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))
    } else {
        body.into()
    };
    let mut request = reqwest::Client::new().post(url).body(body);
    for (k, v) in headers {
        request = request.header(k, v);
    }
    match request.send().await {
        Ok(r) => Ok(r.status().as_u16()),
        Err(e) => Err(format!("{e:?}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_callback_gets_its_413_over_a_real_connection_not_a_reset() {
    // A 1 MiB limit and a signed 2 MiB callback, posted many times on fresh connections, with
    // and without a length, to the service under axum, under hyper alone, and to the extractor:
    // the sender must always read the 413 (which it does not retry), never a reset connection
    // (which it would).
    let receiver = Receiver::builder(Verifier::new(SECRET))
        .start(|_e: Event| async { Ok::<(), std::io::Error>(()) });
    let axum_url = start(&receiver).await;
    let hyper_url = serve_hyper(receiver.service()).await;
    let extractor = axum::Router::new()
        .route(
            "/callbacks",
            post_route(|c: Callback| async move {
                c.done().await;
                "ok"
            }),
        )
        .with_state(Intake::new(Verifier::new(SECRET)));
    let extractor_url = format!("{}/callbacks", serve_axum(extractor).await);
    let big = {
        let mut b = inbound("app", "m-big", "c1", "x").to_vec();
        b.truncate(b.len() - 1);
        b.extend(std::iter::repeat_n(b' ', 2 * 1024 * 1024));
        b.push(b'}');
        b
    };
    let mut outcomes = vec![];
    for url in [&axum_url, &hyper_url, &extractor_url] {
        for i in 0..16 {
            outcomes.push((url.clone(), i, post_raw(url, big.clone(), i % 2 == 1).await));
        }
    }
    let wrong: Vec<_> = outcomes.iter().filter(|(_, _, o)| *o != Ok(413)).collect();
    assert!(wrong.is_empty(), "{wrong:?}");
    // The connection stays usable: a callback of the right size right after is handled.
    let ok = post_raw(&hyper_url, inbound("app", "m-small", "c1", "x"), false).await;
    assert_eq!(ok, Ok(200));
    assert_eq!(receiver.stats().rejected, 32);
}
