//! Client-side rate limiting that needs no configuration.
//!
//! Off (a few atomic operations per request, to meter what is sent and accepted) until the API
//! first answers 429. Then requests are paced at the rate the API was accepting from this
//! client (its share of the limit), cut by 10% on each further round of 429s, and grown back
//! along TCP CUBIC's curve scaled to the client's rate: back to the rate it was cut from in the
//! same time whatever the client's share, flat there, then probing above it. Clients sharing
//! one limit without talking to each other even out because a larger share meets more 429s
//! and is cut more often (slowly; `limit/shared.rs` shares one pace through Redis instead).
//! What keeps the 429s few: a round ends at a cut (a 429 for a request sent before it does not
//! cut again, one sent after it at the new pace does), and a change of pace reaches the
//! requests already waiting for a slot (they take a new one). A slot is an estimate, never a
//! reason to fail: a request whose slot lies past its call's deadline goes before the deadline
//! and lets the API decide (only a configured ceiling is a hard rule). After a quiet spell
//! without 429s the limiter switches itself off again.

#[cfg(feature = "redis")]
mod shared;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
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
    #[cfg(feature = "redis")]
    shared: Option<shared::Settings>,
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
            decrease: 0.9,
            recovery: Duration::from_millis(300),
            quiet: Duration::from_secs(30),
            #[cfg(feature = "redis")]
            shared: None,
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

    /// How long the rate takes to climb back to where a 429 cut it (default 300 ms). It then
    /// stays near that rate a while and probes upwards until the next 429.
    pub fn recovery(mut self, d: Duration) -> Self {
        self.recovery = d.max(Duration::from_millis(1));
        self
    }

    /// One pace for every instance of the project, kept in `redis` (feature `redis`; see the
    /// README's "Running several instances"). Nothing is shared until an instance meets a 429;
    /// then the engaged instances sync every 25 ms and each paces itself at an equal part of
    /// the shared pace, a round of 429s anywhere cuts it once (from what the API accepted from
    /// all), and it climbs back along the local limiter's curve, three times slower. Redis is
    /// never in a request's path: if it is slow or down, each instance goes on pacing itself
    /// alone.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn shared(mut self, redis: &crate::Redis) -> Self {
        self.shared = Some(shared::Settings {
            redis: redis.clone(),
            prefix: "sinch:pace:".into(),
        });
        self
    }

    /// Where the shared pace's keys live (default `sinch:pace:`; each project and API has its
    /// own keys under it). Only with [`Self::shared`].
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn shared_prefix(mut self, prefix: impl Into<String>) -> Self {
        if let Some(s) = &mut self.shared {
            s.prefix = prefix.into();
        }
        self
    }

    /// The pace `since` a cut from `w_max`: TCP CUBIC's curve, scaled to the rate: back to
    /// `w_max` in `recovery`, flat around it, then probing above it, slowly at first. Every
    /// client climbs back in the same time whatever its share; what evens out shares is that
    /// a client with a larger share meets more 429s, so it is cut more often.
    /// (`limit/shared.rs` computes the same curve in Redis.)
    fn curve(&self, w_max: f64, since: Duration, recovery: Duration) -> f64 {
        let t = since.as_secs_f64() / recovery.as_secs_f64() - 1.0;
        w_max * (1.0 + (1.0 - self.decrease) * t.powi(3))
    }

    fn clamp(&self, rate: f64) -> f64 {
        let rate = rate.max(self.min_rate);
        self.ceiling.map_or(rate, |c| rate.min(c))
    }
}

/// How often the paced path recomputes the rate along the curve.
const TICK: u64 = 10_000_000;
/// The rate meters' slot width (see [`Meter`]).
const WINDOW: u64 = 100_000_000;
/// A rate is never measured over less than this (the first requests of a burst, all
/// accepted in a few milliseconds, would read as a very high rate).
const MIN_SPAN: u64 = 100_000_000;
/// Fewer accepted requests than this say too little about the rate the API accepts.
const MIN_ACCEPTED: u64 = 8;

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
    /// Bumped by every cut: it ends a round.
    epoch: AtomicU64,
    /// Bumped by every cut and every large rise of the rate: requests waiting for a slot
    /// reserved at the old pace take a new one.
    generation: AtomicU64,
    changed: Notify,
    last_tick: AtomicU64,
    /// Whether a [`Self::keep_ticking`] task runs.
    ticking: AtomicBool,
    /// A request had to wait for its slot since the shared pace was last synced.
    waited: AtomicBool,
    #[cfg(feature = "redis")]
    shared: Option<shared::Pace>,
    /// The most requests a bulk send has had in flight while not paced: where the next one
    /// starts (cleared by a cut: after a 429, bulk sends ramp up again).
    bulk_reached: AtomicUsize,
    /// Requests let through.
    sent: Meter,
    /// Requests the API accepted: once it refuses some, the best measure of this client's
    /// share of the limit.
    accepted: Meter,
    curve: Mutex<Curve>,
}

#[derive(Debug)]
struct Curve {
    /// The rate the last cut was from: the recovery curve comes back to it and stays near it
    /// before probing above.
    w_max: f64,
    /// When the last cut happened (ns since origin).
    cut_at: u64,
    /// How long the curve takes to climb back to `w_max` (the shared pace's is slower).
    recovery: Duration,
    /// The rate in force.
    rate: f64,
    /// The interval the waiting requests' slots were reserved at.
    reserved_at: u64,
}

/// The rounds a request was sent in: the local one, and the shared one (0 without a shared
/// pace).
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) struct Ticket(u64, u64);

/// Waiting for a slot would pass the call's deadline.
#[derive(Debug)]
pub(crate) struct PastDeadline;

impl Limiter {
    /// A limiter for one API of one project (`scope`, which names the shared pace).
    #[cfg_attr(not(feature = "redis"), allow(unused_variables))]
    pub fn new(cfg: RateLimit, scope: &str) -> Arc<Self> {
        let origin = Instant::now();
        let rate = cfg.ceiling.unwrap_or(f64::INFINITY);
        Arc::new(Limiter {
            engaged: AtomicBool::new(cfg.enabled && cfg.ceiling.is_some()),
            next: AtomicU64::new(0),
            interval: AtomicU64::new(interval(rate)),
            epoch: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            changed: Notify::new(),
            last_tick: AtomicU64::new(0),
            ticking: AtomicBool::new(false),
            waited: AtomicBool::new(false),
            #[cfg(feature = "redis")]
            shared: cfg.shared.as_ref().map(|s| shared::Pace::new(s, scope)),
            bulk_reached: AtomicUsize::new(0),
            sent: Meter::default(),
            accepted: Meter::default(),
            curve: Mutex::new(Curve {
                w_max: rate,
                cut_at: 0,
                recovery: cfg.recovery,
                rate,
                reserved_at: interval(rate),
            }),
            origin,
            cfg,
        })
    }

    fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// A ticket at once while the limiter is off or not engaged (the common case, kept out of
    /// any future); `None`: wait for a slot with [`Self::acquire`].
    pub fn try_acquire(&self) -> Option<Ticket> {
        if !self.cfg.enabled {
            return Some(Ticket(0, 0));
        }
        if self.engaged.load(Relaxed) {
            return None;
        }
        self.sent.record(self.now());
        Some(self.ticket())
    }

    /// Waits for this request's slot. Free while the limiter is not engaged.
    pub async fn acquire(&self, deadline: Option<Instant>) -> Result<Ticket, PastDeadline> {
        if !self.cfg.enabled {
            return Ok(Ticket(0, 0));
        }
        loop {
            let generation = self.generation.load(Relaxed);
            let now = self.now();

            if !self.engaged.load(Relaxed) {
                self.sent.record(now);
                return Ok(self.ticket());
            }
            self.tick(now);
            let gap = self.interval.load(Relaxed);
            let reserved = self
                .next
                .fetch_update(Relaxed, Relaxed, |n| Some(n.max(now).saturating_add(gap)))
                .unwrap_or_else(|n| n);
            let slot = reserved.max(now);
            if slot > now {
                self.waited.store(true, Relaxed);
                let mut at = self.origin + Duration::from_nanos(slot);
                if let Some(d) = deadline.filter(|d| at >= *d) {
                    if self.cfg.ceiling.is_some_and(|c| gap <= interval(c)) {
                        return Err(PastDeadline); // the configured pace, not an estimate
                    }
                    at = last_moment(d);
                }
                let changed = self.changed.notified();
                let mut changed = std::pin::pin!(changed);
                changed.as_mut().enable();
                if self.generation.load(Relaxed) == generation {
                    let sleep = std::pin::pin!(tokio::time::sleep_until(at));
                    futures_util::future::select(sleep, changed).await;
                }
            }
            // The pace changed while this request waited: its slot was at the old one.
            if self.generation.load(Relaxed) == generation {
                self.sent.record(self.now());
                return Ok(self.ticket());
            }
        }
    }

    /// The rounds a request sent now belongs to.
    fn ticket(&self) -> Ticket {
        #[cfg(feature = "redis")]
        let shared = self.shared.as_ref().map_or(0, shared::Pace::epoch);
        #[cfg(not(feature = "redis"))]
        let shared = 0;
        Ticket(self.epoch.load(Relaxed), shared)
    }

    /// Whether requests are being paced.
    pub fn engaged(&self) -> bool {
        self.engaged.load(Relaxed)
    }

    /// How many requests in flight a bulk send may start with: what an earlier one reached
    /// without a 429 since the last cut (0 if none).
    pub fn bulk_start(&self) -> usize {
        self.bulk_reached.load(Relaxed)
    }

    /// A bulk send had `n` requests in flight, not paced.
    pub fn bulk_reached(&self, n: usize) {
        self.bulk_reached.fetch_max(n, Relaxed);
    }

    /// The API accepted a request.
    pub fn accepted(&self) {
        if self.cfg.enabled {
            self.accepted.record(self.now());
        }
    }

    /// The API answered 429 to the request holding `ticket`.
    pub fn throttled(self: &Arc<Self>, ticket: Ticket) {
        if !self.cfg.enabled {
            return;
        }
        let now = self.now();
        let mut c = self.curve.lock().unwrap_or_else(|p| p.into_inner());
        if ticket.0 != self.epoch.load(Relaxed) {
            return; // sent before the last cut: that cut already answered this overload
        }
        // Paced, the cut is from the pace in force, as CUBIC cuts from its window. Unpaced
        // (the first 429), what the API accepted from this client lately is its share of the
        // limit, and what it was sending an upper bound when too few were accepted to tell;
        // paced, that measure only counts when far below the pace (the client sends less than
        // it may). Cutting from min(measured, pace) instead cut small clients deeper: a rate
        // read from a few events is noisy, and the min keeps only its low readings.
        let accepted = self.accepted.rate(now, MIN_ACCEPTED);
        let sent = self.sent.rate(now, 1).unwrap_or(self.cfg.min_rate);
        let mut current = accepted.unwrap_or(sent * self.cfg.decrease);
        if self.engaged.load(Relaxed) && current > c.rate / 2.0 {
            current = c.rate;
        }
        // CUBIC's fast convergence: a client cut below where its last cut was is losing its
        // share to others, and aims its curve a little lower to make room sooner.
        let losing = self.engaged.load(Relaxed) && current < c.w_max;
        let aim = if losing {
            (1.0 + self.cfg.decrease) / 2.0
        } else {
            1.0
        };
        c.w_max = self.cfg.clamp(current * aim);
        c.rate = self.cfg.clamp(current * self.cfg.decrease);
        c.cut_at = now;
        c.recovery = self.cfg.recovery;
        self.epoch.fetch_add(1, Relaxed);
        self.repace(&mut c, now);
        self.engaged.store(true, Relaxed);
        self.bulk_reached.store(0, Relaxed);
        tracing::debug!(rate = c.rate, "rate limiter cut the pace after a 429");
        drop(c);
        // The shared pace is cut (or started) by the same 429, unless another instance has
        // cut it in this round already; until Redis answers, the local cut holds.
        #[cfg(feature = "redis")]
        shared::Pace::cut(self, ticket.1, current);
        self.keep_ticking();
    }

    /// While engaged, moves the pace along its curve every [`TICK`] whether or not a request
    /// wakes up to do it: at a low pace every waiting request may sleep until a slot far off,
    /// and the curve's climb must still reach them.
    fn keep_ticking(self: &Arc<Self>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return; // each request still ticks when it asks for a slot
        };
        if self.ticking.swap(true, Relaxed) {
            return;
        }
        let limiter = Arc::downgrade(self);
        runtime.spawn(async move {
            let mut every = tokio::time::interval(Duration::from_nanos(TICK));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let Some(l) = limiter.upgrade() else { return };
                let now = l.now();
                l.tick(now);
                #[cfg(feature = "redis")]
                shared::Pace::sync(&l, now);
                if !l.engaged() {
                    l.ticking.store(false, Relaxed);
                    // Engaged again meanwhile: that cut saw this task running.
                    if !l.engaged() || l.ticking.swap(true, Relaxed) {
                        return;
                    }
                }
            }
        });
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
        c.rate = self.cfg.clamp(self.cfg.curve(c.w_max, since, c.recovery));
        let gap = interval(c.rate);
        if drifted(gap, c.reserved_at) {
            self.repace(&mut c, now);
        } else {
            self.interval.store(gap, Relaxed);
        }
    }

    /// Follows the shared pace: this instance's part of it, on the same curve, from the shared
    /// cut. A new shared round is a new local one too (a 429 for a request sent before the
    /// shared cut does not cut again).
    #[cfg(feature = "redis")]
    fn follow(&self, s: &shared::Shared) {
        let now = self.now();
        let mut c = self.curve.lock().unwrap_or_else(|p| p.into_inner());
        c.w_max = self.cfg.clamp(s.w_max * s.share);
        c.cut_at = now.saturating_sub(u64::try_from(s.since_cut.as_nanos()).unwrap_or(u64::MAX));
        c.recovery = shared::recovery(&self.cfg);
        c.rate = self
            .cfg
            .clamp(self.cfg.curve(c.w_max, s.since_cut, c.recovery));
        self.engaged.store(true, Relaxed);
        let gap = interval(c.rate);
        if s.new_round {
            self.epoch.fetch_add(1, Relaxed);
            self.bulk_reached.store(0, Relaxed);
            self.repace(&mut c, now);
        } else if drifted(gap, c.reserved_at) {
            self.repace(&mut c, now); // a new share: waiting requests follow it
        } else {
            self.interval.store(gap, Relaxed);
        }
    }

    /// Puts `c.rate` in force for waiting requests too: they take new slots.
    fn repace(&self, c: &mut Curve, now: u64) {
        let gap = interval(c.rate);
        c.reserved_at = gap;
        self.interval.store(gap, Relaxed);
        self.next.store(now.saturating_add(gap), Relaxed);
        self.generation.fetch_add(1, Relaxed);
        self.changed.notify_waiters();
    }

    /// The pace requests are held to, requests per second; `None` while they are not paced
    /// (nor would the next one be: no 429 for the quiet spell).
    pub fn pace(&self) -> Option<f64> {
        if !self.engaged.load(Relaxed) {
            return None;
        }
        let c = self.curve.lock().unwrap_or_else(|p| p.into_inner());
        let since = Duration::from_nanos(self.now().saturating_sub(c.cut_at));
        let quiet = self.cfg.ceiling.is_none() && since > self.cfg.quiet;
        (!quiet).then_some(c.rate)
    }

    /// The pace in force, requests per second, `None` while not engaged; without the curve's
    /// lock (read after every paced request, for the metrics).
    pub fn paced_rate(&self) -> Option<f64> {
        let gap = self.interval.load(Relaxed);
        (self.engaged.load(Relaxed) && gap > 0).then(|| 1e9 / gap as f64)
    }

    /// The pace in force, requests per second (`None` while not engaged).
    #[cfg(test)]
    fn rate(&self) -> Option<f64> {
        self.engaged
            .load(Relaxed)
            .then(|| self.curve.lock().unwrap().rate)
    }
}

/// When a request whose estimated slot lies past `deadline` goes instead: early enough to leave
/// its attempt a second (or half of what is left) before the deadline.
fn last_moment(deadline: Instant) -> Instant {
    let left = deadline.saturating_duration_since(Instant::now());
    deadline - (left / 2).min(Duration::from_secs(1))
}

/// Whether the pace moved far enough from the one waiting requests reserved their slots at
/// that they should take new ones. A client keeps up to its bulk window of requests waiting
/// (64 by default): at a low pace their slots reach seconds ahead, and a climb that waited for
/// them would reach a small client seconds after a large one, which keeps shares uneven.
fn drifted(gap: u64, reserved_at: u64) -> bool {
    gap.saturating_mul(10) < reserved_at.saturating_mul(9)
        || gap.saturating_mul(10) > reserved_at.saturating_mul(11)
}

fn interval(rate: f64) -> u64 {
    if rate.is_finite() && rate > 0.0 {
        (1e9 / rate) as u64
    } else {
        0
    }
}

/// Events per second, counted in [`WINDOW`]-wide slots over the last [`SLOTS`] of them: the
/// rate is read over as few recent slots as hold enough events, so a client with a small
/// share is measured as precisely as a large one (over a longer span), and an idle spell
/// leaves nothing behind.
#[derive(Debug, Default)]
struct Meter {
    /// Per slot: the window's number (high bits) and its count (low [`COUNT_BITS`] bits).
    slots: [AtomicU64; SLOTS],
}

/// How many windows a rate is read over at most (one second).
const SLOTS: usize = 10;
const COUNT_BITS: u32 = 24;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;

impl Meter {
    fn record(&self, now: u64) {
        let window = now / WINDOW;
        let slot = &self.slots[(window % SLOTS as u64) as usize];
        let mut seen = slot.load(Relaxed);
        loop {
            let next = if seen >> COUNT_BITS == window {
                seen + u64::from(seen & COUNT_MASK < COUNT_MASK)
            } else {
                (window << COUNT_BITS) | 1 // a new window takes the slot over
            };
            match slot.compare_exchange_weak(seen, next, Relaxed, Relaxed) {
                Ok(_) => return,
                Err(v) => seen = v,
            }
        }
    }

    /// The rate over the most recent windows that hold at least `min` events, over a span of
    /// at least [`MIN_SPAN`] (a meter younger than that counts as that old); `None` if the
    /// last second holds fewer.
    fn rate(&self, now: u64, min: u64) -> Option<f64> {
        let window = now / WINDOW;
        let mut count = 0;
        for back in 0..(SLOTS as u64).min(window + 1) {
            let w = window - back;
            let v = self.slots[(w % SLOTS as u64) as usize].load(Relaxed);
            if v >> COUNT_BITS == w {
                count += v & COUNT_MASK;
            }
            let span = now - w * WINDOW;
            if count >= min && (span >= MIN_SPAN || w == 0) {
                return Some(count as f64 / (span.max(MIN_SPAN) as f64 / 1e9));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn free_until_the_first_429_then_paced_at_the_accepted_rate_and_cut_once_per_round() {
        let l = Limiter::new(RateLimit::adaptive(), "p/test");
        let mut tickets = vec![];
        // 200 requests sent in 100 ms, half of them accepted: 1000/s accepted.
        for i in 0..200 {
            tickets.push(l.acquire(None).await.unwrap());
            if i % 2 == 0 {
                l.accepted();
            }
            tokio::time::advance(Duration::from_micros(500)).await;
        }
        assert_eq!(l.rate(), None, "nothing engaged yet");
        l.throttled(tickets[1]);
        let first = l.rate().unwrap();
        assert!((850.0..=950.0).contains(&first), "{first}");
        // The other requests of the same round do not cut again.
        for t in &tickets {
            l.throttled(*t);
        }
        assert_eq!(l.rate().unwrap(), first);
        // A request let through after the cut does, by 10%.
        let later = l.acquire(None).await.unwrap();
        l.throttled(later);
        let second = l.rate().unwrap();
        assert!(second < first * 0.95 && second > first * 0.85, "{second}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_change_of_pace_reaches_requests_already_waiting() {
        let l = Limiter::new(RateLimit::adaptive(), "p/test");
        let t = l.try_acquire().unwrap();
        l.throttled(t); // engaged at a crawl: one request seen in the meter's span
        let slow = l.rate().unwrap();
        assert!(slow < 10.0, "{slow}");
        // 20 senders, 5 requests each: 100 requests, 10 s or more at the first pace. The rate
        // climbs as the curve says, and the waiting requests' slots follow it.
        let start = Instant::now();
        let senders: Vec<_> = (0..20)
            .map(|_| {
                let l = l.clone();
                tokio::spawn(async move {
                    for _ in 0..5 {
                        l.acquire(None).await.unwrap();
                        l.accepted();
                    }
                })
            })
            .collect();
        for s in senders {
            s.await.unwrap();
        }
        let took = start.elapsed();
        assert!(took < Duration::from_secs(3), "{took:?}");
        assert!(l.rate().unwrap() > 10.0 * slow);
        // A cut reaches them too: 20 waiting requests at 50/s take about 400 ms.
        let l = Limiter::new(RateLimit::adaptive().ceiling(1000.0), "p/test");
        let waiting: Vec<_> = (0..20)
            .map(|_| {
                let l = l.clone();
                tokio::spawn(async move { l.acquire(None).await.unwrap() })
            })
            .collect();
        tokio::task::yield_now().await;
        for _ in 0..40 {
            l.accepted();
        }
        tokio::time::advance(Duration::from_millis(1)).await;
        {
            let mut c = l.curve.lock().unwrap();
            c.rate = 50.0;
            c.w_max = 50.0;
            l.repace(&mut c, l.now());
        }
        let start = Instant::now();
        for w in waiting {
            w.await.unwrap();
        }
        assert!(
            start.elapsed() >= Duration::from_millis(300),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn pacing_spaces_requests_and_recovery_climbs_back() {
        let l = Limiter::new(RateLimit::adaptive().min_rate(100.0), "p/test");
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
    async fn a_cut_makes_bulk_sends_ramp_up_again() {
        let l = Limiter::new(RateLimit::adaptive(), "p/test");
        l.bulk_reached(64);
        l.bulk_reached(16);
        assert_eq!(l.bulk_start(), 64);
        let t = l.acquire(None).await.unwrap();
        l.throttled(t);
        assert_eq!(l.bulk_start(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn the_ceiling_paces_from_the_start_and_deadlines_are_kept() {
        let l = Limiter::new(RateLimit::adaptive().ceiling(10.0), "p/test");
        assert_eq!(l.rate(), Some(10.0));
        l.acquire(None).await.unwrap();
        let soon = Instant::now() + Duration::from_millis(50);
        assert!(
            l.acquire(Some(soon)).await.is_err(),
            "the next slot is 100 ms away"
        );
        let off = Limiter::new(RateLimit::off(), "p/test");
        off.throttled(off.acquire(None).await.unwrap());
        assert_eq!(off.rate(), None);
    }
}
