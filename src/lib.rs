#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod auth;
pub mod batch;
mod bulk;
mod call_options;
mod calls;
mod compose;
mod config;
mod dates;
mod error;
mod generated;
mod hooks;
mod limit;
mod macros;
mod metrics;
mod pagination;
#[cfg(feature = "redis")]
mod redis_link;
mod region;
mod retry;
mod send;

/// Implemented by the generated clients alone: every operation trait requires it, so only they
/// implement those traits, and an operation added to one is not a breaking change.
mod sealed {
    pub trait Sealed {}
}

pub mod templates;
pub mod webhook;

#[cfg(feature = "fake")]
#[cfg_attr(docsrs, doc(cfg(feature = "fake")))]
pub mod fake;

/// The `redis` crate this one is built with, to configure a [`redis::Client`] yourself (see
/// [`Redis::from_client`]).
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use ::redis;
pub use auth::{Credentials, DEFAULT_AUTH_URL};
pub use bulk::BulkOutcome;
pub use call_options::CallOptions;
pub use config::{ClientBuilder, DEFAULT_MAX_RESPONSE_BYTES, USER_AGENT};
pub use error::{ApiError, AuthError, Error, Result};
pub use generated::{builder, types, Client, ClientInfo, ResponseValue, PATH_PREFIX};
pub use hooks::Inner;
pub use limit::RateLimit;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis_link::Redis;
pub use region::Region;
pub use retry::{parse_retry_after, BudgetConfig, RetryConfig};

/// Everything needed to make calls: the client, its per-area operation traits, stream helpers.
pub mod prelude {
    pub use crate::batch::ext::*;
    pub use crate::generated::prelude::*;
    pub use crate::templates::ext::*;
    pub use crate::{CallOptions, Credentials, Error, RateLimit, Region, Result, RetryConfig};
    pub use futures_util::{StreamExt as _, TryStreamExt as _};
}
