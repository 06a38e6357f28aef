//! The instruments themselves (feature `metrics`): names, units, attributes and buckets as the
//! README's "Operating the client" lists them. Attribute values come from bounded sets (no
//! message, contact, app or project ids).

use super::{transport_error, GaveUp, RetryReason, TokenOutcome};
use crate::error::Failure;
use crate::region::Service;
use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter, UpDownCounter};
use opentelemetry::{KeyValue, Value};
use reqwest::{Method, Response};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

/// OpenTelemetry's advice for `http.client.request.duration`, in seconds.
const HTTP_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
/// A call's waits and retries last up to its deadline (60 s by default).
const CALL_BUCKETS: [f64; 16] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 60.0,
];

const METHOD: &str = "http.request.method";
const ADDRESS: &str = "server.address";
const PORT: &str = "server.port";
const STATUS: &str = "http.response.status_code";
const ERROR: &str = "error.type";
const OPERATION: &str = "sinch.operation";
const SERVICE: &str = "sinch.service";
const REASON: &str = "sinch.reason";
const OUTCOME: &str = "sinch.outcome";

/// A service's host and port, as the client reaches it, and its attempts in flight by method.
struct Server {
    address: &'static str,
    port: i64,
    in_flight: [InFlight; METHODS.len()],
}

/// The methods `http.request.method` names; anything else is `_OTHER`.
const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "_OTHER",
];

/// Attempts in flight, counted here and handed to `http.client.active_requests` when the count
/// is an eighth (at least one) away from what was handed over. Two SDK updates per attempt (an
/// attribute set hashed, a shared entry locked) cost more than the rest of a call's metrics,
/// and a sender with many requests in flight moves the count by one all the time. So the
/// instrument is exact up to 15 in flight and at none, and within an eighth above. One word
/// holds the count (low half) and what was handed over (high half): a change is one atomic
/// add, and a hand-over sets the high half to the low.
#[derive(Default)]
struct InFlight(AtomicU64);

/// `host` as a `&'static str`, so that attributes carrying it are neither copied nor counted
/// per request: each distinct host is kept once for the life of the process (a handful: the
/// regions' hosts, a proxy, a test server's loopback address).
fn intern(host: &str) -> &'static str {
    static HOSTS: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let mut hosts = HOSTS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(h) = hosts.iter().find(|h| **h == host) {
        return h;
    }
    let h: &'static str = Box::leak(host.into());
    hosts.push(h);
    h
}

pub(super) struct ClientInstruments {
    request_duration: Histogram<f64>,
    active_requests: UpDownCounter<i64>,
    call_duration: Histogram<f64>,
    retries: Counter<u64>,
    throttled: Counter<u64>,
    gave_up: Counter<u64>,
    token_requests: Counter<u64>,
    token_expiry: Gauge<f64>,
    limiter_engaged: Gauge<u64>,
    limiter_rate: Gauge<f64>,
    bulk_window: UpDownCounter<i64>,
    servers: [Server; 3],
}

impl ClientInstruments {
    pub(super) fn new(meter: &Meter, servers: [&reqwest::Url; 3]) -> Self {
        ClientInstruments {
            request_duration: meter
                .f64_histogram("http.client.request.duration")
                .with_unit("s")
                .with_description("Duration of each HTTP request (attempt) to the API, until its response headers")
                .with_boundaries(HTTP_BUCKETS.to_vec())
                .build(),
            active_requests: meter
                .i64_up_down_counter("http.client.active_requests")
                .with_unit("{request}")
                .with_description("HTTP requests to the API in flight")
                .build(),
            call_duration: meter
                .f64_histogram("sinch.client.call.duration")
                .with_unit("s")
                .with_description("Duration of each call, its waits and retries included; error.type set when it failed")
                .with_boundaries(CALL_BUCKETS.to_vec())
                .build(),
            retries: meter
                .u64_counter("sinch.client.retries")
                .with_unit("{retry}")
                .with_description("Attempts repeated, by reason: 429, 5xx, timeout, transport, 401 (token replaced)")
                .build(),
            throttled: meter
                .u64_counter("sinch.client.throttled")
                .with_unit("{response}")
                .with_description("429 answers from the API")
                .build(),
            gave_up: meter
                .u64_counter("sinch.client.gave_up")
                .with_unit("{call}")
                .with_description("Calls that ended with a retryable failure because the retry budget was empty or the deadline came first")
                .build(),
            token_requests: meter
                .u64_counter("sinch.client.token.requests")
                .with_unit("{request}")
                .with_description("Requests to the OAuth2 token endpoint, by outcome")
                .build(),
            token_expiry: meter
                .f64_gauge("sinch.client.token.expiry")
                .with_unit("s")
                .with_description("When the cached OAuth2 token expires, in seconds since the Unix epoch")
                .build(),
            limiter_engaged: meter
                .u64_gauge("sinch.client.limiter.engaged")
                .with_description("1 while the rate limiter paces requests to the service, else 0")
                .build(),
            limiter_rate: meter
                .f64_gauge("sinch.client.limiter.rate")
                .with_unit("{request}/s")
                .with_description("The pace the rate limiter holds requests to (0 while it does not pace)")
                .build(),
            bulk_window: meter
                .i64_up_down_counter("sinch.client.bulk.window")
                .with_unit("{request}")
                .with_description("Requests the running bulk sends may have in flight")
                .build(),
            servers: servers.map(|url| Server {
                address: intern(url.host_str().unwrap_or("")),
                port: url.port_or_known_default().map_or(0, i64::from),
                in_flight: Default::default(),
            }),
        }
    }

    pub(super) fn attempt(&self, service: Service, method: &Method) -> Attempt<'_> {
        let server = &self.servers[service.index()];
        let method = method_index(method);
        let started = Instant::now();
        let attempt = Attempt {
            m: self,
            server,
            method,
            started,
        };
        attempt.in_flight(1);
        attempt
    }

    pub(super) fn call(
        &self,
        started: Instant,
        op: &'static str,
        result: &reqwest::Result<Response>,
    ) {
        let seconds = started.elapsed().as_secs_f64();
        match call_error(result) {
            None => self
                .call_duration
                .record(seconds, &[KeyValue::new(OPERATION, op)]),
            Some(e) => self.call_duration.record(
                seconds,
                &[KeyValue::new(OPERATION, op), KeyValue::new(ERROR, e)],
            ),
        }
    }

    pub(super) fn retry(&self, op: &'static str, reason: RetryReason) {
        let reason = match reason {
            RetryReason::Throttled => "429",
            RetryReason::ServerError => "5xx",
            RetryReason::Timeout => "timeout",
            RetryReason::Transport => "transport",
            RetryReason::Unauthorized => "401",
        };
        self.retries.add(
            1,
            &[KeyValue::new(OPERATION, op), KeyValue::new(REASON, reason)],
        );
    }

    pub(super) fn throttled(&self, service: Service, op: &'static str) {
        self.throttled.add(
            1,
            &[
                KeyValue::new(SERVICE, service_name(service)),
                KeyValue::new(OPERATION, op),
            ],
        );
    }

    pub(super) fn gave_up(&self, op: &'static str, why: GaveUp) {
        let reason = match why {
            GaveUp::RetryBudget => "retry_budget",
            GaveUp::Deadline => "deadline",
        };
        self.gave_up.add(
            1,
            &[KeyValue::new(OPERATION, op), KeyValue::new(REASON, reason)],
        );
    }

    pub(super) fn pace(&self, service: Service, pace: Option<f64>) {
        let attrs = [KeyValue::new(SERVICE, service_name(service))];
        self.limiter_engaged
            .record(u64::from(pace.is_some()), &attrs);
        self.limiter_rate.record(pace.unwrap_or(0.0), &attrs);
    }

    pub(super) fn bulk_window(&self, delta: i64) {
        self.bulk_window.add(delta, &[]);
    }

    pub(super) fn token_request(&self, outcome: TokenOutcome) {
        let outcome = match outcome {
            TokenOutcome::Success => "success",
            TokenOutcome::Rejected => "rejected",
            TokenOutcome::Unavailable => "unavailable",
            TokenOutcome::Transport => "transport",
            TokenOutcome::Invalid => "invalid_response",
        };
        self.token_requests
            .add(1, &[KeyValue::new(OUTCOME, outcome)]);
    }

    pub(super) fn token_expiry(&self, at: std::time::SystemTime) {
        let secs = at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        self.token_expiry.record(secs, &[]);
    }
}

/// See [`super::Attempt`].
pub(super) struct Attempt<'a> {
    m: &'a ClientInstruments,
    server: &'a Server,
    /// Into [`METHODS`].
    method: usize,
    started: Instant,
}

impl Attempt<'_> {
    fn attrs(&self) -> [KeyValue; 3] {
        [
            KeyValue::new(METHOD, METHODS[self.method]),
            KeyValue::new(ADDRESS, self.server.address),
            KeyValue::new(PORT, self.server.port),
        ]
    }

    /// One more (or one fewer) in flight; hands the count over if it moved far enough.
    fn in_flight(&self, delta: i64) {
        let word = &self.server.in_flight[self.method].0;
        // Every -1 follows its +1, so the low half never borrows from the high one.
        let before = if delta > 0 {
            word.fetch_add(1, Relaxed)
        } else {
            word.fetch_sub(1, Relaxed)
        };
        let now = i64::from(low(before)) + delta;
        let off = (now - i64::from(high(before))).abs();
        if off < (now / 8).max(1) {
            return;
        }
        // Whoever hands over moves the high half to the count it saw, and adds the difference:
        // concurrent hand-overs add up to the count.
        let seen = word
            .fetch_update(Relaxed, Relaxed, |w| {
                Some(u64::from(low(w)) << 32 | u64::from(low(w)))
            })
            .unwrap_or_else(|w| w);
        let moved = i64::from(low(seen)) - i64::from(high(seen));
        if moved != 0 {
            self.m.active_requests.add(moved, &self.attrs());
        }
    }

    pub(super) fn end(self, op: &'static str, result: &reqwest::Result<Response>) {
        let seconds = self.started.elapsed().as_secs_f64();
        let [method, address, port] = self.attrs();
        let op = KeyValue::new(OPERATION, op);
        let d = &self.m.request_duration;
        match result {
            Ok(resp) if resp.status().is_success() || resp.status().is_informational() => {
                let status = KeyValue::new(STATUS, i64::from(resp.status().as_u16()));
                d.record(seconds, &[method, address, port, status, op]);
            }
            Ok(resp) => {
                let code = resp.status().as_u16();
                let status = KeyValue::new(STATUS, i64::from(code));
                let error = KeyValue::new(ERROR, code.to_string());
                d.record(seconds, &[method, address, port, status, error, op]);
            }
            Err(e) => {
                let error = KeyValue::new(ERROR, transport_error(e));
                d.record(seconds, &[method, address, port, error, op]);
            }
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        self.in_flight(-1);
    }
}

/// `error.type` of a call that failed; `None` for a success.
fn call_error(result: &reqwest::Result<Response>) -> Option<Value> {
    let resp = match result {
        Ok(resp) => resp,
        Err(e) => return Some(transport_error(e).into()),
    };
    let status = resp.status();
    let failure = resp.extensions().get::<Failure>();
    Some(match failure {
        None if status.is_success() => return None,
        None | Some(Failure::Api(_)) | Some(Failure::Decode { .. }) => {
            status.as_u16().to_string().into()
        }
        Some(Failure::Auth(_)) => "auth".into(),
        Some(Failure::Timeout(_)) => "timeout".into(),
        Some(Failure::TooLarge { .. }) => "response_too_large".into(),
        Some(Failure::Config(_)) => "config".into(),
    })
}

fn low(word: u64) -> u32 {
    word as u32
}

fn high(word: u64) -> u32 {
    (word >> 32) as u32
}

/// `m`'s place in [`METHODS`].
fn method_index(m: &Method) -> usize {
    METHODS[..METHODS.len() - 1]
        .iter()
        .position(|name| *name == m.as_str())
        .unwrap_or(METHODS.len() - 1)
}

fn service_name(s: Service) -> &'static str {
    match s {
        Service::Conversation => "conversation",
        Service::Templates => "templates",
        Service::Batch => "batch",
    }
}

#[cfg(feature = "tower")]
pub(super) use receiver::ReceiverInstruments;

#[cfg(feature = "tower")]
mod receiver {
    use super::{ERROR, HTTP_BUCKETS, OUTCOME, REASON};
    use crate::metrics::{HandlerError, Refused};
    use crate::webhook::Rejection;
    use opentelemetry::metrics::{Counter, Histogram, Meter, UpDownCounter};
    use opentelemetry::KeyValue;
    use std::time::Instant;

    pub(in crate::metrics) struct ReceiverInstruments {
        callbacks: Counter<u64>,
        queue_depth: UpDownCounter<i64>,
        handler_duration: Histogram<f64>,
    }

    impl ReceiverInstruments {
        pub(in crate::metrics) fn new(meter: &Meter) -> Self {
            ReceiverInstruments {
                callbacks: meter
                    .u64_counter("sinch.webhook.callbacks")
                    .with_unit("{callback}")
                    .with_description("Callbacks answered, by outcome (accepted, duplicate, rejected, unavailable) and reason")
                    .build(),
                queue_depth: meter
                    .i64_up_down_counter("sinch.webhook.queue.depth")
                    .with_unit("{event}")
                    .with_description("Events accepted and waiting for a worker")
                    .build(),
                handler_duration: meter
                    .f64_histogram("sinch.webhook.handler.duration")
                    .with_unit("s")
                    .with_description("Time your handler took per event; error.type set when it failed or panicked")
                    .with_boundaries(HTTP_BUCKETS.to_vec())
                    .build(),
            }
        }

        pub(in crate::metrics) fn received(&self, result: &Result<(), Rejection>) {
            let (outcome, reason) = match result {
                Ok(()) => ("accepted", None),
                Err(Rejection::Duplicate) => ("duplicate", None),
                Err(Rejection::TooLarge { .. }) => ("rejected", Some("too_large")),
                Err(Rejection::Signature(_)) => ("rejected", Some("signature")),
                Err(Rejection::Parse(_)) => ("rejected", Some("parse")),
                Err(Rejection::Unreadable) => ("rejected", Some("unreadable")),
                Err(Rejection::InProgress) => ("unavailable", Some("in_progress")),
                Err(Rejection::Store(_)) => ("unavailable", Some("store")),
                Err(Rejection::Unavailable("full")) => ("unavailable", Some("full")),
                Err(Rejection::Unavailable(_)) => ("unavailable", Some("shutting_down")),
                Err(Rejection::Handler(_)) => ("unavailable", Some("handler")),
            };
            self.count(outcome, reason);
        }

        pub(in crate::metrics) fn refused(&self, why: Refused) {
            let reason = match why {
                Refused::Method => "method",
                Refused::TooLarge => "too_large",
                Refused::Unreadable => "unreadable",
            };
            self.count("rejected", Some(reason));
        }

        fn count(&self, outcome: &'static str, reason: Option<&'static str>) {
            let outcome = KeyValue::new(OUTCOME, outcome);
            match reason {
                None => self.callbacks.add(1, &[outcome]),
                Some(r) => self.callbacks.add(1, &[outcome, KeyValue::new(REASON, r)]),
            }
        }

        pub(in crate::metrics) fn queued(&self, delta: i64) {
            self.queue_depth.add(delta, &[]);
        }

        pub(in crate::metrics) fn handled(&self, started: Instant, error: Option<HandlerError>) {
            let seconds = started.elapsed().as_secs_f64();
            match error {
                None => self.handler_duration.record(seconds, &[]),
                Some(e) => {
                    let e = match e {
                        HandlerError::Error => "error",
                        HandlerError::Panic => "panic",
                    };
                    self.handler_duration
                        .record(seconds, &[KeyValue::new(ERROR, e)]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};

    /// `http.client.active_requests` as the SDK has it now.
    fn active(provider: &SdkMeterProvider, exporter: &InMemoryMetricExporter) -> i64 {
        exporter.reset();
        provider.force_flush().unwrap();
        let metrics = exporter.get_finished_metrics().unwrap();
        let mut total = 0;
        for scope in metrics.last().unwrap().scope_metrics() {
            for m in scope.metrics() {
                if let AggregatedMetrics::I64(MetricData::Sum(sum)) = m.data() {
                    if m.name() == "http.client.active_requests" {
                        total += sum.data_points().map(|p| p.value()).sum::<i64>();
                    }
                }
            }
        }
        total
    }

    #[test]
    fn hand_overs_from_racing_threads_add_up_to_the_count() {
        let exporter = InMemoryMetricExporter::default();
        let reader = PeriodicReader::builder(exporter.clone()).build();
        let provider = SdkMeterProvider::builder().with_reader(reader).build();
        let url = reqwest::Url::parse("https://us.conversation.api.sinch.com").unwrap();
        let m = &ClientInstruments::new(&provider.meter("test"), [&url, &url, &url]);
        let started = |n: usize| {
            (0..n)
                .map(|_| m.attempt(Service::Conversation, &Method::POST))
                .collect::<Vec<_>>()
        };
        // Four threads open and close attempts in bursts, up to 60 each at a time.
        std::thread::scope(|s| {
            for t in 0..4 {
                s.spawn(move || {
                    let mut open = vec![];
                    for i in 0..20_000usize {
                        if open.len() < 60 && (i / 50 + t) % 2 == 0 {
                            open.push(m.attempt(Service::Conversation, &Method::POST));
                        } else {
                            open.pop();
                        }
                    }
                });
            }
        });
        assert_eq!(active(&provider, &exporter), 0, "none in flight");
        // Exact up to 15, within an eighth above.
        let few = started(15);
        assert_eq!(active(&provider, &exporter), 15);
        let many = started(185);
        let seen = active(&provider, &exporter);
        assert!((175..=200).contains(&seen), "{seen} of 200");
        drop(many);
        assert_eq!(active(&provider, &exporter), 15);
        drop(few);
        assert_eq!(active(&provider, &exporter), 0);
    }
}
