//! [`RedisDedup`]: the keys of callbacks already handed over, shared by every instance of a
//! service through Redis (feature `redis`).

use super::dedup::{Claim, DedupKey, DedupStore, Owner, StoreError};
use crate::Redis;
use futures_core::future::BoxFuture;
use redis::Script;
use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

/// A [`DedupStore`] in Redis, for a service on several instances behind a load balancer: a
/// copy the API redelivers to another instance is recognised there.
///
/// One key per callback under [`RedisDedup::prefix`]: while a copy is being handed over it
/// holds that copy's [`Owner`] and expires with the lease (an instance that dies while
/// handling does not block the callback for longer); once handed over it holds "done" and
/// expires after the retention. Each call is one atomic round trip (a script), so two
/// instances never both win a claim, and only the owner completes or releases it.
///
/// When Redis cannot be reached in time, the call fails with [`StoreError`]: the receiver then
/// answers 503 and the API delivers the callback again later. A callback is never handed over
/// without a claim. What a restart of Redis keeps depends on its persistence: see the README's
/// "Running several instances".
///
/// ```no_run
/// # fn demo() -> sinch_conversation::Result<()> {
/// use sinch_conversation::webhook::{Intake, RedisDedup, Verifier};
/// use sinch_conversation::Redis;
/// let redis = Redis::open("redis://10.0.0.5:6379")?;
/// let intake = Intake::new(Verifier::new("secret")).dedup(RedisDedup::new(&redis));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisDedup {
    redis: Redis,
    prefix: String,
    lease: Duration,
    retention: Duration,
}

impl RedisDedup {
    /// Keys under `sinch:callbacks:`, leases of 5 minutes, kept 24 hours once done.
    pub fn new(redis: &Redis) -> Self {
        RedisDedup {
            redis: redis.clone(),
            prefix: "sinch:callbacks:".into(),
            lease: Duration::from_secs(300),
            retention: Duration::from_secs(24 * 3600),
        }
    }

    /// Where the keys live (default `sinch:callbacks:`): one prefix per service that receives
    /// callbacks, so two services on one server keep apart.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long an in-progress claim holds before another copy may take it (default 5
    /// minutes; keep it longer than your handler's worst case).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How long a done key is remembered (default 24 hours, about the API's redelivery
    /// horizon). Redis holds one key per callback for this long.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    fn key(&self, key: &DedupKey) -> String {
        format!("{}{}", self.prefix, key.as_str())
    }

    async fn run(
        &self,
        script: &Script,
        key: &DedupKey,
        owner: Owner,
        ms: Duration,
    ) -> Result<i64, StoreError> {
        let mut call = script.key(self.key(key));
        call.arg(owner.to_string()).arg(millis(ms));
        self.redis.run(&call).await.map_err(StoreError)
    }
}

/// Values: `d` once done, `p` and the owner's token while in progress.
static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local v = redis.call('GET', KEYS[1])
        if not v then
          redis.call('SET', KEYS[1], 'p' .. ARGV[1], 'PX', ARGV[2])
          return 0
        end
        if v == 'd' then return 1 end
        return 2
        ",
    )
});

/// Done, unless another owner holds the key now (it took over after this one's lease).
static COMPLETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local v = redis.call('GET', KEYS[1])
        if v == 'd' then return 0 end
        if v and v ~= 'p' .. ARGV[1] then return 2 end
        redis.call('SET', KEYS[1], 'd', 'PX', ARGV[2])
        return 1
        ",
    )
});

static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('GET', KEYS[1]) == 'p' .. ARGV[1] then
          return redis.call('DEL', KEYS[1])
        end
        return 0
        ",
    )
});

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl DedupStore for RedisDedup {
    fn claim<'a>(
        &'a self,
        key: &'a DedupKey,
        owner: Owner,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        Box::pin(async move {
            Ok(match self.run(&CLAIM, key, owner, self.lease).await? {
                0 => Claim::New,
                1 => Claim::Done,
                _ => Claim::InProgress,
            })
        })
    }

    fn complete<'a>(
        &'a self,
        key: &'a DedupKey,
        owner: Owner,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.run(&COMPLETE, key, owner, self.retention)
                .await
                .map(drop)
        })
    }

    fn release<'a>(
        &'a self,
        key: &'a DedupKey,
        owner: Owner,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.run(&RELEASE, key, owner, Duration::ZERO)
                .await
                .map(drop)
        })
    }
}

impl fmt::Debug for RedisDedup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisDedup")
            .field("redis", &self.redis)
            .field("prefix", &self.prefix)
            .field("lease", &self.lease)
            .field("retention", &self.retention)
            .finish()
    }
}
