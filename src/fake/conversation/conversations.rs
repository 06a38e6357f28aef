//! Conversations: created by the first message between an app and a contact (or explicitly),
//! listed, stopped, deleted, and injected into.

use super::ctx::{Ctx, Meta};
use super::patch;
use super::reply::{ApiFailure, Reply};
use super::request::{page, Req};
use super::state::Stored;
use crate::types::{self, ConversationChannel as Channel};

/// The active conversation between `app` and `contact`, started when there is none.
pub(crate) fn open(ctx: &mut Ctx, app: &str, contact: &str, channel: &Channel) -> String {
    let existing = ctx.p.conversations.iter().find(|(_, c)| {
        c.active == Some(true)
            && c.app_id.as_deref() == Some(app)
            && c.contact_id.as_deref() == Some(contact)
    });
    if let Some((id, _)) = existing {
        let id = id.clone();
        if let Some(c) = ctx.p.conversations.get_mut(&id) {
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
        ..Default::default()
    };
    ctx.p.conversations.insert(id.clone(), conversation.clone());
    let n = types::ConversationNotification {
        conversation: Some(conversation),
    };
    ctx.emit(app, "CONVERSATION_START", n, &Meta::default());
    id
}

fn active_between(ctx: &Ctx, app: &str, contact: &str) -> bool {
    ctx.p.conversations.values().any(|c| {
        c.active == Some(true)
            && c.app_id.as_deref() == Some(app)
            && c.contact_id.as_deref() == Some(contact)
    })
}

pub(crate) fn create(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let r: types::CreateConversationRequest = req.json()?;
    ctx.app(&r.app_id)?;
    ctx.contact(&r.contact_id)?;
    let active = r.active.unwrap_or(true);
    if active && active_between(ctx, &r.app_id, &r.contact_id) {
        return Err(ApiFailure::bad_request(format!(
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
        metadata: r.metadata,
        metadata_json: r.metadata_json,
        correlation_id: r.correlation_id,
        id: Some(id.clone()),
        last_received: None,
    };
    ctx.p.conversations.insert(id, conversation.clone());
    if active {
        let n = types::ConversationNotification {
            conversation: Some(conversation.clone()),
        };
        ctx.emit(&r.app_id, "CONVERSATION_START", n, &Meta::default());
    }
    Reply::json(&conversation)
}

pub(crate) fn get(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    Reply::json(ctx.conversation(req.param(0))?)
}

pub(crate) fn list(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let only_active: bool = req
        .query_as("only_active")?
        .ok_or_else(|| ApiFailure::bad_request("missing required parameter only_active"))?;
    let app = req.query("app_id");
    let contact = req.query("contact_id");
    if app.is_none() && contact.is_none() {
        return Err(ApiFailure::bad_request("set app_id or contact_id"));
    }
    let channel = req.query("active_channel").map(Channel::from);
    let items: Vec<(String, types::Conversation)> = ctx
        .p
        .conversations
        .iter()
        .filter(|(_, c)| !only_active || c.active == Some(true))
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
    let app = req.required_query("app_id")?;
    ctx.app(app)?;
    let only_active = req.query_as::<bool>("only_active")?.unwrap_or(false);
    let ascending = match req.query("order") {
        None => false,
        Some(o) => match types::RecentConversationsOrder::from(o) {
            types::RecentConversationsOrder::Asc => true,
            types::RecentConversationsOrder::Desc => false,
            _ => return Err(ApiFailure::bad_request(format!("invalid order {o:?}"))),
        },
    };
    let mut items: Vec<(String, types::ConversationRecentMessage)> = ctx
        .p
        .conversations
        .iter()
        .filter(|(_, c)| {
            c.app_id.as_deref() == Some(app) && (!only_active || c.active == Some(true))
        })
        .map(|(id, c)| {
            let last = ctx
                .p
                .messages
                .iter()
                .rev()
                .find(|(_, m)| m.item.conversation_id.as_deref() == Some(id));
            let key = last.map_or(id, |(k, _)| k).clone();
            let entry = types::ConversationRecentMessage {
                conversation: Some(c.clone()),
                last_message: last.map(|(_, m)| m.item.clone()),
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
    let id = req.param(0);
    let current = ctx.conversation(id)?.clone();
    let merge = match req.query("metadata_update_strategy") {
        None => false,
        Some(s) => match types::MetadataUpdateStrategy::from(s) {
            types::MetadataUpdateStrategy::Replace => false,
            types::MetadataUpdateStrategy::MergePatch => true,
            _ => {
                return Err(ApiFailure::bad_request(format!(
                    "invalid metadata_update_strategy {s:?}"
                )))
            }
        },
    };
    let mut updated = patch::apply(&current, req)?;
    if merge {
        let mut merged = serde_json::Value::Object(current.metadata_json.clone());
        merge_patch(
            &mut merged,
            &serde_json::Value::Object(updated.metadata_json.clone()),
        );
        updated.metadata_json = merged.as_object().cloned().unwrap_or_default();
    }
    updated.id = current.id.clone();
    updated.app_id = current.app_id.clone();
    updated.contact_id = current.contact_id.clone();
    ctx.p.conversations.insert(id.to_owned(), updated.clone());
    Reply::json(&updated)
}

/// RFC 7396 JSON merge patch.
fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
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
    let id = req.param(0);
    let c = ctx.conversation(id)?;
    if c.active != Some(true) {
        return Reply::empty();
    }
    let app = c.app_id.clone().unwrap_or_default();
    let conversation = {
        let c = ctx.p.conversations.get_mut(id).expect("checked above");
        c.active = Some(false);
        c.clone()
    };
    let n = types::ConversationNotification {
        conversation: Some(conversation),
    };
    ctx.emit(&app, "CONVERSATION_STOP", n, &Meta::default());
    Reply::empty()
}

pub(crate) fn delete(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let id = req.param(0);
    let conversation = ctx.conversation(id)?.clone();
    ctx.p.conversations.remove(id);
    ctx.p
        .messages
        .retain(|_, m| m.item.conversation_id.as_deref() != Some(id));
    ctx.p
        .events
        .retain(|_, e| e.item.conversation_id.as_deref() != Some(id));
    let app = conversation.app_id.clone().unwrap_or_default();
    let n = types::ConversationNotification {
        conversation: Some(conversation),
    };
    ctx.emit(&app, "CONVERSATION_DELETE", n, &Meta::default());
    Reply::empty()
}

/// Stores a message that happened elsewhere (no callback, no delivery).
pub(crate) fn inject_message(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let id = req.param(0);
    let r: types::InjectMessageRequest = req.json()?;
    let c = ctx.conversation(id)?;
    let (app, contact) = (c.app_id.clone().unwrap_or_default(), c.contact_id.clone());
    let kinds = usize::from(r.app_message.is_some()) + usize::from(r.contact_message.is_some());
    if kinds != 1 {
        return Err(ApiFailure::bad_request(
            "set exactly one of app_message and contact_message",
        ));
    }
    let accept_time = r.accept_time;
    let message_id = ctx.new_id();
    let message = types::ConversationMessage {
        accept_time: Some(accept_time),
        app_message: r.app_message,
        contact_message: r.contact_message,
        channel_identity: Some(r.channel_identity),
        contact_id: r.contact_id.or(contact),
        conversation_id: Some(id.to_owned()),
        direction: Some(r.direction),
        id: Some(message_id.clone()),
        injected: Some(true),
        metadata: r.metadata,
        sender_id: r.sender_id,
        processing_mode: Some(
            r.processing_mode
                .unwrap_or(types::ProcessingMode::Conversation),
        ),
    };
    ctx.p.messages.insert(
        message_id,
        Stored {
            app_id: app,
            item: message,
        },
    );
    Reply::empty()
}
