//! Events (composing, agent joined, ...): sent through the app queue like messages, injected
//! into conversations, read, listed by conversation or contact, deleted.

use super::conversations::{check_inject_time, conversation};
use super::delivery::{self, Kind, Outbound};
use super::messages::{commit, target};
use super::notify::{override_for, Meta};
use super::{Source, Stored};
use crate::fake::core::ctx::Ctx;
use crate::fake::core::reply::{ApiFailure, Reply};
use crate::fake::core::request::{page, Req};
use crate::types;

pub(crate) fn send(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let r: types::SendEventRequest = req.json()?;
    let mut t = target(
        ctx,
        &r.app_id,
        &r.recipient,
        &r.channel_priority_order,
        false,
    )?;
    delivery::ensure_room(ctx, &r.app_id)?;
    let (contact_id, conversation_id) = commit(ctx, &r.app_id, &mut t);
    let id = ctx.new_id();
    let event = types::ConversationEvent {
        app_event: Some(r.event.clone()),
        conversation_id: Some(conversation_id.clone()),
        contact_id: Some(contact_id.clone()),
        channel_identity: t.candidates.first().cloned(),
        accept_time: Some(ctx.now),
        processing_mode: Some(t.mode.clone()),
        direction: Some(types::ConversationDirection::ToContact),
        id: Some(id.clone()),
        ..Default::default()
    };
    let kept = Stored::kept(ctx, &r.app_id, &t.mode, event);
    ctx.p.conv_mut().events.insert(id.clone(), kept);
    let out = Outbound {
        kind: Kind::Event,
        id: id.clone(),
        app_id: r.app_id.clone(),
        contact_id,
        conversation_id,
        mode: t.mode,
        candidates: t.candidates,
        metadata: r.event_metadata.unwrap_or_default(),
        content_type: None,
        channel_properties: Default::default(),
        meta: Meta {
            accepted_time: Some(ctx.now),
            message_metadata: None,
            correlation_id: None,
            callback: override_for(ctx, &r.app_id, r.callback_url),
        },
        expires: None,
        doomed: t.doomed,
    };
    delivery::enqueue(ctx, out);
    Reply::json(&types::SendEventResponse {
        accepted_time: Some(ctx.now),
        event_id: Some(id),
    })
}

/// Stores an app event that happened elsewhere in a conversation (no delivery).
pub(crate) fn inject(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let conversation_id = req.path("conversation_id");
    let r: types::InjectEventRequest = req.json()?;
    let c = conversation(ctx, conversation_id)?;
    let (app, contact) = (c.app_id.clone().unwrap_or_default(), c.contact_id.clone());
    if r.processing_mode == Some(types::ProcessingMode::Dispatch) {
        return Err(ApiFailure::bad_request(
            "events can be injected in CONVERSATION mode only",
        ));
    }
    let accept_time = r.accept_time.ok_or_else(|| {
        ApiFailure::bad_request("invalid argument: accept_time: required field missing")
    })?;
    check_inject_time(ctx, accept_time)?;
    let id = ctx.new_id();
    let event = types::ConversationEvent {
        app_event: Some(r.app_event),
        conversation_id: Some(conversation_id.to_owned()),
        contact_id: r.contact_id.or(contact),
        channel_identity: r.channel_identity,
        accept_time: Some(accept_time),
        processing_mode: Some(types::ProcessingMode::Conversation),
        direction: Some(types::ConversationDirection::ToContact),
        id: Some(id.clone()),
        ..Default::default()
    };
    ctx.p
        .conv_mut()
        .events
        .insert(id.clone(), Stored::injected(app, event));
    Reply::json(&types::InjectEventResponse {
        event_id: Some(id),
        accepted_time: Some(accept_time),
    })
}

fn event<'a>(ctx: &'a Ctx, id: &str) -> Result<&'a Stored<types::ConversationEvent>, ApiFailure> {
    ctx.p
        .conv()
        .events
        .get(id)
        .filter(|e| e.visible(e.source, ctx.at))
        .ok_or_else(|| ApiFailure::not_found("event", id))
}

pub(crate) fn get(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    Reply::json(&event(ctx, req.path("event_id"))?.item)
}

pub(crate) fn delete(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let id = req.path("event_id");
    event(ctx, id)?;
    if let Some(e) = ctx.p.conv_mut().events.get_mut(id) {
        e.deleted = true;
    }
    Reply::empty()
}

pub(crate) fn list(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let conversation = req.query("conversation_id");
    let contact = req.query("contact_id");
    if conversation.is_none() && contact.is_none() {
        return Err(ApiFailure::bad_request("set conversation_id or contact_id"));
    }
    let at = ctx.at;
    let items = ctx
        .p
        .conv()
        .events
        .iter()
        .rev()
        .filter(|(_, e)| e.visible(Source::Conversation, at))
        .filter(|(_, e)| conversation.is_none_or(|c| e.item.conversation_id.as_deref() == Some(c)))
        .filter(|(_, e)| contact.is_none_or(|c| e.item.contact_id.as_deref() == Some(c)))
        .map(|(k, e)| (k.clone(), (*e.item).clone()))
        .collect();
    let (events, next_page_token) = page(items, req, true)?;
    Reply::json(&types::ListEventsResponse {
        events,
        next_page_token,
    })
}
