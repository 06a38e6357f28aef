//! What every part of the fake shares, and the store: one state per project, made of the
//! parts the registered services keep (the core knows none of them).

use super::auth::Tokens;
use super::callbacks::Outbox;
use super::clock::Clock;
use super::faults::Faults;
use super::inspect::Log;
use super::limits::Bucket;
use super::service::ServiceDef;
use super::timers::Timers;
use crate::fake::Config;
use std::any::Any;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use tokio::sync::watch;

/// Everything the server, its background tasks and the [`crate::fake::Fake`] handle share.
pub(crate) struct Shared {
    pub cfg: Config,
    /// The services served, each with its part of a project's state.
    pub services: &'static [ServiceDef],
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

    /// No timed work is waiting (with a manual clock: none is due yet) and every callback was
    /// delivered or given up on.
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
pub(crate) struct Store {
    pub projects: HashMap<String, Project>,
    ids: ulid::Generator,
    services: &'static [ServiceDef],
}

impl Store {
    pub fn new(services: &'static [ServiceDef]) -> Self {
        Store {
            projects: HashMap::new(),
            ids: ulid::Generator::new(),
            services,
        }
    }

    pub fn project(&mut self, id: &str) -> &mut Project {
        self.split(id).0
    }

    /// A project and the id generator at once (both are borrowed by handlers).
    pub fn split(&mut self, id: &str) -> (&mut Project, &mut ulid::Generator) {
        // Looked up before it is created: no key is allocated on the hot path.
        if !self.projects.contains_key(id) {
            let project = Project::new(id, self.services);
            self.projects.insert(id.to_owned(), project);
        }
        let project = self.projects.get_mut(id).expect("inserted above");
        (project, &mut self.ids)
    }
}

/// One project's resources: the part of each registered service, created with the project.
pub(crate) struct Project {
    pub id: String,
    parts: Vec<Box<dyn Any + Send>>,
}

impl Project {
    fn new(id: &str, services: &[ServiceDef]) -> Self {
        Project {
            id: id.to_owned(),
            parts: services.iter().map(|s| (s.state)()).collect(),
        }
    }

    /// The part of type `T` a service registered (a short scan: there are a few services).
    pub fn part<T: Any>(&self) -> &T {
        self.parts
            .iter()
            .find_map(|p| p.downcast_ref::<T>())
            .unwrap_or_else(|| unregistered::<T>())
    }

    /// See [`Self::part`].
    pub fn part_mut<T: Any>(&mut self) -> &mut T {
        self.parts
            .iter_mut()
            .find_map(|p| p.downcast_mut::<T>())
            .unwrap_or_else(|| unregistered::<T>())
    }
}

fn unregistered<T>() -> ! {
    panic!(
        "no registered service keeps a {} per project",
        std::any::type_name::<T>()
    )
}
