//! What every `DedupStore` must do, checked the same way on each store (in memory, Redis): one
//! claim wins, only its owner completes or releases it, leases run out, done keys stay done.

use sinch_conversation::webhook::{self, dedup_key, Claim, DedupKey, DedupStore, Owner};
use std::collections::HashSet;
use std::time::Duration;

pub const A: Owner = Owner::from_u128(0xa);
pub const B: Owner = Owner::from_u128(0xb);
/// The lease the stores under test are built with: short, so the suite runs in real time.
pub const LEASE: Duration = Duration::from_millis(300);

/// A key of its own for each check and store, so checks on a shared server never collide.
pub fn key(tag: &str, n: usize) -> DedupKey {
    let nonce: u64 = rand_suffix();
    let body = format!(
        r#"{{"app_id":"{tag}-{nonce}","message":{{"id":"m{n}","contact_message":{{"text_message":{{"text":"hi"}}}}}}}}"#
    );
    dedup_key(&webhook::parse(body.as_bytes()).unwrap(), body.as_bytes())
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::Instant::now())
}

pub async fn check(store: &dyn DedupStore, tag: &str) {
    let k = key(tag, 1);
    assert_eq!(store.claim(&k, A).await.unwrap(), Claim::New);
    assert_eq!(store.claim(&k, B).await.unwrap(), Claim::InProgress);
    // Another owner can neither finish nor free A's claim.
    store.complete(&k, B).await.unwrap();
    store.release(&k, B).await.unwrap();
    assert_eq!(
        store.claim(&k, B).await.unwrap(),
        Claim::InProgress,
        "{tag}"
    );
    store.complete(&k, A).await.unwrap();
    assert_eq!(store.claim(&k, B).await.unwrap(), Claim::Done, "{tag}");
    store.release(&k, A).await.unwrap();
    assert_eq!(
        store.claim(&k, B).await.unwrap(),
        Claim::Done,
        "{tag}: done stays done"
    );

    // Released by its owner: the next copy is handed over.
    let k = key(tag, 2);
    assert_eq!(store.claim(&k, A).await.unwrap(), Claim::New);
    store.release(&k, A).await.unwrap();
    assert_eq!(store.claim(&k, B).await.unwrap(), Claim::New, "{tag}");
    store.complete(&k, B).await.unwrap();

    // A's lease runs out: B takes over, and A finishing late does not undo B's claim.
    let k = key(tag, 3);
    assert_eq!(store.claim(&k, A).await.unwrap(), Claim::New);
    tokio::time::sleep(LEASE + LEASE / 2).await;
    assert_eq!(store.claim(&k, B).await.unwrap(), Claim::New, "{tag}");
    store.release(&k, A).await.unwrap();
    store.complete(&k, A).await.unwrap();
    assert_eq!(
        store.claim(&k, A).await.unwrap(),
        Claim::InProgress,
        "{tag}"
    );
    store.complete(&k, B).await.unwrap();
    assert_eq!(store.claim(&k, A).await.unwrap(), Claim::Done, "{tag}");

    // A lease that ran out with nobody taking over: the late owner's completion still counts.
    let k = key(tag, 4);
    assert_eq!(store.claim(&k, A).await.unwrap(), Claim::New);
    tokio::time::sleep(LEASE + LEASE / 2).await;
    store.complete(&k, A).await.unwrap();
    assert_eq!(store.claim(&k, B).await.unwrap(), Claim::Done, "{tag}");

    // Many copies claimed at once: exactly one wins.
    let k = key(tag, 5);
    let owners: Vec<Owner> = (1..=64u128).map(Owner::from_u128).collect();
    let claims = futures_util::future::join_all(owners.iter().map(|o| store.claim(&k, *o))).await;
    let winners: HashSet<_> = claims
        .iter()
        .zip(&owners)
        .filter(|(c, _)| *c.as_ref().unwrap() == Claim::New)
        .map(|(_, o)| *o)
        .collect();
    assert_eq!(winners.len(), 1, "{tag}: {claims:?}");
    assert!(claims
        .iter()
        .all(|c| matches!(c, Ok(Claim::New | Claim::InProgress))));
}
