//! Receivers on several replicas sharing `RedisDedup` on a real `redis-server`: a callback
//! whose copies reach different replicas is handed over once; a copy that arrives while
//! another replica handles it is answered 503 until that one is done; a replica that dies
//! while handling leaves the callback to another once the lease runs out; Redis restarted in
//! the middle means 503s during the outage and no callback lost. Each replica has its own
//! connection to Redis, as separate processes would.

#[path = "support/dedup_contract.rs"]
mod dedup_contract;
#[path = "support/redis_server.rs"]
mod redis_server;
#[path = "support/serve.rs"]
mod serve;

use redis_server::RedisServer;
use serve::{inbound, post_signed, serve_hyper};
use sinch_conversation::webhook::{Ack, Event, Intake, Receiver, RedisDedup, Verifier};
use sinch_conversation::Redis;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

const SECRET: &str = "replicas-secret";

/// Texts handed to the application, by replica.
#[derive(Clone, Default)]
struct Handed(Arc<Mutex<Vec<(&'static str, String)>>>);

impl Handed {
    fn push(&self, replica: &'static str, e: &Event) {
        if let Event::MessageInbound(m) = e {
            let text = m.message.contact_message.text_message.as_ref();
            let text = text.map(|t| t.text.clone()).unwrap_or_default();
            self.0.lock().unwrap().push((replica, text));
        }
    }

    /// How many times each text was handed over, whichever the replica.
    fn counts(&self) -> HashMap<String, usize> {
        let mut m = HashMap::new();
        for (_, t) in self.0.lock().unwrap().iter() {
            *m.entry(t.clone()).or_default() += 1;
        }
        m
    }

    fn by(&self, replica: &str) -> Vec<String> {
        let all = self.0.lock().unwrap();
        all.iter()
            .filter(|(r, _)| *r == replica)
            .map(|(_, t)| t.clone())
            .collect()
    }
}

/// A replica: its own connection to Redis, its own receiver, served over HTTP.
struct Replica {
    url: String,
    receiver: Receiver,
    server: tokio::task::JoinHandle<()>,
}

fn store(redis_url: &str, lease: Duration) -> RedisDedup {
    let redis = Redis::open(redis_url)
        .unwrap()
        .timeout(Duration::from_millis(300));
    RedisDedup::new(&redis)
        .prefix("test:callbacks:")
        .lease(lease)
}

/// A replica whose handler records what it is given after `gate` lets it (if any).
/// A lease long enough never to run out during a test (the dying-replica test sets its own).
const LEASE: Duration = Duration::from_secs(30);
/// Acknowledged once handled, with time to spare.
const HANDLED: Ack = Ack::Handled {
    within: Duration::from_secs(10),
};

async fn replica(
    name: &'static str,
    redis_url: &str,
    lease: Duration,
    ack: Ack,
    handed: &Handed,
    gate: Option<Arc<Semaphore>>,
) -> Replica {
    let intake = Intake::new(Verifier::new(SECRET)).dedup(store(redis_url, lease));
    let handed = handed.clone();
    let receiver = Receiver::builder(intake).ack(ack).start(move |e: Event| {
        let (handed, gate) = (handed.clone(), gate.clone());
        async move {
            if let Some(g) = gate {
                g.acquire().await.unwrap().forget();
            }
            handed.push(name, &e);
            Ok::<(), std::io::Error>(())
        }
    });
    let (url, server) = serve_hyper_task(receiver.clone()).await;
    Replica {
        url,
        receiver,
        server,
    }
}

/// `serve_hyper`, with a handle to stop serving (a replica that dies).
async fn serve_hyper_task(receiver: Receiver) -> (String, tokio::task::JoinHandle<()>) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let url = serve_hyper(receiver.service()).await;
        tx.send(url).unwrap();
        std::future::pending::<()>().await
    });
    (rx.await.unwrap(), task)
}

/// Posts `body` to `url` the way the API retries: a fresh signature each try, again after a
/// 503 (every 50 ms here) until another answer or `within` has passed since the first
/// answer; returns the statuses.
async fn deliver(url: &str, body: &[u8], within: Duration) -> Vec<u16> {
    let mut statuses = vec![];
    let mut started = None;
    loop {
        let status = post_signed(url, SECRET, body).await.status;
        let started = *started.get_or_insert_with(Instant::now);
        statuses.push(status);
        if status != 503 || started.elapsed() > within {
            return statuses;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_dedup_keeps_the_store_contract() {
    let Some(server) = RedisServer::start("redis_dedup_keeps_the_store_contract") else {
        return;
    };
    let store = store(&server.url(), dedup_contract::LEASE);
    dedup_contract::check(&store, "redis").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_of_one_callback_on_two_replicas_are_handed_over_once() {
    let Some(server) = RedisServer::start("copies_on_two_replicas") else {
        return;
    };
    let handed = Handed::default();
    let a = replica("a", &server.url(), LEASE, Ack::Accepted, &handed, None).await;
    let b = replica("b", &server.url(), LEASE, Ack::Accepted, &handed, None).await;

    // One callback, then its redelivery to the other replica.
    let body = inbound("app", "m-first", "c1", "first");
    assert_eq!(post_signed(&a.url, SECRET, &body).await.status, 200);
    assert_eq!(post_signed(&b.url, SECRET, &body).await.status, 200);
    assert_eq!(b.receiver.stats().duplicates, 1);

    // 300 callbacks, each posted to both replicas at once (a load balancer's retry racing the
    // first try); a copy answered 503 is delivered again, as the API does.
    let posts = (0..300).flat_map(|i| {
        let body = inbound(
            "app",
            &format!("m{i}"),
            &format!("c{}", i % 7),
            &format!("t{i}"),
        );
        [a.url.clone(), b.url.clone()].map(|url| {
            let body = body.clone();
            async move { deliver(&url, &body, Duration::from_secs(10)).await }
        })
    });
    let answers = futures_util::future::join_all(posts).await;
    let unfinished: Vec<_> = answers.iter().filter(|s| s.last() != Some(&200)).collect();
    assert!(
        unfinished.is_empty(),
        "every copy is finally acknowledged: {unfinished:?}"
    );
    a.receiver.shutdown().await;
    b.receiver.shutdown().await;
    let counts = handed.counts();
    assert_eq!(counts.len(), 301);
    assert!(counts.values().all(|n| *n == 1), "each handed over once");
    let (sa, sb) = (a.receiver.stats(), b.receiver.stats());
    assert_eq!(sa.accepted + sb.accepted, 301);
    assert_eq!(sa.duplicates + sb.duplicates, 301, "{sa:?} {sb:?}");
    assert!(!handed.by("a").is_empty() && !handed.by("b").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_is_answered_503_while_another_replica_handles_it_then_200() {
    let Some(server) = RedisServer::start("copy_while_handled_elsewhere") else {
        return;
    };
    let handed = Handed::default();
    let gate = Arc::new(Semaphore::new(0));
    let a = replica(
        "a",
        &server.url(),
        LEASE,
        HANDLED,
        &handed,
        Some(gate.clone()),
    )
    .await;
    let b = replica("b", &server.url(), LEASE, HANDLED, &handed, None).await;

    let body = inbound("app", "m-slow", "c1", "slow");
    let first = {
        let (url, body) = (a.url.clone(), body.clone());
        tokio::spawn(async move { post_signed(&url, SECRET, &body).await.status })
    };
    // Until A's handler finishes, every copy B gets is a 503 with Retry-After.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..3 {
        let copy = post_signed(&b.url, SECRET, &body).await;
        assert_eq!(copy.status, 503, "{}", copy.text);
        assert!(copy.retry_after.is_some());
    }
    gate.add_permits(1);
    assert_eq!(first.await.unwrap(), 200);
    assert_eq!(post_signed(&b.url, SECRET, &body).await.status, 200);
    assert_eq!(handed.by("a"), ["slow"]);
    assert!(handed.by("b").is_empty());
    assert_eq!(b.receiver.stats().unavailable, 3);
    assert_eq!(b.receiver.stats().duplicates, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_dies_while_handling_leaves_the_callback_to_another_after_the_lease() {
    let Some(server) = RedisServer::start("replica_dies_while_handling") else {
        return;
    };
    let handed = Handed::default();
    let lease = Duration::from_millis(800);
    let ack = Ack::Handled {
        within: Duration::from_secs(30),
    };
    // A's handler never finishes: the process is as good as dead, its claim never released.
    let stuck = Arc::new(Semaphore::new(0));
    let a = replica("a", &server.url(), lease, ack, &handed, Some(stuck)).await;
    let b = replica("b", &server.url(), lease, ack, &handed, None).await;

    let body = inbound("app", "m-orphan", "c1", "orphan");
    let dying = {
        let (url, body) = (a.url.clone(), body.clone());
        tokio::spawn(async move { post_signed(&url, SECRET, &body).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    dying.abort(); // the API's try gets no answer from A
    a.server.abort();
    let claimed = Instant::now();
    assert_eq!(post_signed(&b.url, SECRET, &body).await.status, 503);
    // The API keeps redelivering; B takes the callback over once A's lease has run out.
    let statuses = deliver(&b.url, &body, Duration::from_secs(5)).await;
    assert_eq!(statuses.last(), Some(&200), "{statuses:?}");
    assert!(claimed.elapsed() >= lease - Duration::from_millis(150));
    assert_eq!(handed.by("b"), ["orphan"]);
    assert!(handed.by("a").is_empty());
    // And only once: later copies are duplicates.
    assert_eq!(post_signed(&b.url, SECRET, &body).await.status, 200);
    assert_eq!(handed.counts()["orphan"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_in_the_middle_means_503s_and_no_callback_lost_or_doubled() {
    let Some(mut server) = RedisServer::start_persistent("redis_restarted") else {
        return;
    };
    let handed = Handed::default();
    let a = replica("a", &server.url(), LEASE, Ack::Accepted, &handed, None).await;
    let b = replica("b", &server.url(), LEASE, Ack::Accepted, &handed, None).await;

    let before = inbound("app", "m-before", "c1", "before");
    let during = inbound("app", "m-during", "c1", "during");
    assert_eq!(post_signed(&a.url, SECRET, &before).await.status, 200);

    server.stop();
    // No store, no claim: nothing is handed over, and the API is asked to come back.
    let started = Instant::now();
    let answer = post_signed(&a.url, SECRET, &during).await;
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "bounded by the Redis timeout"
    );
    assert_eq!(post_signed(&b.url, SECRET, &before).await.status, 503);
    assert!(handed.by("a") == ["before"] && handed.by("b").is_empty());

    server.restart();
    // The API's redeliveries: the callback missed during the outage is handed over once, and
    // the copy of the one handled before is recognised (the server kept its keys on disk).
    let statuses = deliver(&b.url, &during, Duration::from_secs(5)).await;
    assert_eq!(statuses.last(), Some(&200), "{statuses:?}");
    let statuses = deliver(&a.url, &before, Duration::from_secs(5)).await;
    assert_eq!(statuses.last(), Some(&200), "{statuses:?}");
    let statuses = deliver(&a.url, &during, Duration::from_secs(5)).await;
    assert_eq!(statuses.last(), Some(&200), "{statuses:?}");
    a.receiver.shutdown().await;
    b.receiver.shutdown().await;
    assert_eq!(
        handed.counts(),
        HashMap::from([("before".to_owned(), 1), ("during".to_owned(), 1)])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_key_lives_under_the_prefix_with_a_ttl() {
    use sinch_conversation::redis::AsyncCommands as _;
    let Some(server) = RedisServer::start("keys_with_ttl") else {
        return;
    };
    let handed = Handed::default();
    let gate = Arc::new(Semaphore::new(0));
    let a = replica(
        "a",
        &server.url(),
        LEASE,
        HANDLED,
        &handed,
        Some(gate.clone()),
    )
    .await;
    let done = inbound("app", "m-done", "c1", "done");
    let busy = inbound("app", "m-busy", "c1", "busy");
    gate.add_permits(1);
    assert_eq!(post_signed(&a.url, SECRET, &done).await.status, 200);
    let pending = {
        let (url, busy) = (a.url.clone(), busy.clone());
        tokio::spawn(async move { post_signed(&url, SECRET, &busy).await.status })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;

    let client = sinch_conversation::redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = conn.keys("*").await.unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
    for key in &keys {
        assert!(
            key.starts_with("test:callbacks:app/MESSAGE_INBOUND/"),
            "{key}"
        );
        let ttl: i64 = conn.pttl(key).await.unwrap();
        let value: String = conn.get(key).await.unwrap();
        if value == "d" {
            assert!(ttl > 23 * 3600 * 1000, "done: kept about a day, {ttl} ms");
        } else {
            assert!(
                value.starts_with('p') && ttl > 0 && ttl <= 30_000,
                "{value} {ttl}"
            );
        }
    }
    gate.add_permits(1);
    assert_eq!(pending.await.unwrap(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_unreachable_from_the_start_callbacks_get_503_and_are_never_handed_over() {
    // Nothing listens on this port (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let handed = Handed::default();
    let r = replica(
        "a",
        &format!("redis://127.0.0.1:{port}/"),
        Duration::from_secs(30),
        Ack::Accepted,
        &handed,
        None,
    )
    .await;
    let body = inbound("app", "m1", "c1", "nowhere");
    for _ in 0..3 {
        let answer = post_signed(&r.url, SECRET, &body).await;
        assert_eq!(answer.status, 503, "{}", answer.text);
        assert!(
            answer.text.contains("dedup store unavailable"),
            "{}",
            answer.text
        );
    }
    assert!(handed.counts().is_empty());
    assert_eq!(r.receiver.stats().unavailable, 3);
}
