//! Control endpoints under `/_fake` (a prefix no API path has), so a test in any language can
//! do what a Rust test does through [`super::Fake`]: set up apps, play the handset, plan
//! faults, move the clock, and inspect requests, messages and callbacks. No credentials: the
//! fake serves loopback.

use super::core::faults::Fault;
use super::core::reply::ApiFailure;
use super::core::server::json_response;
use super::core::state::Shared;
use super::{conversation, recipients};
use crate::types;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/", get(info))
        .route("/apps", post(create_app))
        .route("/inbound", post(inbound))
        .route("/inbound-event", post(inbound_event))
        .route("/faults", post(add_fault).delete(clear_faults))
        .route("/clock", get(clock))
        .route("/clock/advance", post(advance))
        .route("/tokens/expire", post(expire_tokens))
        .route("/idle", post(idle))
        .route("/requests", get(requests))
        .route("/messages", get(messages))
        .route("/contacts", get(contacts))
        .route("/callbacks", get(callbacks))
        .route("/callbacks/{index}/redeliver", post(redeliver))
}

fn ok(value: impl serde::Serialize) -> Response {
    match serde_json::to_vec(&value) {
        Ok(body) => json_response(200, body.into(), vec![]),
        Err(e) => failure(ApiFailure::internal(e.to_string())),
    }
}

fn failure(f: ApiFailure) -> Response {
    json_response(f.status, f.body(), f.headers())
}

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiFailure> {
    serde_json::from_slice(body)
        .map_err(|e| ApiFailure::bad_request(format!("invalid control request: {e}")))
}

async fn info(State(s): State<Arc<Shared>>) -> Response {
    let base = format!("http://{}", s.addr);
    ok(json!({
        "base_url": base,
        "token_url": format!("{base}{}", super::core::auth::TOKEN_PATH),
        "templates_url": base,
        "batch_url": format!("{base}{}", super::batch::SERVICE.prefix),
        "project_id": s.cfg.project_id,
        "key_id": s.cfg.key_id,
        "key_secret": s.cfg.key_secret,
        "manual_clock": s.clock.is_manual(),
        "now": s.clock.now(),
        "test_recipients": recipients::all()
            .map(|(identity, outcome)| json!({"identity": identity, "outcome": outcome}))
            .collect::<Vec<_>>(),
        "endpoints": [
            "POST /_fake/apps {display_name, channels: [\"SMS\", ...], processing_mode?} or an App_CreateApp body",
            "POST /_fake/inbound {app_id, channel, identity, text | message}",
            "POST /_fake/inbound-event {app_id, channel, identity, event}",
            "POST /_fake/faults {operation, status? | delay_ms? | drop?, retry_after_ms?, times?}",
            "DELETE /_fake/faults",
            "GET /_fake/clock, POST /_fake/clock/advance {ms}",
            "POST /_fake/tokens/expire",
            "POST /_fake/idle {timeout_ms}",
            "GET /_fake/requests?operation=, /_fake/messages, /_fake/contacts, /_fake/callbacks",
            "POST /_fake/callbacks/{index}/redeliver",
        ],
    }))
}

#[derive(Deserialize)]
struct NewApp {
    display_name: String,
    #[serde(default)]
    channels: Vec<String>,
    processing_mode: Option<String>,
}

/// `POST /_fake/apps`: the short form, or a full `App_CreateApp` body.
async fn create_app(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let raw: Value = match parse(&body) {
        Ok(v) => v,
        Err(f) => return failure(f),
    };
    // A full body parses as the short form too (unknown fields are skipped), so its required
    // `channel_credentials` tells the two apart.
    let request = if raw.get("channel_credentials").is_some() {
        parse(&body)
    } else {
        parse::<NewApp>(&body).map(short_app)
    };
    let request = match request {
        Ok(r) => r,
        Err(f) => return failure(f),
    };
    match conversation::create_app(&s, &request) {
        Ok(app) => ok(app),
        Err(f) => failure(f),
    }
}

fn short_app(short: NewApp) -> types::AppCreateRequest {
    let channels: Vec<types::ConversationChannel> =
        short.channels.iter().map(|c| c.as_str().into()).collect();
    let mut r = super::app_request(&short.display_name, &channels);
    r.processing_mode = short.processing_mode.as_deref().map(Into::into);
    r
}

#[derive(Deserialize)]
struct Inbound {
    app_id: String,
    channel: types::ConversationChannel,
    identity: String,
    text: Option<String>,
    message: Option<types::ContactMessage>,
    event: Option<types::ContactEvent>,
}

async fn inbound(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let r: Inbound = match parse(&body) {
        Ok(r) => r,
        Err(f) => return failure(f),
    };
    let message = match (r.message, r.text) {
        (Some(m), _) => m,
        (None, Some(text)) => types::ContactMessage {
            text_message: Some(types::TextMessage { text }),
            ..Default::default()
        },
        (None, None) => {
            return failure(ApiFailure::bad_request(
                "an inbound message needs text or message",
            ))
        }
    };
    match conversation::inbound(&s, &r.app_id, r.channel, &r.identity, message) {
        Ok(m) => ok(m),
        Err(f) => failure(f),
    }
}

async fn inbound_event(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let r: Inbound = match parse(&body) {
        Ok(r) => r,
        Err(f) => return failure(f),
    };
    let Some(event) = r.event else {
        return failure(ApiFailure::bad_request("an inbound event needs event"));
    };
    match conversation::inbound_event(&s, &r.app_id, r.channel, &r.identity, event) {
        Ok(()) => ok(json!({})),
        Err(f) => failure(f),
    }
}

#[derive(Deserialize)]
struct NewFault {
    operation: String,
    status: Option<u16>,
    delay_ms: Option<u64>,
    #[serde(default)]
    drop: bool,
    retry_after_ms: Option<u64>,
    times: Option<u32>,
}

async fn add_fault(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let r: NewFault = match parse(&body) {
        Ok(r) => r,
        Err(f) => return failure(f),
    };
    // A typo in an operation would otherwise plan a fault that never fires. The token
    // endpoint's faults go by the name the server logs it under.
    let known = ["*", "oauth2.token"].contains(&r.operation.as_str())
        || super::operations().any(|op| op == r.operation);
    if !known {
        return failure(ApiFailure::bad_request(format!(
            "no operation {:?}: use an operationId, \"oauth2.token\" or \"*\"",
            r.operation
        )));
    }
    let times = r.times.unwrap_or(1);
    if times == 0 {
        return failure(ApiFailure::bad_request(
            "times: a plan covers at least one call",
        ));
    }
    let fault = match (r.status, r.delay_ms, r.drop, r.retry_after_ms) {
        (Some(status), None, false, wait) if (400..=599).contains(&status) => {
            let f = Fault::status(status);
            match wait {
                Some(ms) => f.retry_after(Duration::from_millis(ms)),
                None => f,
            }
        }
        (None, Some(ms), false, None) => Fault::delay(Duration::from_millis(ms)),
        (None, None, true, None) => Fault::drop_connection(),
        _ => {
            return failure(ApiFailure::bad_request(
                "a fault is one of status (400-599, retry_after_ms allowed), delay_ms, drop",
            ))
        }
    };
    s.faults.push(&r.operation, fault.times(times));
    ok(json!({}))
}

async fn clear_faults(State(s): State<Arc<Shared>>) -> Response {
    s.faults.clear();
    ok(json!({}))
}

async fn clock(State(s): State<Arc<Shared>>) -> Response {
    ok(json!({"now": s.clock.now(), "manual": s.clock.is_manual()}))
}

#[derive(Deserialize)]
struct Advance {
    ms: u64,
}

async fn advance(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let r: Advance = match parse(&body) {
        Ok(r) => r,
        Err(f) => return failure(f),
    };
    super::advance(&s, Duration::from_millis(r.ms));
    ok(json!({"now": s.clock.now()}))
}

async fn expire_tokens(State(s): State<Arc<Shared>>) -> Response {
    s.tokens.expire_all(s.clock.elapsed());
    ok(json!({}))
}

#[derive(Deserialize)]
struct Idle {
    timeout_ms: Option<u64>,
}

async fn idle(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let r: Idle = if body.is_empty() {
        Idle { timeout_ms: None }
    } else {
        match parse(&body) {
            Ok(r) => r,
            Err(f) => return failure(f),
        }
    };
    let timeout = Duration::from_millis(r.timeout_ms.unwrap_or(5000));
    ok(json!({"idle": super::wait_idle(&s, timeout).await}))
}

async fn requests(
    State(s): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let op = q.get("operation");
    let list: Vec<Value> = s
        .log
        .snapshot()
        .into_iter()
        .filter(|r| op.is_none_or(|o| &r.operation == o))
        .map(|r| {
            json!({
                "operation": r.operation,
                "method": r.method,
                "path": r.path,
                "query": r.query,
                "auth_scheme": r.auth_scheme,
                "body": r.json().unwrap_or_else(|| String::from_utf8_lossy(&r.body).into()),
                "status": r.status,
                "received_at": chrono::DateTime::<chrono::Utc>::from(r.received_at),
            })
        })
        .collect();
    ok(list)
}

async fn messages(State(s): State<Arc<Shared>>) -> Response {
    ok(super::all_messages(&s))
}

async fn contacts(State(s): State<Arc<Shared>>) -> Response {
    let project = s.cfg.project_id.clone();
    ok(s.with_project(&project, |p| {
        p.conv().contacts.values().cloned().collect::<Vec<_>>()
    }))
}

async fn callbacks(State(s): State<Arc<Shared>>) -> Response {
    let list: Vec<Value> = s
        .outbox
        .snapshot()
        .into_iter()
        .map(|c| {
            let attempts: Vec<Value> = c
                .attempts
                .iter()
                .map(|a| {
                    json!({
                        "status": a.status,
                        "error": a.error,
                        "at": chrono::DateTime::<chrono::Utc>::from(a.at),
                        "headers": a.headers.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect::<serde_json::Map<_, _>>(),
                    })
                })
                .collect();
            json!({
                "webhook_id": c.webhook_id,
                "target": c.target,
                "trigger": c.trigger,
                "body": serde_json::from_slice::<Value>(&c.body).unwrap_or(Value::Null),
                "redelivery_of": c.redelivery_of,
                "attempts": attempts,
                "delivered": c.delivered,
                "finished": c.finished,
            })
        })
        .collect();
    ok(list)
}

async fn redeliver(
    State(s): State<Arc<Shared>>,
    axum::extract::Path(index): axum::extract::Path<usize>,
) -> Response {
    if s.outbox.redeliver(index) {
        ok(json!({}))
    } else {
        failure(ApiFailure::not_found("callback", &index.to_string()))
    }
}
