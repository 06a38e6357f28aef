//! The fake's core, shared by every service and naming none: the HTTP server and the path
//! each call takes, the API documents it checks requests against, credentials, the project
//! rate limit, the clock and timed work, callback delivery, fault plans and the request log.
//! Services register themselves ([`service::ServiceDef`]).

pub(crate) mod auth;
pub(crate) mod callbacks;
pub(crate) mod check;
pub(crate) mod clock;
pub(crate) mod ctx;
pub(crate) mod faults;
pub(crate) mod inspect;
pub(crate) mod limits;
pub(crate) mod patch;
pub(crate) mod reply;
pub(crate) mod request;
pub(crate) mod schema;
pub(crate) mod server;
pub(crate) mod service;
pub(crate) mod state;
pub(crate) mod timers;
