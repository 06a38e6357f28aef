//! Transcoding: an app message in each channel's own format; nothing is sent. Omni templates
//! are resolved from the project's templates first, and a message's explicit channel messages
//! win. WhatsApp gets the documented request shapes ([`super::whatsapp`]); the other channels
//! a deterministic shape like their API's (not byte-exact to what Sinch sends).

use super::messages::APP_MESSAGE_KINDS;
use crate::fake::core::ctx::Ctx;
use crate::fake::core::reply::{ApiFailure, Reply};
use crate::fake::core::request::Req;
use crate::types::{self, ConversationChannel as Channel};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// What the API writes for the recipient when the request names none.
const NO_RECIPIENT: &str = "{{to}}";

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

/// The message in the channel's own format.
fn transcode_for(channel: &Channel, message: &Value, to: &str) -> String {
    let m: types::AppMessage = serde_json::from_value(message.clone()).unwrap_or_default();
    let text = plain_text(&m);
    let media = m.media_message.as_ref().map(|x| x.url.clone());
    let v = match channel {
        Channel::Sms | Channel::Mms => return text,
        Channel::Whatsapp => return super::whatsapp::transcode(to, message, &text),
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

/// `${name}` placeholders in every string of `v`, filled from `parameters`.
fn fill(v: &mut Value, parameters: &HashMap<String, String>) {
    match v {
        Value::String(text) if text.contains("${") => {
            for (k, value) in parameters {
                *text = text.replace(&format!("${{{k}}}"), value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| fill(i, parameters)),
        Value::Object(fields) => fields.values_mut().for_each(|f| fill(f, parameters)),
        _ => {}
    }
}

/// An omni template resolved as a send would use it: the translation's message with its
/// variables filled, and each channel's override as a channel template message. `None` when
/// the message is not an omni template.
type Resolved = (Value, HashMap<String, Value>);

fn resolve(ctx: &Ctx, m: &types::AppMessage) -> Result<Option<Resolved>, ApiFailure> {
    let Some(reference) = m
        .template_message
        .as_ref()
        .and_then(|t| t.omni_template.as_ref())
    else {
        return Ok(None);
    };
    let translation = super::channels::translation(ctx, reference).map_err(|code| {
        let why = code.as_str();
        ApiFailure::bad_request(format!("template {}: {why}", reference.template_id))
    })?;
    let json =
        serde_json::to_value(translation).map_err(|e| ApiFailure::internal(e.to_string()))?;
    let kinds: Map<String, Value> = APP_MESSAGE_KINDS
        .iter()
        .filter_map(|k| json.get(*k).map(|v| ((*k).to_owned(), v.clone())))
        .collect();
    let mut message = Value::Object(kinds);
    fill(&mut message, &reference.parameters);
    let overrides = translation
        .channel_template_overrides
        .iter()
        .filter_map(|(channel, o)| {
            let o = serde_json::to_value(o).ok()?;
            let mut r = o.get("template_reference")?.clone();
            let mut parameters = r
                .get("parameters")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let mappings = o.get("parameter_mappings").and_then(Value::as_object);
            for (key, from) in mappings.into_iter().flatten() {
                if let Some(v) = from.as_str().and_then(|f| reference.parameters.get(f)) {
                    parameters.insert(key.clone(), Value::String(v.clone()));
                }
            }
            r["parameters"] = Value::Object(parameters);
            let channel = serde_json::to_value(channel).ok()?.as_str()?.to_owned();
            let message = json!({"template_message": {"channel_template": {channel.clone(): r}}});
            Some((channel, message))
        })
        .collect();
    Ok(Some((message, overrides)))
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
    let to =
        r.to.as_deref()
            .filter(|t| !t.is_empty())
            .unwrap_or(NO_RECIPIENT);
    let sent =
        serde_json::to_value(&r.app_message).map_err(|e| ApiFailure::internal(e.to_string()))?;
    let (message, overrides) =
        resolve(ctx, &r.app_message)?.unwrap_or_else(|| (sent.clone(), HashMap::new()));
    let out: Map<String, Value> = r
        .channels
        .iter()
        .map(|c| {
            let key = c.as_str();
            let explicit = sent
                .get("explicit_channel_message")
                .and_then(|e| e.get(key))
                .and_then(Value::as_str);
            let transcoded = match explicit {
                Some(raw) => raw.to_owned(),
                None => {
                    let omni = sent
                        .get("explicit_channel_omni_message")
                        .and_then(|e| e.get(key));
                    let m = omni.or_else(|| overrides.get(key)).unwrap_or(&message);
                    transcode_for(c, m, to)
                }
            };
            (key.to_owned(), Value::String(transcoded))
        })
        .collect();
    let resp: types::TranscodeMessageResponse =
        serde_json::from_value(json!({"transcoded_message": out}))
            .map_err(|e| ApiFailure::internal(e.to_string()))?;
    Reply::json(&resp)
}
