//! What a service registers with the core: its document, where it is served, how it is
//! authenticated, its handlers, and the state it keeps per project. The core names no service.

use super::server::Handler;
use std::any::Any;

pub(crate) struct ServiceDef {
    /// The key of its document among those `build.rs` wrote (the file name without `.yaml`).
    pub document: &'static str,
    /// The path its operations are served under on the fake's address (`""`: at the root).
    pub prefix: &'static str,
    /// It takes bearer tokens only: Basic credentials are refused.
    pub bearer_only: bool,
    /// The handler of each of its operations (by operationId) that the fake answers.
    pub handler: fn(&str) -> Option<Handler>,
    /// A project's state in this service, new and empty; reached with
    /// [`super::state::Project::part`].
    pub state: fn() -> Box<dyn Any + Send>,
}

impl ServiceDef {
    /// The registered service whose document is `document`.
    pub fn find(all: &'static [ServiceDef], document: &str) -> Option<&'static ServiceDef> {
        all.iter().find(|s| s.document == document)
    }
}
