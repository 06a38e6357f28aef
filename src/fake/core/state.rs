//! What every part of the fake shares, and the store: one state per project, each service's
//! part in its own module.

use super::auth::Tokens;
use super::callbacks::Outbox;
use super::clock::Clock;
use super::faults::Faults;
use super::inspect::Log;
use super::limits::Bucket;
use super::timers::Timers;
use crate::fake::{batch, conversation, templates, Config};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use tokio::sync::watch;

/// Everything the server, its background tasks and the [`crate::fake::Fake`] handle share.
pub(crate) struct Shared {
    pub cfg: Config,
    pub addr: SocketAddr,
    pub store: Mutex<Store>,
    /// One request bucket per project.
    pub limits: HashMap<String, Bucket>,
    pub tokens: Tokens,
    pub faults: Faults,
    pub log: Log,
    pub outbox: Outbox,
    pub clock: Clock,
    pub timers: Timers,
    pub shutdown: watch::Sender<bool>,
}

impl Shared {
    /// The store, even after a panic elsewhere poisoned its lock (the data stays consistent:
    /// handlers validate before they mutate).
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn with_project<T>(&self, project: &str, f: impl FnOnce(&Project) -> T) -> T {
        let mut store = self.lock();
        f(store.project(project))
    }

    /// Runs `f` on `project`'s state as a request would (now, under the lock), then carries
    /// out its effects if it succeeded.
    pub fn transact<T>(
        self: &std::sync::Arc<Self>,
        project: &str,
        f: impl FnOnce(&mut super::ctx::Ctx) -> Result<T, super::reply::ApiFailure>,
    ) -> Result<T, super::reply::ApiFailure> {
        let (result, effects) = {
            let mut store = self.lock();
            let (p, ids) = store.split(project);
            let mut ctx = super::ctx::Ctx::new(p, ids, self, self.clock.elapsed());
            let result = f(&mut ctx);
            (result, ctx.effects)
        };
        if result.is_ok() {
            super::timers::apply(self, project, effects);
        }
        result
    }

    pub fn stop(&self) {
        self.shutdown.send_replace(true);
    }

    /// Nothing is scheduled (no queued message, pending report or batch; with a manual clock,
    /// nothing due yet) and every callback was delivered or given up on.
    pub fn is_idle(&self) -> bool {
        let scheduled = if self.clock.is_manual() {
            self.timers.due_by(self.clock.elapsed())
        } else {
            self.timers.pending()
        };
        scheduled == 0 && self.outbox.pending() == 0
    }
}

/// All projects, and the id generator (ULIDs, monotonic even within one millisecond, so ids
/// sort in creation order).
#[derive(Default)]
pub(crate) struct Store {
    pub projects: HashMap<String, Project>,
    ids: ulid::Generator,
}

impl Store {
    pub fn project(&mut self, id: &str) -> &mut Project {
        self.split(id).0
    }

    /// A project and the id generator at once (both are borrowed by handlers).
    pub fn split(&mut self, id: &str) -> (&mut Project, &mut ulid::Generator) {
        // Looked up before it is created: no key is allocated on the hot path.
        if !self.projects.contains_key(id) {
            self.projects.insert(id.to_owned(), Project::new(id));
        }
        let project = self.projects.get_mut(id).expect("inserted above");
        (project, &mut self.ids)
    }
}

/// One project's resources, per service.
pub(crate) struct Project {
    pub id: String,
    pub conv: conversation::State,
    pub templates: templates::State,
    pub batch: batch::State,
}

impl Project {
    fn new(id: &str) -> Self {
        Project {
            id: id.to_owned(),
            conv: Default::default(),
            templates: Default::default(),
            batch: Default::default(),
        }
    }
}
