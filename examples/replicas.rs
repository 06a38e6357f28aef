//! Two replicas of a service behind one URL, sharing Redis: a callback the API redelivers
//! lands on the other replica, which recognises it and does not hand it over again.
//!
//! ```text
//! cargo run --example replicas        # REDIS_URL=redis://host:port/ to use your own server
//! ```
//!
//! Offline: the embedded fake API plays the handsets and retries callbacks as the API does; a
//! small load balancer sends each try to the next replica in turn; each replica is a
//! `webhook::Receiver` with a `RedisDedup` on its own connection, as separate processes would
//! have. Without `REDIS_URL` it starts a throwaway `redis-server` (Debian's `redis-server`
//! package) on a free loopback port. The network loses one replica's answer: the API
//! redelivers that callback, the balancer gives the copy to the other replica, and Redis
//! tells it the callback was handed over already. Exits 0 when every callback was handed over
//! exactly once across the two.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use sinch_conversation::fake::Fake;
use sinch_conversation::prelude::*;
use sinch_conversation::types::{self, ConversationChannel};
use sinch_conversation::webhook::{Ack, Event, Intake, Receiver, RedisDedup, Verifier};
use sinch_conversation::Redis;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "replicas-webhook-secret";
const SMS: ConversationChannel = ConversationChannel::Sms;

/// What the application was handed, by replica.
type Handed = Arc<Mutex<Vec<(&'static str, String)>>>;

/// One replica: its own Redis connection, its own receiver, its own port.
async fn replica(
    name: &'static str,
    redis_url: &str,
    handed: &Handed,
) -> Result<(Receiver, String)> {
    let redis = Redis::open(redis_url)?;
    let intake = Intake::new(Verifier::new(SECRET)).dedup(RedisDedup::new(&redis));
    let handed = handed.clone();
    let receiver = Receiver::builder(intake)
        .ack(Ack::Handled {
            within: Duration::from_secs(2),
        })
        .start(move |event: Event| {
            let handed = handed.clone();
            async move {
                if let Event::MessageInbound(e) = event {
                    let text = e.message.contact_message.text_message.map(|t| t.text);
                    let text = text.unwrap_or_default();
                    println!("  replica {name} handed over: {text:?}");
                    handed.lock().unwrap().push((name, text));
                }
                Ok::<(), std::convert::Infallible>(())
            }
        });
    let app = axum::Router::new().route_service("/sinch/callbacks", receiver.service());
    let url = serve(app).await?;
    Ok((receiver, format!("{url}/sinch/callbacks")))
}

async fn serve(app: axum::Router) -> Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Error::Config(format!("no loopback port: {e}")))?;
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// The load balancer: each try goes to the next replica in turn. It can also lose the next
/// answer on its way back (the replica did its work; the API never hears of it).
struct Balancer {
    replicas: [String; 2],
    next: AtomicUsize,
    lose_next_answer: AtomicUsize,
    http: reqwest::Client,
}

async fn balance(
    State(lb): State<Arc<Balancer>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let turn = lb.next.fetch_add(1, Ordering::SeqCst) % 2;
    let mut request = lb.http.post(&lb.replicas[turn]).body(body);
    for (name, value) in &headers {
        if name.as_str().starts_with("x-sinch-") || name == "content-type" {
            request = request.header(name, value);
        }
    }
    let answer = match request.send().await {
        Ok(r) => (
            StatusCode::from_u16(r.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY),
            r.text().await.unwrap_or_default(),
        ),
        Err(_) => (StatusCode::BAD_GATEWAY, "replica unreachable".into()),
    };
    println!(
        "  try -> replica {}: {} {}",
        ["a", "b"][turn],
        answer.0.as_u16(),
        answer.1
    );
    let lose = lb
        .lose_next_answer
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    if lose.is_ok() {
        println!(
            "  (the network lost replica {}'s answer: the API will try again)",
            ["a", "b"][turn]
        );
        return (StatusCode::BAD_GATEWAY, "answer lost".into());
    }
    answer
}

/// A throwaway `redis-server`, stopped when dropped.
struct LocalRedis(std::process::Child);

impl Drop for LocalRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn local_redis() -> Result<(String, LocalRedis)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| Error::Config(format!("no loopback port: {e}")))?
        .port();
    let child = std::process::Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| {
            Error::Config(format!(
                "set REDIS_URL, or install redis-server (apt-get install redis-server): {e}"
            ))
        })?;
    let server = LocalRedis(child);
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok((format!("redis://127.0.0.1:{port}/"), server));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err(Error::Config("redis-server did not start".into()))
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("replicas failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<bool> {
    let (redis_url, _server) = match std::env::var("REDIS_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let (url, server) = local_redis()?;
            println!("No REDIS_URL: a throwaway redis-server at {url}");
            (url, Some(server))
        }
    };
    let fake = Fake::builder()
        .callback_retries(8, Duration::from_millis(100))
        .start()
        .await?;
    let client = fake.client();
    let app = fake.create_app("replicated service", &[SMS]);

    let handed: Handed = Arc::default();
    let (a, a_url) = replica("a", &redis_url, &handed).await?;
    let (b, b_url) = replica("b", &redis_url, &handed).await?;
    let lb = Arc::new(Balancer {
        replicas: [a_url, b_url],
        next: AtomicUsize::new(0),
        lose_next_answer: AtomicUsize::new(0),
        http: reqwest::Client::new(),
    });
    let url = serve(
        axum::Router::new()
            .route("/sinch/callbacks", axum::routing::post(balance))
            .with_state(lb.clone()),
    )
    .await?;
    let url = format!("{url}/sinch/callbacks");
    let webhook = types::Webhook::new(&app, &url, [types::WebhookTrigger::MessageInbound])
        .with_secret(SECRET);
    client
        .webhooks_create_webhook()
        .body(webhook)
        .send()
        .await?;
    println!(
        "Two replicas behind {url}, sharing Redis; the fake API at {}",
        fake.base_url()
    );

    let texts = [
        "Hi, are you open today?",
        "Where is order 1234?",
        "Thanks!",
        "Bye",
    ];
    for (i, text) in texts.iter().enumerate() {
        if i == 1 {
            lb.lose_next_answer.store(1, Ordering::SeqCst);
        }
        println!("handset +15550101: {text}");
        fake.inbound_text(&app, SMS, "+15550101", text)?;
        fake.wait_idle(Duration::from_secs(10)).await;
    }

    let idle = fake.wait_idle(Duration::from_secs(10)).await;
    a.shutdown().await;
    b.shutdown().await;
    let (sa, sb) = (a.stats(), b.stats());
    let handed = handed.lock().unwrap().clone();
    let once = texts
        .iter()
        .all(|t| handed.iter().filter(|(_, h)| h == t).count() == 1);
    let copies = sa.duplicates + sb.duplicates;
    if copies == 1 {
        println!("the redelivered copy went to the other replica, which recognised it through Redis and did not hand it over again");
    }
    let tries: usize = fake.callbacks().iter().map(|c| c.attempts.len()).sum();
    let ok = idle && once && handed.len() == texts.len() && copies == 1;
    println!(
        "done: {} callbacks in {tries} tries, handed over {} times across 2 replicas (a {}, b {}), {copies} redelivered copy recognised, {}",
        texts.len(),
        handed.len(),
        sa.accepted,
        sb.accepted,
        if ok { "each exactly once" } else { "MISMATCH" }
    );
    Ok(ok)
}
