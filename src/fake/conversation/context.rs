//! What a send leaves behind for the replies that follow it: its `conversation_metadata` and
//! `correlation_id`, kept on the conversation in CONVERSATION mode and on each recipient
//! identity in DISPATCH mode (only while the app's dispatch retention keeps anything), and
//! its `message_metadata`, echoed on a choice response or reply to that message.

use super::conversations::merge_patch;
use crate::fake::core::ctx::Ctx;
use crate::types::{self, ConversationChannel as Channel};
use serde_json::{Map, Value};
use std::time::Duration;

/// In DISPATCH mode, what the last sends to one identity of an app left for its replies.
#[derive(Default)]
pub(crate) struct Remembered {
    metadata: Map<String, Value>,
    correlation_id: Option<String>,
    /// Forgotten from then on (fake time): the app's dispatch retention after the last send.
    until: Duration,
}

/// Keys of [`Remembered`]: (app id, channel, identity).
pub(crate) type IdentityKey = (String, Channel, String);

/// What a send carried for the replies to come.
pub(crate) struct Carried<'a> {
    pub metadata: Option<&'a Map<String, Value>>,
    pub merge: bool,
    pub correlation_id: Option<&'a str>,
}

impl Carried<'_> {
    fn is_empty(&self) -> bool {
        self.metadata.is_none() && self.correlation_id.is_none()
    }
}

/// The metadata as it stands after `new` arrives: replaced, or merged as RFC 7396 says.
fn updated(
    current: &Map<String, Value>,
    new: &Map<String, Value>,
    merge: bool,
) -> Map<String, Value> {
    if !merge {
        return new.clone();
    }
    let mut value = Value::Object(current.clone());
    merge_patch(&mut value, &Value::Object(new.clone()));
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Keeps what a send carried: on its conversation (CONVERSATION mode), or on each of the
/// recipient's identities (DISPATCH mode) for the app's `dispatch_retention_policy.ttl_days`
/// (0 by default: then nothing is kept).
pub(crate) fn remember(
    ctx: &mut Ctx,
    app_id: &str,
    mode: &types::ProcessingMode,
    conversation_id: &str,
    identities: &[types::ChannelIdentity],
    carried: &Carried,
) {
    if carried.is_empty() {
        return;
    }
    if let Some(c) = ctx.p.conv_mut().conversations.get_mut(conversation_id) {
        if let Some(m) = carried.metadata {
            c.metadata_json = updated(&c.metadata_json, m, carried.merge);
        }
        if let Some(id) = carried.correlation_id {
            c.correlation_id = Some(id.to_owned());
        }
        return;
    }
    if *mode != types::ProcessingMode::Dispatch {
        return;
    }
    let days = dispatch_days(ctx, app_id);
    if days == 0 {
        return;
    }
    let until = ctx.at + Duration::from_secs(days * 86_400);
    let at = ctx.at;
    let store = &mut ctx.p.conv_mut().remembered;
    for i in identities {
        let key = (app_id.to_owned(), i.channel.clone(), i.identity.clone());
        let r = store.entry(key).or_default();
        if r.until <= at {
            *r = Remembered::default();
        }
        if let Some(m) = carried.metadata {
            r.metadata = updated(&r.metadata, m, carried.merge);
        }
        if let Some(id) = carried.correlation_id {
            r.correlation_id = Some(id.to_owned());
        }
        r.until = until;
    }
}

/// The app's DISPATCH retention in days (0 when unset, as the API's default).
fn dispatch_days(ctx: &Ctx, app_id: &str) -> u64 {
    let days = ctx
        .p
        .conv()
        .apps
        .get(app_id)
        .and_then(|a| a.dispatch_retention_policy.as_ref())
        .and_then(|p| p.ttl_days)
        .unwrap_or(0);
    u64::from(days.max(0) as u32)
}

/// The envelope fields of a reply from `identity` on `channel`: the conversation's (or, in
/// DISPATCH mode, the identity's) metadata as JSON text and last correlation id, when any.
pub(crate) fn for_reply(
    ctx: &Ctx,
    app_id: &str,
    conversation_id: &str,
    channel: &Channel,
    identity: &str,
) -> (Option<String>, Option<String>) {
    let s = ctx.p.conv();
    let (metadata, correlation_id) = match s.conversations.get(conversation_id) {
        Some(c) => (&c.metadata_json, c.correlation_id.as_ref()),
        None => {
            let key = (app_id.to_owned(), channel.clone(), identity.to_owned());
            match s.remembered.get(&key).filter(|r| ctx.at < r.until) {
                Some(r) => (&r.metadata, r.correlation_id.as_ref()),
                None => return (None, None),
            }
        }
    };
    let metadata = (!metadata.is_empty()).then(|| Value::Object(metadata.clone()).to_string());
    let correlation_id = correlation_id.filter(|x| !x.is_empty()).cloned();
    (metadata, correlation_id)
}

/// The `message_metadata` of the app message a contact's message answers (a choice response,
/// or a reply to it), while the API still keeps that message; else `""`.
pub(crate) fn of_answered(ctx: &Ctx, app_id: &str, message: &types::ContactMessage) -> String {
    let answered = message
        .choice_response_message
        .as_ref()
        .map(|c| c.message_id.as_str())
        .or_else(|| message.reply_to.as_ref().map(|r| r.message_id.as_str()));
    let Some(id) = answered else {
        return String::new();
    };
    ctx.p
        .conv()
        .messages
        .get(id)
        .filter(|m| m.app_id == app_id)
        .filter(|m| m.item.direction == Some(types::ConversationDirection::ToContact))
        .filter(|m| m.visible(m.source, ctx.at))
        .and_then(|m| m.item.metadata.clone())
        .unwrap_or_default()
}
