//! The handset's side: a contact's message or event arriving on a channel, stored and posted
//! as MESSAGE_INBOUND / EVENT_INBOUND in the app's processing mode; STOP and START keywords on
//! SMS-like channels change the contact's consent.

use super::apps::app;
use super::consents::record_consent;
use super::contacts::{self, find_by_identity};
use super::context;
use super::conversations;
use super::notify::{emit, Meta};
use super::{app_scoped, mode_of, Record, Stored};
use crate::fake::core::ctx::Ctx;
use crate::fake::core::reply::ApiFailure;
use crate::fake::core::state::Shared;
use crate::types::{self, ConversationChannel as Channel};
use std::sync::Arc;

/// What the contact sent.
pub(crate) enum Received {
    Message(Box<types::ContactMessage>),
    Event(Box<types::ContactEvent>),
}

/// Consent keywords an SMS-like inbound text may carry: `Some(true)` opts out.
fn keyword(channel: &Channel, text: Option<&str>) -> Option<bool> {
    if !matches!(channel, Channel::Sms | Channel::Mms | Channel::Rcs) {
        return None;
    }
    match text?.trim().to_ascii_uppercase().as_str() {
        "STOP" => Some(true),
        "START" => Some(false),
        _ => None,
    }
}

/// Stores what a contact sent to `app_id` and posts its callback. Returns the stored message
/// (for an event, the message is `None`).
pub(crate) fn receive(
    ctx: &mut Ctx,
    app_id: &str,
    channel: Channel,
    identity: &str,
    received: Received,
) -> Result<Option<types::ConversationMessage>, ApiFailure> {
    let a = app(ctx, app_id)?;
    if !a.channel_credentials.iter().any(|c| c.channel == channel) {
        return Err(ApiFailure::bad_request(format!(
            "app {app_id} has no {channel} credentials, so it cannot receive on {channel}"
        )));
    }
    let mode = mode_of(a);
    let channel_identity = types::ChannelIdentity {
        channel: channel.clone(),
        identity: identity.to_owned(),
        app_id: Some(if app_scoped(&channel) {
            app_id.to_owned()
        } else {
            String::new()
        }),
    };
    // CONVERSATION mode: the contact (created when new) and its active conversation.
    let (contact_id, conversation_id) = if mode == types::ProcessingMode::Conversation {
        let contact_id = match find_by_identity(ctx.p.conv(), &channel, identity, Some(app_id)) {
            Some(id) => id,
            None => {
                let new = types::Contact {
                    channel_identities: vec![channel_identity.clone()],
                    channel_priority: vec![channel.clone()],
                    ..Default::default()
                };
                contacts::insert(ctx, new)
            }
        };
        let conversation_id = conversations::open(ctx, app_id, &contact_id, &channel);
        (contact_id, conversation_id)
    } else {
        (String::new(), String::new())
    };
    let now = ctx.now;
    let key = (app_id.to_owned(), channel.clone(), identity.to_owned());
    ctx.p.conv_mut().last_inbound.insert(key, ctx.at);
    if let Some(c) = ctx.p.conv_mut().conversations.get_mut(&conversation_id) {
        c.last_received = Some(now);
    }
    // Inbound callbacks carry the conversation's (DISPATCH: the identity's) metadata and last
    // correlation id.
    let (message_metadata, correlation_id) =
        context::for_reply(ctx, app_id, &conversation_id, &channel, identity);
    let meta = Meta {
        accepted_time: Some(now),
        message_metadata,
        correlation_id,
        ..Meta::default()
    };
    let id = ctx.new_id();
    let sender_id = if matches!(channel, Channel::Sms | Channel::Mms) {
        sender_of(ctx, app_id, &channel)
    } else {
        String::new()
    };
    match received {
        Received::Message(message) => {
            let message = *message;
            let text = message.text_message.as_ref().map(|t| t.text.clone());
            // A choice response or a reply carries the answered message's message_metadata.
            let metadata = context::of_answered(ctx, app_id, &message);
            let stored = types::ConversationMessage {
                accept_time: Some(now),
                contact_message: Some(message.clone()),
                channel_identity: Some(channel_identity.clone()),
                contact_id: Some(contact_id.clone()),
                conversation_id: Some(conversation_id.clone()),
                direction: Some(types::ConversationDirection::ToApp),
                id: Some(id.clone()),
                injected: Some(false),
                metadata: Some(metadata.clone()),
                sender_id: Some(sender_id.clone()),
                processing_mode: Some(mode.clone()),
                ..Default::default()
            };
            let kept = Stored::kept(ctx, app_id, &mode, Record::new(stored.clone()));
            ctx.p.conv_mut().messages.insert(id.clone(), kept);
            let inbound = types::InboundMessage {
                accept_time: Some(now),
                channel_identity: Some(channel_identity),
                contact_id: Some(contact_id.clone()),
                contact_message: message,
                conversation_id: Some(conversation_id),
                direction: Some(types::ConversationDirection::ToApp),
                id: Some(id),
                injected: Some(false),
                metadata: Some(metadata),
                processing_mode: Some(mode.clone()),
                sender_id: Some(sender_id),
            };
            emit(ctx, app_id, "MESSAGE_INBOUND", inbound, &meta);
            if let Some(opt_out) = keyword(&channel, text.as_deref()) {
                record_consent(ctx, app_id, &contact_id, &channel, identity, opt_out, &mode);
            }
            Ok(Some(stored))
        }
        Received::Event(event) => {
            let event = *event;
            let stored = types::ConversationEvent {
                contact_event: Some(event.clone()),
                conversation_id: Some(conversation_id.clone()),
                contact_id: Some(contact_id.clone()),
                channel_identity: Some(channel_identity.clone()),
                accept_time: Some(now),
                processing_mode: Some(mode.clone()),
                direction: Some(types::ConversationDirection::ToApp),
                id: Some(id.clone()),
                ..Default::default()
            };
            let kept = Stored::kept(ctx, app_id, &mode, stored);
            ctx.p.conv_mut().events.insert(id.clone(), kept);
            let inbound = types::InboundEvent {
                accept_time: Some(now),
                channel_identity: Some(channel_identity),
                contact_event: Some(event),
                contact_id: Some(contact_id),
                contact_message_event: None,
                conversation_id: Some(conversation_id),
                direction: Some(types::ConversationDirection::ToApp),
                id: Some(id),
                processing_mode: Some(mode),
            };
            emit(ctx, app_id, "EVENT_INBOUND", inbound, &meta);
            Ok(None)
        }
    }
}

/// The number a contact wrote to: the app's SMS sender as its credential claims it.
fn sender_of(ctx: &Ctx, app_id: &str, channel: &Channel) -> String {
    ctx.p
        .conv()
        .apps
        .get(app_id)
        .and_then(|a| a.channel_credentials.iter().find(|c| c.channel == *channel))
        .and_then(|c| c.static_bearer.as_ref())
        .map(|b| b.claimed_identity.clone())
        .unwrap_or_default()
}

/// See [`crate::fake::Fake::inbound`].
pub(crate) fn inbound(
    shared: &Arc<Shared>,
    app_id: &str,
    channel: Channel,
    identity: &str,
    message: types::ContactMessage,
) -> Result<types::ConversationMessage, ApiFailure> {
    let project = shared.cfg.project_id.clone();
    shared
        .transact(&project, |ctx| {
            receive(
                ctx,
                app_id,
                channel,
                identity,
                Received::Message(Box::new(message)),
            )
        })
        .map(|m| m.unwrap_or_default())
}

/// See [`crate::fake::Fake::inbound_event`].
pub(crate) fn inbound_event(
    shared: &Arc<Shared>,
    app_id: &str,
    channel: Channel,
    identity: &str,
    event: types::ContactEvent,
) -> Result<(), ApiFailure> {
    let project = shared.cfg.project_id.clone();
    shared
        .transact(&project, |ctx| {
            receive(
                ctx,
                app_id,
                channel,
                identity,
                Received::Event(Box::new(event)),
            )
        })
        .map(|_| ())
}
