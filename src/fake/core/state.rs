//! The fake's state: projects and their resources, and what every part of the server shares.

use super::callbacks::Outbox;
use super::faults::Faults;
use super::inspect::Log;
use super::limits::Bucket;
use super::{auth::Tokens, queue::AppQueue, Config};
use crate::types;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use tokio::sync::watch;

/// Everything the server, its background tasks and the [`super::Fake`] handle share.
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

    pub fn stop(&self) {
        self.shutdown.send_replace(true);
    }

    pub fn is_idle(&self) -> bool {
        let store = self.lock();
        let queued = store
            .projects
            .values()
            .any(|p| p.queues.values().any(|q| !q.items.is_empty()));
        drop(store);
        !queued && self.outbox.pending() == 0
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
        let project = self
            .projects
            .entry(id.to_owned())
            .or_insert_with(|| Project::new(id));
        (project, &mut self.ids)
    }
}

/// A message or event with the app it belongs to (the API's types do not carry it).
#[derive(Clone)]
pub(crate) struct Stored<T> {
    pub app_id: String,
    pub item: T,
}

/// One project's resources, each map keyed by id (ULIDs sort in creation order).
pub(crate) struct Project {
    pub id: String,
    pub apps: BTreeMap<String, types::AppResponse>,
    pub webhooks: BTreeMap<String, types::Webhook>,
    pub contacts: BTreeMap<String, types::Contact>,
    pub conversations: BTreeMap<String, types::Conversation>,
    pub messages: BTreeMap<String, Stored<types::ConversationMessage>>,
    pub events: BTreeMap<String, Stored<types::ConversationEvent>>,
    /// (app id, list type) -> identities on the list.
    pub consents: BTreeMap<(String, String), BTreeSet<String>>,
    /// (app id, identity) -> audit trail.
    pub consent_audit: BTreeMap<(String, String), Vec<types::ConsentAuditRecord>>,
    pub settings: Option<types::ProjectSettings>,
    /// Each app's outgoing queue.
    pub queues: HashMap<String, AppQueue>,
}

impl Project {
    fn new(id: &str) -> Self {
        Project {
            id: id.to_owned(),
            apps: BTreeMap::new(),
            webhooks: BTreeMap::new(),
            contacts: BTreeMap::new(),
            conversations: BTreeMap::new(),
            messages: BTreeMap::new(),
            events: BTreeMap::new(),
            consents: BTreeMap::new(),
            consent_audit: BTreeMap::new(),
            settings: None,
            queues: HashMap::new(),
        }
    }

    pub fn unified_contacts(&self) -> bool {
        self.settings
            .as_ref()
            .and_then(|s| s.contact_settings.as_ref())
            .and_then(|c| c.unified_contact_id_enabled)
            .unwrap_or(false)
    }

    /// Whether `identity` is on the app's `OPT_OUT_ALL` list.
    pub fn opted_out(&self, app_id: &str, identity: &str) -> bool {
        self.consents
            .get(&(app_id.to_owned(), "OPT_OUT_ALL".to_owned()))
            .is_some_and(|s| s.contains(identity))
    }
}
