//! Every OpenTelemetry instrument of the crate (feature `metrics`), behind one facade that the
//! request loop, the auth, bulk sends and the webhook receiver call. Without the feature the
//! types hold nothing and every call is an empty inline function.

#[cfg(feature = "metrics")]
mod otel;
mod state;

use crate::region::Service;
use reqwest::{Method, Response};

/// Which meter a client or receiver records with: the global provider's (the default), one
/// given to its builder, or none.
#[derive(Clone, Debug, Default)]
pub(crate) enum MeterSetting {
    #[default]
    Global,
    #[cfg(feature = "metrics")]
    Given(opentelemetry::metrics::Meter),
    #[cfg(feature = "metrics")]
    Off,
}

impl MeterSetting {
    /// The meter to build instruments with; `None` when metrics are off.
    #[cfg(feature = "metrics")]
    fn meter(&self) -> Option<opentelemetry::metrics::Meter> {
        match self {
            MeterSetting::Global => Some(opentelemetry::global::meter_with_scope(scope())),
            MeterSetting::Given(m) => Some(m.clone()),
            MeterSetting::Off => None,
        }
    }

    /// A provider's meter for this crate.
    #[cfg(feature = "metrics")]
    pub(crate) fn given<P>(provider: &P) -> Self
    where
        P: opentelemetry::metrics::MeterProvider + ?Sized,
    {
        MeterSetting::Given(provider.meter_with_scope(scope()))
    }
}

#[cfg(feature = "metrics")]
fn scope() -> opentelemetry::InstrumentationScope {
    opentelemetry::InstrumentationScope::builder(env!("CARGO_PKG_NAME"))
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

/// Why a call goes again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RetryReason {
    /// 429, waited out as asked.
    Throttled,
    /// 500, 502, 503, 504.
    ServerError,
    /// The attempt ran out of time.
    Timeout,
    /// Connecting, sending or reading failed.
    Transport,
    /// 401: the token was replaced.
    Unauthorized,
}

/// Why a call ended with its error although the failure could have been retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GaveUp {
    /// The retry budget was empty (the API looks down).
    RetryBudget,
    /// The call's deadline came before the next attempt could.
    Deadline,
}

/// How one request to the token endpoint ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenOutcome {
    Success,
    /// 400 or 401: the key was refused.
    Rejected,
    /// 429 or 5xx.
    Unavailable,
    /// The request failed on the way.
    Transport,
    /// An answer that is not a usable token.
    Invalid,
}

/// A callback the HTTP layer answered before the receiver saw it.
#[cfg(feature = "tower")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    Method,
    TooLarge,
    Unreadable,
}

/// `error.type` of a request that got no answer (metrics and the client span).
pub(crate) fn transport_error(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "transport"
    }
}

/// The client's instruments (nothing without the feature, or when off).
#[derive(Clone, Default)]
pub(crate) struct ClientMetrics {
    #[cfg(feature = "metrics")]
    inner: Option<std::sync::Arc<otel::ClientInstruments>>,
}

/// When a call began, if its duration is recorded.
pub(crate) struct CallTimer {
    #[cfg(feature = "metrics")]
    started: Option<std::time::Instant>,
}

/// One attempt being timed and counted in flight; dropping it (a cancelled call) still takes
/// it out of the in-flight count.
pub(crate) struct Attempt<'a> {
    #[cfg(feature = "metrics")]
    inner: Option<otel::Attempt<'a>>,
    #[cfg(not(feature = "metrics"))]
    _m: std::marker::PhantomData<&'a ()>,
}

#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
impl ClientMetrics {
    /// Instruments for a client whose services live at `servers` (in [`Service::index`] order).
    pub(crate) fn new(setting: &MeterSetting, servers: [&reqwest::Url; 3]) -> Self {
        ClientMetrics {
            #[cfg(feature = "metrics")]
            inner: setting
                .meter()
                .map(|m| std::sync::Arc::new(otel::ClientInstruments::new(&m, servers))),
        }
    }

    /// An attempt about to be sent.
    #[inline]
    pub(crate) fn attempt(&self, service: Service, method: &Method) -> Attempt<'_> {
        Attempt {
            #[cfg(feature = "metrics")]
            inner: self.inner.as_deref().map(|m| m.attempt(service, method)),
            #[cfg(not(feature = "metrics"))]
            _m: std::marker::PhantomData,
        }
    }

    /// A call begins: its timer (nothing unless recording).
    #[inline]
    pub(crate) fn call_timer(&self) -> CallTimer {
        CallTimer {
            #[cfg(feature = "metrics")]
            started: self.inner.as_ref().map(|_| std::time::Instant::now()),
        }
    }

    /// A call that began at `timer` ended with `result`.
    #[inline]
    pub(crate) fn call(
        &self,
        timer: CallTimer,
        op: &'static str,
        result: &reqwest::Result<Response>,
    ) {
        #[cfg(feature = "metrics")]
        if let (Some(m), Some(started)) = (&self.inner, timer.started) {
            m.call(started, op, result);
        }
    }

    #[inline]
    pub(crate) fn retry(&self, op: &'static str, reason: RetryReason) {
        #[cfg(feature = "metrics")]
        if let Some(m) = &self.inner {
            m.retry(op, reason);
        }
    }

    /// The API answered 429.
    #[inline]
    pub(crate) fn throttled(&self, service: Service, op: &'static str) {
        #[cfg(feature = "metrics")]
        if let Some(m) = &self.inner {
            m.throttled(service, op);
        }
    }

    #[inline]
    pub(crate) fn gave_up(&self, op: &'static str, why: GaveUp) {
        #[cfg(feature = "metrics")]
        if let Some(m) = &self.inner {
            m.gave_up(op, why);
        }
    }

    /// The pace `service`'s limiter is at (`None`: not pacing).
    #[inline]
    pub(crate) fn pace(&self, service: Service, pace: Option<f64>) {
        #[cfg(feature = "metrics")]
        if let Some(m) = &self.inner {
            m.pace(service, pace);
        }
    }

    /// A bulk send may have `delta` more (or fewer) requests in flight.
    #[inline]
    pub(crate) fn bulk_window(&self, delta: i64) {
        #[cfg(feature = "metrics")]
        if let Some(m) = &self.inner {
            m.bulk_window(delta);
        }
    }

    #[inline]
    pub(crate) fn token_request(&self, outcome: TokenOutcome) {
        #[cfg(feature = "metrics")]
        if let Some(m) = &self.inner {
            m.token_request(outcome);
        }
    }

    /// A new token, valid until `at`.
    #[inline]
    pub(crate) fn token_expiry(&self, at: std::time::SystemTime) {
        #[cfg(feature = "metrics")]
        if let Some(m) = &self.inner {
            m.token_expiry(at);
        }
    }
}

#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
impl Attempt<'_> {
    /// The attempt of operation `op` ended with `result`.
    #[inline]
    pub(crate) fn end(self, op: &'static str, result: &reqwest::Result<Response>) {
        #[cfg(feature = "metrics")]
        if let Some(a) = self.inner {
            a.end(op, result);
        }
    }
}

/// The webhook receiver's instruments.
#[cfg(feature = "tower")]
#[derive(Clone, Default)]
pub(crate) struct ReceiverMetrics {
    #[cfg(feature = "metrics")]
    inner: Option<std::sync::Arc<otel::ReceiverInstruments>>,
}

#[cfg(feature = "tower")]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
impl ReceiverMetrics {
    pub(crate) fn new(setting: &MeterSetting) -> Self {
        ReceiverMetrics {
            #[cfg(feature = "metrics")]
            inner: setting
                .meter()
                .map(|m| std::sync::Arc::new(otel::ReceiverInstruments::new(&m))),
        }
    }

    /// A callback was answered with `result`.
    #[inline]
    pub(crate) fn received(&self, result: &Result<(), crate::webhook::Rejection>) {
        #[cfg(feature = "metrics")]
        if let Some(m) = &self.inner {
            m.received(result);
        }
    }

    /// A request was answered before the receiver saw it.
    #[inline]
    pub(crate) fn refused(&self, why: Refused) {
        #[cfg(feature = "metrics")]
        if let Some(m) = &self.inner {
            m.refused(why);
        }
    }

    /// Events waiting in the queues changed by `delta`.
    #[inline]
    pub(crate) fn queued(&self, delta: i64) {
        #[cfg(feature = "metrics")]
        if let Some(m) = &self.inner {
            m.queued(delta);
        }
    }

    /// The handler took since `started`; `error`: how it failed.
    #[inline]
    pub(crate) fn handled(&self, started: std::time::Instant, error: Option<HandlerError>) {
        #[cfg(feature = "metrics")]
        if let Some(m) = &self.inner {
            m.handled(started, error);
        }
    }
}

/// How a handler failed.
#[cfg(feature = "tower")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HandlerError {
    Error,
    Panic,
}
