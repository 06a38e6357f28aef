//! What the embedded fake echoes of a send, and where: the envelope of delivery reports and
//! submit notifications, what replies carry in each processing mode, the send fields that
//! apply to CONVERSATION mode only, and messages transcoded to WhatsApp's request shapes. Each
//! test names the rules of `src/fake/RULES.md` it holds the fake to.

#[path = "support/fakes.rs"]
mod fakes;
#[path = "support/receiver.rs"]
mod receiver;

use fakes::*;
use receiver::Receiver;
use serde_json::{json, Value};
use sinch_conversation::fake::{app_request, Fake};
use sinch_conversation::types::{self, ConversationChannel as Ch, ProcessingMode};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);
const TO: &str = "+12065550100";

async fn manual() -> (Fake, Raw, Receiver) {
    let fake = manual_fast().await;
    let raw = Raw::new(&fake).await;
    let receiver = Receiver::start(SECRET).await;
    (fake, raw, receiver)
}

/// An app in `mode` on SMS (DISPATCH apps keep what they are sent `ttl_days` days) with a
/// webhook for every trigger.
async fn app(fake: &Fake, receiver: &Receiver, mode: ProcessingMode, ttl_days: i32) -> String {
    let mut request = app_request("shapes", &[Ch::Sms, Ch::Whatsapp]);
    request.processing_mode = Some(mode);
    request.dispatch_retention_policy = Some(body(
        json!({"retention_type": "MESSAGE_EXPIRE_POLICY", "ttl_days": ttl_days}),
    ));
    let app = fake.create_app_with(&request).unwrap().id.unwrap();
    webhook(&fake.client(), &app, &receiver.url, &TRIGGERS).await;
    app
}

async fn settle(fake: &Fake, by: Duration) {
    fake.advance(by);
    assert!(fake.wait_idle(WAIT).await, "the fake settles");
}

/// Every callback body of `trigger`, oldest first.
fn bodies(fake: &Fake, trigger: &str) -> Vec<Value> {
    fake.callbacks()
        .iter()
        .filter(|c| c.trigger == trigger && c.redelivery_of.is_none())
        .map(|c| serde_json::from_slice(&c.body).unwrap())
        .collect()
}

fn time(v: &Value) -> chrono::DateTime<chrono::Utc> {
    v.as_str().unwrap().parse().unwrap()
}

fn send_body(app: &str, extra: Value) -> Value {
    let mut b = json!({
        "app_id": app,
        "recipient": {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": TO}]}},
        "message": {"choice_message": {"text_message": {"text": "Table for two?"}, "choices": [{"text_message": {"text": "Yes"}}]}},
    });
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

#[tokio::test]
async fn delivery_reports_and_submits_carry_the_send_where_documented() {
    // CB-7 DLV-17
    let (fake, raw, receiver) = manual().await;
    for mode in [ProcessingMode::Conversation, ProcessingMode::Dispatch] {
        let app = app(&fake, &receiver, mode.clone(), 0).await;
        let extra = json!({"message_metadata": "order-1", "correlation_id": "corr-1"});
        let (s, sent) = raw.post("messages:send", send_body(&app, extra)).await;
        assert_eq!(s, 200, "{sent}");
        settle(&fake, Duration::from_secs(1)).await;
        let id = &sent["message_id"];
        for (trigger, key) in [
            ("MESSAGE_DELIVERY", "message_delivery_report"),
            ("MESSAGE_SUBMIT", "message_submit_notification"),
        ] {
            let all = bodies(&fake, trigger);
            let mine: Vec<&Value> = all.iter().filter(|b| &b[key]["message_id"] == id).collect();
            assert!(!mine.is_empty(), "{mode:?} {trigger}");
            for b in mine {
                let accepted = time(&b["accepted_time"]) - time(&sent["accepted_time"]);
                assert!(
                    accepted.num_milliseconds() == 0,
                    "when the send was accepted: {b}"
                );
                assert!(
                    b["event_time"].as_str() >= b["accepted_time"].as_str(),
                    "{b}"
                );
                assert_eq!(b["message_metadata"], "", "channel metadata: {b}");
                assert_eq!(b["correlation_id"], "corr-1", "{b}");
                assert_eq!(b[key]["metadata"], "order-1", "{b}");
                assert_eq!(b["app_id"], app.as_str());
                assert_eq!(b["project_id"], fake.project_id());
            }
        }
    }
}

#[tokio::test]
async fn replies_carry_what_the_send_left_in_each_mode() {
    // CB-5 CB-8 MODE-6
    let (fake, raw, receiver) = manual().await;
    let extra = json!({
        "message_metadata": "order-1",
        "correlation_id": "corr-1",
        "conversation_metadata": {"table": 12},
    });
    let inbound = |app: &str| {
        bodies(&fake, "MESSAGE_INBOUND")
            .into_iter()
            .rfind(|b| b["app_id"] == app)
            .unwrap()
    };

    // CONVERSATION mode: the conversation keeps them; a choice response also carries the
    // answered message's message_metadata.
    let conv = app(&fake, &receiver, ProcessingMode::Conversation, 0).await;
    let (_, sent) = raw
        .post("messages:send", send_body(&conv, extra.clone()))
        .await;
    let id = sent["message_id"].as_str().unwrap();
    fake.inbound_choice(&conv, Ch::Sms, TO, id, "yes").unwrap();
    settle(&fake, Duration::from_secs(1)).await;
    let b = inbound(&conv);
    assert_eq!(b["message_metadata"], r#"{"table":12}"#, "{b}");
    assert_eq!(b["correlation_id"], "corr-1");
    assert_eq!(b["message"]["metadata"], "order-1");
    fake.inbound_text(&conv, Ch::Sms, TO, "and a high chair")
        .unwrap();
    settle(&fake, Duration::from_secs(1)).await;
    let b = inbound(&conv);
    assert_eq!(b["message"]["metadata"], "", "only answers carry it: {b}");
    assert_eq!(b["correlation_id"], "corr-1", "the last one stays");

    // DISPATCH mode with the default retention (0 days): nothing is kept for replies.
    let kept_none = app(&fake, &receiver, ProcessingMode::Dispatch, 0).await;
    let (_, sent) = raw
        .post("messages:send", send_body(&kept_none, extra.clone()))
        .await;
    let id = sent["message_id"].as_str().unwrap();
    fake.inbound_choice(&kept_none, Ch::Sms, TO, id, "yes")
        .unwrap();
    settle(&fake, Duration::from_secs(1)).await;
    let b = inbound(&kept_none);
    assert_eq!(
        (
            &b["message_metadata"],
            &b["correlation_id"],
            &b["message"]["metadata"]
        ),
        (&json!(""), &json!(""), &json!("")),
        "{b}"
    );

    // DISPATCH mode keeping a day: the identity keeps them for that long, merged or replaced
    // as a conversation's would be.
    let kept = app(&fake, &receiver, ProcessingMode::Dispatch, 1).await;
    let (_, sent) = raw.post("messages:send", send_body(&kept, extra)).await;
    let id = sent["message_id"].as_str().unwrap();
    fake.inbound_choice(&kept, Ch::Sms, TO, id, "yes").unwrap();
    settle(&fake, Duration::from_secs(1)).await;
    let b = inbound(&kept);
    assert_eq!(b["message_metadata"], r#"{"table":12}"#, "{b}");
    assert_eq!(b["correlation_id"], "corr-1");
    assert_eq!(b["message"]["metadata"], "order-1");
    assert_eq!(b["message"]["contact_id"], "", "still no contact: {b}");
    let replaced = json!({"conversation_metadata": {"seats": 2}});
    raw.post("messages:send", send_body(&kept, replaced)).await;
    fake.inbound_text(&kept, Ch::Sms, TO, "thanks").unwrap();
    settle(&fake, Duration::from_secs(1)).await;
    let b = inbound(&kept);
    assert_eq!(b["message_metadata"], r#"{"seats":2}"#, "replaced: {b}");
    assert_eq!(b["correlation_id"], "corr-1", "the last one stays");
    settle(&fake, Duration::from_secs(2 * 86_400)).await;
    fake.inbound_text(&kept, Ch::Sms, TO, "hello again")
        .unwrap();
    settle(&fake, Duration::from_secs(1)).await;
    let b = inbound(&kept);
    assert_eq!(
        (&b["message_metadata"], &b["correlation_id"]),
        (&json!(""), &json!("")),
        "forgotten: {b}"
    );
}

#[tokio::test]
async fn conversation_only_send_fields_are_refused_in_dispatch_mode() {
    // MSG-13 MSG-15 MODE-7 ERR-8
    let (fake, raw, receiver) = manual().await;
    let dispatch = app(&fake, &receiver, ProcessingMode::Dispatch, 1).await;
    let merge = json!({"conversation_metadata": {"a": 1}, "conversation_metadata_update_strategy": "MERGE_PATCH"});
    let (s, e) = raw.post("messages:send", send_body(&dispatch, merge)).await;
    assert_eq!(
        (s, e["error"]["status"].as_str()),
        (400, Some("INVALID_ARGUMENT")),
        "{e}"
    );
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("CONVERSATION"),
        "{e}"
    );
    let replace = json!({"conversation_metadata": {"a": 1}, "conversation_metadata_update_strategy": "REPLACE"});
    assert_eq!(
        raw.post("messages:send", send_body(&dispatch, replace))
            .await
            .0,
        200
    );
    assert_eq!(fake.messages().len(), 1, "the refused send left nothing");

    // DISPATCH_ONLY on a CONVERSATION app: no conversation fields; the reply is processed in
    // the app's own mode.
    let conv = app(&fake, &receiver, ProcessingMode::Conversation, 0).await;
    for field in [
        json!({"correlation_id": "c"}),
        json!({"conversation_metadata": {"a": 1}}),
    ] {
        let mut b = send_body(&conv, field);
        b["processing_strategy"] = json!("DISPATCH_ONLY");
        let (s, e) = raw.post("messages:send", b).await;
        assert_eq!(
            (s, e["error"]["status"].as_str()),
            (400, Some("INVALID_ARGUMENT")),
            "{e}"
        );
    }
    let mut b = send_body(&conv, json!({}));
    b["processing_strategy"] = json!("DISPATCH_ONLY");
    assert_eq!(raw.post("messages:send", b).await.0, 200);
    assert!(fake.contacts().is_empty(), "dispatched: no contact");
    fake.inbound_text(&conv, Ch::Sms, TO, "yes").unwrap();
    settle(&fake, Duration::from_secs(1)).await;
    assert_eq!(fake.contacts().len(), 1, "the reply made one");
    let b = bodies(&fake, "MESSAGE_INBOUND").pop().unwrap();
    assert_eq!(b["message"]["processing_mode"], "CONVERSATION", "{b}");
}

/// The WHATSAPP entry of transcoding `message` (`to` when given), parsed.
async fn whatsapp(raw: &Raw, app: &str, message: Value, to: Option<&str>) -> Value {
    let mut request = json!({"app_id": app, "channels": ["WHATSAPP"], "app_message": message});
    if let Some(to) = to {
        request["to"] = json!(to);
    }
    let (s, out) = raw.post("messages:transcode", request).await;
    assert_eq!(s, 200, "{out}");
    serde_json::from_str(out["transcoded_message"]["WHATSAPP"].as_str().unwrap()).unwrap()
}

fn choices(texts: &[&str]) -> Value {
    let choices: Vec<Value> = texts
        .iter()
        .map(|t| json!({"text_message": {"text": t}}))
        .collect();
    json!({"choice_message": {"text_message": {"text": "Pick one"}, "choices": choices}})
}

#[tokio::test]
async fn transcoding_gives_whatsapps_request_shapes() {
    // TRN-2 TRN-3 TRN-4 TRN-5
    let fake = Fake::start().await.unwrap();
    let raw = Raw::new(&fake).await;
    let app = fake.create_app("wa", &[Ch::Whatsapp]);

    // Location: the envelope, coordinates as 32-bit float text, title and label; byte for byte
    // what the SDKs' end-to-end tests expect.
    let location = json!({"location_message": {"title": "Phare d'Eckmühl", "label": "Pointe de Penmarch", "coordinates": {"latitude": 47.7981899, "longitude": -4.3727685}}});
    let request = json!({"app_id": app, "channels": ["WHATSAPP"], "app_message": location});
    let (_, out) = raw.post("messages:transcode", request).await;
    assert_eq!(
        out["transcoded_message"]["WHATSAPP"],
        "{\"to\":\"{{to}}\",\"type\":\"location\",\"recipient_type\":\"individual\",\"location\":{\"longitude\":\"-4.3727684\",\"latitude\":\"47.79819\",\"name\":\"Phare d'Eckmühl\",\"address\":\"Pointe de Penmarch\"},\"messaging_product\":\"whatsapp\",\"biz_opaque_callback_data\":null}"
    );
    let text = whatsapp(
        &raw,
        &app,
        json!({"text_message": {"text": "Hi"}}),
        Some("+4670"),
    )
    .await;
    assert_eq!(text["to"], "+4670");
    assert_eq!(
        (&text["type"], &text["text"]),
        (&json!("text"), &json!({"body": "Hi"}))
    );

    // Media: the WhatsApp kind by file type; anything else as a link in a text.
    for (url, kind) in [
        ("https://example.com/a.jpg", "image"),
        ("https://example.com/a.PNG?x=1", "image"),
        ("https://example.com/a.mp4", "video"),
        ("https://example.com/a.mp3", "audio"),
        ("https://example.com/a.webp", "sticker"),
    ] {
        let m = whatsapp(&raw, &app, json!({"media_message": {"url": url}}), None).await;
        assert_eq!(
            (&m["type"], &m[kind]),
            (&json!(kind), &json!({"link": url})),
            "{url}"
        );
    }
    let pdf = json!({"media_message": {"url": "https://example.com/files/menu.pdf"}});
    let m = whatsapp(&raw, &app, pdf, None).await;
    assert_eq!(
        m["document"],
        json!({"link": "https://example.com/files/menu.pdf", "filename": "menu.pdf"})
    );
    let named = json!({"media_message": {"url": "https://example.com/x.pdf", "filename_override": "Menu.pdf"}});
    assert_eq!(
        whatsapp(&raw, &app, named, None).await["document"]["filename"],
        "Menu.pdf"
    );
    let odd = json!({"media_message": {"url": "https://example.com/a.xyz"}});
    assert_eq!(
        whatsapp(&raw, &app, odd, None).await["text"]["body"],
        "https://example.com/a.xyz"
    );

    // Choices: quick-reply buttons only for up to three short, plain, distinct text choices.
    let m = whatsapp(&raw, &app, choices(&["Yes", "No"]), None).await;
    assert_eq!(m["type"], "interactive");
    assert_eq!(m["interactive"]["type"], "button");
    assert_eq!(m["interactive"]["body"]["text"], "Pick one");
    assert_eq!(
        m["interactive"]["action"]["buttons"],
        json!([{"type": "reply", "reply": {"id": "Yes", "title": "Yes"}}, {"type": "reply", "reply": {"id": "No", "title": "No"}}])
    );
    for too_much in [
        choices(&["a", "b", "c", "d"]),
        choices(&["a choice of twenty-one"]),
        choices(&["*bold*"]),
        choices(&["same", "same"]),
    ] {
        let m = whatsapp(&raw, &app, too_much.clone(), None).await;
        assert_eq!(m["type"], "text", "{too_much}");
        assert!(m["text"]["body"].as_str().unwrap().starts_with("Pick one"));
    }
    let url = json!({"choice_message": {"text_message": {"text": "Our menu"}, "choices": [{"url_message": {"title": "Open", "url": "https://example.com/menu"}}]}});
    let m = whatsapp(&raw, &app, url, None).await;
    assert_eq!(m["interactive"]["type"], "cta_url");
    assert_eq!(
        m["interactive"]["action"],
        json!({"name": "cta_url", "parameters": {"display_text": "Open", "url": "https://example.com/menu"}})
    );
    let call = json!({"choice_message": {"text_message": {"text": "Call us"}, "choices": [{"call_message": {"title": "Desk", "phone_number": "+4670"}}]}});
    assert_eq!(whatsapp(&raw, &app, call, None).await["type"], "text");
}

#[tokio::test]
async fn transcoding_resolves_templates_and_explicit_channel_messages() {
    // TRN-6 TRN-7
    let fake = Fake::start().await.unwrap();
    let raw = Raw::new(&fake).await;
    let app = fake.create_app("wa", &[Ch::Whatsapp, Ch::Sms]);

    // A WhatsApp channel template: its parameter keys become the template's components.
    let channel = json!({"template_message": {"channel_template": {"WHATSAPP": {"template_id": "order_ready", "language_code": "en", "parameters": {
        "body[1]text": "Ada", "body[2]text": "12", "header[1]image.link": "https://example.com/a.jpg",
        "button[0]quick_reply[1]payload": "ok", "button[1]url[1]text": "track/12"
    }}}}});
    let m = whatsapp(&raw, &app, channel, None).await;
    assert_eq!(m["type"], "template");
    assert_eq!(m["template"]["name"], "order_ready");
    assert_eq!(m["template"]["language"], json!({"code": "en"}));
    assert_eq!(
        m["template"]["components"],
        json!([
            {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://example.com/a.jpg"}}]},
            {"type": "body", "parameters": [{"type": "text", "text": "Ada"}, {"type": "text", "text": "12"}]},
            {"type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [{"type": "payload", "payload": "ok"}]},
            {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "track/12"}]}
        ])
    );

    // An omni template: its translation with the parameters filled, and for WhatsApp the
    // translation's override with its parameter mappings.
    let template = json!({"description": "t", "default_translation": "en-US", "translations": [{
        "language_code": "en-US", "version": "1", "text_message": {"text": "Hi ${name}"},
        "variables": [{"key": "name", "preview_value": "Ada"}],
        "channel_template_overrides": {"WHATSAPP": {"template_reference": {"template_id": "greeting", "language_code": "en"}, "parameter_mappings": {"body[1]text": "name"}}}
    }]});
    let url = format!(
        "{}/v2/projects/{}/templates",
        fake.templates_url(),
        fake.project_id()
    );
    let (s, created) = raw.call_url("POST", &url, Some(template.to_string())).await;
    assert_eq!(s, 200, "{created}");
    let omni = |id: &str| json!({"template_message": {"omni_template": {"template_id": id, "language_code": "en-US", "parameters": {"name": "Bo"}}}});
    let id = created["id"].as_str().unwrap();
    let request = json!({"app_id": app, "channels": ["WHATSAPP", "SMS"], "app_message": omni(id)});
    let (s, out) = raw.post("messages:transcode", request).await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["transcoded_message"]["SMS"], "Hi Bo");
    let wa: Value =
        serde_json::from_str(out["transcoded_message"]["WHATSAPP"].as_str().unwrap()).unwrap();
    assert_eq!(wa["template"]["name"], "greeting");
    assert_eq!(
        wa["template"]["components"][0]["parameters"][0]["text"],
        "Bo"
    );
    let request = json!({"app_id": app, "channels": ["SMS"], "app_message": omni("01HZZZZZZZZZZZZZZZZZZZZZZZ")});
    let (s, e) = raw.post("messages:transcode", request).await;
    assert_eq!(s, 400, "{e}");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("TEMPLATE_NOT_FOUND"));

    // An explicit channel message is the channel's message as given; an explicit omni message
    // replaces the message for that channel only.
    let explicit = r#"{"to":"{{to}}","type":"text","text":{"body":"raw"}}"#;
    let message = json!({"text_message": {"text": "generic"}, "explicit_channel_message": {"WHATSAPP": explicit}, "explicit_channel_omni_message": {"SMS": {"text_message": {"text": "for SMS"}}}});
    let request = json!({"app_id": app, "channels": ["WHATSAPP", "SMS"], "app_message": message});
    let (_, out) = raw.post("messages:transcode", request).await;
    assert_eq!(out["transcoded_message"]["WHATSAPP"], explicit);
    assert_eq!(out["transcoded_message"]["SMS"], "for SMS");
    let _: types::TranscodeMessageResponse = body(out);
}
