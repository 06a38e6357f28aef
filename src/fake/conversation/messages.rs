//! Messages: sending (recipient resolution, conversations, the app queue, callbacks), reading,
//! listing with the documented filters, and the inbound side a handset produces.

use super::contacts::{self, find_by_identity};
use super::conversations;
use super::ctx::{found, Ctx, Meta};
use super::queue::{self, Kind, Queued};
use super::reply::{ApiFailure, Reply};
use super::request::{page, page_with, Req};
use super::state::{Shared, Stored};
use crate::types::{self, ConversationChannel as Channel};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// The message kinds of which an app message carries exactly one.
const APP_MESSAGE_KINDS: [&str; 9] = [
    "text_message",
    "media_message",
    "card_message",
    "carousel_message",
    "choice_message",
    "location_message",
    "list_message",
    "template_message",
    "contact_info_message",
];

pub(crate) fn check_app_message(m: &types::AppMessage) -> Result<(), ApiFailure> {
    let v = serde_json::to_value(m).unwrap_or_default();
    let set: Vec<&str> = APP_MESSAGE_KINDS
        .iter()
        .copied()
        .filter(|k| v.get(k).is_some_and(|x| !x.is_null()))
        .collect();
    match set.len() {
        1 => Ok(()),
        0 => Err(ApiFailure::bad_request(format!(
            "message must set one of {}",
            APP_MESSAGE_KINDS.join(", ")
        ))),
        _ => Err(ApiFailure::bad_request(format!(
            "message must set exactly one kind, got {}",
            set.join(" and ")
        ))),
    }
}

/// Where an outgoing message or event goes once validated: contact, conversation, mode.
pub(crate) struct Delivery {
    pub contact_id: String,
    pub conversation_id: Option<String>,
    pub identity: types::ChannelIdentity,
    pub mode: types::ProcessingMode,
}

/// Validates and resolves an outgoing item for `app_id`, then (only if all is well) stores the
/// contact and conversation it needs. `dispatch_only` is the request's DISPATCH_ONLY strategy.
pub(crate) fn prepare(
    ctx: &mut Ctx,
    app_id: &str,
    recipient: &types::Recipient,
    priority: &[Channel],
    dispatch_only: bool,
) -> Result<Delivery, ApiFailure> {
    let app = ctx.app(app_id)?;
    let target = contacts::resolve(ctx, app, recipient, priority)?;
    let mode = if dispatch_only || app.processing_mode == Some(types::ProcessingMode::Dispatch) {
        types::ProcessingMode::Dispatch
    } else {
        types::ProcessingMode::Conversation
    };
    queue::ensure_room(ctx, app_id)?;
    // Nothing can fail from here on.
    let contact_id = contacts::commit(ctx, target.contact);
    let conversation_id = (mode == types::ProcessingMode::Conversation)
        .then(|| conversations::open(ctx, app_id, &contact_id, &target.identity.channel));
    let mut identity = target.identity;
    identity.app_id = Some(app_id.to_owned());
    Ok(Delivery {
        contact_id,
        conversation_id,
        identity,
        mode,
    })
}

pub(crate) fn send(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let r: types::SendMessageRequest = req.json()?;
    check_app_message(&r.message)?;
    let dispatch_only = r.processing_strategy == Some(types::ProcessingStrategy::DispatchOnly);
    let d = prepare(
        ctx,
        &r.app_id,
        &r.recipient,
        &r.channel_priority_order,
        dispatch_only,
    )?;
    let id = ctx.new_id();
    let meta = Meta {
        accepted_time: Some(ctx.now),
        message_metadata: r.message_metadata.clone(),
        correlation_id: r.correlation_id.clone(),
        callback_url: r.callback_url.clone(),
    };
    let message = types::ConversationMessage {
        accept_time: Some(ctx.now),
        app_message: Some(r.message.clone()),
        channel_identity: Some(d.identity.clone()),
        contact_id: Some(d.contact_id.clone()),
        conversation_id: d.conversation_id.clone(),
        direction: Some(types::ConversationDirection::ToContact),
        id: Some(id.clone()),
        injected: Some(false),
        metadata: r.message_metadata.clone(),
        processing_mode: Some(d.mode.clone()),
        ..Default::default()
    };
    ctx.p.messages.insert(
        id.clone(),
        Stored {
            app_id: r.app_id.clone(),
            item: message,
        },
    );
    let submitted = types::MessageSubmitNotification {
        message_id: Some(id.clone()),
        conversation_id: d.conversation_id.clone(),
        channel_identity: Some(d.identity.clone()),
        contact_id: Some(d.contact_id.clone()),
        submitted_message: Some(r.message),
        metadata: r.message_metadata,
        processing_mode: Some(d.mode.clone()),
    };
    ctx.emit(&r.app_id, "MESSAGE_SUBMIT", submitted, &meta);
    let item = Queued {
        kind: Kind::Message,
        id: id.clone(),
        contact_id: d.contact_id,
        conversation_id: d.conversation_id,
        channel_identity: d.identity,
        processing_mode: d.mode,
        meta,
    };
    queue::report(
        ctx,
        &r.app_id,
        &item,
        types::DeliveryStatus::QueuedOnChannel,
        None,
    );
    queue::push(ctx, &r.app_id, item);
    Reply::json(&types::SendMessageResponse {
        accepted_time: Some(ctx.now),
        message_id: Some(id),
    })
}

fn message<'a>(
    ctx: &'a Ctx,
    id: &str,
) -> Result<&'a Stored<types::ConversationMessage>, ApiFailure> {
    found(&ctx.p.messages, "message", id)
}

pub(crate) fn get(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    Reply::json(&message(ctx, req.param(0))?.item)
}

pub(crate) fn delete(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let id = req.param(0);
    message(ctx, id)?;
    ctx.p.messages.remove(id);
    Reply::empty()
}

pub(crate) fn update_metadata(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let id = req.param(0);
    let r: types::UpdateMessageMetadataRequest = req.json()?;
    message(ctx, id)?;
    let stored = ctx.p.messages.get_mut(id).expect("checked above");
    stored.item.metadata = Some(r.metadata);
    Reply::json(&stored.item)
}

/// The filters of list messages and fetch-last-message.
#[derive(Default)]
struct Filter {
    conversation_id: Option<String>,
    contact_ids: Vec<String>,
    app_id: Option<String>,
    identities: Vec<String>,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    source: Option<types::MessageSource>,
    only_from_contact: bool,
    channel: Option<Channel>,
    direction: Option<types::ConversationDirection>,
    without_metadata: bool,
}

impl Filter {
    fn keep(&self, m: &Stored<types::ConversationMessage>) -> bool {
        let i = &m.item;
        let mode = i
            .processing_mode
            .clone()
            .unwrap_or(types::ProcessingMode::Conversation);
        let wanted_mode = match &self.source {
            Some(types::MessageSource::DispatchSource) => types::ProcessingMode::Dispatch,
            _ => types::ProcessingMode::Conversation,
        };
        let identity = i.channel_identity.as_ref();
        mode == wanted_mode
            && self
                .conversation_id
                .as_ref()
                .is_none_or(|c| i.conversation_id.as_ref() == Some(c))
            && (self.contact_ids.is_empty()
                || i.contact_id
                    .as_ref()
                    .is_some_and(|c| self.contact_ids.contains(c)))
            && self.app_id.as_ref().is_none_or(|a| &m.app_id == a)
            && (self.identities.is_empty()
                || identity.is_some_and(|ci| self.identities.contains(&ci.identity)))
            && self
                .start
                .is_none_or(|s| i.accept_time.is_some_and(|t| t >= s))
            && self
                .end
                .is_none_or(|e| i.accept_time.is_some_and(|t| t < e))
            && (!self.only_from_contact || i.direction == Some(types::ConversationDirection::ToApp))
            && self
                .channel
                .as_ref()
                .is_none_or(|c| identity.is_some_and(|ci| &ci.channel == c))
            && self
                .direction
                .as_ref()
                .is_none_or(|d| i.direction.as_ref() == Some(d))
    }

    fn view(&self, m: &Stored<types::ConversationMessage>) -> types::ConversationMessage {
        let mut item = m.item.clone();
        if self.without_metadata {
            item.metadata = None;
        }
        item
    }
}

fn time(req: &Req, name: &str) -> Result<Option<DateTime<Utc>>, ApiFailure> {
    req.query_as(name)
}

pub(crate) fn list(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let filter = Filter {
        conversation_id: req.query("conversation_id").map(str::to_owned),
        contact_ids: req
            .query("contact_id")
            .map(str::to_owned)
            .into_iter()
            .collect(),
        app_id: req.query("app_id").map(str::to_owned),
        identities: req
            .query("channel_identity")
            .map(str::to_owned)
            .into_iter()
            .collect(),
        start: time(req, "start_time")?,
        end: time(req, "end_time")?,
        source: req.query("messages_source").map(types::MessageSource::from),
        only_from_contact: req.query_as("only_recipient_originated")?.unwrap_or(false),
        channel: req.query("channel").map(Channel::from),
        direction: req
            .query("direction")
            .map(types::ConversationDirection::from),
        without_metadata: req.query("view") == Some("WITHOUT_METADATA"),
    };
    // Newest first: ULIDs sort by accept time.
    let items = ctx
        .p
        .messages
        .iter()
        .rev()
        .filter(|(_, m)| filter.keep(m))
        .map(|(k, m)| (k.clone(), filter.view(m)))
        .collect();
    let (messages, next_page_token) = page(items, req, true)?;
    Reply::json(&types::ListMessagesResponse {
        messages,
        next_page_token,
    })
}

/// The latest message of each channel identity (or contact) asked for, newest first.
pub(crate) fn last_by_identity(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let r: types::ListLastMessagesByChannelIdentityRequest = req.json()?;
    if r.channel_identities.is_empty() && r.contact_ids.is_empty() {
        return Err(ApiFailure::bad_request(
            "set channel_identities or contact_ids",
        ));
    }
    let filter = Filter {
        contact_ids: r.contact_ids,
        app_id: r.app_id,
        identities: r.channel_identities,
        start: r.start_time,
        end: r.end_time,
        source: r.messages_source,
        channel: r.channel,
        direction: r.direction,
        without_metadata: r.view == Some(types::ConversationMessagesView::WithoutMetadata),
        ..Default::default()
    };
    let mut seen = std::collections::HashSet::new();
    let items = ctx
        .p
        .messages
        .iter()
        .rev()
        .filter(|(_, m)| filter.keep(m))
        .filter(|(_, m)| {
            let who = m
                .item
                .channel_identity
                .as_ref()
                .map(|ci| (ci.channel.clone(), ci.identity.clone()));
            seen.insert(who)
        })
        .map(|(k, m)| (k.clone(), filter.view(m)))
        .collect();
    let (messages, next_page_token) = page_with(
        items,
        r.page_size.map(i64::from),
        r.page_token.as_deref(),
        true,
    )?;
    Reply::json(&types::ListMessagesResponse {
        messages,
        next_page_token,
    })
}

/// Consent keywords an SMS-like inbound text may carry.
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

impl Shared {
    /// See [`super::Fake::inbound`].
    pub(crate) fn inbound(
        self: &Arc<Self>,
        app_id: &str,
        channel: Channel,
        identity: &str,
        message: types::ContactMessage,
    ) -> crate::Result<types::ConversationMessage> {
        let project = self.cfg.project_id.clone();
        let (stored, effects) = {
            let mut store = self.lock();
            let (p, ids) = store.split(&project);
            let mut ctx = Ctx::new(p, ids, &self.cfg);
            let app = ctx
                .app(app_id)
                .map_err(|e| crate::Error::InvalidRequest(e.message))?;
            if !app.channel_credentials.iter().any(|c| c.channel == channel) {
                return Err(crate::Error::InvalidRequest(format!(
                    "app {app_id} has no {channel} credentials, so it cannot receive on {channel}"
                )));
            }
            let mode = app
                .processing_mode
                .clone()
                .unwrap_or(types::ProcessingMode::Conversation);
            let contact_id = match find_by_identity(ctx.p, &channel, identity, Some(app_id)) {
                Some(id) => id,
                None => {
                    let new = types::Contact {
                        channel_identities: vec![types::ChannelIdentity {
                            channel: channel.clone(),
                            identity: identity.to_owned(),
                            app_id: None,
                        }],
                        channel_priority: vec![channel.clone()],
                        language: Some(types::ContactLanguage::Unspecified),
                        ..Default::default()
                    };
                    contacts::commit(&mut ctx, Err(new))
                }
            };
            let conversation_id = (mode == types::ProcessingMode::Conversation)
                .then(|| conversations::open(&mut ctx, app_id, &contact_id, &channel));
            let now = ctx.now;
            if let Some(c) = conversation_id
                .as_ref()
                .and_then(|c| ctx.p.conversations.get_mut(c))
            {
                c.last_received = Some(now);
            }
            let channel_identity = types::ChannelIdentity {
                channel: channel.clone(),
                identity: identity.to_owned(),
                app_id: Some(app_id.to_owned()),
            };
            let id = ctx.new_id();
            let text = message.text_message.as_ref().map(|t| t.text.clone());
            let stored = types::ConversationMessage {
                accept_time: Some(now),
                contact_message: Some(message.clone()),
                channel_identity: Some(channel_identity.clone()),
                contact_id: Some(contact_id.clone()),
                conversation_id: conversation_id.clone(),
                direction: Some(types::ConversationDirection::ToApp),
                id: Some(id.clone()),
                injected: Some(false),
                processing_mode: Some(mode.clone()),
                ..Default::default()
            };
            ctx.p.messages.insert(
                id.clone(),
                Stored {
                    app_id: app_id.to_owned(),
                    item: stored.clone(),
                },
            );
            let inbound = types::InboundMessage {
                accept_time: Some(now),
                channel_identity: Some(channel_identity),
                contact_id: Some(contact_id.clone()),
                contact_message: message,
                conversation_id,
                direction: Some(types::ConversationDirection::ToApp),
                id: Some(id),
                injected: Some(false),
                metadata: None,
                processing_mode: Some(mode.clone()),
                sender_id: None,
            };
            let meta = Meta {
                accepted_time: Some(now),
                ..Meta::default()
            };
            ctx.emit(app_id, "MESSAGE_INBOUND", inbound, &meta);
            if let Some(opt_out) = keyword(&channel, text.as_deref()) {
                super::extras::record_consent(
                    &mut ctx,
                    app_id,
                    &contact_id,
                    &channel,
                    identity,
                    opt_out,
                    &mode,
                );
            }
            (stored, ctx.effects)
        };
        super::server::apply(self, &project, effects);
        Ok(stored)
    }
}
