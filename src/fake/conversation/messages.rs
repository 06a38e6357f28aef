//! Messages: sending (the synchronous checks, the recipient's identities in priority order,
//! contacts and conversations in CONVERSATION mode only, the two message stores, the app
//! queue), reading them back by `messages_source`, listing with the documented filters.

use super::apps::app;
use super::channels::reason;
use super::contacts::{self, find_by_identity};
use super::context::{self, Carried};
use super::conversations;
use super::delivery::{self, Kind, Outbound};
use super::notify::{override_for, Meta};
use super::{app_scoped, mode_of, Record, Source, Stored};
use crate::fake::core::ctx::Ctx;
use crate::fake::core::reply::{ApiFailure, Reply};
use crate::fake::core::request::{page, page_with, Req};
use crate::types::{self, ConversationChannel as Channel};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

/// The message kinds of which an app message carries exactly one.
pub(super) const APP_MESSAGE_KINDS: [&str; 9] = [
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

/// Longest `conversation_metadata`, as JSON text.
const MAX_CONVERSATION_METADATA: usize = 2048;
/// Bounds of `ttl`, in seconds.
const TTL_SECONDS: std::ops::RangeInclusive<u64> = 3..=315_576_000_000;

pub(crate) fn check_app_message(m: &types::AppMessage) -> Result<(), ApiFailure> {
    let kinds = [
        m.text_message.is_some(),
        m.media_message.is_some(),
        m.card_message.is_some(),
        m.carousel_message.is_some(),
        m.choice_message.is_some(),
        m.location_message.is_some(),
        m.list_message.is_some(),
        m.template_message.is_some(),
        m.contact_info_message.is_some(),
    ];
    let set: Vec<&str> = APP_MESSAGE_KINDS
        .iter()
        .zip(kinds)
        .filter_map(|(name, set)| set.then_some(*name))
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

/// Where an outgoing message or event goes, decided before anything is stored.
pub(crate) struct Target {
    pub mode: types::ProcessingMode,
    /// An existing contact, or the one to create (CONVERSATION mode only).
    pub contact: Option<Result<String, Box<types::Contact>>>,
    /// The identities to try, in order.
    pub candidates: Vec<types::ChannelIdentity>,
    /// The message will fail this way when it leaves the queue.
    pub doomed: Option<types::Reason>,
}

/// Validates a recipient for `app_id` as the API does before accepting: the processing mode's
/// recipient rule, `channel_priority_order` naming only the app's channels, identities on a
/// channel the app can use.
pub(crate) fn target(
    ctx: &Ctx,
    app_id: &str,
    recipient: &types::Recipient,
    priority: &[Channel],
    dispatch_only: bool,
) -> Result<Target, ApiFailure> {
    let app = app(ctx, app_id)?;
    let mode = if dispatch_only {
        types::ProcessingMode::Dispatch
    } else {
        mode_of(app)
    };
    let configured: Vec<&Channel> = app.channel_credentials.iter().map(|c| &c.channel).collect();
    if let Some(c) = priority.iter().find(|c| !configured.contains(c)) {
        return Err(ApiFailure::bad_request(format!(
            "channel_priority_order names {c}, which app {app_id} has no credentials for"
        )));
    }
    let dispatch = mode == types::ProcessingMode::Dispatch;
    match (&recipient.contact_id, &recipient.identified_by) {
        (Some(_), None) if dispatch => Err(ApiFailure::bad_request(
            "an app in DISPATCH mode (or a DISPATCH_ONLY send) takes recipients by identified_by, not contact_id",
        )),
        (Some(id), None) => {
            let Some(c) = ctx.p.conv().contacts.get(id) else {
                return Ok(Target {
                    mode,
                    contact: Some(Ok(id.clone())),
                    candidates: vec![],
                    doomed: Some(reason(types::ReasonCode::ContactNotFound)),
                });
            };
            // The active conversation's channel first, then the contact's priority, then the
            // app's credential order; the request's order above all.
            let active = ctx
                .p
                .conv()
                .conversations
                .values()
                .find(|x| {
                    x.active == Some(true)
                        && x.app_id.as_deref() == Some(app_id)
                        && x.contact_id.as_deref() == Some(id)
                })
                .and_then(|x| x.active_channel.clone());
            let mut list: Vec<types::ChannelIdentity> = c
                .channel_identities
                .iter()
                .filter(|i| configured.contains(&&i.channel))
                .filter(|i| {
                    !app_scoped(&i.channel)
                        || i.app_id.as_deref().is_none_or(|a| a.is_empty() || a == app_id)
                })
                .cloned()
                .collect();
            rank(&mut list, &configured.iter().map(|c| (*c).clone()).collect::<Vec<_>>());
            rank(&mut list, &c.channel_priority);
            rank(&mut list, active.as_slice());
            rank(&mut list, priority);
            let doomed = list
                .is_empty()
                .then(|| reason(types::ReasonCode::NoChannelIdentityForContact));
            Ok(Target {
                mode,
                contact: Some(Ok(id.clone())),
                candidates: list,
                doomed,
            })
        }
        (None, Some(by)) if !by.channel_identities.is_empty() => {
            let mut list: Vec<types::ChannelIdentity> = by
                .channel_identities
                .iter()
                .map(|i| types::ChannelIdentity {
                    channel: i.channel.clone(),
                    identity: i.identity.clone(),
                    app_id: Some(if app_scoped(&i.channel) {
                        app_id.to_owned()
                    } else {
                        String::new()
                    }),
                })
                .collect();
            if !list.iter().any(|i| configured.contains(&&i.channel)) {
                return Err(ApiFailure::bad_request(format!(
                    "the recipient has no identity on a channel app {app_id} has credentials for"
                )));
            }
            rank(&mut list, priority);
            let contact = (!dispatch).then(|| {
                let first = &list[0];
                match find_by_identity(ctx.p.conv(), &first.channel, &first.identity, Some(app_id))
                {
                    Some(id) => Ok(id),
                    None => Err(Box::new(types::Contact {
                        channel_priority: list.iter().map(|i| i.channel.clone()).collect(),
                        channel_identities: list.clone(),
                        ..Default::default()
                    })),
                }
            });
            Ok(Target {
                mode,
                contact,
                candidates: list,
                doomed: None,
            })
        }
        _ => Err(ApiFailure::bad_request(
            "recipient must set exactly one of contact_id and identified_by.channel_identities",
        )),
    }
}

/// Stable sort: identities on channels named in `priority` first, in its order.
fn rank(list: &mut [types::ChannelIdentity], priority: &[Channel]) {
    list.sort_by_key(|i| {
        priority
            .iter()
            .position(|c| *c == i.channel)
            .unwrap_or(usize::MAX)
    });
}

/// Stores the contact a [`Target`] decided to create and opens the conversation
/// (CONVERSATION mode); returns their ids, `""` in DISPATCH mode as the API reports them.
pub(crate) fn commit(ctx: &mut Ctx, app_id: &str, t: &mut Target) -> (String, String) {
    let Some(contact) = t.contact.take() else {
        return (String::new(), String::new());
    };
    let contact_id = match contact {
        Ok(id) => id,
        Err(new) => contacts::insert(ctx, *new),
    };
    if t.doomed.is_some() {
        return (contact_id, String::new());
    }
    let channel = t.candidates[0].channel.clone();
    let conversation_id = conversations::open(ctx, app_id, &contact_id, &channel);
    (contact_id, conversation_id)
}

/// `"<seconds>s"`, within the documented bounds.
fn ttl(raw: &str) -> Result<Duration, ApiFailure> {
    raw.strip_suffix('s')
        .and_then(|n| n.parse::<u64>().ok())
        .filter(|n| TTL_SECONDS.contains(n))
        .map(Duration::from_secs)
        .ok_or_else(|| {
            ApiFailure::bad_request(format!(
                "invalid argument: ttl: {raw:?} must be a whole number of seconds from 3 to 315576000000, such as \"86400s\""
            ))
        })
}

pub(crate) fn send(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let r: types::SendMessageRequest = req.json()?;
    let conversation_metadata = req
        .body
        .get("conversation_metadata")
        .filter(|v| !v.is_null());
    let id = accept(ctx, r, conversation_metadata)?;
    Reply::json(&types::SendMessageResponse {
        accepted_time: Some(ctx.now),
        message_id: Some(id),
    })
}

/// A send that passed the synchronous rules: where it goes and when it expires.
pub(crate) struct Checked {
    target: Target,
    expires: Option<Duration>,
}

/// The synchronous rules of a send (already checked against its schema), changing nothing:
/// the message kinds, the recipient for the processing mode, the metadata rules, `ttl`, and
/// room in the app's queue.
pub(crate) fn check(
    ctx: &Ctx,
    r: &types::SendMessageRequest,
    conversation_metadata: Option<&Value>,
) -> Result<Checked, ApiFailure> {
    check_app_message(&r.message)?;
    let dispatch_only = r.processing_strategy == Some(types::ProcessingStrategy::DispatchOnly);
    let target = target(
        ctx,
        &r.app_id,
        &r.recipient,
        &r.channel_priority_order,
        dispatch_only,
    )?;
    if let Some(m) = conversation_metadata {
        if !m.is_object() {
            return Err(ApiFailure::bad_request(
                "invalid argument: conversation_metadata: must be a JSON object",
            ));
        }
        if m.to_string().len() > MAX_CONVERSATION_METADATA {
            return Err(ApiFailure::bad_request(format!(
                "invalid argument: conversation_metadata: at most {MAX_CONVERSATION_METADATA} characters of JSON"
            )));
        }
    }
    let app_mode = mode_of(app(ctx, &r.app_id)?);
    if dispatch_only
        && app_mode == types::ProcessingMode::Conversation
        && (conversation_metadata.is_some() || r.correlation_id.is_some())
    {
        return Err(ApiFailure::bad_request(
            "conversation_metadata and correlation_id cannot be used with processing_strategy DISPATCH_ONLY",
        ));
    }
    let merge =
        r.conversation_metadata_update_strategy == Some(types::MetadataUpdateStrategy::MergePatch);
    if merge && target.mode == types::ProcessingMode::Dispatch {
        return Err(ApiFailure::bad_request(
            "conversation_metadata_update_strategy MERGE_PATCH is supported in CONVERSATION processing mode only",
        ));
    }
    let expires = r.ttl.as_deref().map(ttl).transpose()?.map(|d| ctx.at + d);
    delivery::ensure_room(ctx, &r.app_id)?;
    Ok(Checked { target, expires })
}

/// Accepts a send as the API does: [`check`], then the contact and conversation, the stored
/// message and the app queue. Returns the message id.
pub(crate) fn accept(
    ctx: &mut Ctx,
    r: types::SendMessageRequest,
    conversation_metadata: Option<&Value>,
) -> Result<String, ApiFailure> {
    let Checked {
        target: mut t,
        expires,
    } = check(ctx, &r, conversation_metadata)?;
    // Nothing can fail from here on.
    let (contact_id, conversation_id) = commit(ctx, &r.app_id, &mut t);
    let carried = Carried {
        metadata: conversation_metadata.and_then(Value::as_object),
        merge: r.conversation_metadata_update_strategy
            == Some(types::MetadataUpdateStrategy::MergePatch),
        correlation_id: r.correlation_id.as_deref(),
    };
    context::remember(
        ctx,
        &r.app_id,
        &t.mode,
        &conversation_id,
        &t.candidates,
        &carried,
    );
    let id = ctx.new_id();
    let first = t.candidates.first().cloned();
    let metadata = r.message_metadata.clone().unwrap_or_default();
    let message = types::ConversationMessage {
        accept_time: Some(ctx.now),
        app_message: Some(r.message),
        channel_identity: first.clone(),
        contact_id: Some(contact_id.clone()),
        conversation_id: Some(conversation_id.clone()),
        direction: Some(types::ConversationDirection::ToContact),
        id: Some(id.clone()),
        injected: Some(false),
        metadata: Some(metadata.clone()),
        sender_id: Some(String::new()),
        processing_mode: Some(t.mode.clone()),
        ..Default::default()
    };
    let kept = Stored::kept(ctx, &r.app_id, &t.mode, Record::new(message));
    ctx.p.conv_mut().messages.insert(id.clone(), kept);
    let out = Outbound {
        kind: Kind::Message,
        id: id.clone(),
        app_id: r.app_id.clone(),
        contact_id,
        conversation_id,
        mode: t.mode,
        candidates: t.candidates,
        metadata,
        content_type: r.message_content_type,
        channel_properties: r.channel_properties.into_iter().collect::<HashMap<_, _>>(),
        meta: Meta {
            accepted_time: Some(ctx.now),
            message_metadata: None,
            correlation_id: r.correlation_id,
            callback: override_for(ctx, &r.app_id, r.callback_url),
        },
        expires,
        doomed: t.doomed,
    };
    delivery::enqueue(ctx, out);
    Ok(id)
}

/// The store a request reads (`messages_source`, CONVERSATION_SOURCE by default).
fn source(req: &Req) -> Source {
    match req.query("messages_source") {
        Some("DISPATCH_SOURCE") => Source::Dispatch,
        _ => Source::Conversation,
    }
}

fn message<'a>(ctx: &'a Ctx, req: &Req) -> Result<&'a Stored<Record>, ApiFailure> {
    let id = req.path("message_id");
    ctx.p
        .conv()
        .messages
        .get(id)
        .filter(|m| m.visible(source(req), ctx.at))
        .ok_or_else(|| ApiFailure::not_found("message", id))
}

pub(crate) fn get(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    Reply::json(&message(ctx, req)?.item.message())
}

pub(crate) fn delete(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    message(ctx, req)?;
    if let Some(m) = ctx.p.conv_mut().messages.get_mut(req.path("message_id")) {
        m.deleted = true;
    }
    Reply::empty()
}

pub(crate) fn update_metadata(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let r: types::UpdateMessageMetadataRequest = req.json()?;
    message(ctx, req)?;
    let stored = ctx
        .p
        .conv_mut()
        .messages
        .get_mut(req.path("message_id"))
        .expect("checked above");
    stored.item.metadata = Some(r.metadata);
    Reply::json(&stored.item.message())
}

/// The filters of list messages and fetch-last-message.
#[derive(Default)]
struct Filter {
    source: Option<Source>,
    conversation_id: Option<String>,
    contact_ids: Vec<String>,
    app_id: Option<String>,
    identities: Vec<String>,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    only_from_contact: bool,
    channel: Option<Channel>,
    direction: Option<types::ConversationDirection>,
    without_metadata: bool,
}

impl Filter {
    /// The combinations the API refuses.
    fn check(&self, ctx: &Ctx) -> Result<(), ApiFailure> {
        let source = self.source.unwrap_or(Source::Conversation);
        let by_contact = self.conversation_id.is_some() || !self.contact_ids.is_empty();
        if by_contact && source == Source::Dispatch {
            return Err(ApiFailure::bad_request(
                "conversation_id and contact_id filter CONVERSATION_SOURCE messages only",
            ));
        }
        if let Some(a) = self
            .app_id
            .as_deref()
            .and_then(|a| ctx.p.conv().apps.get(a))
        {
            if by_contact && mode_of(a) == types::ProcessingMode::Dispatch {
                return Err(ApiFailure::bad_request(
                    "an app in DISPATCH mode has no contacts or conversations to filter by",
                ));
            }
        }
        if self.only_from_contact && source != Source::Dispatch {
            return Err(ApiFailure::bad_request(
                "only_recipient_originated applies to DISPATCH_SOURCE only",
            ));
        }
        if let (Some(s), Some(e)) = (self.start, self.end) {
            if s >= e {
                return Err(ApiFailure::bad_request(
                    "start_time must be before end_time",
                ));
            }
        }
        Ok(())
    }

    fn keep(&self, m: &Stored<Record>, at: Duration) -> bool {
        let i = &m.item;
        let identity = i.channel_identity.as_ref();
        m.visible(self.source.unwrap_or(Source::Conversation), at)
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

    /// The messages the API shows that pass the filter, newest first (ULIDs sort by accept
    /// time).
    fn matching<'a>(
        &'a self,
        ctx: &'a Ctx,
    ) -> impl Iterator<Item = (&'a String, &'a Stored<Record>)> + 'a {
        let at = ctx.at;
        let all = ctx.p.conv().messages.iter().rev();
        all.filter(move |(_, m)| self.keep(m, at))
    }

    fn view(&self, m: &Stored<Record>) -> types::ConversationMessage {
        let mut item = m.item.message();
        if self.without_metadata {
            item.metadata = Some(String::new());
        }
        item
    }
}

pub(crate) fn list(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let filter = Filter {
        source: Some(source(req)),
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
        start: req.query_as("start_time")?,
        end: req.query_as("end_time")?,
        only_from_contact: req.query_as("only_recipient_originated")?.unwrap_or(false),
        channel: req.query("channel").map(Channel::from),
        direction: req
            .query("direction")
            .map(types::ConversationDirection::from),
        without_metadata: req.query("view") == Some("WITHOUT_METADATA"),
    };
    filter.check(ctx)?;
    let items = filter
        .matching(ctx)
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
    match (r.channel_identities.is_empty(), r.contact_ids.is_empty()) {
        (true, true) => {
            return Err(ApiFailure::bad_request(
                "set channel_identities or contact_ids",
            ))
        }
        (false, false) => {
            return Err(ApiFailure::bad_request(
                "set channel_identities or contact_ids, not both",
            ))
        }
        _ => {}
    }
    let filter = Filter {
        source: Some(match r.messages_source {
            Some(types::MessageSource::DispatchSource) => Source::Dispatch,
            _ => Source::Conversation,
        }),
        contact_ids: r.contact_ids,
        app_id: r.app_id,
        identities: r.channel_identities,
        start: r.start_time,
        end: r.end_time,
        channel: r.channel,
        direction: r.direction,
        without_metadata: r.view == Some(types::ConversationMessagesView::WithoutMetadata),
        ..Default::default()
    };
    filter.check(ctx)?;
    let mut seen = std::collections::HashSet::new();
    let items = filter
        .matching(ctx)
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
    let default = req
        .op
        .body
        .and_then(|(s, _)| s.pointer("/properties/page_size/default"))
        .and_then(Value::as_i64)
        .unwrap_or(10);
    let size = crate::fake::core::request::page_size(r.page_size.map(i64::from), default)?;
    let (messages, next_page_token) = page_with(items, size, r.page_token.as_deref(), true)?;
    Reply::json(&types::ListMessagesResponse {
        messages,
        next_page_token,
    })
}
