//! Transcoding, capability queries, consents and project settings.

use super::contacts::{conflicts, existing};
use super::ctx::{Ctx, Meta};
use super::patch;
use super::reply::{ApiFailure, Reply};
use super::request::{page, Req};
use crate::types::{self, ConversationChannel as Channel};
use serde_json::{json, Value};

/// The message as plain text, as an SMS would carry it.
fn plain_text(m: &types::AppMessage) -> String {
    let choices = |c: &[types::Choice]| -> String {
        c.iter()
            .enumerate()
            .map(|(i, c)| {
                let label = c
                    .text_message
                    .as_ref()
                    .map(|t| t.text.clone())
                    .or_else(|| {
                        c.url_message
                            .as_ref()
                            .map(|u| format!("{}: {}", u.title, u.url))
                    })
                    .or_else(|| {
                        c.call_message
                            .as_ref()
                            .map(|m| format!("{}: {}", m.title, m.phone_number))
                    })
                    .or_else(|| c.location_message.as_ref().map(|l| l.title.clone()))
                    .unwrap_or_default();
                format!("\n{}: {label}", i + 1)
            })
            .collect()
    };
    if let Some(t) = &m.text_message {
        t.text.clone()
    } else if let Some(media) = &m.media_message {
        media.url.clone()
    } else if let Some(c) = &m.card_message {
        let parts = [
            c.title.clone(),
            c.description.clone(),
            c.media_message.as_ref().map(|x| x.url.clone()),
        ];
        let head: Vec<String> = parts.into_iter().flatten().collect();
        format!("{}{}", head.join("\n"), choices(&c.choices))
    } else if let Some(c) = &m.choice_message {
        let text = c
            .text_message
            .as_ref()
            .map(|t| t.text.clone())
            .unwrap_or_default();
        format!("{text}{}", choices(&c.choices))
    } else if let Some(l) = &m.location_message {
        format!(
            "{}: {},{}",
            l.title, l.coordinates.latitude, l.coordinates.longitude
        )
    } else if let Some(c) = &m.carousel_message {
        let cards: Vec<String> = c.cards.iter().filter_map(|c| c.title.clone()).collect();
        format!("{}{}", cards.join("\n"), choices(&c.choices))
    } else if let Some(l) = &m.list_message {
        l.title.clone()
    } else if let Some(c) = &m.contact_info_message {
        let phones: Vec<&str> = c
            .phone_numbers
            .iter()
            .map(|p| p.phone_number.as_str())
            .collect();
        format!("{}: {}", c.name.full_name, phones.join(", "))
    } else if let Some(t) = &m.template_message {
        let id = t
            .omni_template
            .as_ref()
            .map(|o| o.template_id.as_str())
            .unwrap_or("channel template");
        format!("template {id}")
    } else {
        String::new()
    }
}

/// The message in the channel's own format: deterministic and shaped like the channel's API
/// (not byte-exact to what Sinch sends).
fn transcode_for(channel: &Channel, m: &types::AppMessage, to: Option<&str>) -> String {
    let text = plain_text(m);
    let media = m.media_message.as_ref().map(|x| x.url.clone());
    let v = match channel {
        Channel::Sms | Channel::Mms => return text,
        Channel::Whatsapp => match media {
            Some(url) => {
                json!({"messaging_product": "whatsapp", "to": to, "type": "image", "image": {"link": url}})
            }
            None => {
                json!({"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": text}})
            }
        },
        Channel::Messenger | Channel::Instagram => match media {
            Some(url) => {
                json!({"recipient": {"id": to}, "message": {"attachment": {"type": "image", "payload": {"url": url}}}})
            }
            None => json!({"recipient": {"id": to}, "message": {"text": text}}),
        },
        Channel::Viber | Channel::Viberbm => json!({"receiver": to, "type": "text", "text": text}),
        Channel::Telegram => json!({"chat_id": to, "text": text}),
        other => json!({"channel": other.as_str(), "to": to, "text": text}),
    };
    v.to_string()
}

pub(crate) fn transcode(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let r: types::TranscodeMessageRequest = req.json()?;
    ctx.app(&r.app_id)?;
    super::messages::check_app_message(&r.app_message)?;
    if r.channels.is_empty() {
        return Err(ApiFailure::bad_request(
            "channels must name at least one channel",
        ));
    }
    let out: serde_json::Map<String, Value> = r
        .channels
        .iter()
        .map(|c| {
            (
                c.as_str().to_owned(),
                transcode_for(c, &r.app_message, r.to.as_deref()).into(),
            )
        })
        .collect();
    let resp: types::TranscodeMessageResponse =
        serde_json::from_value(json!({"transcoded_message": out}))
            .map_err(|e| ApiFailure::internal(e.to_string()))?;
    Reply::json(&resp)
}

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
pub(crate) fn capability(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let r: types::QueryCapabilityRequest = req.json()?;
    let app = ctx.app(&r.app_id)?;
    let channels: Vec<Channel> = app
        .channel_credentials
        .iter()
        .map(|c| c.channel.clone())
        .collect();
    let contact_id = existing(ctx, &r.recipient, &r.app_id)?;
    let request_id = r.request_id.clone().unwrap_or_else(|| ctx.new_id());
    let identities = ctx.contact(&contact_id)?.channel_identities.clone();
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
        ctx.emit(&r.app_id, "CAPABILITY", n, &Meta::default());
    }
    Reply::json(&types::QueryCapabilityResponse {
        app_id: Some(r.app_id),
        recipient: Some(r.recipient),
        request_id: Some(request_id),
    })
}

/// An inbound STOP (opt out) or START (opt in): the `OPT_OUT_ALL` list, its audit trail and
/// the OPT_OUT / OPT_IN callback.
pub(crate) fn record_consent(
    ctx: &mut Ctx,
    app_id: &str,
    contact_id: &str,
    channel: &Channel,
    identity: &str,
    opt_out: bool,
    mode: &types::ProcessingMode,
) {
    let list = types::ConsentListType::OptOutAll;
    let entries = ctx
        .p
        .consents
        .entry((app_id.to_owned(), list.as_str().to_owned()))
        .or_default();
    if opt_out {
        entries.insert(identity.to_owned());
    } else {
        entries.remove(identity);
    }
    let record = types::ConsentAuditRecord {
        origin: Some("INBOUND_KEYWORD".into()),
        operation: Some(if opt_out { "ADD" } else { "REMOVE" }.into()),
        list_type: Some(list),
        project_id: Some(ctx.p.id.clone()),
        app_id: Some(app_id.to_owned()),
        datetime: Some(ctx.now),
    };
    ctx.p
        .consent_audit
        .entry((app_id.to_owned(), identity.to_owned()))
        .or_default()
        .push(record);
    let n = types::OptOutNotification {
        request_id: None,
        contact_id: Some(contact_id.to_owned()),
        channel: Some(channel.clone()),
        identity: Some(identity.to_owned()),
        status: Some(
            if opt_out {
                "OPT_OUT_SUCCEEDED"
            } else {
                "OPT_IN_SUCCEEDED"
            }
            .into(),
        ),
        error_details: None,
        processing_mode: Some(mode.clone()),
    };
    let trigger = if opt_out { "OPT_OUT" } else { "OPT_IN" };
    ctx.emit(app_id, trigger, n, &Meta::default());
}

pub(crate) fn consents(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let app = req.param(0);
    ctx.app(app)?;
    let list = types::ConsentListType::from(req.param(1));
    if list.is_unknown() {
        return Err(ApiFailure::bad_request(format!(
            "unknown consent list type {}",
            req.param(1)
        )));
    }
    let items = ctx
        .p
        .consents
        .get(&(app.to_owned(), list.as_str().to_owned()))
        .map(|s| {
            s.iter()
                .map(|i| {
                    (
                        i.clone(),
                        types::ConsentIdentity {
                            identity: Some(i.clone()),
                        },
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let (identities, next_page_token) = page(items, req, false)?;
    Reply::json(&types::ListConsentsResponse {
        identities,
        next_page_token,
    })
}

pub(crate) fn consent_audit(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let (app, identity) = (req.param(0), req.param(1));
    ctx.app(app)?;
    let audit_records = ctx
        .p
        .consent_audit
        .get(&(app.to_owned(), identity.to_owned()))
        .cloned()
        .unwrap_or_default();
    Reply::json(&types::ConsentAuditRecordsResponse {
        identity: Some(types::ConsentIdentity {
            identity: Some(identity.to_owned()),
        }),
        audit_records,
    })
}

fn settings_reply(ctx: &Ctx) -> Result<Reply, ApiFailure> {
    Reply::json(&types::ProjectSettingsResponse {
        project_id: Some(ctx.p.id.clone()),
        settings: ctx.p.settings.clone(),
    })
}

fn current_settings<'a>(ctx: &'a Ctx) -> Result<&'a types::ProjectSettings, ApiFailure> {
    ctx.p
        .settings
        .as_ref()
        .ok_or_else(|| ApiFailure::new(404, format!("project {} has no settings", ctx.p.id)))
}

/// Unified Contact ID needs every identity to belong to one contact.
fn check_settings(ctx: &Ctx, s: &types::ProjectSettings) -> Result<(), ApiFailure> {
    let unified = s
        .contact_settings
        .as_ref()
        .and_then(|c| c.unified_contact_id_enabled);
    let n = conflicts(ctx.p).len();
    if unified == Some(true) && n > 0 {
        return Err(ApiFailure::bad_request(format!(
            "resolve the {n} identity conflicts (contacts:identityConflicts) before enabling Unified Contact ID"
        )));
    }
    Ok(())
}

pub(crate) fn get_settings(ctx: &mut Ctx, _: &Req) -> Result<Reply, ApiFailure> {
    current_settings(ctx)?;
    settings_reply(ctx)
}

pub(crate) fn create_settings(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    if ctx.p.settings.is_some() {
        return Err(ApiFailure::new(
            409,
            format!("project {} already has settings", ctx.p.id),
        ));
    }
    let s: types::ProjectSettings = req.json()?;
    check_settings(ctx, &s)?;
    ctx.p.settings = Some(s);
    settings_reply(ctx)
}

pub(crate) fn update_settings(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let s = patch::apply(current_settings(ctx)?, req)?;
    check_settings(ctx, &s)?;
    ctx.p.settings = Some(s);
    settings_reply(ctx)
}

pub(crate) fn delete_settings(ctx: &mut Ctx, _: &Req) -> Result<Reply, ApiFailure> {
    current_settings(ctx)?;
    ctx.p.settings = None;
    Reply::empty()
}
