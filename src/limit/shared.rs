//! One pace for every instance of a project, kept in Redis ([`crate::RateLimit::shared`]).
//!
//! Nothing is shared, and nothing extra happens per request, until an instance meets a 429.
//! That instance starts the shared pace from what it was being accepted; the others that meet
//! their first 429s within [`CALIBRATION`] add theirs, so the pace starts near what the API
//! accepted from all of them together. From then on the instances that are engaged sync every
//! [`SYNC_EVERY`]: each says how much it sends and whether requests wait for slots, and gets
//! back the pace and how many others want more; it paces itself at an equal part of what the
//! instances that send less leave over. A round of 429s anywhere cuts the shared pace once
//! (the round is the pace's epoch, as in the local limiter), from what the API accepted from
//! all of them, and the pace climbs back along the local limiter's curve, [`SLOWER`] times
//! slower, on Redis' clock.
//!
//! Every call to Redis runs in a task of its own, never in a request's path: a request waits
//! only for its local slot. When Redis is slow or unreachable the syncs stop arriving and the
//! local limiter goes on alone from where the last one left it (it cuts on its own 429s in
//! any case).

use super::{Limiter, RateLimit};
use crate::Redis;
use redis::Script;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

/// How often an engaged instance syncs with the shared pace.
pub(super) const SYNC_EVERY: Duration = Duration::from_millis(25);
/// An instance that has not synced for this long no longer counts among those sharing.
const MEMBER_FOR: Duration = Duration::from_millis(200);
/// How long after the first 429 the other instances' first 429s add their rates to the
/// starting pace.
const CALIBRATION: Duration = Duration::from_millis(300);

/// The shared pace climbs back this many times slower than a client alone: it is cut from
/// what the API accepted from all instances, so it knows the limit well, and probing above
/// it costs 429s on every instance at once.
const SLOWER: u32 = 3;

/// How long the shared pace takes to climb back to where it was cut.
pub(super) fn recovery(cfg: &RateLimit) -> Duration {
    cfg.recovery * SLOWER
}

/// Where the shared pace lives (part of [`RateLimit`]).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Settings {
    pub redis: Redis,
    pub prefix: String,
}

/// This instance's link to the shared pace of one project and service.
#[derive(Debug)]
pub(super) struct Pace {
    redis: Redis,
    /// The pace, the members, the instances counted in the starting pace. One hash tag, so a
    /// Redis cluster keeps them on one node (a script may only touch keys of one slot).
    keys: [String; 3],
    /// This instance, among the members.
    id: String,
    /// The shared round this instance last heard of.
    epoch: AtomicU64,
    /// When the last sync was started (ns on the limiter's clock).
    last_sync: AtomicU64,
    /// A call to Redis is under way (one at a time).
    busy: AtomicBool,
}

/// What the shared pace is, as this instance should follow it.
pub(super) struct Shared {
    /// The rate the last shared cut was from, requests/s.
    pub w_max: f64,
    /// How long ago that cut was, by Redis' clock.
    pub since_cut: Duration,
    /// A shared cut this instance had not heard of.
    pub new_round: bool,
    /// This instance's part of the pace.
    pub share: f64,
}

impl Pace {
    pub fn new(settings: &Settings, scope: &str) -> Self {
        let base = format!("{}{{{scope}}}", settings.prefix);
        Pace {
            redis: settings.redis.clone(),
            keys: [
                base.clone(),
                format!("{base}:members"),
                format!("{base}:start"),
            ],
            id: format!("{:016x}", rand::random::<u64>()),
            epoch: AtomicU64::new(0),
            last_sync: AtomicU64::new(0),
            busy: AtomicBool::new(false),
        }
    }

    /// The shared round a request sent now belongs to.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Relaxed)
    }

    /// The API answered 429 to a request sent in shared round `seen`; this instance was being
    /// accepted at `mine` requests/s. Cuts the shared pace if nobody has in this round (or
    /// starts it), in a task of its own.
    pub fn cut(limiter: &Arc<Limiter>, seen: u64, mine: f64) {
        let Some(pace) = &limiter.shared else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut call = CUT.prepare_invoke();
        pace.args(&mut call, limiter);
        call.arg(seen).arg(mine).arg(CALIBRATION.as_micros() as u64);
        let limiter = limiter.clone();
        runtime.spawn(async move {
            if let Some(pace) = &limiter.shared {
                pace.apply(&limiter, pace.redis.run(&call).await);
            }
        });
    }

    /// Syncs with the shared pace if it is time to (in a task of its own).
    pub fn sync(limiter: &Arc<Limiter>, now: u64) {
        let Some(pace) = &limiter.shared else { return };
        let last = pace.last_sync.load(Relaxed);
        if now.saturating_sub(last) < SYNC_EVERY.as_nanos() as u64 || pace.busy.swap(true, Relaxed)
        {
            return;
        }
        pace.last_sync.store(now, Relaxed);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            pace.busy.store(false, Relaxed);
            return;
        };
        let mut call = SYNC.prepare_invoke();
        pace.args(&mut call, limiter);
        let limiter = limiter.clone();
        runtime.spawn(async move {
            if let Some(pace) = &limiter.shared {
                let answer = pace.redis.run(&call).await;
                pace.busy.store(false, Relaxed);
                pace.apply(&limiter, answer);
            }
        });
    }

    /// The keys and the arguments both scripts take first.
    fn args(&self, call: &mut redis::ScriptInvocation<'_>, limiter: &Limiter) {
        let cfg: &RateLimit = &limiter.cfg;
        let now = limiter.now();
        let used = limiter.sent.rate(now, 1).unwrap_or(0.0);
        let accepted = limiter.accepted.rate(now, 1).unwrap_or(0.0);
        let backlogged = limiter.waited.swap(false, Relaxed);
        for key in &self.keys {
            call.key(key);
        }
        call.arg(&self.id)
            .arg(used)
            .arg(u8::from(backlogged))
            .arg(MEMBER_FOR.as_micros() as u64)
            .arg(cfg.quiet.as_millis() as u64)
            .arg(cfg.decrease)
            .arg(recovery(cfg).as_micros() as u64)
            .arg(cfg.min_rate)
            .arg(cfg.ceiling.unwrap_or(0.0))
            .arg(accepted);
    }

    /// Follows what Redis answered, if it did.
    fn apply(&self, limiter: &Limiter, answer: Result<Vec<String>, String>) {
        let state = match answer {
            Ok(state) => state,
            Err(e) => {
                tracing::debug!(error = %e, "shared pace unavailable: pacing locally");
                return;
            }
        };
        let number = |i: usize| state.get(i).and_then(|v| v.parse::<f64>().ok());
        let (Some(w_max), Some(since_us), Some(epoch), Some(others_busy), Some(idle_use)) =
            (number(1), number(2), number(3), number(4), number(5))
        else {
            return; // not engaged anywhere (or expired after a quiet spell)
        };
        let members = number(6).unwrap_or(1.0).max(1.0);
        // An equal part of what the instances that send less than their part leave over, and
        // never less than an equal part of the whole.
        let since = Duration::from_micros(since_us as u64);
        let pace = limiter.cfg.curve(w_max, since, recovery(&limiter.cfg));
        let leftover = (pace - idle_use) / (others_busy + 1.0) / pace;
        let share = leftover.clamp(1.0 / members, 1.0);
        let epoch = epoch as u64;
        let new_round = epoch > self.epoch.fetch_max(epoch, Relaxed);
        limiter.follow(&Shared {
            w_max,
            since_cut: since,
            new_round,
            share,
        });
    }
}

/// The part of both scripts that keeps the members and answers with the pace.
///
/// KEYS: pace, members, start. ARGV: 1 id, 2 sent (req/s), 3 backlogged (0/1), 4 member for
/// (µs), 5 quiet (ms), 6 decrease, 7 recovery (µs), 8 min rate, 9 ceiling (0: none),
/// 10 accepted (req/s).
/// `members()` records this instance and returns the members' views: how many others wait
/// for slots, what the others that do not use, what the API accepted from all, how many
/// there are. `answer` returns: engaged (1), w_max, µs since the cut, epoch, others
/// backlogged, others' use when not backlogged, members; or {0} when there is no shared pace.
const ANSWER: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function members()
  redis.call('HSET', KEYS[2], ARGV[1],
             string.format('%.0f %s %s %s', now, ARGV[2], ARGV[3], ARGV[10]))
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
  local all = redis.call('HGETALL', KEYS[2])
  local busy, idle, accepted, n = 0, 0, 0, 0
  for i = 1, #all, 2 do
    local at, used, waits, ok = string.match(all[i + 1], '(%S+) (%S+) (%S+) (%S+)')
    if now - tonumber(at) > tonumber(ARGV[4]) then
      redis.call('HDEL', KEYS[2], all[i])
    else
      n = n + 1
      accepted = accepted + tonumber(ok)
      if all[i] ~= ARGV[1] then
        if waits == '1' then busy = busy + 1 else idle = idle + tonumber(used) end
      end
    end
  end
  return busy, idle, accepted, n
end
local function answer(w, cut, epoch, busy, idle, n)
  return {'1', tostring(w), string.format('%.0f', now - cut), tostring(epoch), tostring(busy),
          tostring(idle), tostring(n)}
end
";

/// Syncs: reads the pace. No extra ARGV.
static SYNC: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{ANSWER}
        local p = redis.call('HMGET', KEYS[1], 'w', 'cut', 'epoch')
        if not p[1] then return {{'0'}} end
        local busy, idle, _, n = members()
        return answer(tonumber(p[1]), tonumber(p[2]), tonumber(p[3]), busy, idle, n)"
    ))
});

/// A 429: starts the pace, adds an instance's first to it while calibrating, or cuts it once
/// per round: from the pace on its curve, or from what the API accepted from all members
/// if that is less (as the local limiter cuts from what it was accepting).
/// ARGV after the common ones: 11 the round the refused request was sent in, 12 this
/// instance's estimate of its share, 13 calibration (µs).
/// The curve is the local limiter's (`RateLimit::curve`), on Redis' clock.
static CUT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{ANSWER}
        local p = redis.call('HMGET', KEYS[1], 'w', 'cut', 'epoch', 'calib')
        local w, cut, epoch, calib = tonumber(p[1]), tonumber(p[2]), tonumber(p[3]), tonumber(p[4])
        local mine = tonumber(ARGV[12])
        local busy, idle, accepted, n = members()
        if not w then
          w, cut, epoch, calib = mine, now, 1, now + tonumber(ARGV[13])
          redis.call('DEL', KEYS[3])
          redis.call('SADD', KEYS[3], ARGV[1])
        elseif now < calib and redis.call('SADD', KEYS[3], ARGV[1]) == 1 then
          w = w + mine
        elseif tonumber(ARGV[11]) == epoch then
          local x = (now - cut) / tonumber(ARGV[7]) - 1
          w = w * (1 + (1 - tonumber(ARGV[6])) * x * x * x)
          if accepted > 0 then w = math.min(w, accepted) end
          cut, epoch = now, epoch + 1
        end
        w = math.max(w, tonumber(ARGV[8]))
        if tonumber(ARGV[9]) > 0 then w = math.min(w, tonumber(ARGV[9])) end
        redis.call('HSET', KEYS[1], 'w', tostring(w), 'cut', string.format('%.0f', cut),
                   'epoch', epoch, 'calib', string.format('%.0f', calib))
        redis.call('PEXPIRE', KEYS[1], ARGV[5])
        redis.call('PEXPIRE', KEYS[3], ARGV[5])
        return answer(w, cut, epoch, busy, idle, n)"
    ))
});
