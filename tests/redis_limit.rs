//! Instances sharing one pace through a real `redis-server` (`RateLimit::shared`) against the
//! embedded fake's project limit: nothing reaches Redis while the API accepts everything;
//! sixteen clients deliver every message with few 429s and finish together; when Redis is
//! unreachable from the start, or stops in the middle, every client goes on pacing itself and
//! no send fails.

#[path = "support/fakes.rs"]
mod fakes;
#[path = "support/redis_server.rs"]
mod redis_server;

use fakes::{campaign as run, limited};
use redis_server::RedisServer;
use sinch_conversation::fake::Fake;
use sinch_conversation::prelude::*;
use sinch_conversation::redis::AsyncCommands as _;
use sinch_conversation::types::ConversationChannel;
use sinch_conversation::Redis;
use std::time::Duration;

async fn keys(server: &RedisServer) -> Vec<String> {
    let client = sinch_conversation::redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    conn.keys("*").await.unwrap()
}

fn shared(redis: &Redis) -> RateLimit {
    RateLimit::adaptive()
        .shared(redis)
        .shared_prefix(format!("test:{:x}:", rand::random::<u64>()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_reaches_redis_while_the_api_accepts_everything() {
    let Some(server) = RedisServer::start("nothing_reaches_redis") else {
        return;
    };
    let redis = Redis::open(&server.url()).unwrap();
    // No limit on the fake: no 429, so no shared pace and not one key.
    let fake = Fake::builder()
        .rate_limit(None)
        .record_requests(true)
        .start()
        .await
        .unwrap();
    let app = fake.create_app("free", &[ConversationChannel::Sms]);
    let r = run(&fake, &app, 4, 400, shared(&redis)).await;
    assert_eq!((r.delivered, r.failed, r.refused), (400, 0, 0), "{r:?}");
    assert!(keys(&server).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_clients_sharing_one_pace_deliver_everything_with_few_429s_and_finish_together() {
    let Some(server) = RedisServer::start("sixteen_clients_share") else {
        return;
    };
    let redis = Redis::open(&server.url()).unwrap();
    const RATE: f64 = 800.0;
    const N: usize = 2400;
    let (fake, app) = limited(RATE).await;
    let r = run(&fake, &app, 16, N, shared(&redis)).await;
    println!("16 clients sharing a {RATE}/s pace through Redis: {r:?}");
    assert_eq!((r.delivered, r.duplicated, r.failed), (N, 0, 0), "{r:?}");
    // The bench (release build, 800/s, 8000 messages) shows under 1%; a debug build sharing
    // the machine with other tests is given some room.
    assert!(
        r.refused * 100 <= r.requests * 3,
        "{} of {} requests refused",
        r.refused,
        r.requests
    );
    let ideal = N as f64 / RATE;
    assert!(r.took.as_secs_f64() < ideal * 1.2, "{r:?}");
    // Equal parts of one pace: nobody is left finishing alone.
    assert!(
        r.done.1 - r.done.0 < Duration::from_secs_f64(ideal * 0.2),
        "{r:?}"
    );
    // The pace lives under the prefix, each key with a TTL.
    let client = sinch_conversation::redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = conn.keys("*").await.unwrap();
    assert!(!keys.is_empty());
    for key in keys {
        assert!(key.starts_with("test:"), "{key}");
        let ttl: i64 = conn.pttl(&key).await.unwrap();
        assert!(ttl > 0, "{key}: {ttl}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_unreachable_each_client_paces_itself_and_no_send_fails() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let redis = Redis::open(&format!("redis://127.0.0.1:{port}/"))
        .unwrap()
        .timeout(Duration::from_millis(200));
    const RATE: f64 = 300.0;
    const N: usize = 600;
    let (fake, app) = limited(RATE).await;
    let r = run(&fake, &app, 4, N, shared(&redis)).await;
    assert_eq!((r.delivered, r.duplicated, r.failed), (N, 0, 0), "{r:?}");
    assert!(r.took.as_secs_f64() < N as f64 / RATE * 1.5, "{r:?}");
    assert!(r.refused * 100 <= r.requests * 10, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopping_in_the_middle_of_a_campaign_loses_nothing() {
    let Some(mut server) = RedisServer::start("redis_stops_mid_campaign") else {
        return;
    };
    let redis = Redis::open(&server.url())
        .unwrap()
        .timeout(Duration::from_millis(200));
    const RATE: f64 = 300.0;
    const N: usize = 900;
    let (fake, app) = limited(RATE).await;
    let outage = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        server.stop();
    };
    let (r, ()) = tokio::join!(run(&fake, &app, 8, N, shared(&redis)), outage);
    assert_eq!((r.delivered, r.duplicated, r.failed), (N, 0, 0), "{r:?}");
    assert!(r.took.as_secs_f64() < N as f64 / RATE * 1.5, "{r:?}");
}
