//! Events (composing, agent joined, ...): send through the app queue, inject, get, list, delete.

use super::ctx::{found, Ctx, Meta};
use super::messages::prepare;
use super::queue::{self, Kind, Queued};
use super::reply::{ApiFailure, Reply};
use super::request::{page, Req};
use super::state::Stored;
use crate::types;

pub(crate) fn send(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let r: types::SendEventRequest = req.json()?;
    let d = prepare(
        ctx,
        &r.app_id,
        &r.recipient,
        &r.channel_priority_order,
        false,
    )?;
    let id = ctx.new_id();
    let event = types::ConversationEvent {
        app_event: Some(r.event),
        conversation_id: d.conversation_id.clone(),
        contact_id: Some(d.contact_id.clone()),
        channel_identity: Some(d.identity.clone()),
        accept_time: Some(ctx.now),
        processing_mode: Some(d.mode.clone()),
        direction: Some(types::ConversationDirection::ToContact),
        id: Some(id.clone()),
        ..Default::default()
    };
    ctx.p.events.insert(
        id.clone(),
        Stored {
            app_id: r.app_id.clone(),
            item: event,
        },
    );
    let item = Queued {
        kind: Kind::Event,
        id: id.clone(),
        contact_id: d.contact_id,
        conversation_id: d.conversation_id,
        channel_identity: d.identity,
        processing_mode: d.mode,
        meta: Meta {
            accepted_time: Some(ctx.now),
            message_metadata: r.event_metadata,
            correlation_id: None,
            callback_url: r.callback_url,
        },
    };
    queue::report(
        ctx,
        &r.app_id,
        &item,
        types::DeliveryStatus::QueuedOnChannel,
        None,
    );
    queue::push(ctx, &r.app_id, item);
    Reply::json(&types::SendEventResponse {
        accepted_time: Some(ctx.now),
        event_id: Some(id),
    })
}

/// Stores an app event that happened elsewhere in a conversation (no delivery).
pub(crate) fn inject(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let conversation_id = req.param(0);
    let r: types::InjectEventRequest = req.json()?;
    let c = ctx.conversation(conversation_id)?;
    let (app, contact) = (c.app_id.clone().unwrap_or_default(), c.contact_id.clone());
    let accept_time = r.accept_time.unwrap_or(ctx.now);
    let id = ctx.new_id();
    let event = types::ConversationEvent {
        app_event: Some(r.app_event),
        conversation_id: Some(conversation_id.to_owned()),
        contact_id: r.contact_id.or(contact),
        channel_identity: r.channel_identity,
        accept_time: Some(accept_time),
        processing_mode: Some(
            r.processing_mode
                .unwrap_or(types::ProcessingMode::Conversation),
        ),
        direction: Some(types::ConversationDirection::ToContact),
        id: Some(id.clone()),
        ..Default::default()
    };
    ctx.p.events.insert(
        id.clone(),
        Stored {
            app_id: app,
            item: event,
        },
    );
    Reply::json(&types::InjectEventResponse {
        event_id: Some(id),
        accepted_time: Some(accept_time),
    })
}

fn event<'a>(ctx: &'a Ctx, id: &str) -> Result<&'a Stored<types::ConversationEvent>, ApiFailure> {
    found(&ctx.p.events, "event", id)
}

pub(crate) fn get(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    Reply::json(&event(ctx, req.param(0))?.item)
}

pub(crate) fn delete(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let id = req.param(0);
    event(ctx, id)?;
    ctx.p.events.remove(id);
    Reply::empty()
}

pub(crate) fn list(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let conversation = req.query("conversation_id");
    let contact = req.query("contact_id");
    let items = ctx
        .p
        .events
        .iter()
        .rev()
        .filter(|(_, e)| conversation.is_none_or(|c| e.item.conversation_id.as_deref() == Some(c)))
        .filter(|(_, e)| contact.is_none_or(|c| e.item.contact_id.as_deref() == Some(c)))
        .map(|(k, e)| (k.clone(), e.item.clone()))
        .collect();
    let (events, next_page_token) = page(items, req, true)?;
    Reply::json(&types::ListEventsResponse {
        events,
        next_page_token,
    })
}
