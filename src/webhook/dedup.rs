//! Recognising a redelivered callback: a key that is the same on every try, and where keys live.
//!
//! The API delivers callbacks at least once: a callback whose receiver failed, was slow or
//! whose answer got lost is sent again, with a new nonce and timestamp (so a new signature) but
//! the same body. [`dedup_key`] names what a callback is about, so every copy gets the same key
//! and different callbacks get different keys; a [`DedupStore`] remembers keys long enough to
//! recognise the copies. Each claim on a key carries an [`Owner`], so only the copy that took a
//! key can complete or release it: a copy that took over after a lease ran out is never undone
//! by the first one finishing late.

use super::Event;
use futures_core::future::BoxFuture;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What identifies a callback across its redeliveries. See [`dedup_key`] for how it is formed.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DedupKey(String);

impl DedupKey {
    /// The key as text, for example `01HZX.../MESSAGE_INBOUND/01HZY...` (store it as is in a
    /// shared store).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DedupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for DedupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The key that every delivery of this callback shares: `{app_id}/{TRIGGER}/{what}`.
///
/// `{what}` is what the callback is about, by kind, from fields the API sets once per fact:
///
/// | Kind | `{what}` |
/// | --- | --- |
/// | `MESSAGE_INBOUND`, `..._SMART_CONVERSATION_REDACTION` | the inbound message's `id` |
/// | `MESSAGE_DELIVERY` | `message_id`, `status` and channel (a message may fail over to another channel, with a report per channel) |
/// | `EVENT_DELIVERY` | `event_id`, `status` and channel |
/// | `MESSAGE_SUBMIT` | `message_id` and channel |
/// | `EVENT_INBOUND` | the event's `id` |
/// | `CAPABILITY`, `OPT_IN`, `OPT_OUT` | `request_id` (documented as the way to detect duplicates) |
/// | `CONVERSATION_START`, `_STOP`, `_DELETE` | the conversation's `id` |
/// | `CONTACT_CREATE`, `CONTACT_DELETE` | the contact's `id` |
/// | `CONTACT_MERGE` | the preserved and the deleted contact's `id`s |
/// | `SMART_CONVERSATION` | `message_id` |
/// | `BATCH_STATUS_UPDATE` | `batch_id` and `batch_status` |
/// | anything else, or when those fields are absent | `sha256:` and the body's SHA-256 (first 128 bits) |
///
/// The body digest covers kinds that can repeat for the same object with different content
/// (`CONTACT_UPDATE`, `CHANNEL_EVENT`, `RECORD_NOTIFICATION`, `UNSUPPORTED`, kinds this
/// version does not know); it relies on redeliveries carrying the same bytes, which is how the
/// API signs and resends them (only the signature headers change). The nonce and timestamp are
/// never part of a key: they differ on every try.
pub fn dedup_key(event: &Event, body: &[u8]) -> DedupKey {
    let env = event.envelope();
    let trigger = event.trigger().unwrap_or("UNKNOWN");
    let channel = |c: &Option<crate::types::ChannelIdentity>| {
        c.as_ref().map_or("", |c| c.channel.as_str()).to_owned()
    };
    let what: Option<String> = match event {
        Event::MessageInbound(e) => e.message.id.clone(),
        Event::MessageInboundSmartConversationRedaction(e) => e.message_redaction.id.clone(),
        Event::MessageDeliveryReport(e) => {
            let r = &e.message_delivery_report;
            Some(format!(
                "{}/{}/{}",
                r.message_id,
                r.status,
                channel(&r.channel_identity)
            ))
        }
        Event::EventDeliveryReport(e) => {
            let r = &e.event_delivery_report;
            Some(format!(
                "{}/{}/{}",
                r.event_id,
                r.status,
                channel(&r.channel_identity)
            ))
        }
        Event::MessageSubmit(e) => {
            let n = &e.message_submit_notification;
            let id = n.message_id.as_ref();
            id.map(|id| format!("{id}/{}", channel(&n.channel_identity)))
        }
        Event::EventInbound(e) => e.event.id.clone(),
        Event::Capability(e) => e.capability_notification.request_id.clone(),
        Event::OptIn(e) => e.opt_in_notification.request_id.clone(),
        Event::OptOut(e) => e.opt_out_notification.request_id.clone(),
        Event::ConversationStart(e) => conversation_id(&e.conversation_start_notification),
        Event::ConversationStop(e) => conversation_id(&e.conversation_stop_notification),
        Event::ConversationDelete(e) => conversation_id(&e.conversation_delete_notification),
        Event::ContactCreate(e) => contact_id(&e.contact_create_notification),
        Event::ContactDelete(e) => contact_id(&e.contact_delete_notification),
        Event::ContactMerge(e) => {
            let n = &e.contact_merge_notification;
            let id = |c: &Option<crate::types::Contact>| c.as_ref().and_then(|c| c.id.clone());
            id(&n.preserved_contact)
                .zip(id(&n.deleted_contact))
                .map(|(kept, gone)| format!("{kept}/{gone}"))
        }
        Event::SmartConversations(e) => e.smart_conversation_notification.message_id.clone(),
        Event::BatchStatusUpdate(e) => {
            let n = &e.batch_status_update_notification;
            let status = n.batch_status.as_ref().map_or("", |s| s.as_str());
            Some(format!("{}/{status}", n.batch_id))
        }
        _ => None,
    };
    let what = what
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| body_digest(body));
    DedupKey(format!("{}/{trigger}/{what}", env.app_id.unwrap_or("")))
}

fn conversation_id(n: &crate::types::ConversationNotification) -> Option<String> {
    n.conversation.as_ref()?.id.clone()
}

fn contact_id(n: &crate::types::ContactNotification) -> Option<String> {
    n.contact.as_ref()?.id.clone()
}

fn body_digest(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let mut out = String::with_capacity(7 + 32);
    out.push_str("sha256:");
    for b in &digest[..16] {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Who holds a claim: a random token made for each copy of a callback that is admitted. Only
/// its holder may [complete](DedupStore::complete) or [release](DedupStore::release) the key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Owner(u128);

impl Owner {
    /// A new token, unique in practice (128 random bits).
    pub fn random() -> Self {
        Owner(rand::random())
    }

    /// A token read back from where it was stored (see [`Owner::as_u128`]).
    pub const fn from_u128(token: u128) -> Self {
        Owner(token)
    }

    /// The token as a number (to store it).
    pub const fn as_u128(self) -> u128 {
        self.0
    }
}

impl fmt::Debug for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Owner({self})")
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// What a [`DedupStore`] knew about a key when it was claimed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claim {
    /// Not seen (or forgotten), or claimed by a copy whose lease ran out: the caller's
    /// [`Owner`] now holds the key and must [`complete`](DedupStore::complete) or
    /// [`release`](DedupStore::release) it.
    New,
    /// Handed over before: a redelivered copy. Acknowledge it; do not hand it over again.
    Done,
    /// Another copy is being handed over right now (and may still fail). Ask for it later.
    InProgress,
}

/// A store that could not be reached or answered; the callback should be redelivered later.
#[derive(Debug, thiserror::Error)]
#[error("dedup store unavailable: {0}")]
pub struct StoreError(pub String);

/// Where keys of callbacks already handed over are kept.
///
/// The default, [`MemoryDedup`], serves one process. A service on several instances behind a
/// load balancer gets each redelivery on any instance, so it needs a shared store:
/// [`RedisDedup`](super::RedisDedup) (feature `redis`), or these three calls on a database
/// table with a unique key, and so on. Each call must be atomic: one caller gets
/// [`Claim::New`] for a key; `complete` and `release` act only for the owner holding the
/// claim. An in-progress claim must expire (a lease), or a crash while handling would make
/// every redelivery wait forever; a done key must expire too (a retention), so the store
/// stays bounded.
pub trait DedupStore: Send + Sync + 'static {
    /// Takes `key` for `owner` if it is free: not seen, forgotten, or an in-progress claim
    /// whose lease ran out.
    fn claim<'a>(
        &'a self,
        key: &'a DedupKey,
        owner: Owner,
    ) -> BoxFuture<'a, Result<Claim, StoreError>>;
    /// The callback was handed over: remember `key` as done, so copies are acknowledged. Does
    /// nothing when another owner holds the key now (it took over after `owner`'s lease ran
    /// out and will complete it); a key nobody holds any more is marked done.
    fn complete<'a>(
        &'a self,
        key: &'a DedupKey,
        owner: Owner,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Handing over failed: forget `owner`'s claim, so the next copy is handed over. Does
    /// nothing when `owner` does not hold the key.
    fn release<'a>(
        &'a self,
        key: &'a DedupKey,
        owner: Owner,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// The default [`DedupStore`]: keys of one process, in memory, bounded.
///
/// Keeps at most `capacity` keys (each as a 128-bit keyed hash, about 100 bytes with its
/// bookkeeping) for at most `retention`; when full, the oldest key is forgotten first. A copy
/// that arrives after its key was forgotten is handed over again, so size it as callbacks per
/// second times the longest redelivery delay you want covered. An in-progress claim older than
/// `lease` can be taken over (its handler is presumed stuck).
pub struct MemoryDedup {
    state: Mutex<State>,
    /// Two independently keyed SipHash hashers: 128 bits per key, random per process.
    hashers: (RandomState, RandomState),
    capacity: usize,
    retention: Duration,
    lease: Duration,
}

#[derive(Clone, Copy)]
struct Mark {
    done: bool,
    /// Who holds an in-progress claim.
    owner: Owner,
    /// When the claim was taken (for the lease).
    since: Instant,
    /// Which entry of `State::order` is this key's.
    seq: u64,
}

#[derive(Default)]
struct State {
    marks: HashMap<u128, Mark>,
    /// Keys in the order they were first claimed: (digest, seq, when), for eviction. A released
    /// key leaves its entry behind; `seq` tells that stale entry from a newer one.
    order: VecDeque<(u128, u64, Instant)>,
    next_seq: u64,
}

impl Default for MemoryDedup {
    /// 100,000 keys, kept up to 24 hours, leases of 5 minutes.
    fn default() -> Self {
        MemoryDedup::new(100_000)
    }
}

impl fmt::Debug for MemoryDedup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryDedup")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .field("retention", &self.retention)
            .field("lease", &self.lease)
            .finish()
    }
}

impl MemoryDedup {
    /// A store for at most `capacity` keys (at least 1), kept up to 24 hours.
    pub fn new(capacity: usize) -> Self {
        MemoryDedup {
            state: Mutex::new(State::default()),
            hashers: (RandomState::new(), RandomState::new()),
            capacity: capacity.max(1),
            retention: Duration::from_secs(24 * 3600),
            lease: Duration::from_secs(300),
        }
    }

    /// How long a key is remembered (default 24 hours, about the API's redelivery horizon).
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// How long an in-progress claim holds before another copy may take it (default 5
    /// minutes; keep it longer than your handler's worst case).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Keys currently remembered.
    pub fn len(&self) -> usize {
        self.lock().marks.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most keys this store keeps.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn digest(&self, key: &DedupKey) -> u128 {
        let (a, b) = &self.hashers;
        (u128::from(a.hash_one(&key.0)) << 64) | u128::from(b.hash_one(&key.0))
    }

    /// [`DedupStore::claim`] as if the time were `now` (for tests of expiry).
    pub fn claim_at(&self, key: &DedupKey, owner: Owner, now: Instant) -> Claim {
        let id = self.digest(key);
        let mut st = self.lock();
        st.expire(now, self.retention);
        match st.marks.get_mut(&id) {
            Some(m) if m.done => Claim::Done,
            Some(m) if now.saturating_duration_since(m.since) < self.lease => Claim::InProgress,
            Some(m) => {
                // The lease ran out: taken over.
                m.since = now;
                m.owner = owner;
                Claim::New
            }
            None => {
                st.insert(id, false, owner, now, self.capacity);
                Claim::New
            }
        }
    }

    /// [`DedupStore::complete`] as if the time were `now`.
    pub fn complete_at(&self, key: &DedupKey, owner: Owner, now: Instant) {
        let id = self.digest(key);
        let mut st = self.lock();
        match st.marks.get_mut(&id) {
            Some(m) if m.done || m.owner != owner => {} // done, or taken over: theirs to finish
            Some(m) => m.done = true,
            // Evicted while in progress (a store far too small): remember it again.
            None => st.insert(id, true, owner, now, self.capacity),
        }
    }

    /// [`DedupStore::release`].
    pub fn release_now(&self, key: &DedupKey, owner: Owner) {
        let id = self.digest(key);
        let mut st = self.lock();
        if st
            .marks
            .get(&id)
            .is_some_and(|m| !m.done && m.owner == owner)
        {
            st.marks.remove(&id);
        }
    }
}

impl State {
    /// Remembers `id`: done, or claimed by `owner`.
    fn insert(&mut self, id: u128, done: bool, owner: Owner, now: Instant, capacity: usize) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.marks.insert(
            id,
            Mark {
                done,
                owner,
                since: now,
                seq,
            },
        );
        self.order.push_back((id, seq, now));
        while self.marks.len() > capacity {
            self.pop_oldest();
        }
        // Entries of released keys pile up only as fast as releases; drop them now and then.
        if self.order.len() > 2 * self.marks.len() + 64 {
            let marks = &self.marks;
            self.order
                .retain(|(id, seq, _)| marks.get(id).is_some_and(|m| m.seq == *seq));
        }
    }

    /// Forgets keys first claimed `retention` or longer ago.
    fn expire(&mut self, now: Instant, retention: Duration) {
        while let Some(&(_, _, at)) = self.order.front() {
            if now.saturating_duration_since(at) < retention {
                break;
            }
            self.pop_oldest();
        }
    }

    fn pop_oldest(&mut self) {
        if let Some((id, seq, _)) = self.order.pop_front() {
            if self.marks.get(&id).is_some_and(|m| m.seq == seq) {
                self.marks.remove(&id);
            }
        }
    }
}

impl DedupStore for MemoryDedup {
    fn claim<'a>(
        &'a self,
        key: &'a DedupKey,
        owner: Owner,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        let claim = self.claim_at(key, owner, Instant::now());
        Box::pin(std::future::ready(Ok(claim)))
    }

    fn complete<'a>(
        &'a self,
        key: &'a DedupKey,
        owner: Owner,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.complete_at(key, owner, Instant::now());
        Box::pin(std::future::ready(Ok(())))
    }

    fn release<'a>(
        &'a self,
        key: &'a DedupKey,
        owner: Owner,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.release_now(key, owner);
        Box::pin(std::future::ready(Ok(())))
    }
}
