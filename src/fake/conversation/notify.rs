//! Callbacks as the API posts them: the envelope (`app_id`, `project_id`, times, metadata,
//! correlation id) around one payload, to every webhook of the app that subscribes to the
//! trigger, or to a message's own `callback_url` for its delivery reports.

use crate::fake::core::callbacks::Outgoing;
use crate::fake::core::ctx::Ctx;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

/// The envelope fields a callback carries about what caused it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Meta {
    pub accepted_time: Option<DateTime<Utc>>,
    /// The envelope's `message_metadata`: on inbound callbacks the conversation's (DISPATCH
    /// mode: the identity's) metadata; on delivery reports the channel's, which the fake's
    /// channels never send (the send's own `message_metadata` is the report's `metadata`).
    pub message_metadata: Option<String>,
    pub correlation_id: Option<String>,
    /// A per-message `callback_url` that replaces the webhooks for its delivery reports, with
    /// the secret that signs them (the app's, as it was when the message was sent).
    pub callback: Option<Override>,
}

#[derive(Clone, Debug)]
pub(crate) struct Override {
    pub url: String,
    pub secret: Option<String>,
}

/// The `callback_url` of a send, with the app's `secret_for_overridden_callback_urls`.
pub(crate) fn override_for(ctx: &Ctx, app_id: &str, url: Option<String>) -> Option<Override> {
    let url = url.filter(|u| !u.is_empty())?;
    let secret = ctx.p.conv().apps.get(app_id).and_then(|a| {
        a.callback_settings
            .as_ref()?
            .secret_for_overridden_callback_urls
            .clone()
            .filter(|s| !s.is_empty())
    });
    Some(Override { url, secret })
}

/// Posts a `trigger` callback carrying `payload` to every webhook of `app_id` that subscribes
/// to it (or, for delivery reports of a message sent with a `callback_url`, to that URL only).
/// Nothing is serialized when no one listens.
pub(crate) fn emit(
    ctx: &mut Ctx,
    app_id: &str,
    trigger: &'static str,
    payload: impl Serialize,
    meta: &Meta,
) {
    let Some(key) = crate::webhook::known_kinds()
        .find(|(_, t)| *t == trigger)
        .map(|(k, _)| k)
    else {
        return;
    };
    let overridden = matches!(trigger, "MESSAGE_DELIVERY" | "EVENT_DELIVERY")
        .then_some(meta.callback.as_ref())
        .flatten();
    let targets: Vec<(Option<String>, String, Option<String>)> = match overridden {
        Some(o) => vec![(None, o.url.clone(), o.secret.clone())],

        None => ctx
            .p
            .conv()
            .webhooks
            .values()
            .filter(|w| {
                w.app_id == app_id
                    && w.target_type
                        .as_ref()
                        .is_none_or(|t| t.as_str() != "DISMISS")
                    && w.triggers.iter().any(|t| t.as_str() == trigger)
            })
            .map(|w| {
                let secret = w.secret.clone().filter(|s| !s.is_empty());
                (w.id.clone(), w.target.clone(), secret)
            })
            .collect(),
    };
    if targets.is_empty() {
        return;
    }
    let mut body = Map::new();
    body.insert("app_id".into(), app_id.into());
    if let Some(t) = meta.accepted_time {
        body.insert("accepted_time".into(), time(t));
    }

    body.insert("event_time".into(), time(ctx.now));
    body.insert("project_id".into(), ctx.p.id.clone().into());
    body.insert(
        "message_metadata".into(),
        meta.message_metadata.clone().unwrap_or_default().into(),
    );
    body.insert(
        "correlation_id".into(),
        meta.correlation_id.clone().unwrap_or_default().into(),
    );
    body.insert(
        key.into(),
        serde_json::to_value(payload).unwrap_or(Value::Null),
    );
    let body = Bytes::from(Value::Object(body).to_string());
    for (webhook_id, target, secret) in targets {
        ctx.effects.callbacks.push(Outgoing {
            webhook_id,
            target,
            secret,
            trigger,
            body: body.clone(),
        });
    }
}

/// A project-wide change (contacts): every app's webhooks hear of it.
pub(crate) fn emit_to_all_apps(ctx: &mut Ctx, trigger: &'static str, payload: impl Serialize) {
    let payload = serde_json::to_value(payload).unwrap_or(Value::Null);
    let apps: Vec<String> = ctx.p.conv().apps.keys().cloned().collect();
    for app in apps {
        emit(ctx, &app, trigger, &payload, &Meta::default());
    }
}

pub(crate) fn time(t: DateTime<Utc>) -> Value {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        .into()
}

/// The Batch API's BATCH_STATUS_UPDATE, posted to the app's webhooks like any callback.
pub(crate) fn notify_batch(
    ctx: &mut Ctx,
    app_id: &str,
    accepted: DateTime<Utc>,
    notification: Value,
) {
    let meta = Meta {
        accepted_time: Some(accepted),
        ..Meta::default()
    };
    emit(ctx, app_id, "BATCH_STATUS_UPDATE", notification, &meta);
}
