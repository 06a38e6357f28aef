//! The metrics an operator alerts on, read back through the OpenTelemetry SDK's in-memory
//! exporter after scripted runs against the embedded fake and a webhook receiver: each count
//! and attribute is the one the run must produce. Also the readable state without a meter
//! (pace, token expiry) and the client span's attributes.

#[path = "support/serve.rs"]
mod serve;

use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use serve::{inbound, post_signed, serve_axum};
use sinch_conversation::fake::{Fake, Fault};
use sinch_conversation::prelude::*;
use sinch_conversation::types::{AppMessage, ConversationChannel, Recipient, SendMessageRequest};
use sinch_conversation::webhook::{self, Event, Receiver, Verifier};
use sinch_conversation::{CallOptions, ClientBuilder, Error};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// A meter provider whose readings the test collects when it wants.
struct Meters {
    provider: SdkMeterProvider,
    exporter: InMemoryMetricExporter,
}

/// One data point: its attributes and its value (a counter's sum, a gauge's value, a
/// histogram's count).
#[derive(Debug, Clone)]
struct Point {
    name: String,
    unit: String,
    attrs: BTreeMap<String, String>,
    value: f64,
    /// Histograms: the sum of the recorded values.
    sum: f64,
}

impl Meters {
    fn new() -> Meters {
        let exporter = InMemoryMetricExporter::default();
        // Collected on `force_flush` only.
        let reader = PeriodicReader::builder(exporter.clone())
            .with_interval(Duration::from_secs(3600))
            .build();
        let provider = SdkMeterProvider::builder().with_reader(reader).build();
        Meters { provider, exporter }
    }

    /// A fake whose project limit is `limit`, an SMS app on it, and a client builder for it
    /// that records with these meters.
    async fn fake(&self, limit: Option<f64>) -> (Fake, String, ClientBuilder) {
        let fake = Fake::builder().rate_limit(limit).start().await.unwrap();
        let app = fake.create_app("metrics", &[ConversationChannel::Sms]);
        let builder = fake.client_builder().meter_provider(&self.provider);
        (fake, app, builder)
    }

    /// Every data point as of now (cumulative).
    fn points(&self) -> Vec<Point> {
        self.exporter.reset();
        self.provider.force_flush().unwrap();
        let batches = self.exporter.get_finished_metrics().unwrap();
        let last = batches.last().expect("one collection");
        let mut out = vec![];
        for scope in last.scope_metrics() {
            assert_eq!(scope.scope().name(), "sinch-conversation");
            for m in scope.metrics() {
                let point = |attrs: &mut dyn Iterator<Item = &opentelemetry::KeyValue>,
                             value: f64,
                             sum: f64| Point {
                    name: m.name().to_owned(),
                    unit: m.unit().to_owned(),
                    attrs: attrs
                        .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                        .collect(),
                    value,
                    sum,
                };
                macro_rules! points {
                    ($data:expr) => {
                        match $data {
                            MetricData::Sum(s) => {
                                for p in s.data_points() {
                                    out.push(point(&mut p.attributes(), p.value() as f64, 0.0));
                                }
                            }
                            MetricData::Gauge(g) => {
                                for p in g.data_points() {
                                    out.push(point(&mut p.attributes(), p.value() as f64, 0.0));
                                }
                            }
                            MetricData::Histogram(h) => {
                                for p in h.data_points() {
                                    let sum = p.sum() as f64;
                                    out.push(point(&mut p.attributes(), p.count() as f64, sum));
                                }
                            }
                            MetricData::ExponentialHistogram(_) => unreachable!(),
                        }
                    };
                }
                match m.data() {
                    AggregatedMetrics::F64(d) => points!(d),
                    AggregatedMetrics::U64(d) => points!(d),
                    AggregatedMetrics::I64(d) => points!(d),
                }
            }
        }
        out
    }
}

/// The points of `name` whose attributes include `with`.
fn matching<'a>(points: &'a [Point], name: &str, with: &[(&str, &str)]) -> Vec<&'a Point> {
    points
        .iter()
        .filter(|p| p.name == name)
        .filter(|p| {
            with.iter()
                .all(|(k, v)| p.attrs.get(*k).map(String::as_str) == Some(v))
        })
        .collect()
}

/// The total of `name`'s points whose attributes include `with` (0 when there are none).
fn total(points: &[Point], name: &str, with: &[(&str, &str)]) -> f64 {
    matching(points, name, with).iter().map(|p| p.value).sum()
}

/// The one point of `name` with exactly the attributes `attrs`.
fn exactly<'a>(points: &'a [Point], name: &str, attrs: &[(&str, &str)]) -> &'a Point {
    let want: BTreeMap<String, String> = attrs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let found: Vec<_> = points
        .iter()
        .filter(|p| p.name == name && p.attrs == want)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{name} {want:?} among {:#?}",
        points.iter().filter(|p| p.name == name).collect::<Vec<_>>()
    );
    found[0]
}

fn sms(app: &str, to: &str) -> SendMessageRequest {
    SendMessageRequest::new(
        app,
        Recipient::channel(ConversationChannel::Sms, to),
        AppMessage::text("hi"),
    )
}

const SEND: &str = "messages_send_message";

/// What the fake answered `operation`, in order.
fn statuses(fake: &Fake, operation: &str) -> Vec<u16> {
    fake.requests_for(operation)
        .iter()
        .map(|r| r.status)
        .collect()
}

#[tokio::test]
async fn a_scripted_run_records_each_attempt_retry_429_and_token_request() {
    let meters = Meters::new();
    let (fake, app, client) = meters.fake(None).await;
    let client = client.build().unwrap();
    let port = fake.addr().port().to_string();

    // 1: a plain send (and the first token).
    client.send_message(&sms(&app, "+15550001")).await.unwrap();
    // 2: the token expired: a 401, a new token, the send again.
    fake.expire_tokens();
    client.send_message(&sms(&app, "+15550002")).await.unwrap();
    // 3: two 429s (waited out as the RetryInfo says), then accepted.
    let throttle = Fault::status(429).retry_after(Duration::from_millis(20));
    fake.inject("Messages_SendMessage", throttle.times(2));
    client.send_message(&sms(&app, "+15550003")).await.unwrap();
    assert!(client.pace().is_some(), "a 429 engages the limiter");
    // 4: two 503s, retried, then accepted.
    fake.inject("Messages_SendMessage", Fault::status(503).times(2));
    client.send_message(&sms(&app, "+15550004")).await.unwrap();
    // 5: a 400 ends the call.
    let mut bad = sms(&app, "+15550005");
    bad.app_id = "not-a-ulid".into();
    let e = client.send_message(&bad).await.unwrap_err();
    assert!(matches!(&e, Error::Api(a) if a.status == 400), "{e:?}");

    assert_eq!(
        statuses(&fake, "Messages_SendMessage"),
        [200, 401, 200, 429, 429, 200, 503, 503, 200, 400]
    );
    assert_eq!(statuses(&fake, "oauth2.token"), [200, 200]);
    let p = meters.points();

    // Each attempt, with the semantic conventions' attributes and the operation.
    let http = "http.client.request.duration";
    let attempt = |status: &str, error: Option<&str>| {
        let mut attrs = vec![
            ("http.request.method", "POST"),
            ("server.address", "127.0.0.1"),
            ("server.port", port.as_str()),
            ("http.response.status_code", status),
            ("sinch.operation", SEND),
        ];
        attrs.extend(error.map(|e| ("error.type", e)));
        exactly(&p, http, &attrs).value
    };
    assert_eq!(attempt("200", None), 4.0);
    assert_eq!(attempt("401", Some("401")), 1.0);
    assert_eq!(attempt("429", Some("429")), 2.0);
    assert_eq!(attempt("503", Some("503")), 2.0);
    assert_eq!(attempt("400", Some("400")), 1.0);
    assert_eq!(total(&p, http, &[]), 10.0);
    assert!(matching(&p, http, &[]).iter().all(|p| p.unit == "s"));

    // Each call once, with its outcome.
    let calls = "sinch.client.call.duration";
    assert_eq!(exactly(&p, calls, &[("sinch.operation", SEND)]).value, 4.0);
    let failed = [("sinch.operation", SEND), ("error.type", "400")];
    assert_eq!(exactly(&p, calls, &failed).value, 1.0);
    // The throttled call waited at least the two 20 ms the API asked for.
    assert!(exactly(&p, calls, &[("sinch.operation", SEND)]).sum >= 0.04);

    // Retries by reason, 429s, token requests; nothing in flight after the run.
    let retries = |reason| {
        let attrs = [("sinch.operation", SEND), ("sinch.reason", reason)];
        exactly(&p, "sinch.client.retries", &attrs).value
    };
    assert_eq!(
        (retries("401"), retries("429"), retries("5xx")),
        (1.0, 2.0, 2.0)
    );
    assert_eq!(total(&p, "sinch.client.retries", &[]), 5.0);
    let throttled = [("sinch.service", "conversation"), ("sinch.operation", SEND)];
    assert_eq!(exactly(&p, "sinch.client.throttled", &throttled).value, 2.0);
    let tokens = [("sinch.outcome", "success")];
    assert_eq!(
        exactly(&p, "sinch.client.token.requests", &tokens).value,
        2.0
    );
    assert_eq!(total(&p, "sinch.client.token.requests", &[]), 2.0);
    let in_flight = [
        ("http.request.method", "POST"),
        ("server.address", "127.0.0.1"),
        ("server.port", port.as_str()),
    ];
    assert_eq!(total(&p, "http.client.active_requests", &in_flight), 0.0);
    assert_eq!(total(&p, "sinch.client.gave_up", &[]), 0.0);

    // The limiter's state, as the client reads it.
    let conversation = [("sinch.service", "conversation")];
    assert_eq!(
        exactly(&p, "sinch.client.limiter.engaged", &conversation).value,
        1.0
    );
    let rate = exactly(&p, "sinch.client.limiter.rate", &conversation).value;
    assert!(rate > 0.0, "{rate}");
    let templates = [("sinch.service", "templates")];
    assert_eq!(
        exactly(&p, "sinch.client.limiter.engaged", &templates).value,
        0.0
    );
    assert_eq!(client.templates().pace(), None);

    // The token's expiry, in Unix seconds: the fake's tokens live an hour.
    let expiry = exactly(&p, "sinch.client.token.expiry", &[]).value;
    let read = client.token_expiry().unwrap();
    let unix = read
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((expiry - unix).abs() < 5.0, "{expiry} {unix}");
    let left = read.duration_since(std::time::SystemTime::now()).unwrap();
    assert!(left > Duration::from_secs(3500), "{left:?}");
}

#[tokio::test]
async fn requests_waiting_for_their_answer_are_in_flight() {
    let meters = Meters::new();
    let (fake, app, client) = meters.fake(None).await;
    let client = client.build().unwrap();
    client.send_message(&sms(&app, "+15550000")).await.unwrap();
    fake.inject(
        "Messages_SendMessage",
        Fault::delay(Duration::from_millis(500)).times(5),
    );
    let sends: Vec<_> = (1..=5)
        .map(|i| {
            let (client, request) = (client.clone(), sms(&app, &format!("+1555000{i}")));
            tokio::spawn(async move { client.send_message(&request).await.map(|_| ()) })
        })
        .collect();
    let in_flight = [
        ("http.request.method", "POST"),
        ("server.address", "127.0.0.1"),
    ];
    let mut seen = 0.0;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        seen = total(&meters.points(), "http.client.active_requests", &in_flight);
        if seen == 5.0 {
            break;
        }
    }
    assert_eq!(seen, 5.0);
    for s in sends {
        s.await.unwrap().unwrap();
    }
    assert_eq!(
        total(&meters.points(), "http.client.active_requests", &in_flight),
        0.0
    );
}

#[tokio::test]
async fn token_failures_timeouts_and_lost_connections_are_counted_by_reason() {
    let meters = Meters::new();
    let (fake, app, client) = meters.fake(None).await;
    let quick = RetryConfig::default().initial_backoff(Duration::from_millis(1));
    let client = client.retry(quick.clone()).build().unwrap();
    // The token endpoint is down for a moment: two 503s, then a token.
    fake.inject("oauth2.token", Fault::status(503).times(2));
    client.app_get_app().app_id(&app).send().await.unwrap();
    // A GET whose connection is lost, and one that takes longer than its attempt may: both
    // repeated (a GET is safe to repeat).
    fake.inject("App_GetApp", Fault::drop_connection());
    client.app_get_app().app_id(&app).send().await.unwrap();
    fake.inject("App_GetApp", Fault::delay(Duration::from_secs(2)));
    let short = CallOptions::new().timeout(Duration::from_millis(200));
    client
        .app_get_app()
        .app_id(&app)
        .options(short)
        .send()
        .await
        .unwrap();
    // A key the token endpoint refuses.
    let wrong = fake
        .client_builder()
        .meter_provider(&meters.provider)
        .credentials(Credentials::oauth2(fake.key_id(), "not the secret"))
        .build()
        .unwrap();
    let e = wrong
        .send_message(&sms(&app, "+15550001"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Auth(_)), "{e:?}");

    assert_eq!(statuses(&fake, "oauth2.token"), [503, 503, 200, 401]);
    // The delayed answer is logged when it comes, after the repeat's.
    assert!(statuses(&fake, "App_GetApp").starts_with(&[200, 0, 200, 200]));
    let p = meters.points();
    let tokens = "sinch.client.token.requests";
    let outcome = |o| exactly(&p, tokens, &[("sinch.outcome", o)]).value;
    assert_eq!(
        (
            outcome("unavailable"),
            outcome("success"),
            outcome("rejected")
        ),
        (2.0, 1.0, 1.0)
    );
    let get = "app_get_app";
    let retries = |reason| {
        let attrs = [("sinch.operation", get), ("sinch.reason", reason)];
        exactly(&p, "sinch.client.retries", &attrs).value
    };
    assert_eq!((retries("transport"), retries("timeout")), (1.0, 1.0));
    let http = "http.client.request.duration";
    let failed = |e| total(&p, http, &[("sinch.operation", get), ("error.type", e)]);
    assert_eq!((failed("transport"), failed("timeout")), (1.0, 1.0));
    // The timed-out attempt has no status; the call succeeded in the end.
    let timed_out = matching(&p, http, &[("error.type", "timeout")]);
    assert!(!timed_out[0].attrs.contains_key("http.response.status_code"));
    let calls = "sinch.client.call.duration";
    assert_eq!(exactly(&p, calls, &[("sinch.operation", get)]).value, 3.0);
    let refused = [("sinch.operation", SEND), ("error.type", "auth")];
    assert_eq!(exactly(&p, calls, &refused).value, 1.0);
    // No request reached the API with the refused key.
    assert!(statuses(&fake, "Messages_SendMessage").is_empty());
}

#[tokio::test]
async fn retries_stopped_by_the_budget_or_the_deadline_are_counted() {
    let meters = Meters::new();
    let (fake, app, client) = meters.fake(None).await;
    // A budget that pays for exactly one retry.
    let retry = RetryConfig::default()
        .initial_backoff(Duration::from_millis(1))
        .budget(sinch_conversation::BudgetConfig {
            capacity: 5,
            retry_cost: 5,
        });
    let client = client.retry(retry).build().unwrap();
    client.send_message(&sms(&app, "+15550001")).await.unwrap();
    fake.inject("Messages_SendMessage", Fault::status(503).times(2));
    let e = client
        .send_message(&sms(&app, "+15550002"))
        .await
        .unwrap_err();
    assert!(matches!(&e, Error::Api(a) if a.status == 503), "{e:?}");
    // A 429 asking for longer than the call has left.
    let slow = Fault::status(429).retry_after(Duration::from_secs(2));
    fake.inject("Messages_SendMessage", slow);
    let by = CallOptions::new().deadline(std::time::Instant::now() + Duration::from_millis(500));
    let e = client
        .send_message_with_options(&sms(&app, "+15550003"), &by)
        .await
        .unwrap_err();
    assert!(matches!(&e, Error::Api(a) if a.status == 429), "{e:?}");

    let p = meters.points();
    let gave_up = |reason| {
        let attrs = [("sinch.operation", SEND), ("sinch.reason", reason)];
        exactly(&p, "sinch.client.gave_up", &attrs).value
    };
    assert_eq!((gave_up("retry_budget"), gave_up("deadline")), (1.0, 1.0));
    let retries = [("sinch.operation", SEND), ("sinch.reason", "5xx")];
    assert_eq!(exactly(&p, "sinch.client.retries", &retries).value, 1.0);
    let calls = "sinch.client.call.duration";
    let errors = |e| exactly(&p, calls, &[("sinch.operation", SEND), ("error.type", e)]).value;
    assert_eq!((errors("503"), errors("429")), (1.0, 1.0));
}

#[tokio::test]
async fn a_bulk_send_through_the_fakes_limit_records_its_429s_pace_and_window() {
    let meters = Meters::new();
    let (fake, app, client) = meters.fake(Some(400.0)).await;
    let client = client.build().unwrap();
    let n = 400;
    let requests = (0..n).map(|i| sms(&app, &format!("+1555{i:07}")));
    let mut outcomes = std::pin::pin!(client.send_all(requests, 64));
    let mut done = 0;
    let mut window_seen = 0.0f64;
    while let Some(o) = outcomes.next().await {
        o.result.unwrap();
        done += 1;
        if done % 100 == 0 {
            let p = meters.points();
            window_seen = window_seen.max(exactly(&p, "sinch.client.bulk.window", &[]).value);
        }
    }
    assert_eq!(done, n);

    let answers = statuses(&fake, "Messages_SendMessage");
    let refused = answers.iter().filter(|s| **s == 429).count() as f64;
    assert!(refused > 0.0, "the fake's limit was reached");
    assert_eq!(answers.len() as f64 - refused, n as f64);
    let p = meters.points();
    let throttled = [("sinch.service", "conversation"), ("sinch.operation", SEND)];
    assert_eq!(
        exactly(&p, "sinch.client.throttled", &throttled).value,
        refused
    );
    let retried = [("sinch.operation", SEND), ("sinch.reason", "429")];
    assert_eq!(exactly(&p, "sinch.client.retries", &retried).value, refused);
    let http = "http.client.request.duration";
    assert_eq!(
        total(&p, http, &[("http.response.status_code", "429")]),
        refused
    );
    assert_eq!(
        total(&p, http, &[("http.response.status_code", "200")]),
        n as f64
    );
    assert_eq!(
        exactly(
            &p,
            "sinch.client.call.duration",
            &[("sinch.operation", SEND)]
        )
        .value,
        n as f64
    );
    // Nothing in flight any more; the window opened past its first four and closed when the
    // send ended.
    let in_flight = [
        ("http.request.method", "POST"),
        ("server.address", "127.0.0.1"),
    ];
    assert_eq!(
        matching(&p, "http.client.active_requests", &in_flight).len(),
        1
    );
    assert_eq!(total(&p, "http.client.active_requests", &in_flight), 0.0);
    assert!(window_seen > 4.0, "{window_seen}");
    assert_eq!(exactly(&p, "sinch.client.bulk.window", &[]).value, 0.0);
    // Paced at what the fake accepts, and the client reads the same pace.
    let conversation = [("sinch.service", "conversation")];
    assert_eq!(
        exactly(&p, "sinch.client.limiter.engaged", &conversation).value,
        1.0
    );
    let rate = exactly(&p, "sinch.client.limiter.rate", &conversation).value;
    assert!((50.0..=800.0).contains(&rate), "{rate}");
    let read = client.pace().expect("engaged");
    assert!((50.0..=800.0).contains(&read), "{read}");
}

#[tokio::test]
async fn the_receiver_counts_each_outcome_its_queue_and_its_handler() {
    const SECRET: &str = "metrics-secret";
    let meters = Meters::new();
    // One worker, room for one event: the first is handled (slowly), the second waits, the
    // third finds no room.
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let handler = {
        let gate = gate.clone();
        move |e: Event| {
            let gate = gate.clone();
            async move {
                let text = match &e {
                    Event::MessageInbound(m) => m.message.contact_message.text_message.clone(),
                    _ => None,
                };
                gate.acquire().await.unwrap().forget();
                match text.map(|t| t.text).as_deref() {
                    Some("fail") => Err(std::io::Error::other("the database is down")),
                    Some("panic") => panic!("a bug in the handler"),
                    _ => Ok(()),
                }
            }
        }
    };
    let intake = webhook::Intake::new(Verifier::new(SECRET)).max_body(4096);
    let receiver = Receiver::builder(intake)
        .workers(1)
        .capacity(1)
        .meter_provider(&meters.provider)
        .start(handler);
    let router = axum::Router::new().route_service("/callbacks", receiver.service());
    let url = format!("{}/callbacks", serve_axum(router).await);

    let first = inbound("app", "m1", "c1", "fail");
    assert_eq!(post_signed(&url, SECRET, &first).await.status, 200);
    // The worker takes the first; the second waits in the queue.
    for _ in 0..200 {
        let p = meters.points();
        if matching(&p, "sinch.webhook.queue.depth", &[])
            .iter()
            .any(|p| p.value == 0.0)
            && receiver.stats().accepted == 1
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let second = inbound("app", "m2", "c1", "panic");
    assert_eq!(post_signed(&url, SECRET, &second).await.status, 200);
    assert_eq!(
        exactly(&meters.points(), "sinch.webhook.queue.depth", &[]).value,
        1.0
    );
    let third = inbound("app", "m3", "c1", "ok");
    let full = post_signed(&url, SECRET, &third).await;
    assert_eq!(full.status, 503);
    // A copy of the first, a forgery, signed nonsense, too large, not a POST.
    assert_eq!(post_signed(&url, SECRET, &first).await.status, 200);
    assert_eq!(
        post_signed(&url, "another secret", &third).await.status,
        401
    );
    assert_eq!(post_signed(&url, SECRET, b"{not json").await.status, 400);
    let big = vec![b' '; 5000];
    assert_eq!(post_signed(&url, SECRET, &big).await.status, 413);
    let get = reqwest::get(&url).await.unwrap();
    assert_eq!(get.status(), 405);
    // The API redelivers the third later, when there is room.
    gate.add_permits(3);
    for _ in 0..200 {
        if receiver.stats().pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(post_signed(&url, SECRET, &third).await.status, 200);
    receiver.shutdown().await;
    // After shutdown: 503, so the API redelivers to another instance or later.
    let fourth = inbound("app", "m4", "c1", "ok");
    assert_eq!(post_signed(&url, SECRET, &fourth).await.status, 503);

    let p = meters.points();
    let callbacks = "sinch.webhook.callbacks";
    let count = |outcome: &str, reason: Option<&str>| {
        let mut attrs = vec![("sinch.outcome", outcome)];
        attrs.extend(reason.map(|r| ("sinch.reason", r)));
        exactly(&p, callbacks, &attrs).value
    };
    assert_eq!(count("accepted", None), 3.0);
    assert_eq!(count("duplicate", None), 1.0);
    assert_eq!(count("unavailable", Some("full")), 1.0);
    assert_eq!(count("rejected", Some("signature")), 1.0);
    assert_eq!(count("rejected", Some("parse")), 1.0);
    assert_eq!(count("rejected", Some("too_large")), 1.0);
    assert_eq!(count("rejected", Some("method")), 1.0);
    assert_eq!(count("unavailable", Some("shutting_down")), 1.0);
    assert_eq!(total(&p, callbacks, &[]), 10.0);
    assert_eq!(exactly(&p, "sinch.webhook.queue.depth", &[]).value, 0.0);
    let handler = "sinch.webhook.handler.duration";
    assert_eq!(exactly(&p, handler, &[]).value, 1.0);
    assert_eq!(exactly(&p, handler, &[("error.type", "error")]).value, 1.0);
    assert_eq!(exactly(&p, handler, &[("error.type", "panic")]).value, 1.0);
    // The same story in the receiver's own counters, readable without a meter.
    let s = receiver.stats();
    assert_eq!((s.received, s.accepted, s.duplicates), (10, 3, 1));
    assert_eq!(
        (s.rejected, s.unavailable, s.handled, s.failed),
        (4, 2, 1, 2)
    );
}

#[tokio::test]
async fn per_call_options_replace_the_clients_timeout_retries_and_deadline() {
    let fake = Fake::builder().rate_limit(None).start().await.unwrap();
    let app = fake.create_app("options", &[ConversationChannel::Sms]);
    let client = fake
        .client_builder()
        .timeout(Some(Duration::from_secs(30)))
        .retry(RetryConfig::disabled())
        .without_metrics()
        .build()
        .unwrap();
    // Retries for one call of a client built without them.
    fake.inject("App_GetApp", Fault::status(503).times(2));
    let retrying =
        CallOptions::new().retry(RetryConfig::default().initial_backoff(Duration::from_millis(1)));
    let got = client
        .app_get_app()
        .app_id(&app)
        .options(retrying.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(got.id.as_deref(), Some(app.as_str()));
    fake.inject("App_GetApp", Fault::status(503));
    let e = client.app_get_app().app_id(&app).send().await.unwrap_err();
    assert!(matches!(Error::from(e), Error::Api(a) if a.status == 503));
    // ... and for send_message.
    fake.inject("Messages_SendMessage", Fault::status(503));
    client
        .send_message_with_options(&sms(&app, "+15550001"), &retrying)
        .await
        .unwrap();
    assert_eq!(statuses(&fake, "App_GetApp"), [503, 503, 200, 503]);
    assert_eq!(statuses(&fake, "Messages_SendMessage"), [503, 200]);

    // A shorter timeout for one call.
    fake.inject("App_GetApp", Fault::delay(Duration::from_secs(2)));
    let quick = CallOptions::new().timeout(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let e = client
        .app_get_app()
        .app_id(&app)
        .options(quick.clone())
        .send()
        .await
        .unwrap_err();
    assert!(matches!(Error::from(e), Error::Timeout(_)));
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    fake.inject("Messages_SendMessage", Fault::delay(Duration::from_secs(2)));
    let started = std::time::Instant::now();
    let e = client
        .send_message_with_options(&sms(&app, "+15550002"), &quick)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Timeout(_)), "{e:?}");
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );

    // A deadline: the wait the 503 asks for would pass it, so the call ends there.
    fake.inject(
        "App_GetApp",
        Fault::status(503).retry_after(Duration::from_secs(2)),
    );
    let by = CallOptions::new()
        .retry(RetryConfig::default())
        .deadline(std::time::Instant::now() + Duration::from_millis(500));
    let started = std::time::Instant::now();
    let e = client
        .app_get_app()
        .app_id(&app)
        .options(by)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(Error::from(e), Error::Api(a) if a.status == 503));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    // A deadline already past: nothing is sent.
    let before = fake.requests_for("App_GetApp").len();
    let past = CallOptions::new().deadline(std::time::Instant::now());
    let e = client
        .app_get_app()
        .app_id(&app)
        .options(past)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(Error::from(e), Error::Timeout(_)));
    assert_eq!(fake.requests_for("App_GetApp").len(), before);
    // The client's own settings are untouched.
    client.app_get_app().app_id(&app).send().await.unwrap();
}

#[tokio::test]
async fn without_a_meter_the_state_is_still_readable() {
    let fake = Fake::builder().start().await.unwrap();
    let app = fake.create_app("state", &[ConversationChannel::Sms]);
    let client = fake.client_builder().without_metrics().build().unwrap();
    assert_eq!(client.pace(), None);
    assert_eq!(
        client.token_expiry(),
        None,
        "no token before the first call"
    );
    client.send_message(&sms(&app, "+15550001")).await.unwrap();
    assert!(client.token_expiry().is_some());
    fake.inject(
        "Messages_SendMessage",
        Fault::status(429).retry_after(Duration::from_millis(10)),
    );
    client.send_message(&sms(&app, "+15550002")).await.unwrap();
    assert!(client.pace().is_some_and(|r| r > 0.0));
    assert_eq!(client.batch().pace(), None);
    // A ceiling paces from the start; Basic credentials have no token.
    let capped = fake
        .client_builder()
        .credentials(Credentials::basic(fake.key_id(), fake.key_secret()))
        .rate_limit(RateLimit::adaptive().ceiling(100.0))
        .build()
        .unwrap();
    assert_eq!(capped.pace(), Some(100.0));
    assert_eq!(capped.templates().pace(), Some(100.0));
    capped.send_message(&sms(&app, "+15550003")).await.unwrap();
    assert_eq!(capped.token_expiry(), None);
    let off = fake
        .client_builder()
        .rate_limit(RateLimit::off())
        .build()
        .unwrap();
    assert_eq!(off.pace(), None);
}

/// A tracing subscriber that keeps the fields of every `sinch.request` span.
mod spans {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    #[derive(Clone, Default)]
    pub struct Spans(pub Arc<Mutex<Vec<BTreeMap<String, String>>>>);

    struct Fields<'a>(&'a mut BTreeMap<String, String>);

    impl Visit for Fields<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.insert(field.name().to_owned(), format!("{value:?}"));
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.insert(field.name().to_owned(), value.to_owned());
        }
    }

    impl Subscriber for Spans {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, span: &Attributes<'_>) -> Id {
            let mut spans = self.0.lock().unwrap();
            let mut fields = BTreeMap::new();
            fields.insert("name".to_owned(), span.metadata().name().to_owned());
            span.record(&mut Fields(&mut fields));
            spans.push(fields);
            Id::from_u64(spans.len() as u64)
        }
        fn record(&self, span: &Id, values: &Record<'_>) {
            let mut spans = self.0.lock().unwrap();
            let fields = &mut spans[span.into_u64() as usize - 1];
            values.record(&mut Fields(fields));
        }
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, _: &Event<'_>) {}
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }
}

#[tokio::test]
async fn each_attempt_is_a_client_span_with_the_http_conventions_attributes() {
    let fake = Fake::builder().rate_limit(None).start().await.unwrap();
    let app = fake.create_app("spans", &[ConversationChannel::Sms]);
    let client = fake.client();
    client.send_message(&sms(&app, "+15550000")).await.unwrap(); // the token, outside the spans
    let spans = spans::Spans::default();
    let _guard = tracing::subscriber::set_default(spans.clone());
    fake.inject("Messages_SendMessage", Fault::status(503));
    client.send_message(&sms(&app, "+15550001")).await.unwrap();
    let got: Vec<_> = spans
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == "sinch.request")
        .cloned()
        .collect();
    assert_eq!(got.len(), 2, "{got:#?}");
    let port = fake.addr().port().to_string();
    for s in &got {
        assert_eq!(s["otel.kind"], "client");
        assert_eq!(s["otel.name"], "POST");
        assert_eq!(s["http.request.method"], "POST");
        assert_eq!(s["server.address"], "127.0.0.1");
        assert_eq!(s["server.port"], port);
        assert_eq!(s["sinch.operation"], SEND);
    }
    let (first, second) = (&got[0], &got[1]);
    assert_eq!(first["http.response.status_code"], "503");
    assert_eq!(first["error.type"], "503");
    assert_eq!(first["otel.status_code"], "ERROR");
    assert!(!first.contains_key("http.request.resend_count"));
    assert_eq!(second["http.response.status_code"], "200");
    assert_eq!(second["http.request.resend_count"], "1");
    assert_eq!(second["attempt"], "2");
    assert!(!second.contains_key("error.type") && !second.contains_key("otel.status_code"));
}
