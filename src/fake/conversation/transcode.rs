//! Transcoding: an app message in each channel's own format, deterministically (shaped like
//! each channel's API, not byte-exact to what Sinch sends); nothing is sent.

use crate::fake::core::ctx::Ctx;
use crate::fake::core::reply::{ApiFailure, Reply};
use crate::fake::core::request::Req;
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
    super::apps::app(ctx, &r.app_id)?;
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
