//! Capability queries: answered at once with the request's id; what each of the contact's
//! channels can carry arrives as a CAPABILITY callback per channel the app has.

use super::contacts::existing;
use super::notify::{emit, Meta};
use crate::fake::core::ctx::Ctx;
use crate::fake::core::reply::{ApiFailure, Reply};
use crate::fake::core::request::Req;
use crate::types::{self, ConversationChannel as Channel};

/// What the fake reports a channel can carry.
fn capabilities(channel: &Channel) -> &'static [&'static str] {
    match channel {
        Channel::Sms => &["TEXT"],
        Channel::Mms => &["TEXT", "MEDIA"],
        Channel::Rcs => &["TEXT", "MEDIA", "CARD", "CAROUSEL", "CHOICE", "LOCATION"],
        _ => &["TEXT", "MEDIA", "CHOICE"],
    }
}

/// Answers at once; the result of each reachable channel arrives as a CAPABILITY callback.
pub(crate) fn query(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let r: types::QueryCapabilityRequest = req.json()?;
    let app = super::apps::app(ctx, &r.app_id)?;
    let channels: Vec<Channel> = app
        .channel_credentials
        .iter()
        .map(|c| c.channel.clone())
        .collect();
    let contact_id = existing(ctx, &r.recipient, &r.app_id)?;
    let request_id = r.request_id.clone().unwrap_or_else(|| ctx.new_id());
    let identities = super::contacts::contact(ctx, &contact_id)?
        .channel_identities
        .clone();
    for i in identities.iter().filter(|i| channels.contains(&i.channel)) {
        let n = types::CapabilityNotification {
            request_id: Some(request_id.clone()),
            contact_id: Some(contact_id.clone()),
            channel: Some(i.channel.clone()),
            identity: Some(i.identity.clone()),
            capability_status: Some("CAPABILITY_FULL".into()),
            channel_capabilities: capabilities(&i.channel)
                .iter()
                .map(|s| s.to_string())
                .collect(),
            reason: None,
        };
        emit(ctx, &r.app_id, "CAPABILITY", n, &Meta::default());
    }
    Reply::json(&types::QueryCapabilityResponse {
        app_id: Some(r.app_id),
        recipient: Some(r.recipient),
        request_id: Some(request_id),
    })
}
