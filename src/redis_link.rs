//! [`Redis`]: the server the instances of a service share (feature `redis`), one connection
//! per handle that opens on first use, reopens by itself, and never keeps a caller waiting
//! longer than its timeout.

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, ScriptInvocation};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// A Redis server shared by the instances of a service: where
/// [`RedisDedup`](crate::webhook::RedisDedup) keeps the callbacks already handed over and
/// [`RateLimit::shared`](crate::RateLimit::shared) keeps one pace for the project.
///
/// Cheap to clone: clones share one multiplexed connection, opened on first use (so a service
/// starts while Redis is down) and reopened after a failure. Every call is bounded by
/// [`Redis::timeout`]; what happens when Redis does not answer is up to each user (the receiver
/// answers 503, the limiter paces on its own).
///
/// ```
/// # fn demo() -> sinch_conversation::Result<()> {
/// use sinch_conversation::Redis;
/// let redis = Redis::open("redis://10.0.0.5:6379/0")?;
/// # Ok(()) }
/// ```
///
/// TLS (`rediss://`) needs a TLS feature of the `redis` crate in your own `Cargo.toml` (for
/// example `redis = { version = "1.8", features = ["tokio-rustls-comp"] }`); Cargo then builds
/// this crate's `redis` with it.
#[derive(Clone)]
pub struct Redis {
    link: Arc<Link>,
    timeout: Duration,
}

struct Link {
    client: redis::Client,
    manager: OnceCell<ConnectionManager>,
    /// Host, port and database, never the credentials.
    address: String,
}

/// The default [`Redis::timeout`].
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

impl Redis {
    /// A server by URL (`redis://[user:password@]host[:port][/db]`). Nothing is sent until
    /// the first call.
    pub fn open(url: &str) -> crate::Result<Self> {
        // The URL may hold a password: the error names neither.
        let client = redis::Client::open(url)
            .map_err(|e| crate::Error::Config(format!("not a valid Redis URL ({:?})", e.kind())))?;
        Ok(Self::from_client(client))
    }

    /// A server from a `redis::Client` you configured yourself (TLS, credentials, RESP3).
    pub fn from_client(client: redis::Client) -> Self {
        let info = client.get_connection_info();
        let address = format!("{}/{}", info.addr(), info.redis_settings().db());
        Redis {
            link: Arc::new(Link {
                client,
                manager: OnceCell::new(),
                address,
            }),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The longest one call to Redis may take, connecting included (default 500 ms).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Where the server is: host, port and database (never the credentials).
    pub fn address(&self) -> &str {
        &self.link.address
    }

    /// Runs a script (EVALSHA, loading it if the server lost it, for instance after a restart)
    /// within the timeout.
    pub(crate) async fn run<T: FromRedisValue>(
        &self,
        call: &ScriptInvocation<'_>,
    ) -> Result<T, String> {
        let attempt = async {
            let mut conn = self.manager().await?.clone();
            call.invoke_async(&mut conn).await
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(format!("redis at {}: {e}", self.link.address)),
            Err(_) => Err(format!(
                "redis at {} did not answer within {:?}",
                self.link.address, self.timeout
            )),
        }
    }

    async fn manager(&self) -> redis::RedisResult<&ConnectionManager> {
        self.link
            .manager
            .get_or_try_init(|| async {
                // Lazy: it connects on the first command, and after a failure reconnects in the
                // background. Few, short reconnection tries: our own timeout bounds each call,
                // and a server that comes back is used again within a second or so.
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(2)
                    .set_min_delay(Duration::from_millis(50))
                    .set_max_delay(Duration::from_secs(1));
                ConnectionManager::new_lazy_with_config(self.link.client.clone(), config)
            })
            .await
    }
}

impl fmt::Debug for Redis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redis")
            .field("address", &self.link.address)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl PartialEq for Redis {
    /// The same handle (or a clone of it).
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.link, &other.link)
    }
}
