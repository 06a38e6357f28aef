//! The Conversation Batch API (`spec/batch.yaml`, bearer tokens only): one message to up to
//! 1,000 recipients with `${parameter}` values, sent now or at a `send_after` time (rounded up
//! to the next five minutes, at most seven days ahead), each recipient becoming an ordinary
//! Conversation API message; statuses, cancellation, bulk contacts and consents.

use crate::batch::types::{
    Batch, CancelBatchRequest, CreateContactsRequest, DeleteContactsRequest, InsertConsentsRequest,
    InsertConsentsResponse, SendBatchRequest, SendBatchResponse,
};
use crate::fake::conversation;
use crate::fake::core::ctx::Ctx;
use crate::fake::core::reply::{ApiFailure, Reply};
use crate::fake::core::request::Req;
use crate::fake::core::schema;
use crate::fake::core::server::Handler;
use crate::fake::core::service::ServiceDef;
use crate::fake::core::state::Project;
use crate::types;
use chrono::{DateTime, Duration as Span, DurationRound, Utc};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// One project's batches, by id.
#[derive(Default)]
pub(crate) struct State {
    pub batches: BTreeMap<String, Stored>,
}

pub(crate) struct Stored {
    pub batch: Batch,
    /// The request as sent (its JSON, for the messages it becomes).
    request: Value,
    accepted: DateTime<Utc>,
}

/// The Batch API, under `/batch`: its paths overlap the Conversation API's (both have
/// `GET /v1/projects/{project_id}/messages`), and in production it has a host of its own. It
/// takes bearer tokens only.
pub(crate) const SERVICE: ServiceDef = ServiceDef {
    document: "batch",
    prefix: "/batch",
    bearer_only: true,
    handler,
    state: || Box::<State>::default(),
};

impl Project {
    pub fn batch(&self) -> &State {
        self.part()
    }
    pub fn batch_mut(&mut self) -> &mut State {
        self.part_mut()
    }
}

fn handler(operation: &str) -> Option<Handler> {
    Some(match operation {
        "Batch_SendBatch" => send,
        "Batch_CancelBatch" => cancel,
        "Batch_GetBatchStatusesByMetadata" => by_metadata,
        "Batch_GetBatchStatus" => get,
        "Batch_CreateContacts" => create_contacts,
        "Batch_DeleteContacts" => delete_contacts,
        "Batch_InsertConsents" => insert_consents,
        _ => return None,
    })
}

/// A batch may be scheduled at most this far ahead.
const MAX_AHEAD: Span = Span::days(7);

/// When a batch will go: now, or the `send_after` rounded up to the next five-minute mark
/// when it is more than a minute ahead. A minute in the past still counts as now (clocks
/// differ); the time the batch will go is at most seven days ahead.
fn schedule(
    now: DateTime<Utc>,
    send_after: Option<&str>,
) -> Result<Option<DateTime<Utc>>, ApiFailure> {
    let Some(raw) = send_after else {
        return Ok(None);
    };
    let at = DateTime::parse_from_rfc3339(raw)
        .map_err(|_| {
            ApiFailure::bad_request(format!(
                "invalid argument: send_after: {raw:?} is not an RFC 3339 time"
            ))
        })?
        .with_timezone(&Utc);
    if at < now - Span::minutes(1) {
        return Err(ApiFailure::bad_request(format!(
            "invalid argument: send_after: {raw} is in the past"
        )));
    }
    if at <= now + Span::minutes(1) {
        return Ok(None);
    }
    let step = Span::minutes(5);
    let down = at.duration_trunc(step).unwrap_or(at);
    let rounded = if down == at { at } else { down + step };
    // Checked after rounding: the answer's time, not only the request's, is within the limit.
    if rounded > now + MAX_AHEAD {
        return Err(ApiFailure::bad_request(format!(
            "invalid argument: send_after: {raw} is more than 7 days ahead (rounded up to {})",
            rounded.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )));
    }
    Ok(Some(rounded))
}

/// `${name}` placeholders in every string of `v`, filled from `params`; the first name
/// without a value is the error.
fn fill(v: &mut Value, params: &Map<String, Value>) -> Result<(), String> {
    match v {
        Value::String(s) if s.contains("${") => {
            let mut out = String::with_capacity(s.len());
            let mut rest = s.as_str();
            while let Some(start) = rest.find("${") {
                let Some(len) = rest[start..].find('}') else {
                    break;
                };
                let name = &rest[start + 2..start + len];
                let value = params
                    .get(name)
                    .and_then(Value::as_str)
                    .ok_or_else(|| name.to_owned())?;
                out.push_str(&rest[..start]);
                out.push_str(value);
                rest = &rest[start + len + 1..];
            }
            out.push_str(rest);
            *s = out;
        }
        Value::Array(items) => {
            for x in items {
                fill(x, params)?;
            }
        }
        Value::Object(fields) => {
            for x in fields.values_mut() {
                fill(x, params)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Batch-level and recipient-level maps merged (the recipient's keys win), with the batch id.
fn merged(batch: Option<&Value>, own: Option<&Value>, batch_id: &str) -> Map<String, Value> {
    let mut m = Map::new();
    for src in [batch, own].into_iter().flatten() {
        if let Some(o) = src.as_object() {
            m.extend(o.clone());
        }
    }
    m.insert("_batch_id".into(), batch_id.into());
    m
}

/// The Conversation send request recipient `i` of a batch becomes.
fn message_for(request: &Value, i: usize, batch_id: &str) -> Result<Value, ApiFailure> {
    let r = &request["recipient_and_params"][i];
    let params = r
        .get("parameters")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut message = request["message"].clone();
    fill(&mut message, &params).map_err(|name| {
        ApiFailure::bad_request(format!(
            "invalid argument: recipient_and_params[{i}].parameters: no value for ${{{name}}}"
        ))
    })?;
    let metadata = merged(
        request.get("message_metadata"),
        r.get("message_metadata"),
        batch_id,
    );
    let mut send = json!({
        "app_id": request["app_id"],
        "recipient": r["recipient"],
        "message": message,
        "message_metadata": Value::Object(metadata).to_string(),
    });
    // A DISPATCH_ONLY message has no conversation, and the Conversation API refuses one
    // with conversation metadata on a CONVERSATION app (MSG-13): the batch adds no
    // `_batch_id` there, and passes on only what the client gave.
    let dispatch_only = request["processing_strategy"] == "DISPATCH_ONLY";
    let given = [request, r]
        .iter()
        .any(|v| v.get("conversation_metadata").is_some_and(|m| !m.is_null()));
    if !dispatch_only || given {
        let mut m = merged(
            request.get("conversation_metadata"),
            r.get("conversation_metadata"),
            batch_id,
        );
        if dispatch_only {
            m.remove("_batch_id");
        }
        send["conversation_metadata"] = Value::Object(m);
    }
    for key in [
        "processing_strategy",
        "callback_url",
        "channel_priority_order",
        "ttl",
        "channel_properties",
        "correlation_id",
    ] {
        if let Some(v) = request.get(key).filter(|v| !v.is_null()) {
            send[key] = v.clone();
        }
    }
    Ok(send)
}

fn send(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let r: SendBatchRequest = req.json()?;
    conversation::apps::app(ctx, &r.app_id)?;
    let scheduled = schedule(ctx.now, req.body.get("send_after").and_then(Value::as_str))?;
    let id = ctx.new_id();
    // Every recipient's message must be one the Conversation API would take.
    let send_op = schema::operation("Messages_SendMessage")
        .ok_or_else(|| ApiFailure::internal("the conversation document has no send"))?;
    for i in 0..r.recipient_and_params.len() {
        let m = message_for(&req.body, i, &id)?;
        let invalid = |why: String| {
            ApiFailure::bad_request(format!(
                "invalid argument: recipient_and_params[{i}] makes an invalid message: {why}"
            ))
        };
        schema::check_body(send_op, &m).map_err(|v| invalid(v.to_string()))?;
        let typed: types::SendMessageRequest =
            serde_json::from_value(m.clone()).map_err(|e| invalid(e.to_string()))?;
        conversation::check_send(ctx, &typed, m.get("conversation_metadata"))
            .map_err(|f| invalid(f.message))?;
    }

    let status = if scheduled.is_some() {
        "SCHEDULED"
    } else {
        "READY"
    };
    let meta: Map<String, Value> = r
        .batch_metadata
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let batch: Batch = serde_json::from_value(json!({
        "batch_id": id,
        "meta_data": meta,
        "status": status,
        "send_after": scheduled.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    }))
    .map_err(|e| ApiFailure::internal(e.to_string()))?;
    ctx.p.batch_mut().batches.insert(
        id.clone(),
        Stored {
            batch,
            request: req.body.clone(),
            accepted: ctx.now,
        },
    );
    let delay = scheduled
        .map(|t| (t - ctx.now).to_std().unwrap_or_default())
        .unwrap_or_default();
    let batch_id = id.clone();
    ctx.after(delay, move |ctx| process(ctx, &batch_id));
    Reply::json(&SendBatchResponse {
        batch_id: Some(id),
        send_after: Some(scheduled.unwrap_or(ctx.now)),
    })
}

/// The batch's time has come: each recipient becomes a message; then PROCESSED, posted to
/// the app's BATCH_STATUS_UPDATE webhooks.
fn process(ctx: &mut Ctx, id: &str) {
    let Some(stored) = ctx.p.batch_mut().batches.get_mut(id) else {
        return;
    };
    if stored
        .batch
        .status
        .as_ref()
        .is_some_and(|s| s.as_str() == "CANCELLED")
    {
        return;
    }
    stored.batch.status = Some("READY".into());
    let request = stored.request.clone();
    let accepted = stored.accepted;
    let app_id = request["app_id"].as_str().unwrap_or_default().to_owned();
    let count = request["recipient_and_params"]
        .as_array()
        .map_or(0, Vec::len);
    for i in 0..count {
        let Ok(send) = message_for(&request, i, id) else {
            continue;
        };
        let conversation_metadata = send.get("conversation_metadata").cloned();
        let outcome = serde_json::from_value::<types::SendMessageRequest>(send)
            .map_err(|e| ApiFailure::bad_request(e.to_string()))
            .and_then(|m| conversation::accept(ctx, m, conversation_metadata.as_ref()));
        if let Err(e) = outcome {
            // What the API takes for a batch but cannot send fails like a message does.
            conversation::refuse(ctx, &app_id, &e.message);
        }
    }
    let Some(stored) = ctx.p.batch_mut().batches.get_mut(id) else {
        return;
    };
    stored.batch.status = Some("PROCESSED".into());
    let notification = json!({
        "batch_id": id,
        "batch_status": "BATCH_STATUS_PROCESSED",
        "batch_type": "BATCH_TYPE_MESSAGES",
        "additional_data": {"message_batch_data": {
            "send_after": stored.batch.send_after,
            "batch_metadata": stored.batch.meta_data,
        }},
    });
    conversation::notify_batch(ctx, &app_id, accepted, notification);
}

fn get(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let id = req.path("batch_id");
    let b = ctx
        .p
        .batch()
        .batches
        .get(id)
        .ok_or_else(|| ApiFailure::not_found("batch", id))?;
    Reply::json(&b.batch)
}

fn by_metadata(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let key = req.query("metadataKey").unwrap_or_default();
    let value = req.query("metadataValue").unwrap_or_default();
    let found: Vec<&Batch> = ctx
        .p
        .batch()
        .batches
        .values()
        .map(|b| &b.batch)
        .filter(|b| b.meta_data.get(key).is_some_and(|v| v == value))
        .collect();
    Reply::json(&found)
}

/// Cancels scheduled batches (by id, or by a `batch_metadata` key and value) that have not
/// gone yet. Always 200: the outcome shows in the batch's status.
fn cancel(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let r: CancelBatchRequest = req.json()?;
    let meta = (
        req.body.get("metadata_key").and_then(Value::as_str),
        req.body.get("metadata_value").and_then(Value::as_str),
    );
    for (id, b) in ctx.p.batch_mut().batches.iter_mut() {
        let by_id = r.batch_id.as_deref() == Some(id.as_str());
        let by_meta = match meta {
            (Some(k), Some(v)) => b.batch.meta_data.get(k).is_some_and(|x| x == v),
            _ => false,
        };
        let scheduled = b
            .batch
            .status
            .as_ref()
            .is_some_and(|s| s.as_str() == "SCHEDULED");
        if (by_id || by_meta) && scheduled {
            b.batch.status = Some("CANCELLED".into());
        }
    }
    Reply::empty()
}

/// Creates the contacts in the background: each one the Conversation API's create would
/// take, with its CONTACT_CREATE callback; the others are skipped.
fn create_contacts(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let r: CreateContactsRequest = req.json()?;
    ctx.after(std::time::Duration::ZERO, move |ctx| {
        for c in r.contacts {
            // One the Conversation API would refuse is skipped: the outcome is per contact.
            let _ = conversation::create_contact(ctx, c);
        }
    });
    Reply::empty()
}

/// Deletes the contacts in the background; unknown ids are skipped.
fn delete_contacts(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let r: DeleteContactsRequest = req.json()?;
    ctx.after(std::time::Duration::ZERO, move |ctx| {
        for id in r.contact_ids {
            conversation::delete_contact(ctx, &id);
        }
    });
    Reply::empty()
}

/// Puts identities on an app's consent lists (each record needs its list).
fn insert_consents(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let r: InsertConsentsRequest = req.json()?;
    conversation::apps::app(ctx, &r.app_id)?;
    for (i, c) in r.consent_records.iter().enumerate() {
        if c.consent_type.is_none() {
            return Err(ApiFailure::bad_request(format!(
                "invalid argument: consent_records[{i}].consent_type: required field missing"
            )));
        }
    }
    for c in &r.consent_records {
        let list = c
            .consent_type
            .as_ref()
            .map(|t| t.to_string())
            .unwrap_or_default();
        conversation::set_consent(ctx, &r.app_id, &list, &c.identification, true, "ORIGIN_API");
    }
    let id = ctx.new_id();
    Reply::json(&InsertConsentsResponse { batch_id: Some(id) })
}
