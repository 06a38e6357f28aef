//! Apps: created with the API's defaults (DISPATCH processing since 2025-04-16, every settings
//! object filled in), one credential object per channel, listed unpaged, patched, deleted.

use super::{delivery, State};
use crate::fake::core::ctx::{found, Ctx};
use crate::fake::core::patch;
use crate::fake::core::reply::{ApiFailure, Reply};
use crate::fake::core::request::Req;
use crate::fake::core::schema;
use crate::fake::core::state::Shared;
use crate::types::{self, ConversationChannel as Channel};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The credential object each channel needs (one of them, where a channel has two kinds).
fn credential_fields(channel: &Channel) -> &'static [&'static str] {
    match channel {
        Channel::Whatsapp | Channel::Rcs | Channel::Viberbm => &["static_bearer"],
        Channel::Sms => &["static_bearer", "sms_credentials"],
        Channel::Messenger | Channel::Viber => &["static_token"],
        Channel::Mms => &["mms_credentials"],
        Channel::Instagram => &["instagram_credentials"],
        Channel::Telegram => &["telegram_credentials"],
        Channel::Kakaotalk => &["kakaotalk_credentials"],
        Channel::Kakaotalkchat => &["kakaotalkchat_credentials"],
        Channel::Line => &["line_credentials", "line_enterprise_credentials"],
        Channel::Wechat => &["wechat_credentials"],
        Channel::Applebc => &["applebc_credentials"],
        _ => &[],
    }
}

/// Checks each credential carries its channel's credential object, and that no channel (and
/// ordinal, for channels with several credentials) appears twice.
fn check_credentials(raw: &Value) -> Result<(), ApiFailure> {
    let Some(list) = raw.get("channel_credentials").and_then(Value::as_array) else {
        return Ok(());
    };
    let mut seen = std::collections::BTreeSet::new();
    for (i, c) in list.iter().enumerate() {
        let channel = Channel::from(c.get("channel").and_then(Value::as_str).unwrap_or(""));
        if matches!(channel, Channel::ChannelUnspecified) {
            return Err(ApiFailure::bad_request(format!(
                "channel_credentials[{i}].channel must name a channel"
            )));
        }
        let fields = credential_fields(&channel);
        if !fields.is_empty()
            && !fields
                .iter()
                .any(|f| c.get(*f).is_some_and(|v| v.is_object()))
        {
            return Err(ApiFailure::bad_request(format!(
                "channel_credentials[{i}]: a {channel} credential needs {}",
                fields.join(" or ")
            )));
        }
        let ordinal = c
            .get("credential_ordinal_number")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if !seen.insert((channel.to_string(), ordinal)) {
            return Err(ApiFailure::bad_request(format!(
                "channel_credentials[{i}]: {channel} credential {ordinal} appears twice"
            )));
        }
    }
    Ok(())
}

/// Settings the API refuses together although each field is well-formed.
fn check_settings(app: &Value) -> Result<(), ApiFailure> {
    if let Some(kind) = app
        .pointer("/dispatch_retention_policy/retention_type")
        .and_then(Value::as_str)
    {
        if kind != "MESSAGE_EXPIRE_POLICY" {
            return Err(ApiFailure::bad_request(format!(
                "dispatch_retention_policy.retention_type must be MESSAGE_EXPIRE_POLICY, got {kind}"
            )));
        }
    }
    let fallback_on = app
        .pointer("/delivery_report_based_fallback/enabled")
        .and_then(Value::as_bool)
        == Some(true);
    if fallback_on {
        let wait = app
            .pointer("/delivery_report_based_fallback/delivery_report_waiting_time")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if !(10..=259_200).contains(&wait) {
            return Err(ApiFailure::bad_request(format!(
                "delivery_report_based_fallback.delivery_report_waiting_time must be 10 to 259200 seconds when enabled, got {wait}"
            )));
        }
    }
    if app
        .get("display_name")
        .and_then(Value::as_str)
        .is_some_and(|n| n.trim().is_empty())
    {
        return Err(ApiFailure::bad_request("display_name must not be empty"));
    }
    Ok(())
}

/// Fills what the API fills in an app it stores: every settings object with its default.
fn with_defaults(obj: &mut Map<String, Value>, queue_rate: f64, queue_limit: usize) {
    let mut default = |k: &str, v: Value| {
        let slot = obj.entry(k).or_insert(Value::Null);
        if slot.is_null() {
            *slot = v;
        } else if let (Some(existing), Value::Object(defaults)) = (slot.as_object_mut(), v) {
            for (dk, dv) in defaults {
                existing.entry(dk).or_insert(dv);
            }
        }
    };
    default("processing_mode", json!("DISPATCH"));
    default("conversation_metadata_report_view", json!("NONE"));
    default(
        "retention_policy",
        json!({"retention_type": "MESSAGE_EXPIRE_POLICY", "ttl_days": 180}),
    );
    default(
        "dispatch_retention_policy",
        json!({"retention_type": "MESSAGE_EXPIRE_POLICY", "ttl_days": 0}),
    );
    default("smart_conversation", json!({"enabled": false}));
    default(
        "callback_settings",
        json!({"secret_for_overridden_callback_urls": ""}),
    );
    default(
        "delivery_report_based_fallback",
        json!({"enabled": false, "delivery_report_waiting_time": 0}),
    );
    default("message_retry_settings", json!({"retry_duration": 3600}));
    default("persist_message_status", json!({"enabled": false}));
    default("message_search", json!({"enabled": false}));
    obj.insert(
        "rate_limits".into(),
        json!({"inbound": 25, "outbound": queue_rate.round() as i64, "webhooks": 25}),
    );
    obj.insert(
        "queue_stats".into(),
        json!({"outbound_size": 0, "outbound_limit": queue_limit.min(i64::MAX as usize)}),
    );
    if let Some(creds) = obj
        .get_mut("channel_credentials")
        .and_then(Value::as_array_mut)
    {
        for c in creds.iter_mut().filter_map(Value::as_object_mut) {
            c.entry("callback_secret").or_insert(json!(""));
            c.entry("channel_known_id").or_insert(json!(""));
            c.entry("credential_ordinal_number").or_insert(json!(0));
            c.insert(
                "state".into(),
                json!({"status": "ACTIVE", "description": ""}),
            );
        }
    } else {
        obj.insert("channel_credentials".into(), json!([]));
    }
}

/// An app as stored, from a create request's JSON (already checked against the document).
fn build(ctx: &mut Ctx, mut raw: Value) -> Result<(String, types::AppResponse), ApiFailure> {
    check_credentials(&raw)?;
    check_settings(&raw)?;
    let id = ctx.new_id();
    let obj = raw
        .as_object_mut()
        .ok_or_else(|| ApiFailure::bad_request("the request body must be a JSON object"))?;
    obj.insert("id".into(), id.clone().into());
    with_defaults(obj, ctx.cfg.queue_rate, ctx.cfg.queue_capacity);
    let app = serde_json::from_value(raw)
        .map_err(|e| ApiFailure::bad_request(format!("invalid app: {e}")))?;
    Ok((id, app))
}

/// The app with its live queue size.
fn view(s: &State, app: &types::AppResponse) -> types::AppResponse {
    let mut app = app.clone();
    let queued = app
        .id
        .as_ref()
        .and_then(|id| s.queues.get(id))
        .map_or(0, delivery::AppQueue::len);
    if let Some(stats) = &mut app.queue_stats {
        stats.outbound_size = Some(queued as i64);
    }
    app
}

pub(crate) fn app<'a>(ctx: &'a Ctx, id: &str) -> Result<&'a types::AppResponse, ApiFailure> {
    found(&ctx.p.conv().apps, "app", id)
}

pub(crate) fn create(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    req.json::<types::AppCreateRequest>()?;
    let (id, app) = build(ctx, req.body.clone())?;
    // The API answers a new credential as PENDING while it validates it.
    let mut answer = app.clone();
    for c in &mut answer.channel_credentials {
        if let Some(state) = &mut c.state {
            state.status = types::ChannelIntegrationStatus::Pending;
        }
    }
    ctx.p.conv_mut().apps.insert(id, app);
    Reply::json(&answer)
}

pub(crate) fn list(ctx: &mut Ctx, _: &Req) -> Result<Reply, ApiFailure> {
    let s = ctx.p.conv();
    let apps = s.apps.values().map(|a| view(s, a)).collect();
    Reply::json(&types::ListAppsResponse { apps })
}

pub(crate) fn get(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let app = app(ctx, req.path("app_id"))?;
    Reply::json(&view(ctx.p.conv(), app))
}

pub(crate) fn delete(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let id = req.path("app_id");
    app(ctx, id)?;
    let s = ctx.p.conv_mut();
    s.apps.remove(id);
    s.webhooks.retain(|_, w| w.app_id != id);
    s.queues.remove(id);
    Reply::empty()
}

pub(crate) fn update(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let id = req.path("app_id");
    let current = app(ctx, id)?;
    let mut updated: types::AppResponse = patch::apply(current, req)?;
    updated.id = Some(id.to_owned());
    let mut raw = serde_json::to_value(&updated).unwrap_or_default();
    check_credentials(&raw)?;
    check_settings(&raw)?;
    if let Some(obj) = raw.as_object_mut() {
        with_defaults(obj, ctx.cfg.queue_rate, ctx.cfg.queue_capacity);
    }
    let app: types::AppResponse = serde_json::from_value(raw)
        .map_err(|e| ApiFailure::bad_request(format!("invalid app: {e}")))?;
    ctx.p.conv_mut().apps.insert(id.to_owned(), app.clone());
    Reply::json(&view(ctx.p.conv(), &app))
}

/// Test set-up without a request: an app created from `request` exactly as the API would.
pub(crate) fn create_app(
    shared: &Arc<Shared>,
    request: &types::AppCreateRequest,
) -> Result<types::AppResponse, ApiFailure> {
    let raw = serde_json::to_value(request)
        .map_err(|e| ApiFailure::bad_request(format!("invalid app: {e}")))?;
    if let Some(op) = schema::operation("App_CreateApp") {
        schema::check_body(op, &raw)
            .map_err(|v| ApiFailure::bad_request(format!("invalid argument: {v}")))?;
    }
    shared.transact(&shared.cfg.project_id.clone(), |ctx| {
        let (id, app) = build(ctx, raw)?;
        ctx.p.conv_mut().apps.insert(id, app.clone());
        Ok(app)
    })
}
