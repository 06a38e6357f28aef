//! What a handler or a timed task works with: one project under the store's lock, the fake's
//! time, ids, settings, and the effects (callbacks, later work) to carry out once the lock is
//! released.

use super::callbacks::Outgoing;
use super::reply::ApiFailure;
use super::state::{Project, Shared};
use super::timers::Task;
use crate::fake::Config;
use chrono::{DateTime, Utc};
use std::time::Duration;

pub(crate) struct Ctx<'a> {
    pub p: &'a mut Project,
    ids: &'a mut ulid::Generator,
    /// The fake's time (since it started) at which this work happens.
    pub at: Duration,
    /// The same moment as a timestamp.
    pub now: DateTime<Utc>,
    pub cfg: &'a Config,
    pub effects: Effects,
}

/// Done after the store's lock is released, so that no lock is held while sending, and a
/// rejected request (whose effects are dropped) changes nothing.
#[derive(Default)]
pub(crate) struct Effects {
    pub callbacks: Vec<Outgoing>,
    /// Work due at a time since start.
    pub timers: Vec<(Duration, Task)>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        p: &'a mut Project,
        ids: &'a mut ulid::Generator,
        shared: &'a Shared,
        at: Duration,
    ) -> Self {
        Ctx {
            p,
            ids,
            at,
            now: shared.clock.wall(at),
            cfg: &shared.cfg,
            effects: Effects::default(),
        }
    }

    /// A new ULID. Ids come from the fake's clock, so they sort in the fake's time order even
    /// when a test moved the clock.
    pub fn new_id(&mut self) -> String {
        let now: std::time::SystemTime = self.now.into();
        self.ids
            .generate_from_datetime(now)
            .unwrap_or_else(|_| ulid::Ulid::from_datetime(now))
            .to_string()
    }

    /// Runs `task` `delay` after this moment.
    pub fn after(&mut self, delay: Duration, task: impl FnOnce(&mut Ctx) + Send + 'static) {
        self.effects.timers.push((self.at + delay, Box::new(task)));
    }
}

/// The resource `id` of a kind (`what`), or the API's 404.
pub(crate) fn found<'m, T>(
    map: &'m std::collections::BTreeMap<String, T>,
    what: &str,
    id: &str,
) -> Result<&'m T, ApiFailure> {
    map.get(id).ok_or_else(|| ApiFailure::not_found(what, id))
}
