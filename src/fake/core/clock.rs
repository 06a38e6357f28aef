//! The fake's clock: real time plus what a test advanced, or, when manual, only what it advanced.
//!
//! Everything the fake schedules (queue drains, delivery reports, callback retries, scheduled
//! batches, token expiry) reads this clock, so a test can jump ahead instead of sleeping, and a
//! manual clock makes every outcome depend on the test's steps alone.

use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

pub(crate) struct Clock {
    manual: bool,
    start: Instant,
    start_wall: DateTime<Utc>,
    /// Nanoseconds added by [`Clock::advance`].
    offset: AtomicU64,
    advanced: Notify,
}

impl Clock {
    pub fn new(manual: bool) -> Self {
        Clock {
            manual,
            start: Instant::now(),
            start_wall: Utc::now(),
            offset: AtomicU64::new(0),
            advanced: Notify::new(),
        }
    }

    pub fn is_manual(&self) -> bool {
        self.manual
    }

    /// Time since the fake started, as the fake sees it.
    pub fn elapsed(&self) -> Duration {
        let offset = Duration::from_nanos(self.offset.load(Ordering::Acquire));
        if self.manual {
            offset
        } else {
            self.start.elapsed() + offset
        }
    }

    /// The wall-clock time of a moment given as time since start.
    pub fn wall(&self, at: Duration) -> DateTime<Utc> {
        self.start_wall + chrono::Duration::from_std(at).unwrap_or(chrono::Duration::MAX)
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.wall(self.elapsed())
    }

    /// Moves time forward by `by`; whatever waits on the clock re-checks.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.offset.fetch_add(nanos, Ordering::AcqRel);
        self.advanced.notify_waiters();
    }

    /// Waits until [`Self::elapsed`] reaches `at`.
    pub async fn sleep_until(&self, at: Duration) {
        loop {
            let advanced = self.advanced.notified();
            tokio::pin!(advanced);
            advanced.as_mut().enable();
            let now = self.elapsed();
            if now >= at {
                return;
            }
            if self.manual {
                advanced.await;
            } else {
                tokio::select! {
                    _ = tokio::time::sleep(at - now) => {}
                    _ = advanced => {}
                }
            }
        }
    }
}
