//! Client-side rate limiting that needs no configuration.
//!
//! Off (one atomic load per request) until the API first answers 429. Then requests are paced
//! at a rate that starts near what the client was sending, is cut multiplicatively on further
//! 429s (once per round: a 429 for a request paced before the last cut does not cut again),
//! and grows back along a cubic curve, as TCP CUBIC and the AWS SDKs' adaptive retry mode do.
//! Clients sharing one quota without talking to each other converge on it like TCP flows on a
//! link. After a quiet spell without 429s the limiter switches itself off again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Rate limiting settings (see the README's "Sending at the API's limits").
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimit {
    enabled: bool,
    ceiling: Option<f64>,
    min_rate: f64,
    decrease: f64,
    recovery: Duration,
    quiet: Duration,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self::adaptive()
    }
}

impl RateLimit {
    /// The default: engaged by the first 429, adapting to what the API accepts.
    pub fn adaptive() -> Self {
        RateLimit {
            enabled: true,
            ceiling: None,
            min_rate: 1.0,
            decrease: 0.7,
            recovery: Duration::from_millis(500),
            quiet: Duration::from_secs(30),
        }
    }

    /// No client-side limiting: requests go out as fast as they are made, and 429s are only
    /// waited out (see [`crate::RetryConfig`]).
    pub fn off() -> Self {
        RateLimit {
            enabled: false,
            ..Self::adaptive()
        }
    }

    /// Never send faster than `per_second` requests per second (for example the documented
    /// 800/s per project), from the first request on; 429s still lower the pace below it.
    pub fn ceiling(mut self, per_second: f64) -> Self {
        self.ceiling = Some(per_second.max(f64::MIN_POSITIVE));
        self
    }

    /// The slowest pace a series of 429s can push the limiter to (default 1 request/s).
    pub fn min_rate(mut self, per_second: f64) -> Self {
        self.min_rate = per_second.max(f64::MIN_POSITIVE);
        self
    }

    /// How long the rate takes to climb back to where it was cut (default 500 ms); it then
    /// keeps probing upwards until the next 429.
    pub fn recovery(mut self, d: Duration) -> Self {
        self.recovery = d.max(Duration::from_millis(1));
        self
    }

    fn clamp(&self, rate: f64) -> f64 {
        let rate = rate.max(self.min_rate);
        self.ceiling.map_or(rate, |c| rate.min(c))
    }
}

/// How often the paced path recomputes the rate along the curve.
const TICK: u64 = 10_000_000;
/// The send-rate meter's window.
const WINDOW: u64 = 250_000_000;

/// One per service and client, shared by the client's clones.
#[derive(Debug)]
pub(crate) struct Limiter {
    cfg: RateLimit,
    origin: Instant,
    engaged: AtomicBool,
    /// When the next request may go, in nanoseconds since `origin`.
    next: AtomicU64,
    /// Nanoseconds between requests at the current rate.
    interval: AtomicU64,
    last_tick: AtomicU64,
    meter: Meter,
    curve: Mutex<Curve>,
}

#[derive(Debug)]
struct Curve {
    /// The rate at the last cut.
    w_max: f64,
    /// When the last cut happened (ns since origin).
    cut_at: u64,
    /// The rate in force.
    rate: f64,
}

/// A request's place in the pacing order: when it was let through.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ticket(u64);

/// Waiting for a slot would pass the call's deadline.
#[derive(Debug)]
pub(crate) struct PastDeadline;

impl Limiter {
    pub fn new(cfg: RateLimit) -> Self {
        let origin = Instant::now();
        let rate = cfg.ceiling.unwrap_or(f64::INFINITY);
        Limiter {
            engaged: AtomicBool::new(cfg.enabled && cfg.ceiling.is_some()),
            next: AtomicU64::new(0),
            interval: AtomicU64::new(interval(rate)),
            last_tick: AtomicU64::new(0),
            meter: Meter::default(),
            curve: Mutex::new(Curve {
                w_max: rate,
                cut_at: 0,
                rate,
            }),
            origin,
            cfg,
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// A ticket at once while the limiter is off or not engaged (the common case, kept out of
    /// any future); `None`: wait for a slot with [`Self::acquire`].
    pub fn try_acquire(&self) -> Option<Ticket> {
        if !self.cfg.enabled {
            return Some(Ticket(0));
        }
        if self.engaged.load(Relaxed) {
            return None;
        }
        let now = self.now();
        self.meter.record(now);
        Some(Ticket(now))
    }

    /// Waits for this request's slot. Free while the limiter is not engaged.
    pub async fn acquire(&self, deadline: Option<Instant>) -> Result<Ticket, PastDeadline> {
        if !self.cfg.enabled {
            return Ok(Ticket(0));
        }
        let now = self.now();
        self.meter.record(now);
        if !self.engaged.load(Relaxed) {
            return Ok(Ticket(now));
        }
        self.tick(now);
        let gap = self.interval.load(Relaxed);
        let reserved = self
            .next
            .fetch_update(Relaxed, Relaxed, |n| Some(n.max(now).saturating_add(gap)))
            .unwrap_or_else(|n| n);
        let slot = reserved.max(now);
        if slot > now {
            let at = self.origin + Duration::from_nanos(slot);
            if deadline.is_some_and(|d| at >= d) {
                return Err(PastDeadline);
            }
            tokio::time::sleep_until(at).await;
        }
        Ok(Ticket(now))
    }

    /// The API answered 429 to the request holding `ticket`.
    pub fn throttled(&self, ticket: Ticket) {
        if !self.cfg.enabled {
            return;
        }
        let now = self.now();
        let mut c = self.curve.lock().unwrap_or_else(|p| p.into_inner());
        let engaged = self.engaged.load(Relaxed);
        if engaged && ticket.0 < c.cut_at {
            return; // paced before the last cut: that cut already answered this overload
        }
        let sending = self.meter.rate(now);
        let current = if engaged {
            c.rate.min(sending)
        } else {
            sending
        };
        c.w_max = self.cfg.clamp(current);
        c.rate = self.cfg.clamp(c.w_max * self.cfg.decrease);
        c.cut_at = now;
        self.interval.store(interval(c.rate), Relaxed);
        self.engaged.store(true, Relaxed);
        tracing::debug!(rate = c.rate, "rate limiter cut the pace after a 429");
    }

    /// Moves the rate along the recovery curve, at most every [`TICK`], by whoever gets there
    /// first; never blocks.
    fn tick(&self, now: u64) {
        let last = self.last_tick.load(Relaxed);
        if now.saturating_sub(last) < TICK
            || self
                .last_tick
                .compare_exchange(last, now, Relaxed, Relaxed)
                .is_err()
        {
            return;
        }
        let Ok(mut c) = self.curve.try_lock() else {
            return;
        };
        let since = Duration::from_nanos(now.saturating_sub(c.cut_at));
        if self.cfg.ceiling.is_none() && since > self.cfg.quiet {
            self.engaged.store(false, Relaxed); // no 429 for a long while: back to free
            return;
        }
        let k = self.cfg.recovery.as_secs_f64();
        let x = (since.as_secs_f64() - k) / k;
        let grown = c.w_max + c.w_max * (1.0 - self.cfg.decrease) * x.powi(3);
        c.rate = self.cfg.clamp(grown);
        self.interval.store(interval(c.rate), Relaxed);
    }

    /// The pace in force, requests per second (`None` while not engaged).
    #[cfg(test)]
    fn rate(&self) -> Option<f64> {
        self.engaged
            .load(Relaxed)
            .then(|| self.curve.lock().unwrap().rate)
    }
}

fn interval(rate: f64) -> u64 {
    if rate.is_finite() && rate > 0.0 {
        (1e9 / rate) as u64
    } else {
        0
    }
}

/// Requests sent per second, over the last window (or the current one, once it has run long
/// enough to say more).
#[derive(Debug, Default)]
struct Meter {
    start: AtomicU64,
    count: AtomicU64,
    last: AtomicU64,
}

impl Meter {
    fn record(&self, now: u64) {
        self.count.fetch_add(1, Relaxed);
        let start = self.start.load(Relaxed);
        let span = now.saturating_sub(start);
        if span >= WINDOW
            && self
                .start
                .compare_exchange(start, now, Relaxed, Relaxed)
                .is_ok()
        {
            let n = self.count.swap(0, Relaxed);
            let rate = n as f64 / (span as f64 / 1e9);
            self.last.store(rate.to_bits(), Relaxed);
        }
    }

    fn rate(&self, now: u64) -> f64 {
        let span = now.saturating_sub(self.start.load(Relaxed)).max(TICK);
        let current = self.count.load(Relaxed) as f64 / (span as f64 / 1e9);
        f64::from_bits(self.last.load(Relaxed)).max(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn free_until_the_first_429_then_paced_and_cut_once_per_round() {
        let l = Limiter::new(RateLimit::adaptive());
        let mut tickets = vec![];
        for _ in 0..100 {
            tickets.push(l.acquire(None).await.unwrap());
        }
        assert_eq!(l.rate(), None, "nothing engaged yet");
        tokio::time::advance(Duration::from_millis(100)).await;
        l.throttled(tickets[0]);
        let first = l.rate().unwrap();
        // 100 requests in about 100 ms: about 1000/s, cut by 30%.
        assert!((600.0..=800.0).contains(&first), "{first}");
        // The other requests of the same round do not cut again.
        for t in &tickets[1..] {
            l.throttled(*t);
        }
        assert_eq!(l.rate().unwrap(), first);
        // A request paced after the cut does.
        let later = l.acquire(None).await.unwrap();
        l.throttled(later);
        assert!(l.rate().unwrap() < first * 0.75);
    }

    #[tokio::test(start_paused = true)]
    async fn pacing_spaces_requests_and_recovery_climbs_back() {
        let l = Limiter::new(RateLimit::adaptive().min_rate(100.0));
        let t = l.acquire(None).await.unwrap();
        l.throttled(t); // engaged at the floor
        let start = Instant::now();
        for _ in 0..10 {
            l.acquire(None).await.unwrap();
        }
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(85), "100/s: {took:?}");
        // Past the recovery time the curve has passed the rate it was cut from.
        tokio::time::advance(Duration::from_secs(2)).await;
        l.acquire(None).await.unwrap();
        assert!(l.rate().unwrap() > 100.0);
    }

    #[tokio::test(start_paused = true)]
    async fn the_ceiling_paces_from_the_start_and_deadlines_are_kept() {
        let l = Limiter::new(RateLimit::adaptive().ceiling(10.0));
        assert_eq!(l.rate(), Some(10.0));
        l.acquire(None).await.unwrap();
        let soon = Instant::now() + Duration::from_millis(50);
        assert!(
            l.acquire(Some(soon)).await.is_err(),
            "the next slot is 100 ms away"
        );
        let off = Limiter::new(RateLimit::off());
        off.throttled(off.acquire(None).await.unwrap());
        assert_eq!(off.rate(), None);
    }
}
