//! Conversations (CONVERSATION mode only): started by the first message between an app and a
//! contact or explicitly, one active per pair, listed, stopped, deleted, injected into.

use super::apps::app;
use super::contacts::contact;
use super::notify::{emit, Meta};
use super::{mode_of, Record, Source, Stored};
use crate::fake::core::ctx::{found, Ctx};
use crate::fake::core::patch;
use crate::fake::core::reply::{ApiFailure, Reply};
use crate::fake::core::request::{page, Req};
use crate::types::{self, ConversationChannel as Channel};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// How far back an injected message or event may be dated.
pub(crate) const INJECT_WINDOW: Duration = Duration::from_secs(30 * 24 * 3600);

pub(crate) fn conversation<'a>(
    ctx: &'a Ctx,
    id: &str,
) -> Result<&'a types::Conversation, ApiFailure> {
    found(&ctx.p.conv().conversations, "conversation", id)
}

fn epoch() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH
}

/// The active conversation between `app` and `contact`, started when there is none.
pub(crate) fn open(ctx: &mut Ctx, app: &str, contact: &str, channel: &Channel) -> String {
    let existing = active_between(ctx, app, contact);
    if let Some(id) = existing {
        if let Some(c) = ctx.p.conv_mut().conversations.get_mut(&id) {
            c.active_channel = Some(channel.clone());
        }
        return id;
    }
    let id = ctx.new_id();
    let conversation = types::Conversation {
        active: Some(true),
        active_channel: Some(channel.clone()),
        app_id: Some(app.to_owned()),
        contact_id: Some(contact.to_owned()),
        id: Some(id.clone()),
        metadata: Some(String::new()),
        correlation_id: Some(String::new()),
        last_received: Some(epoch()),
        ..Default::default()
    };
    ctx.p
        .conv_mut()
        .conversations
        .insert(id.clone(), conversation.clone());
    let n = types::ConversationNotification {
        conversation: Some(conversation),
    };
    emit(ctx, app, "CONVERSATION_START", n, &Meta::default());
    id
}

fn active_between(ctx: &Ctx, app: &str, contact: &str) -> Option<String> {
    ctx.p
        .conv()
        .conversations
        .iter()
        .find(|(_, c)| {
            c.active == Some(true)
                && c.app_id.as_deref() == Some(app)
                && c.contact_id.as_deref() == Some(contact)
        })
        .map(|(id, _)| id.clone())
}

/// Refuses conversation operations on an app in DISPATCH mode, which has none.
fn conversation_app(ctx: &Ctx, app_id: &str) -> Result<(), ApiFailure> {
    let a = app(ctx, app_id)?;
    if mode_of(a) == types::ProcessingMode::Dispatch {
        return Err(ApiFailure::precondition(format!(
            "app {app_id} processes messages in DISPATCH mode, which keeps no conversations"
        )));
    }
    Ok(())
}

pub(crate) fn create(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let r: types::CreateConversationRequest = req.json()?;
    conversation_app(ctx, &r.app_id)?;
    contact(ctx, &r.contact_id)?;
    let active = r.active.unwrap_or(true);
    if active && active_between(ctx, &r.app_id, &r.contact_id).is_some() {
        return Err(ApiFailure::precondition(format!(
            "app {} and contact {} already have an active conversation",
            r.app_id, r.contact_id
        )));
    }
    let id = ctx.new_id();
    let conversation = types::Conversation {
        active: Some(active),
        active_channel: r.active_channel,
        app_id: Some(r.app_id.clone()),
        contact_id: Some(r.contact_id),
        metadata: Some(r.metadata.unwrap_or_default()),
        metadata_json: r.metadata_json,
        correlation_id: Some(r.correlation_id.unwrap_or_default()),
        id: Some(id.clone()),
        last_received: Some(epoch()),
    };
    ctx.p
        .conv_mut()
        .conversations
        .insert(id, conversation.clone());
    if active {
        let n = types::ConversationNotification {
            conversation: Some(conversation.clone()),
        };
        emit(ctx, &r.app_id, "CONVERSATION_START", n, &Meta::default());
    }
    Reply::json(&conversation)
}

pub(crate) fn get(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    Reply::json(conversation(ctx, req.path("conversation_id"))?)
}

pub(crate) fn list(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let only_active: Option<bool> = req.query_as("only_active")?;
    let app = req.query("app_id");
    let contact = req.query("contact_id");
    if app.is_none() && contact.is_none() {
        return Err(ApiFailure::bad_request("set app_id or contact_id"));
    }
    let channel = req.query("active_channel").map(Channel::from);
    let items: Vec<(String, types::Conversation)> = ctx
        .p
        .conv()
        .conversations
        .iter()
        .filter(|(_, c)| only_active.is_none_or(|a| c.active.unwrap_or(false) == a))
        .filter(|(_, c)| app.is_none_or(|a| c.app_id.as_deref() == Some(a)))
        .filter(|(_, c)| contact.is_none_or(|a| c.contact_id.as_deref() == Some(a)))
        .filter(|(_, c)| channel.is_none() || c.active_channel == channel)
        .map(|(k, c)| (k.clone(), c.clone()))
        .collect();
    let total_size = Some(items.len() as i32);
    let (conversations, next_page_token) = page(items, req, false)?;
    Reply::json(&types::ListConversationsResponse {
        conversations,
        next_page_token,
        total_size,
    })
}

/// Conversations of an app by their latest message (the conversation's own id, a ULID, stands
/// in for a conversation without messages).
pub(crate) fn recent(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let app_id = req.query("app_id").unwrap_or_default();
    app(ctx, app_id)?;
    let only_active = req.query_as::<bool>("only_active")?.unwrap_or(false);
    let ascending = req.query("order") == Some("ASC");
    let at = ctx.at;
    let s = ctx.p.conv();
    let mut items: Vec<(String, types::ConversationRecentMessage)> = s
        .conversations
        .iter()
        .filter(|(_, c)| {
            c.app_id.as_deref() == Some(app_id) && (!only_active || c.active == Some(true))
        })
        .map(|(id, c)| {
            let last = s.messages.iter().rev().find(|(_, m)| {
                m.visible(Source::Conversation, at) && m.item.conversation_id.as_deref() == Some(id)
            });
            let key = last.map_or(id, |(k, _)| k).clone();
            let entry = types::ConversationRecentMessage {
                conversation: Some(c.clone()),
                last_message: last.map(|(_, m)| m.item.message()),
            };
            (key, entry)
        })
        .collect();
    items.sort_by(|a, b| {
        if ascending {
            a.0.cmp(&b.0)
        } else {
            b.0.cmp(&a.0)
        }
    });
    let total_size = Some(items.len() as i32);
    let (conversations, next_page_token) = page(items, req, !ascending)?;
    Reply::json(&types::ListRecentConversationsResponse {
        conversations,
        next_page_token,
        total_size,
    })
}

pub(crate) fn update(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let id = req.path("conversation_id");
    let current = conversation(ctx, id)?.clone();
    let merge = req.query("metadata_update_strategy") == Some("MERGE_PATCH");
    let mut updated: types::Conversation = patch::apply(&current, req)?;
    if merge {
        let mut merged = serde_json::Value::Object(current.metadata_json.clone());
        merge_patch(
            &mut merged,
            &serde_json::Value::Object(updated.metadata_json.clone()),
        );
        updated.metadata_json = merged.as_object().cloned().unwrap_or_default();
    }
    updated.id = current.id.clone();
    updated.contact_id = current.contact_id.clone();
    // A conversation may move to another app of the project (in CONVERSATION mode).
    if updated.app_id != current.app_id {
        conversation_app(ctx, updated.app_id.as_deref().unwrap_or_default())?;
    }
    ctx.p
        .conv_mut()
        .conversations
        .insert(id.to_owned(), updated.clone());
    Reply::json(&updated)
}

/// RFC 7396 JSON merge patch.
pub(crate) fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    let (Some(t), Some(p)) = (target.as_object_mut(), patch.as_object()) else {
        *target = patch.clone();
        return;
    };
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            merge_patch(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
        }
    }
}

pub(crate) fn stop(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let id = req.path("conversation_id");
    let c = conversation(ctx, id)?;
    if c.active != Some(true) {
        return Reply::empty();
    }
    let app = c.app_id.clone().unwrap_or_default();
    let conversation = {
        let c = ctx
            .p
            .conv_mut()
            .conversations
            .get_mut(id)
            .expect("checked above");
        c.active = Some(false);
        c.clone()
    };
    let n = types::ConversationNotification {
        conversation: Some(conversation),
    };
    emit(ctx, &app, "CONVERSATION_STOP", n, &Meta::default());
    Reply::empty()
}

pub(crate) fn delete(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let id = req.path("conversation_id");
    let conversation = conversation(ctx, id)?.clone();
    let s = ctx.p.conv_mut();
    s.conversations.remove(id);
    for m in s.messages.values_mut() {
        if m.item.conversation_id.as_deref() == Some(id) {
            m.deleted = true;
        }
    }
    for e in s.events.values_mut() {
        if e.item.conversation_id.as_deref() == Some(id) {
            e.deleted = true;
        }
    }
    let app = conversation.app_id.clone().unwrap_or_default();
    let n = types::ConversationNotification {
        conversation: Some(conversation),
    };
    emit(ctx, &app, "CONVERSATION_DELETE", n, &Meta::default());
    Reply::empty()
}

/// Checks an injected item's date: in the past, at most 30 days ago.
pub(crate) fn check_inject_time(ctx: &Ctx, t: DateTime<Utc>) -> Result<(), ApiFailure> {
    let oldest = ctx.now - chrono::Duration::from_std(INJECT_WINDOW).unwrap_or_default();
    if t > ctx.now || t < oldest {
        return Err(ApiFailure::bad_request(format!(
            "accept_time {t} must lie within the last 30 days"
        )));
    }
    Ok(())
}

/// Stores a message that happened elsewhere (no callback, no delivery).
pub(crate) fn inject_message(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let id = req.path("conversation_id");
    let r: types::InjectMessageRequest = req.json()?;
    let c = conversation(ctx, id)?;
    let (app, contact_id) = (c.app_id.clone().unwrap_or_default(), c.contact_id.clone());
    let kinds = usize::from(r.app_message.is_some()) + usize::from(r.contact_message.is_some());
    if kinds != 1 {
        return Err(ApiFailure::bad_request(
            "set exactly one of app_message and contact_message",
        ));
    }
    if let Some(m) = &r.app_message {
        super::messages::check_app_message(m)?;
    }
    if r.contact_id.is_some() && r.contact_id != contact_id {
        return Err(ApiFailure::bad_request(format!(
            "contact_id must be the conversation's contact, {}",
            contact_id.unwrap_or_default()
        )));
    }
    check_inject_time(ctx, r.accept_time)?;
    let message_id = ctx.new_id();
    let message = types::ConversationMessage {
        accept_time: Some(r.accept_time),
        app_message: r.app_message,
        contact_message: r.contact_message,
        channel_identity: Some(r.channel_identity),
        contact_id,
        conversation_id: Some(id.to_owned()),
        direction: Some(r.direction),
        id: Some(message_id.clone()),
        injected: Some(true),
        metadata: Some(r.metadata.unwrap_or_default()),
        sender_id: Some(r.sender_id.unwrap_or_default()),
        processing_mode: Some(types::ProcessingMode::Conversation),
    };
    ctx.p
        .conv_mut()
        .messages
        .insert(message_id, Stored::injected(app, Record::new(message)));
    Reply::empty()
}
