//! A Conversation API message as the WhatsApp Cloud API request it becomes (for transcoding):
//! the documented envelope (`to`, `type`, `recipient_type`, the payload, `messaging_product`,
//! `biz_opaque_callback_data`), and per kind the documented choice of WhatsApp message: media
//! by file type, quick-reply buttons only for short, plain, unique text choices, one URL
//! choice as a call-to-action, channel templates from their `<component>[i]...` parameter
//! keys; what WhatsApp cannot carry natively goes as text.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};

/// JSON in the order Sinch writes its fields (serde_json's own map sorts them).
enum J {
    V(Value),
    O(Vec<(&'static str, J)>),
    A(Vec<J>),
}

impl Serialize for J {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            J::V(v) => v.serialize(s),
            J::O(fields) => {
                let mut m = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
            J::A(items) => {
                let mut a = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    a.serialize_element(v)?;
                }
                a.end()
            }
        }
    }
}

fn s(v: impl Into<String>) -> J {
    J::V(Value::String(v.into()))
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// The request around one payload; `to` is the `{{to}}` placeholder when the request named no
/// recipient.
fn envelope(to: &str, kind: &'static str, payload: J) -> String {
    let request = J::O(vec![
        ("to", s(to)),
        ("type", s(kind)),
        ("recipient_type", s("individual")),
        (kind, payload),
        ("messaging_product", s("whatsapp")),
        ("biz_opaque_callback_data", J::V(Value::Null)),
    ]);
    serde_json::to_string(&request).unwrap_or_default()
}

fn text(to: &str, body: &str) -> String {
    envelope(to, "text", J::O(vec![("body", s(body))]))
}

/// WhatsApp's media kind for a file, by its extension (the documented types); `None`: WhatsApp
/// carries it as a plain-text link.
fn media_kind(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
    Some(match ext.as_str() {
        "jpg" | "jpeg" | "png" => "image",
        "mp4" | "3gp" | "3gpp" => "video",
        "aac" | "m4a" | "amr" | "mp3" | "mpeg" | "opus" => "audio",
        "webp" => "sticker",
        "pdf" | "txt" | "doc" | "docx" | "xls" | "xlsx" | "ppt" | "pptx" => "document",
        _ => return None,
    })
}

/// A media object (`{"link"}`, with `filename` for documents and `caption` when given).
fn media_object(kind: &str, media: &Value, caption: Option<String>) -> J {
    let url = str_at(media, "/url").unwrap_or_default();
    let mut fields = vec![("link", s(url))];
    if kind == "document" {
        let name = str_at(media, "/filename_override")
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .unwrap_or_else(|| {
                let path = url.split(['?', '#']).next().unwrap_or(url);
                path.rsplit('/').next().unwrap_or_default().to_owned()
            });
        fields.push(("filename", s(name)));
    }
    if let Some(c) = caption.filter(|c| !c.is_empty()) {
        fields.push(("caption", s(c)));
    }
    J::O(fields)
}

/// A coordinate as Sinch writes it: a string holding the shortest form of its 32-bit float.
fn coordinate(v: Option<&Value>) -> J {
    let x = v.and_then(Value::as_f64).unwrap_or_default();
    s((x as f32).to_string())
}

/// The quick-reply buttons a choice list becomes, if WhatsApp can carry them natively: at most
/// three choices, all text of at most 20 characters without markdown, each distinct, postback
/// data of at most 229 characters.
fn reply_buttons(choices: &[Value]) -> Option<J> {
    if choices.is_empty() || choices.len() > 3 {
        return None;
    }
    let mut seen: Vec<&str> = vec![];
    let mut buttons = vec![];
    for c in choices {
        let title = str_at(c, "/text_message/text")?;
        let markdown = title.contains(['*', '_', '~', '`']);
        if title.chars().count() > 20 || markdown || seen.contains(&title) {
            return None;
        }
        seen.push(title);
        let postback = str_at(c, "/postback_data").filter(|p| !p.is_empty());
        if postback.is_some_and(|p| p.chars().count() > 229) {
            return None;
        }
        let reply = J::O(vec![
            ("id", s(postback.unwrap_or(title))),
            ("title", s(title)),
        ]);
        buttons.push(J::O(vec![("type", s("reply")), ("reply", reply)]));
    }
    Some(J::O(vec![("buttons", J::A(buttons))]))
}

fn choices_of(m: &Value) -> &[Value] {
    m.get("choices")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
}

/// The footer a choice or card message sets for WhatsApp.
fn footer(m: &Value) -> Option<J> {
    let text = str_at(m, "/message_properties/whatsapp_footer").filter(|t| !t.is_empty())?;
    Some(J::O(vec![("text", s(text))]))
}

fn interactive(mut fields: Vec<(&'static str, J)>, body: &str, footer: Option<J>) -> J {
    fields.push(("body", J::O(vec![("text", s(body))])));
    if let Some(f) = footer {
        fields.push(("footer", f));
    }
    J::O(fields)
}

fn choice(to: &str, m: &Value, fallback: &str) -> String {
    let body = str_at(m, "/text_message/text").unwrap_or_default();
    let choices = choices_of(m);
    let titled = !body.is_empty() && body.chars().count() <= 1024;
    if titled {
        if let Some(action) = reply_buttons(choices) {
            let fields = vec![("type", s("button"))];
            let mut i = interactive(fields, body, footer(m));
            if let J::O(f) = &mut i {
                f.push(("action", action));
            }
            return envelope(to, "interactive", i);
        }
        if let [only] = choices {
            if let Some(url) = only.get("url_message") {
                let parameters = J::O(vec![
                    ("display_text", s(str_at(url, "/title").unwrap_or_default())),
                    ("url", s(str_at(url, "/url").unwrap_or_default())),
                ]);
                let action = J::O(vec![("name", s("cta_url")), ("parameters", parameters)]);
                let mut i = interactive(vec![("type", s("cta_url"))], body, footer(m));
                if let J::O(f) = &mut i {
                    f.push(("action", action));
                }
                return envelope(to, "interactive", i);
            }
        }
    }
    text(to, fallback)
}

/// A card: with only text choices, reply buttons under its image, video or document; else its
/// media with the rest as the caption (audio and stickers: all of it as text).
fn card(to: &str, m: &Value, fallback: &str) -> String {
    let title = str_at(m, "/title").unwrap_or_default();
    let description = str_at(m, "/description").unwrap_or_default();
    let body: Vec<&str> = [title, description]
        .into_iter()
        .filter(|t| !t.is_empty())
        .collect();
    let body = body.join("\n");
    let media = m.get("media_message");
    let kind = media
        .and_then(|x| str_at(x, "/url"))
        .and_then(media_kind)
        .filter(|k| matches!(*k, "image" | "video" | "document"));
    if let Some(action) = reply_buttons(choices_of(m)).filter(|_| !body.is_empty()) {
        let mut fields = vec![("type", s("button"))];
        if let (Some(kind), Some(media)) = (kind, media) {
            let header = J::O(vec![
                ("type", s(kind)),
                (kind, media_object(kind, media, None)),
            ]);
            fields.push(("header", header));
        }
        let mut i = interactive(fields, &body, footer(m));
        if let J::O(f) = &mut i {
            f.push(("action", action));
        }
        return envelope(to, "interactive", i);
    }
    match (kind, media) {
        (Some(kind), Some(media)) if kind != "document" => {
            let url = str_at(media, "/url").unwrap_or_default();
            let caption = fallback.replacen(url, "", 1).trim().to_owned();
            envelope(to, kind, media_object(kind, media, Some(caption)))
        }
        _ => text(to, fallback),
    }
}

fn list(to: &str, m: &Value, fallback: &str) -> String {
    let mut sections = vec![];
    for section in m
        .get("sections")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut rows = vec![];
        for item in section
            .get("items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            // Product items make a product list, which needs a catalog: sent as text here.
            let Some(choice) = item.get("choice") else {
                return text(to, fallback);
            };
            let title = str_at(choice, "/title").unwrap_or_default();
            let id = str_at(choice, "/postback_data").filter(|p| !p.is_empty());
            let mut row = vec![("id", s(id.unwrap_or(title))), ("title", s(title))];
            if let Some(d) = str_at(choice, "/description").filter(|d| !d.is_empty()) {
                row.push(("description", s(d)));
            }
            rows.push(J::O(row));
        }
        let mut fields = vec![];
        if let Some(t) = str_at(section, "/title").filter(|t| !t.is_empty()) {
            fields.push(("title", s(t)));
        }
        fields.push(("rows", J::A(rows)));
        sections.push(J::O(fields));
    }
    let title = str_at(m, "/title").unwrap_or_default();
    let body = str_at(m, "/description")
        .filter(|d| !d.is_empty())
        .unwrap_or(title);
    let button = str_at(m, "/message_properties/menu")
        .filter(|b| !b.is_empty())
        .unwrap_or("Menu");
    let header = J::O(vec![("type", s("text")), ("text", s(title))]);
    let action = J::O(vec![("button", s(button)), ("sections", J::A(sections))]);
    let mut i = interactive(vec![("type", s("list")), ("header", header)], body, None);
    if let J::O(f) = &mut i {
        f.push(("action", action));
    }
    envelope(to, "interactive", i)
}

fn contact(to: &str, m: &Value) -> String {
    let name = m.get("name").cloned().unwrap_or_default();
    let mut name_fields = vec![(
        "formatted_name",
        s(str_at(&name, "/full_name").unwrap_or_default()),
    )];
    for key in ["first_name", "last_name", "middle_name", "prefix", "suffix"] {
        if let Some(v) = str_at(&name, &format!("/{key}")).filter(|v| !v.is_empty()) {
            name_fields.push((key, s(v)));
        }
    }
    let listed = |list: &str, from: &str, to_key: &'static str| -> J {
        let items = m.get(list).and_then(Value::as_array).into_iter().flatten();
        J::A(
            items
                .map(|i| {
                    let mut f = vec![(
                        to_key,
                        s(str_at(i, &format!("/{from}")).unwrap_or_default()),
                    )];
                    if let Some(t) = str_at(i, "/type").filter(|t| !t.is_empty()) {
                        f.push(("type", s(t)));
                    }
                    J::O(f)
                })
                .collect(),
        )
    };
    let mut fields = vec![
        ("name", J::O(name_fields)),
        ("phones", listed("phone_numbers", "phone_number", "phone")),
        (
            "emails",
            listed("email_addresses", "email_address", "email"),
        ),
        ("urls", listed("urls", "url", "url")),
    ];
    if let Some(b) = str_at(m, "/birthday").filter(|b| !b.is_empty()) {
        fields.push(("birthday", s(b)));
    }
    envelope(to, "contacts", J::A(vec![J::O(fields)]))
}

/// A WhatsApp template from a channel template reference: its parameters' keys
/// (`header[1]text`, `body[2]text`, `header[1]image.link`, `button[0]quick_reply[1]payload`,
/// `button[1]url[1]text`) become the template's components.
pub(super) fn template(
    to: &str,
    name: &str,
    language: &str,
    parameters: &Map<String, Value>,
) -> String {
    // (component order, button index, sub type) -> parameter index -> parameter fields.
    type Params = std::collections::BTreeMap<u32, Map<String, Value>>;
    let mut components: std::collections::BTreeMap<(u8, u32, String), Params> = Default::default();
    for (key, value) in parameters {
        let value = value.as_str().unwrap_or_default().to_owned();
        let Some((component, rest)) = key.split_once('[') else {
            continue;
        };
        let Some((index, rest)) = rest.split_once(']') else {
            continue;
        };
        let (order, sub_type, rest) = match component {
            "header" => (0, String::new(), rest.to_owned()),
            "body" => (1, String::new(), rest.to_owned()),
            "button" => match rest.split_once('[') {
                Some((sub, rest)) => (2, sub.to_owned(), format!("[{rest}")),
                None => continue,
            },
            _ => continue,
        };
        // A header or body parameter's index came first; a button's follows its sub type.
        let (param, field) = if order == 2 {
            match rest.trim_start_matches('[').split_once(']') {
                Some((p, f)) => (p.parse().unwrap_or(1), f.to_owned()),
                None => continue,
            }
        } else {
            (index.parse().unwrap_or(1), rest)
        };
        let button = if order == 2 {
            index.parse().unwrap_or(0)
        } else {
            0
        };
        let fields = components
            .entry((order, button, sub_type))
            .or_default()
            .entry(param)
            .or_default();
        // `image.link` -> {"type": "image", "image": {"link": ..}}; `text` -> {"type": "text", "text": ..}.
        let mut path = field.split('.');
        let head = path.next().unwrap_or_default().to_owned();
        fields.insert("type".into(), Value::String(head.clone()));
        let mut slot = fields.entry(head).or_insert(Value::Null);
        for part in path {
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            slot = slot
                .as_object_mut()
                .expect("made an object above")
                .entry(part.to_owned())
                .or_insert(Value::Null);
        }
        *slot = Value::String(value);
    }
    let components: Vec<J> = components
        .into_iter()
        .map(|((order, button, sub_type), params)| {
            let kind = ["header", "body", "button"][usize::from(order)];
            let mut fields = vec![("type", s(kind))];
            if order == 2 {
                fields.push(("sub_type", s(sub_type)));
                fields.push(("index", s(button.to_string())));
            }
            let params = params
                .into_values()
                .map(|p| J::V(Value::Object(p)))
                .collect();
            fields.push(("parameters", J::A(params)));
            J::O(fields)
        })
        .collect();
    let body = J::O(vec![
        ("name", s(name)),
        ("language", J::O(vec![("code", s(language))])),
        ("components", J::A(components)),
    ]);
    envelope(to, "template", body)
}

/// `m` (an app message as JSON, templates already resolved) as a WhatsApp request; `fallback`
/// is the message as plain text, for what WhatsApp cannot carry natively.
pub(super) fn transcode(to: &str, m: &Value, fallback: &str) -> String {
    if let Some(t) = m.get("text_message") {
        return text(to, str_at(t, "/text").unwrap_or_default());
    }
    if let Some(media) = m.get("media_message") {
        let url = str_at(media, "/url").unwrap_or_default();
        return match media_kind(url) {
            Some(kind) => envelope(to, kind, media_object(kind, media, None)),
            None => text(to, url),
        };
    }
    if let Some(l) = m.get("location_message") {
        let mut fields = vec![
            ("longitude", coordinate(l.pointer("/coordinates/longitude"))),
            ("latitude", coordinate(l.pointer("/coordinates/latitude"))),
            ("name", s(str_at(l, "/title").unwrap_or_default())),
        ];
        if let Some(label) = str_at(l, "/label").filter(|x| !x.is_empty()) {
            fields.push(("address", s(label)));
        }
        return envelope(to, "location", J::O(fields));
    }
    if let Some(c) = m.get("choice_message") {
        return choice(to, c, fallback);
    }
    if let Some(c) = m.get("card_message") {
        return card(to, c, fallback);
    }
    if let Some(l) = m.get("list_message") {
        return list(to, l, fallback);
    }
    if let Some(c) = m.get("contact_info_message") {
        return contact(to, c);
    }
    if let Some(t) = m.pointer("/template_message/channel_template/WHATSAPP") {
        let parameters = t.get("parameters").and_then(Value::as_object);
        return template(
            to,
            str_at(t, "/template_id").unwrap_or_default(),
            str_at(t, "/language_code").unwrap_or_default(),
            parameters.unwrap_or(&Map::new()),
        );
    }
    // Carousels, and templates with nothing for WhatsApp: as text.
    text(to, fallback)
}
