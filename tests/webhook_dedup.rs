//! Recognising copies: the key of every kind, and the in-memory store's bounds, expiry, leases
//! and owners.

#[path = "support/dedup_contract.rs"]
mod dedup_contract;

use sinch_conversation::webhook::{self, dedup_key, Claim, DedupKey, Event, MemoryDedup, Owner};
use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

fn example(trigger: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/callbacks")
        .join(format!("{}.json", trigger.to_lowercase()));
    std::fs::read(path).unwrap()
}

fn key_of(body: &[u8]) -> DedupKey {
    dedup_key(&webhook::parse(body).unwrap(), body)
}

const A: Owner = dedup_contract::A;
const B: Owner = dedup_contract::B;

fn key(n: usize) -> DedupKey {
    let body = format!(
        r#"{{"app_id":"a","message":{{"id":"m{n}","contact_message":{{"text_message":{{"text":"hi"}}}}}}}}"#
    );
    key_of(body.as_bytes())
}

#[test]
fn every_kind_has_a_key_named_after_what_it_is_about() {
    let expected = [
        (
            "MESSAGE_INBOUND",
            "MESSAGE_INBOUND/01HZX0MSG00000000000000009",
        ),
        (
            "MESSAGE_DELIVERY",
            "MESSAGE_DELIVERY/01HZX0MSG00000000000000001/READ/WHATSAPP",
        ),
        ("CAPABILITY", "CAPABILITY/cap-1"),
        ("CONTACT_UPDATE", "CONTACT_UPDATE/sha256:"),
        ("UNSUPPORTED", "UNSUPPORTED/sha256:"),
    ];
    let mut seen = HashSet::new();
    for (_, trigger) in webhook::known_kinds() {
        let body = example(trigger);
        let k = key_of(&body);
        assert!(
            k.as_str()
                .starts_with(&format!("01HZX0APP0000000000000000A/{trigger}/")),
            "{k}"
        );
        // Different callbacks, different keys.
        assert!(seen.insert(k.clone()), "{k} twice");
        // The same bytes, the same key (every redelivery).
        assert_eq!(key_of(&body), k);
    }
    for (trigger, prefix) in expected {
        let k = key_of(&example(trigger));
        assert!(
            k.as_str()
                .starts_with(&format!("01HZX0APP0000000000000000A/{prefix}")),
            "{trigger}: {k}"
        );
    }
}

#[test]
fn semantic_keys_ignore_what_may_change_between_tries_and_body_keys_do_not() {
    // An inbound message keyed by its id: other bytes (re-serialised, another event_time)
    // still make the same key.
    let a = br#"{"app_id":"a","event_time":"2024-01-01T00:00:00Z","message":{"id":"m1","contact_message":{"text_message":{"text":"hi"}}}}"#;
    let b = br#"{"message":{"contact_message":{"text_message":{"text":"hi"}},"id":"m1"},"event_time":"2024-01-01T00:00:09Z","app_id":"a"}"#;
    assert_eq!(key_of(a), key_of(b));
    // Another app's copy is another callback.
    let c =
        br#"{"app_id":"b","message":{"id":"m1","contact_message":{"text_message":{"text":"hi"}}}}"#;
    assert_ne!(key_of(a), key_of(c));
    // Without an id the body decides.
    let d = br#"{"app_id":"a","message":{"contact_message":{"text_message":{"text":"hi"}}}}"#;
    let e = br#"{"app_id":"a","message":{"contact_message":{"text_message":{"text":"ho"}}}}"#;
    assert!(key_of(d).as_str().starts_with("a/MESSAGE_INBOUND/sha256:"));
    assert_ne!(key_of(d), key_of(e));
    // Delivery reports: each status of a message, on each channel, is its own callback.
    let report = |status: &str, channel: &str| {
        let body = format!(
            r#"{{"app_id":"a","message_delivery_report":{{"message_id":"m1","status":"{status}","channel_identity":{{"channel":"{channel}","identity":"1"}}}}}}"#
        );
        key_of(body.as_bytes())
    };
    assert_ne!(
        report("QUEUED_ON_CHANNEL", "SMS"),
        report("DELIVERED", "SMS")
    );
    assert_ne!(report("FAILED", "RCS"), report("FAILED", "SMS"));
    assert_eq!(report("DELIVERED", "SMS"), report("DELIVERED", "SMS"));
    // A kind this version does not know is keyed by its bytes.
    let unknown = br#"{"app_id":"a","hologram_notification":{"depth":3}}"#;
    let k = key_of(unknown);
    assert!(matches!(
        webhook::parse(unknown).unwrap(),
        Event::Unknown(_)
    ));
    assert!(k.as_str().starts_with("a/UNKNOWN/sha256:"), "{k}");
}

#[test]
fn a_claim_is_new_then_in_progress_then_done_or_free_again() {
    let store = MemoryDedup::new(10);
    let t = Instant::now();
    assert_eq!(store.claim_at(&key(1), A, t), Claim::New);
    assert_eq!(store.claim_at(&key(1), A, t), Claim::InProgress);
    store.complete_at(&key(1), A, t);
    assert_eq!(store.claim_at(&key(1), A, t), Claim::Done);

    assert_eq!(store.claim_at(&key(2), A, t), Claim::New);
    store.release_now(&key(2), A);
    assert_eq!(
        store.claim_at(&key(2), A, t),
        Claim::New,
        "released: free again"
    );
    // Releasing a done key changes nothing.
    store.release_now(&key(1), A);
    assert_eq!(store.claim_at(&key(1), A, t), Claim::Done);
}

#[test]
fn the_store_never_holds_more_than_its_capacity_and_forgets_the_oldest_first() {
    let store = MemoryDedup::new(100);
    let t = Instant::now();
    for n in 0..1000 {
        assert_eq!(store.claim_at(&key(n), A, t), Claim::New);
        store.complete_at(&key(n), A, t);
        assert!(store.len() <= 100);
    }
    assert_eq!(store.len(), 100);
    // The newest 100 are remembered, the rest forgotten (so handed over again).
    for n in 900..1000 {
        assert_eq!(store.claim_at(&key(n), A, t), Claim::Done, "{n}");
    }
    assert_eq!(store.claim_at(&key(0), A, t), Claim::New);
    assert_eq!(store.len(), 100);
}

#[test]
fn release_and_reclaim_churn_stays_bounded_and_does_not_evict_live_keys_early() {
    let store = MemoryDedup::new(50);
    let t = Instant::now();
    // A key that is done early must survive any number of releases of other keys.
    assert_eq!(store.claim_at(&key(0), A, t), Claim::New);
    store.complete_at(&key(0), A, t);
    for round in 0..10_000 {
        let k = key(1 + round % 3);
        assert_eq!(store.claim_at(&k, A, t), Claim::New);
        store.release_now(&k, A);
    }
    assert_eq!(store.claim_at(&key(0), A, t), Claim::Done);
    assert!(store.len() <= 50);
}

#[test]
fn keys_expire_after_the_retention_and_leases_run_out() {
    let store = MemoryDedup::new(100)
        .retention(Duration::from_secs(60))
        .lease(Duration::from_secs(5));
    let t0 = Instant::now();
    assert_eq!(store.claim_at(&key(1), A, t0), Claim::New);
    store.complete_at(&key(1), A, t0);
    assert_eq!(
        store.claim_at(&key(1), B, t0 + Duration::from_secs(59)),
        Claim::Done
    );
    assert_eq!(
        store.claim_at(&key(1), B, t0 + Duration::from_secs(61)),
        Claim::New,
        "forgotten after the retention"
    );

    let t1 = t0 + Duration::from_secs(100);
    assert_eq!(store.claim_at(&key(2), A, t1), Claim::New);
    assert_eq!(
        store.claim_at(&key(2), B, t1 + Duration::from_secs(4)),
        Claim::InProgress
    );
    // The claimer seems stuck: after the lease a copy may take over, once.
    assert_eq!(
        store.claim_at(&key(2), B, t1 + Duration::from_secs(6)),
        Claim::New
    );
    assert_eq!(
        store.claim_at(&key(2), B, t1 + Duration::from_secs(7)),
        Claim::InProgress
    );
}

#[test]
fn only_the_owner_completes_or_releases_and_a_late_owner_does_not_undo_a_takeover() {
    let store = MemoryDedup::new(10).lease(Duration::from_secs(5));
    let t = Instant::now();
    assert_eq!(store.claim_at(&key(1), A, t), Claim::New);
    store.release_now(&key(1), B);
    store.complete_at(&key(1), B, t);
    assert_eq!(
        store.claim_at(&key(1), B, t),
        Claim::InProgress,
        "B holds nothing"
    );
    // A's lease runs out, B takes over; A finishing late neither completes nor frees B's claim.
    let later = t + Duration::from_secs(6);
    assert_eq!(store.claim_at(&key(1), B, later), Claim::New);
    store.release_now(&key(1), A);
    store.complete_at(&key(1), A, later);
    assert_eq!(store.claim_at(&key(1), A, later), Claim::InProgress);
    store.complete_at(&key(1), B, later);
    assert_eq!(store.claim_at(&key(1), A, later), Claim::Done);
}

#[tokio::test]
async fn the_memory_store_keeps_the_store_contract() {
    let store = MemoryDedup::new(100).lease(dedup_contract::LEASE);
    dedup_contract::check(&store, "memory").await;
}
