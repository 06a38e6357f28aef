//! The Template Management API v2 and the Batch API of the embedded fake, end to end over
//! HTTP: the crate's own client for what it can send, raw requests for what it cannot, and a
//! verifying webhook receiver for callbacks. Each test names the rules of `src/fake/RULES.md`
//! it covers (TPL-*, BAT-*, AUTH-5).

#[path = "support/fakes.rs"]
mod fakes;
#[path = "support/receiver.rs"]
mod receiver;

use chrono::{DateTime, Duration as Span, Timelike, Utc};
use fakes::{read, Raw};
use receiver::Receiver;
use serde_json::{json, Value};
use sinch_conversation::batch::types::{
    CancelBatchRequest, CreateContactsRequest, DeleteContactsRequest, InsertConsentsRequest,
    SendBatchRequest,
};
use sinch_conversation::fake::{app_request, Fake};
use sinch_conversation::prelude::*;
use sinch_conversation::templates::types::{V2Template, V2TemplateResponse, V2TemplateTranslation};
use sinch_conversation::types::{self, ConversationChannel as Ch, ProcessingMode};
use sinch_conversation::webhook::Event;
use sinch_conversation::{ApiError, Client};
use std::time::Duration;

const SECRET: &str = "webhook-secret";
const WAIT: Duration = Duration::from_secs(10);
/// A well-formed id that names nothing.
const NO_SUCH_ID: &str = "01HZZZZZZZZZZZZZZZZZZZZZZZ";

// ---------------------------------------------------------------------------------------------
// Helpers

fn from<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("a well-formed request")
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}

/// The API error a call ended with; panics on success or on another kind of error.
fn api_err<T>(r: std::result::Result<T, progenitor_client::Error<()>>) -> ApiError {
    match r.map_err(Error::from) {
        Err(Error::Api(e)) => *e,
        Err(other) => panic!("expected an API error, got {other:?}"),
        Ok(_) => panic!("expected an API error, got success"),
    }
}

/// Asserts an API error's HTTP status and `error.status`.
fn assert_api(e: &ApiError, status: u16, name: &str) {
    assert_eq!(
        (e.status.as_u16(), e.error_status.as_deref()),
        (status, Some(name)),
        "{e:?}"
    );
}

/// A fake whose clock moves only when the test says, and its client.
async fn manual() -> (Fake, Client) {
    let fake = Fake::builder().manual_clock(true).start().await.unwrap();
    let client = fake.client();
    (fake, client)
}

/// An SMS app in CONVERSATION mode (contacts and conversations are kept).
fn conversation_app(fake: &Fake) -> String {
    let mut r = app_request("batch app", &[Ch::Sms]);
    r.processing_mode = Some(ProcessingMode::Conversation);
    fake.create_app_with(&r).unwrap().id.unwrap()
}

/// A recipient by its SMS number.
fn sms(identity: &str) -> Value {
    json!({"identified_by": {"channel_identities": [{"channel": "SMS", "identity": identity}]}})
}

/// Runs every task due by the fake's current time, waiting for one already running: after
/// this, what the clock made due (a batch's processing, background bulk work) is done.
fn settle(fake: &Fake) {
    fake.advance(Duration::ZERO);
}

/// The messages a batch became, in the order accepted (found by `_batch_id`), as JSON.
fn batch_messages(fake: &Fake, batch_id: &str) -> Vec<Value> {
    fake.messages()
        .iter()
        .map(to_json)
        .filter(|m| metadata_of(m)["_batch_id"] == batch_id)
        .collect()
}

/// A message's metadata, which a batch sets to JSON text.
fn metadata_of(m: &Value) -> Value {
    m["metadata"]
        .as_str()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null)
}

fn text_of(m: &Value) -> &str {
    m["app_message"]["text_message"]["text"]
        .as_str()
        .unwrap_or("")
}

/// The next five-minute mark at or after `t` (whole minutes of the hour divisible by five).
fn next_five_minute_mark(t: DateTime<Utc>) -> DateTime<Utc> {
    let step: i64 = 300 * 1_000_000_000;
    let nanos = t.timestamp_nanos_opt().unwrap();
    DateTime::from_timestamp_nanos((nanos + step - 1).div_euclid(step) * step)
}

/// Asserts a raw answer is the API's error body with this status.
fn assert_error_body(status: u16, body: &Value, want: u16, name: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["error"]["code"], want, "{body}");
    assert_eq!(body["error"]["status"], name, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(body["error"]["details"].is_array(), "{body}");
}

fn templates_url(fake: &Fake, rest: &str) -> String {
    format!(
        "{}/v2/projects/{}/templates{rest}",
        fake.templates_url(),
        fake.project_id()
    )
}

fn batch_url(fake: &Fake, rest: &str) -> String {
    format!(
        "{}/v1/projects/{}/{rest}",
        fake.batch_url(),
        fake.project_id()
    )
}

fn translation(language: &str, version: Option<&str>, text: &str) -> Value {
    let mut t = json!({"language_code": language, "text_message": {"text": text}});
    if let Some(v) = version {
        t["version"] = v.into();
    }
    t
}

fn template(default: &str, translations: Vec<Value>) -> V2Template {
    from(json!({"default_translation": default, "translations": translations}))
}

async fn create_template(client: &Client, t: V2Template) -> V2TemplateResponse {
    client
        .templates()
        .templates_v2_create_template()
        .body(t)
        .send()
        .await
        .unwrap()
        .into_inner()
}

/// `(language_code, version)` of each translation, in order.
fn versions(translations: &[V2TemplateTranslation]) -> Vec<(String, String)> {
    translations
        .iter()
        .map(|t| {
            (
                t.language_code.clone(),
                t.version.clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(l, v)| (l.to_string(), v.to_string()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Template Management v2

#[tokio::test]
async fn tpl_create_get_and_list_add_latest_copies() {
    // TPL-1 TPL-2 TPL-4
    let (fake, client) = manual().await;
    let templates = client.templates();
    let mut en_v2 = translation("en-US", Some("2"), "Hi ${name}, v2");
    en_v2["variables"] = json!([{"key": "name", "preview_value": "Ada"}]);
    let mut request = template(
        "en-US",
        vec![
            translation("en-US", Some("1"), "Hi ${name}, v1"),
            en_v2,
            translation("fr-FR", None, "Salut ${name}"),
        ],
    );
    request.description = Some("Order shipped".into());
    request.version = Some(7);

    let created = create_template(&client, request).await;
    // TPL-2: the first version is 1 whatever the request says.
    assert_eq!(created.version, Some(1));
    let id = created.id.clone().unwrap();
    assert_eq!(id.len(), 26, "a generated ULID: {id}");
    assert_eq!(created.description.as_deref(), Some("Order shipped"));
    assert_eq!(created.default_translation.as_deref(), Some("en-US"));
    assert_eq!(created.create_time, Some(fake.now()));
    assert_eq!(created.update_time, created.create_time);
    // TPL-4: create answers the translations as stored, without `latest` copies; a
    // translation without a version is stored as version 1.
    assert_eq!(
        versions(&created.translations),
        pairs(&[("en-US", "1"), ("en-US", "2"), ("fr-FR", "1")])
    );

    let got = templates
        .templates_v2_get_template()
        .template_id(&id)
        .send()
        .await
        .unwrap()
        .into_inner();
    // TPL-4: get adds a copy of each language's newest translation, as version `latest`.
    assert_eq!(
        versions(&got.translations),
        pairs(&[
            ("en-US", "1"),
            ("en-US", "2"),
            ("fr-FR", "1"),
            ("en-US", "latest"),
            ("fr-FR", "latest"),
        ])
    );
    let latest_en = &got.translations[3];
    assert_eq!(
        latest_en.text_message.as_ref().unwrap().text,
        "Hi ${name}, v2",
        "the copy is of the newest version"
    );
    assert_eq!(latest_en.variables.len(), 1);
    assert_eq!(
        got.translations[4].text_message.as_ref().unwrap().text,
        "Salut ${name}"
    );
    assert_eq!(got.version, Some(1));

    let listed = templates
        .templates_v2_list_templates()
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.templates.len(), 1);
    assert_eq!(listed.templates[0], got, "list shows what get shows");
}

#[tokio::test]
async fn tpl_update_needs_the_current_version_and_bumps_it() {
    // TPL-2 TPL-4 TPL-6
    let (fake, client) = manual().await;
    let templates = client.templates();
    let created = create_template(
        &client,
        template("en-US", vec![translation("en-US", None, "Hello")]),
    )
    .await;
    let id = created.id.clone().unwrap();
    fake.advance(Duration::from_secs(90));

    let mut change = template(
        "de-DE",
        vec![
            translation("de-DE", Some("1"), "Hallo"),
            translation("de-DE", Some("2"), "Hallo, v2"),
        ],
    );
    change.description = Some("German now".into());

    // TPL-2: an update without a version is refused as invalid...
    let e = api_err(
        templates
            .templates_v2_update_template()
            .template_id(&id)
            .body(change.clone())
            .send()
            .await,
    );
    assert_api(&e, 400, "INVALID_ARGUMENT");
    assert!(e.message.contains("version"), "{}", e.message);
    // ... and one naming another version as a failed precondition.
    change.version = Some(5);
    let e = api_err(
        templates
            .templates_v2_update_template()
            .template_id(&id)
            .body(change.clone())
            .send()
            .await,
    );
    assert_api(&e, 400, "FAILED_PRECONDITION");

    change.version = Some(1);
    let updated = templates
        .templates_v2_update_template()
        .template_id(&id)
        .body(change.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.version, Some(2), "an update bumps the version");
    assert_eq!(
        updated.create_time, created.create_time,
        "create_time is kept"
    );
    assert_eq!(updated.update_time, Some(fake.now()));
    assert!(updated.update_time > created.update_time);
    assert_eq!(updated.description.as_deref(), Some("German now"));
    assert_eq!(updated.default_translation.as_deref(), Some("de-DE"));
    // TPL-4: the update's answer has no `latest` copies; the English translation is gone
    // (PUT replaces the whole template).
    assert_eq!(
        versions(&updated.translations),
        pairs(&[("de-DE", "1"), ("de-DE", "2")])
    );

    // The version just replaced is now stale, and a stale update changes nothing.
    let mut stale = template("en-US", vec![translation("en-US", None, "Stale")]);
    stale.version = Some(1);
    let e = api_err(
        templates
            .templates_v2_update_template()
            .template_id(&id)
            .body(stale)
            .send()
            .await,
    );
    assert_api(&e, 400, "FAILED_PRECONDITION");
    // A body naming another template is refused.
    let mut other = change.clone();
    other.version = Some(2);
    other.id = Some("another-template".into());
    let e = api_err(
        templates
            .templates_v2_update_template()
            .template_id(&id)
            .body(other)
            .send()
            .await,
    );
    assert_api(&e, 400, "INVALID_ARGUMENT");
    // TPL-1 holds on update too.
    let mut no_default = template("en-US", vec![translation("de-DE", None, "Hallo")]);
    no_default.version = Some(2);
    let e = api_err(
        templates
            .templates_v2_update_template()
            .template_id(&id)
            .body(no_default)
            .send()
            .await,
    );
    assert_api(&e, 400, "INVALID_ARGUMENT");

    let got = templates
        .templates_v2_get_template()
        .template_id(&id)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.version, Some(2));
    assert_eq!(got.description.as_deref(), Some("German now"));
    assert_eq!(
        versions(&got.translations),
        pairs(&[("de-DE", "1"), ("de-DE", "2"), ("de-DE", "latest")])
    );

    // TPL-6: updating a template that does not exist is 404.
    change.version = Some(1);
    let e = api_err(
        templates
            .templates_v2_update_template()
            .template_id(NO_SUCH_ID)
            .body(change)
            .send()
            .await,
    );
    assert_api(&e, 404, "NOT_FOUND");
}

#[tokio::test]
async fn tpl_translations_hold_one_message_once_with_allowed_overrides() {
    // TPL-1 TPL-3
    let (_fake, client) = manual().await;
    let templates = client.templates();
    let refused = |t: V2Template| {
        let templates = templates.clone();
        async move {
            api_err(
                templates
                    .templates_v2_create_template()
                    .body(t)
                    .send()
                    .await,
            )
        }
    };

    // A language and version appear once (a missing version is version 1).
    let e = refused(template(
        "en-US",
        vec![
            translation("en-US", Some("1"), "a"),
            translation("en-US", Some("1"), "b"),
        ],
    ))
    .await;
    assert_api(&e, 400, "INVALID_ARGUMENT");
    assert!(e.message.contains("twice"), "{}", e.message);
    let e = refused(template(
        "en-US",
        vec![
            translation("en-US", None, "a"),
            translation("en-US", Some("1"), "b"),
        ],
    ))
    .await;
    assert_api(&e, 400, "INVALID_ARGUMENT");

    // Exactly one message per translation: two kinds, or none, are refused.
    let mut two = translation("en-US", None, "text");
    two["media_message"] = json!({"url": "https://example.com/a.png"});
    let e = refused(template("en-US", vec![two])).await;
    assert_api(&e, 400, "INVALID_ARGUMENT");
    assert!(e.message.contains("exactly one message"), "{}", e.message);
    let e = refused(template("en-US", vec![json!({"language_code": "en-US"})])).await;
    assert_api(&e, 400, "INVALID_ARGUMENT");

    // `latest` names the newest version; it cannot be stored.
    let e = refused(template(
        "en-US",
        vec![translation("en-US", Some("latest"), "a")],
    ))
    .await;
    assert_api(&e, 400, "INVALID_ARGUMENT");

    // Channel overrides: WHATSAPP and KAKAOTALK only.
    let mut sms_override = translation("en-US", None, "a");
    sms_override["channel_template_overrides"] =
        json!({"SMS": {"template_reference": {"template_id": "sms-tpl"}}});
    let e = refused(template("en-US", vec![sms_override])).await;
    assert_api(&e, 400, "INVALID_ARGUMENT");
    assert!(e.message.contains("SMS"), "{}", e.message);

    // TPL-1: the default is one of the translations' languages, and there is one at least.
    let e = refused(template("de-DE", vec![translation("en-US", None, "a")])).await;
    assert_api(&e, 400, "INVALID_ARGUMENT");
    assert!(e.message.contains("de-DE"), "{}", e.message);
    let e = refused(template("en-US", vec![])).await;
    assert_api(&e, 400, "INVALID_ARGUMENT");

    // None of the refused requests stored anything.
    let listed = templates
        .templates_v2_list_templates()
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(listed.templates.is_empty(), "{listed:?}");

    // What the rules allow is taken: overrides for WHATSAPP and KAKAOTALK.
    let mut overridden = translation("en-US", None, "Hi ${name}");
    overridden["channel_template_overrides"] = json!({
        "WHATSAPP": {
            "template_reference": {"template_id": "order_shipped", "language_code": "en_US", "version": "1"},
            "parameter_mappings": {"1": "name"}
        },
        "KAKAOTALK": {"template_reference": {"template_id": "kakao-1"}}
    });
    let created = create_template(&client, template("en-US", vec![overridden])).await;
    let overrides = &created.translations[0].channel_template_overrides;
    assert_eq!(overrides.len(), 2);
    assert_eq!(
        overrides["WHATSAPP"]
            .parameter_mappings
            .get("1")
            .map(String::as_str),
        Some("name")
    );
}

#[tokio::test]
async fn tpl_list_translations_filters_by_language_and_version() {
    // TPL-4 TPL-5 TPL-6
    let (_fake, client) = manual().await;
    let templates = client.templates();
    let created = create_template(
        &client,
        template(
            "en-US",
            vec![
                translation("en-US", Some("1"), "one"),
                translation("en-US", Some("10"), "ten"),
                translation("en-US", Some("2"), "two"),
                translation("fr-FR", Some("1"), "un"),
            ],
        ),
    )
    .await;
    let id = created.id.unwrap();
    let list = |language: Option<&'static str>, version: Option<&'static str>| {
        let templates = templates.clone();
        let id = id.clone();
        async move {
            let mut req = templates.templates_v2_list_translations().template_id(&id);
            if let Some(l) = language {
                req = req.language_code(l);
            }
            if let Some(v) = version {
                req = req.translation_version(v);
            }
            let r = req.send().await.unwrap().into_inner();
            versions(&r.translations)
        }
    };

    // TPL-4: no `latest` copies in this list.
    assert_eq!(
        list(None, None).await,
        pairs(&[
            ("en-US", "1"),
            ("en-US", "10"),
            ("en-US", "2"),
            ("fr-FR", "1")
        ])
    );
    assert_eq!(
        list(Some("en-US"), None).await,
        pairs(&[("en-US", "1"), ("en-US", "10"), ("en-US", "2")])
    );
    assert_eq!(
        list(None, Some("1")).await,
        pairs(&[("en-US", "1"), ("fr-FR", "1")])
    );
    assert_eq!(
        list(Some("fr-FR"), Some("1")).await,
        pairs(&[("fr-FR", "1")])
    );
    // `latest` is the newest version of each language, under its real version (10 > 2 as
    // numbers).
    assert_eq!(
        list(None, Some("latest")).await,
        pairs(&[("en-US", "10"), ("fr-FR", "1")])
    );
    assert_eq!(
        list(Some("en-US"), Some("latest")).await,
        pairs(&[("en-US", "10")])
    );
    assert_eq!(list(Some("en-US"), Some("3")).await, pairs(&[]));
    assert_eq!(list(Some("de-DE"), None).await, pairs(&[]));

    // TPL-6: the translations of a template that does not exist are 404.
    let e = api_err(
        templates
            .templates_v2_list_translations()
            .template_id(NO_SUCH_ID)
            .send()
            .await,
    );
    assert_api(&e, 404, "NOT_FOUND");
}

#[tokio::test]
async fn tpl_ids_are_unique_unknown_ones_404_and_delete_answers_empty() {
    // TPL-6
    let (fake, client) = manual().await;
    let templates = client.templates();
    let raw = Raw::new(&fake).await;
    let mut first = template("en-US", vec![translation("en-US", None, "first")]);
    first.id = Some("order-shipped".into());
    first.description = Some("first".into());
    let created = create_template(&client, first.clone()).await;
    assert_eq!(
        created.id.as_deref(),
        Some("order-shipped"),
        "a client id is kept"
    );

    let mut again = first.clone();
    again.description = Some("second".into());
    let e = api_err(
        templates
            .templates_v2_create_template()
            .body(again)
            .send()
            .await,
    );
    assert_api(&e, 400, "INVALID_ARGUMENT");
    assert!(e.message.contains("order-shipped"), "{}", e.message);
    let got = templates
        .templates_v2_get_template()
        .template_id("order-shipped")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        got.description.as_deref(),
        Some("first"),
        "the first one stays"
    );

    let e = api_err(
        templates
            .templates_v2_get_template()
            .template_id(NO_SUCH_ID)
            .send()
            .await,
    );
    assert_api(&e, 404, "NOT_FOUND");

    // Delete answers `{}` (read raw: the typed call has no body to show).
    let (status, body) = raw
        .call_url("DELETE", &templates_url(&fake, "/order-shipped"), None)
        .await;
    assert_eq!((status, &body), (200, &json!({})));
    let e = api_err(
        templates
            .templates_v2_get_template()
            .template_id("order-shipped")
            .send()
            .await,
    );
    assert_api(&e, 404, "NOT_FOUND");
    let e = api_err(
        templates
            .templates_v2_delete_template()
            .template_id("order-shipped")
            .send()
            .await,
    );
    assert_api(&e, 404, "NOT_FOUND");
    let (status, body) = raw.call_url("GET", &templates_url(&fake, ""), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["templates"],
        json!([]),
        "an empty list carries its array"
    );

    // Once deleted, the id can be used again.
    let reused = create_template(&client, first).await;
    assert_eq!(reused.id.as_deref(), Some("order-shipped"));
    assert_eq!(reused.version, Some(1));
}

// ---------------------------------------------------------------------------------------------
// Batch API

fn batch(v: Value) -> SendBatchRequest {
    from(v)
}

async fn send_batch(
    client: &Client,
    v: Value,
) -> sinch_conversation::batch::types::SendBatchResponse {
    client
        .batch()
        .batch_send_batch()
        .body(batch(v))
        .send()
        .await
        .unwrap()
        .into_inner()
}

async fn status_of(client: &Client, id: &str) -> Value {
    let b = client
        .batch()
        .batch_get_batch_status()
        .batch_id(id)
        .send()
        .await
        .unwrap()
        .into_inner();
    to_json(&b)
}

async fn send_batch_err(client: &Client, v: Value) -> ApiError {
    api_err(
        client
            .batch()
            .batch_send_batch()
            .body(batch(v))
            .send()
            .await,
    )
}

/// A one-recipient text batch for `app`, sent at `send_after` when given.
fn simple_batch(app: &str, send_after: Option<DateTime<Utc>>, tag: &str) -> Value {
    let mut v = json!({
        "app_id": app,
        "message": {"text_message": {"text": format!("hello from {tag}")}},
        "recipient_and_params": [{"recipient": sms("+46700000100")}],
        "batch_metadata": {"tag": tag},
    });
    if let Some(t) = send_after {
        v["send_after"] = json!(t);
    }
    v
}

#[tokio::test]
async fn bat_send_fills_parameters_and_merges_metadata_per_recipient() {
    // BAT-1 BAT-2 BAT-4 BAT-5
    let (fake, client) = manual().await;
    let app = conversation_app(&fake);
    let sent = send_batch(
        &client,
        json!({
            "app_id": app,
            "message": {"text_message": {"text": "Hi ${name}, your code is ${code}. ${name}!"}},
            "message_metadata": {"campaign": "spring", "tier": "batch", "_batch_id": "forged"},
            "conversation_metadata": {"source": "batch"},
            "batch_metadata": {"campaign": "spring"},
            "recipient_and_params": [
                {"recipient": sms("+46700000001"), "parameters": {"name": "Ada", "code": "11"},
                 "message_metadata": {"tier": "gold"}},
                {"recipient": sms("+46700000002"), "parameters": {"name": "Linus", "code": "22"}},
                {"recipient": sms("+46700000003"), "parameters": {"name": "Grace", "code": "33", "unused": "x"},
                 "conversation_metadata": {"source": "own"}},
            ],
        }),
    )
    .await;
    let id = sent.batch_id.clone().unwrap();
    assert_eq!(id.len(), 26);
    assert_eq!(sent.send_after, Some(fake.now()), "sent at once");
    let early = status_of(&client, &id).await;
    assert!(
        early["status"] == "READY" || early["status"] == "PROCESSED",
        "an immediate batch is never SCHEDULED: {early}"
    );
    settle(&fake);

    let messages = batch_messages(&fake, &id);
    let texts: Vec<&str> = messages.iter().map(text_of).collect();
    assert_eq!(
        texts,
        [
            "Hi Ada, your code is 11. Ada!",
            "Hi Linus, your code is 22. Linus!",
            "Hi Grace, your code is 33. Grace!",
        ]
    );
    let identities: Vec<&Value> = messages
        .iter()
        .map(|m| &m["channel_identity"]["identity"])
        .collect();
    assert_eq!(identities, ["+46700000001", "+46700000002", "+46700000003"]);
    // BAT-5: batch and recipient metadata merged (the recipient's keys win), with the batch
    // id overwriting a client's `_batch_id`.
    assert_eq!(
        metadata_of(&messages[0]),
        json!({"campaign": "spring", "tier": "gold", "_batch_id": id})
    );
    assert_eq!(
        metadata_of(&messages[1]),
        json!({"campaign": "spring", "tier": "batch", "_batch_id": id})
    );
    // Each recipient is an ordinary message of the app: a contact and a conversation each,
    // whose conversation metadata also carries the batch id.
    assert!(
        messages.iter().all(|m| m["contact_id"] != ""),
        "{messages:?}"
    );
    let conversations = client
        .conversation_list_conversations()
        .app_id(&app)
        .send()
        .await
        .unwrap()
        .into_inner();
    let mut metas: Vec<Value> = conversations
        .conversations
        .iter()
        .map(|c| to_json(c)["metadata_json"].clone())
        .collect();
    metas.sort_by_key(|m| m["source"].to_string());
    assert_eq!(
        metas,
        [
            json!({"source": "batch", "_batch_id": id}),
            json!({"source": "batch", "_batch_id": id}),
            json!({"source": "own", "_batch_id": id}),
        ]
    );

    // BAT-4: processed.
    let status = status_of(&client, &id).await;
    assert_eq!(status["status"], "PROCESSED");
    assert_eq!(status["meta_data"], json!({"campaign": "spring"}));
    assert!(
        status.get("send_after").is_none_or(Value::is_null),
        "{status}"
    );
}

#[tokio::test]
async fn bat_each_recipient_is_sent_like_a_single_message_with_the_batch_settings() {
    // BAT-5 (with MODE-5 and DLV-17: the batch's processing_strategy and callback_url apply
    // to every message)
    let (fake, client) = manual().await;
    let mut r = app_request("batch app", &[Ch::Sms]);
    r.processing_mode = Some(ProcessingMode::Conversation);
    r.callback_settings = Some(from(
        json!({"secret_for_overridden_callback_urls": "override-secret"}),
    ));
    let app = fake.create_app_with(&r).unwrap().id.unwrap();
    let overridden = Receiver::start("override-secret").await;

    // DISPATCH_ONLY on a CONVERSATION app: sent in DISPATCH mode, no contact is kept.
    let sent = send_batch(
        &client,
        json!({
            "app_id": app,
            "message": {"text_message": {"text": "Hi ${name}"}},
            "processing_strategy": "DISPATCH_ONLY",
            "callback_url": overridden.url,
            "recipient_and_params": [
                {"recipient": sms("+46700000001"), "parameters": {"name": "Ada"}},
                {"recipient": sms("+46700000002"), "parameters": {"name": "Linus"}},
            ],
        }),
    )
    .await;
    let id = sent.batch_id.unwrap();
    settle(&fake);
    let messages = batch_messages(&fake, &id);
    let texts: Vec<&str> = messages.iter().map(text_of).collect();
    assert_eq!(texts, ["Hi Ada", "Hi Linus"], "{messages:#?}");
    for m in &messages {
        assert_eq!(m["processing_mode"], "DISPATCH", "{m}");
        assert_eq!(m["contact_id"], "", "{m}");
    }
    assert!(fake.contacts().is_empty(), "{:?}", fake.contacts());
    // Their delivery reports go to the batch's callback_url, signed with the app's secret
    // (the app's queue hands one message to the channel every 50 ms).
    fake.advance(Duration::from_secs(1));
    let reports = overridden
        .wait_until(WAIT, |evs| {
            evs.iter()
                .filter(|e| matches!(e, Event::MessageDeliveryReport(_)))
                .count()
                >= 4
        })
        .await;
    assert_eq!(overridden.rejected(), 0);
    let ids: std::collections::BTreeSet<String> = reports
        .iter()
        .map(|e| {
            to_json(e)["message_delivery_report"]["message_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let want: std::collections::BTreeSet<String> = messages
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, want);

    // By default the app's mode applies, and the correlation id is the messages' own.
    let sent = send_batch(
        &client,
        json!({
            "app_id": app,
            "message": {"text_message": {"text": "Hello"}},
            "correlation_id": "order-7",
            "recipient_and_params": [{"recipient": sms("+46700000003")}],
        }),
    )
    .await;
    settle(&fake);
    let messages = batch_messages(&fake, sent.batch_id.as_deref().unwrap());
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["processing_mode"], "CONVERSATION");
    assert_eq!(fake.contacts().len(), 1);
    let conversation = client
        .conversation_get_conversation()
        .conversation_id(messages[0]["conversation_id"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(to_json(&conversation)["correlation_id"], "order-7");
}

#[tokio::test]
async fn bat_a_missing_parameter_or_an_invalid_message_refuses_the_batch() {
    // BAT-2
    let (fake, client) = manual().await;
    let app = fake.create_app("a", &[Ch::Sms]);
    let e = send_batch_err(
        &client,
        json!({
            "app_id": app,
            "message": {"text_message": {"text": "Hi ${name}, code ${code}"}},
            "batch_metadata": {"tag": "missing"},
            "recipient_and_params": [
                {"recipient": sms("+46700000001"), "parameters": {"name": "Ada", "code": "1"}},
                {"recipient": sms("+46700000002"), "parameters": {"name": "Linus"}},
            ],
        }),
    )
    .await;
    assert_api(&e, 400, "INVALID_ARGUMENT");
    assert!(
        e.message.contains("recipient_and_params[1]") && e.message.contains("${code}"),
        "names the recipient and the parameter: {}",
        e.message
    );

    // A placeholder in a nested string counts too.
    let e = send_batch_err(
        &client,
        json!({
            "app_id": app,
            "message": {"media_message": {"url": "https://example.com/${file}.png"}},
            "recipient_and_params": [{"recipient": sms("+46700000001"), "parameters": {"name": "Ada"}}],
        }),
    )
    .await;
    assert_api(&e, 400, "INVALID_ARGUMENT");
    assert!(e.message.contains("${file}"), "{}", e.message);

    // A recipient whose message the Conversation API would refuse: its merged metadata is
    // over the 1024 characters a message's metadata may have.
    let e = send_batch_err(
        &client,
        json!({
            "app_id": app,
            "message": {"text_message": {"text": "Hi"}},
            "recipient_and_params": [
                {"recipient": sms("+46700000001")},
                {"recipient": sms("+46700000002"), "message_metadata": {"note": "x".repeat(1100)}},
            ],
        }),
    )
    .await;
    assert_api(&e, 400, "INVALID_ARGUMENT");
    assert!(
        e.message.contains("recipient_and_params[1]"),
        "{}",
        e.message
    );

    // Nothing was stored or sent.
    settle(&fake);
    assert!(fake.messages().is_empty(), "{:?}", fake.messages());
    let found = client
        .batch()
        .batch_get_batch_statuses_by_metadata()
        .metadata_key("tag")
        .metadata_value("missing")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(found.is_empty(), "{found:?}");
}

#[tokio::test]
async fn bat_recipients_whose_message_the_conversation_api_refuses_refuse_the_batch() {
    // BAT-2 (second half), with MSG-1 MSG-2 MSG-4 MSG-5 MODE-3
    let (fake, client) = manual().await;
    let app = fake.create_app("dispatch", &[Ch::Sms]);
    let text = json!({"text_message": {"text": "Hi"}});
    let one = |recipient: Value| json!([{"recipient": recipient}]);
    let cases = [
        // MSG-1: exactly one kind of message.
        (
            "two kinds",
            json!({"app_id": app, "recipient_and_params": one(sms("+46700000001")),
            "message": {"text_message": {"text": "Hi"}, "media_message": {"url": "https://example.com/a.png"}}}),
        ),
        (
            "no kind",
            json!({"app_id": app, "recipient_and_params": one(sms("+46700000001")), "message": {}}),
        ),
        // MSG-2: exactly one of contact_id and identified_by.
        (
            "both recipients",
            json!({"app_id": app, "message": text,
            "recipient_and_params": one(json!({"contact_id": NO_SUCH_ID,
                "identified_by": {"channel_identities": [{"channel": "SMS", "identity": "+46700000001"}]}}))}),
        ),
        (
            "no recipient",
            json!({"app_id": app, "message": text, "recipient_and_params": one(json!({}))}),
        ),
        // MSG-4: ttl from 3 seconds.
        (
            "ttl",
            json!({"app_id": app, "message": text, "ttl": "1s",
            "recipient_and_params": one(sms("+46700000001"))}),
        ),
        // MSG-5: channel_priority_order names the app's channels only.
        (
            "priority",
            json!({"app_id": app, "message": text, "channel_priority_order": ["WHATSAPP"],
            "recipient_and_params": one(sms("+46700000001"))}),
        ),
        // MODE-3: a DISPATCH app takes no contact_id.
        (
            "contact_id",
            json!({"app_id": app, "message": text,
            "recipient_and_params": one(json!({"contact_id": NO_SUCH_ID}))}),
        ),
    ];
    let mut accepted = vec![];
    for (what, request) in cases {
        match client
            .batch()
            .batch_send_batch()
            .body(batch(request))
            .send()
            .await
        {
            Ok(_) => accepted.push(what),
            Err(e) => assert_api(&api_err::<()>(Err(e)), 400, "INVALID_ARGUMENT"),
        }
    }
    assert!(
        accepted.is_empty(),
        "accepted, then failed unseen: {accepted:?}"
    );
}

#[tokio::test]
async fn bat_a_batch_has_one_to_a_thousand_recipients_and_an_existing_app() {
    // BAT-1
    let (fake, client) = manual().await;
    let app = fake.create_app("a", &[Ch::Sms]);
    let recipients = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"recipient": sms(&format!("+4670{i:07}")), "parameters": {"n": i.to_string()}}))
            .collect()
    };
    let request = |n: usize| {
        json!({
            "app_id": app,
            "message": {"text_message": {"text": "number ${n}"}},
            "recipient_and_params": recipients(n),
        })
    };
    for n in [0, 1001] {
        let e = send_batch_err(&client, request(n)).await;
        assert_api(&e, 400, "INVALID_ARGUMENT");
        assert!(
            e.message.contains("recipient_and_params"),
            "{n}: {}",
            e.message
        );
    }
    let e = send_batch_err(
        &client,
        json!({"app_id": NO_SUCH_ID, "message": {"text_message": {"text": "x"}},
               "recipient_and_params": recipients(1)}),
    )
    .await;
    assert_api(&e, 404, "NOT_FOUND");
    let raw = Raw::new(&fake).await;
    let (status, body) = raw
        .call_url(
            "POST",
            &batch_url(&fake, "messages"),
            Some(json!({"app_id": app, "recipient_and_params": recipients(1)}).to_string()),
        )
        .await;
    assert_error_body(status, &body, 400, "INVALID_ARGUMENT");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("message"),
        "{body}"
    );
    settle(&fake);
    assert!(fake.messages().is_empty());

    // A thousand is the most, and each becomes its own message.
    let sent = send_batch(&client, request(1000)).await;
    settle(&fake);
    let messages = batch_messages(&fake, sent.batch_id.as_deref().unwrap());
    assert_eq!(messages.len(), 1000);
    assert_eq!(text_of(&messages[999]), "number 999");
}

#[tokio::test]
async fn bat_send_after_is_rounded_up_bounded_and_not_past() {
    // BAT-3
    let (fake, client) = manual().await;
    let app = fake.create_app("a", &[Ch::Sms]);
    let now = fake.now();

    // Within a minute: sent at once.
    let soon = send_batch(
        &client,
        simple_batch(&app, Some(now + Span::seconds(30)), "soon"),
    )
    .await;
    assert_eq!(soon.send_after, Some(now));
    settle(&fake);
    let status = status_of(&client, soon.batch_id.as_deref().unwrap()).await;
    assert_eq!(status["status"], "PROCESSED", "{status}");

    // Further ahead: rounded up to the next five-minute mark, and the answer says so.
    let wanted = now + Span::minutes(2) + Span::milliseconds(1);
    let later = send_batch(&client, simple_batch(&app, Some(wanted), "later")).await;
    let at = later.send_after.unwrap();
    assert_eq!(at, next_five_minute_mark(wanted));
    assert!(
        at >= wanted && at - wanted < Span::minutes(5),
        "{wanted} -> {at}"
    );
    assert_eq!((at.minute() % 5, at.second(), at.nanosecond()), (0, 0, 0));
    let status = status_of(&client, later.batch_id.as_deref().unwrap()).await;
    assert_eq!(status["status"], "SCHEDULED");
    assert_eq!(status["send_after"], json!(at));

    // On a mark already: kept.
    let mark = next_five_minute_mark(now + Span::minutes(20));
    let on_mark = send_batch(&client, simple_batch(&app, Some(mark), "mark")).await;
    assert_eq!(on_mark.send_after, Some(mark));

    // Up to seven days ahead...
    let far = send_batch(
        &client,
        simple_batch(&app, Some(now + Span::days(7) - Span::minutes(30)), "far"),
    )
    .await;
    assert!(far.send_after.unwrap() <= now + Span::days(7));
    // ... as the answer gives it: the last mark before the limit is taken, a time that would
    // round up past it is not.
    let limit = now + Span::days(7);
    let last_mark = next_five_minute_mark(limit - Span::minutes(5));
    let edge = send_batch(&client, simple_batch(&app, Some(last_mark), "edge")).await;
    assert_eq!(edge.send_after, Some(last_mark));
    let just_before = limit - Span::seconds(1);
    if next_five_minute_mark(just_before) > limit {
        let e = send_batch_err(&client, simple_batch(&app, Some(just_before), "refused")).await;
        assert_api(&e, 400, "INVALID_ARGUMENT");
        assert!(e.message.contains("7 days"), "{}", e.message);
    }
    // A moment ago counts as now (clocks differ by a little).
    let moment_ago = send_batch(
        &client,
        simple_batch(&app, Some(now - Span::seconds(30)), "moment"),
    )
    .await;
    assert_eq!(moment_ago.send_after, Some(now));
    // No further than seven days; not in the past.
    for (when, says) in [
        (now + Span::days(7) + Span::minutes(1), "7 days"),
        (now - Span::minutes(10), "past"),
    ] {
        let e = send_batch_err(&client, simple_batch(&app, Some(when), "refused")).await;
        assert_api(&e, 400, "INVALID_ARGUMENT");
        assert!(e.message.contains(says), "{when}: {}", e.message);
    }
    let raw = Raw::new(&fake).await;
    let mut bad = simple_batch(&app, None, "refused");
    bad["send_after"] = json!("tomorrow morning");
    let (status, body) = raw
        .call_url("POST", &batch_url(&fake, "messages"), Some(bad.to_string()))
        .await;
    assert_error_body(status, &body, 400, "INVALID_ARGUMENT");
    let refused = client
        .batch()
        .batch_get_batch_statuses_by_metadata()
        .metadata_key("tag")
        .metadata_value("refused")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(
        refused.is_empty(),
        "refused batches are not stored: {refused:?}"
    );
}

#[tokio::test]
async fn bat_scheduled_batches_wait_for_their_time() {
    // BAT-3 BAT-4
    let (fake, client) = manual().await;
    let app = fake.create_app("a", &[Ch::Sms]);
    let start = fake.now();
    let sent = send_batch(
        &client,
        simple_batch(&app, Some(start + Span::minutes(10)), "wait"),
    )
    .await;
    let id = sent.batch_id.unwrap();
    let at = sent.send_after.unwrap();
    let until = (at - start).to_std().unwrap();

    settle(&fake);
    assert_eq!(status_of(&client, &id).await["status"], "SCHEDULED");
    fake.advance(until - Duration::from_secs(1));
    assert_eq!(status_of(&client, &id).await["status"], "SCHEDULED");
    assert!(
        batch_messages(&fake, &id).is_empty(),
        "not before send_after"
    );

    fake.advance(Duration::from_secs(1));
    assert_eq!(fake.now(), at);
    let status = status_of(&client, &id).await;
    assert_eq!(status["status"], "PROCESSED");
    assert_eq!(status["send_after"], json!(at));
    let messages = batch_messages(&fake, &id);
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0]["accept_time"],
        json!(at),
        "accepted at send_after"
    );
}

#[tokio::test]
async fn bat_cancel_stops_only_scheduled_batches_and_always_answers_200() {
    // BAT-7 BAT-4
    let (fake, client) = manual().await;
    let app = fake.create_app("a", &[Ch::Sms]);
    let raw = Raw::new(&fake).await;
    let in_10_min = Some(fake.now() + Span::minutes(10));
    let cancel = |id: &str| {
        let client = client.clone();
        let body = CancelBatchRequest::batch(id);
        async move { client.batch().batch_cancel_batch().body(body).send().await }
    };

    // Before send_after: cancelled, and nothing is ever sent.
    let early = send_batch(&client, simple_batch(&app, in_10_min, "early")).await;
    let early = early.batch_id.unwrap();
    cancel(&early).await.unwrap();
    assert_eq!(status_of(&client, &early).await["status"], "CANCELLED");

    // Sent at once: cannot be cancelled.
    let now = send_batch(&client, simple_batch(&app, None, "now")).await;
    let now = now.batch_id.unwrap();
    settle(&fake);
    cancel(&now).await.unwrap();
    assert_eq!(status_of(&client, &now).await["status"], "PROCESSED");

    // Scheduled, but its time has come: stays PROCESSED.
    let gone = send_batch(&client, simple_batch(&app, in_10_min, "gone")).await;
    let gone = gone.batch_id.unwrap();
    let keep = send_batch(&client, simple_batch(&app, in_10_min, "keep")).await;
    let keep = keep.batch_id.unwrap();

    // By metadata (the fake's names for the undocumented form: metadata_key/metadata_value).
    let wave: Vec<String> = {
        let mut ids = vec![];
        for _ in 0..2 {
            let sent = send_batch(&client, simple_batch(&app, in_10_min, "wave")).await;
            ids.push(sent.batch_id.unwrap());
        }
        ids
    };
    let (status, body) = raw
        .call_url(
            "DELETE",
            &batch_url(&fake, "messages"),
            Some(json!({"metadata_key": "tag", "metadata_value": "wave"}).to_string()),
        )
        .await;
    assert_eq!((status, &body), (200, &json!({})));
    for id in &wave {
        assert_eq!(status_of(&client, id).await["status"], "CANCELLED");
    }
    // An id that names nothing: still 200.
    cancel(NO_SUCH_ID).await.unwrap();

    fake.advance(Duration::from_secs(20 * 60));
    cancel(&gone).await.unwrap();
    assert_eq!(status_of(&client, &gone).await["status"], "PROCESSED");
    assert_eq!(batch_messages(&fake, &gone).len(), 1);
    assert_eq!(status_of(&client, &keep).await["status"], "PROCESSED");
    assert_eq!(batch_messages(&fake, &now).len(), 1);
    for id in wave.iter().chain([&early]) {
        assert_eq!(status_of(&client, id).await["status"], "CANCELLED");
        assert!(
            batch_messages(&fake, id).is_empty(),
            "cancelled {id} sent nothing"
        );
    }
}

#[tokio::test]
async fn bat_status_by_id_and_by_metadata() {
    // BAT-8
    let (fake, client) = manual().await;
    let app = fake.create_app("a", &[Ch::Sms]);
    let raw = Raw::new(&fake).await;
    let e = api_err(
        client
            .batch()
            .batch_get_batch_status()
            .batch_id(NO_SUCH_ID)
            .send()
            .await,
    );
    assert_api(&e, 404, "NOT_FOUND");

    let later = Some(fake.now() + Span::hours(1));
    let a1 = send_batch(&client, simple_batch(&app, later, "a"))
        .await
        .batch_id
        .unwrap();
    let a2 = send_batch(&client, simple_batch(&app, None, "a"))
        .await
        .batch_id
        .unwrap();
    let b = send_batch(&client, simple_batch(&app, later, "b"))
        .await
        .batch_id
        .unwrap();
    settle(&fake);
    let by = |value: &'static str| {
        let client = client.clone();
        async move {
            client
                .batch()
                .batch_get_batch_statuses_by_metadata()
                .metadata_key("tag")
                .metadata_value(value)
                .send()
                .await
                .unwrap()
                .into_inner()
        }
    };
    let found = by("a").await;
    let mut ids: Vec<String> = found.iter().map(|b| b.batch_id.clone().unwrap()).collect();
    ids.sort();
    let mut want = vec![a1.clone(), a2.clone()];
    want.sort();
    assert_eq!(ids, want);
    let a1_status = found
        .iter()
        .find(|x| x.batch_id.as_deref() == Some(&a1))
        .unwrap();
    assert_eq!(to_json(a1_status)["status"], "SCHEDULED");
    assert_eq!(
        a1_status.meta_data.get("tag").map(String::as_str),
        Some("a")
    );
    let only_b = by("b").await;
    assert_eq!(only_b.len(), 1);
    assert_eq!(only_b[0].batch_id.as_deref(), Some(b.as_str()));
    assert_eq!(
        to_json(&only_b[0]),
        status_of(&client, &b).await,
        "the same batch object"
    );

    // No match: an empty array. A missing parameter: 400.
    let (status, body) = raw
        .call_url(
            "GET",
            &batch_url(&fake, "messages?metadataKey=tag&metadataValue=zzz"),
            None,
        )
        .await;
    assert_eq!((status, &body), (200, &json!([])));
    let (status, body) = raw
        .call_url("GET", &batch_url(&fake, "messages?metadataKey=tag"), None)
        .await;
    assert_error_body(status, &body, 400, "INVALID_ARGUMENT");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("metadataValue"),
        "{body}"
    );
}

#[tokio::test]
async fn bat_batch_status_update_reaches_the_apps_webhook() {
    // BAT-6 BAT-5 BAT-7
    let (fake, client) = manual().await;
    let app = fake.create_app("a", &[Ch::Sms]);
    let receiver = Receiver::start(SECRET).await;
    let hook: types::Webhook = from(json!({
        "app_id": app,
        "target": receiver.url,
        "triggers": ["BATCH_STATUS_UPDATE", "MESSAGE_DELIVERY"],
        "secret": SECRET,
    }));
    client
        .webhooks_create_webhook()
        .body(hook)
        .send()
        .await
        .unwrap();

    let in_10_min = Some(fake.now() + Span::minutes(10));
    let mut request = simple_batch(&app, in_10_min, "callback");
    request["message_metadata"] = json!({"order": "42"});
    let sent = send_batch(&client, request).await;
    let id = sent.batch_id.unwrap();
    let cancelled = send_batch(&client, simple_batch(&app, in_10_min, "cancelled")).await;
    client
        .batch()
        .batch_cancel_batch()
        .body(CancelBatchRequest::batch(
            cancelled.batch_id.clone().unwrap(),
        ))
        .send()
        .await
        .unwrap();
    settle(&fake);
    assert!(fake.wait_idle(WAIT).await);
    assert!(
        receiver.with_trigger("BATCH_STATUS_UPDATE").is_empty(),
        "nothing before the batch is processed"
    );

    // Up to send_after (the request's time rounded up, so up to 15 minutes ahead).
    let until = sent.send_after.unwrap() - fake.now();
    fake.advance(until.to_std().unwrap());
    let events = receiver
        .wait_until(WAIT, |evs| {
            evs.iter().any(|e| matches!(e, Event::BatchStatusUpdate(_)))
                && evs
                    .iter()
                    .any(|e| matches!(e, Event::MessageDeliveryReport(_)))
        })
        .await;
    assert!(fake.wait_idle(WAIT).await);
    let updates = receiver.with_trigger("BATCH_STATUS_UPDATE");
    assert_eq!(
        updates.len(),
        1,
        "one, and none for the cancelled batch: {updates:#?}"
    );
    let Event::BatchStatusUpdate(update) = &updates[0] else {
        unreachable!()
    };
    assert_eq!(update.app_id.as_deref(), Some(app.as_str()));
    assert_eq!(update.project_id.as_deref(), Some(fake.project_id()));
    let n = to_json(&update.batch_status_update_notification);
    assert_eq!(n["batch_id"], id.as_str());
    assert_eq!(n["batch_status"], "BATCH_STATUS_PROCESSED");
    assert_eq!(n["batch_type"], "BATCH_TYPE_MESSAGES");
    assert_eq!(
        n["additional_data"]["message_batch_data"],
        json!({"send_after": sent.send_after.unwrap(), "batch_metadata": {"tag": "callback"}})
    );
    // BAT-5: the message's delivery reports carry the merged metadata with `_batch_id`.
    let report = events
        .iter()
        .find_map(|e| match e {
            Event::MessageDeliveryReport(r) => Some(to_json(r)),
            _ => None,
        })
        .unwrap();
    let metadata: Value = serde_json::from_str(
        report["message_delivery_report"]["metadata"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(metadata, json!({"order": "42", "_batch_id": id}));
    assert_eq!(receiver.rejected(), 0, "every callback was signed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bat_wait_idle_covers_a_batch_being_processed() {
    // BAT-6 (with the fake's wait_idle promise: every callback delivered)
    let fake = Fake::builder().queue_rate(1e6).start().await.unwrap();
    let client = fake.client();
    let app = fake.create_app("a", &[Ch::Sms]);
    let receiver = Receiver::start(SECRET).await;
    let hook: types::Webhook = from(json!({
        "app_id": app, "target": receiver.url, "secret": SECRET,
        "triggers": ["BATCH_STATUS_UPDATE"],
    }));
    client
        .webhooks_create_webhook()
        .body(hook)
        .send()
        .await
        .unwrap();
    let recipients: Vec<Value> = (0..1000)
        .map(|i| json!({"recipient": sms(&format!("+4670{i:07}"))}))
        .collect();
    send_batch(
        &client,
        json!({"app_id": app, "message": {"text_message": {"text": "x"}},
               "recipient_and_params": recipients}),
    )
    .await;
    // Processing a thousand recipients takes a while on the fake's own runtime threads.
    assert!(fake.wait_idle(WAIT).await);
    let delivered = fake
        .callbacks()
        .iter()
        .filter(|c| c.trigger == "BATCH_STATUS_UPDATE" && c.delivered)
        .count();
    assert_eq!(
        delivered, 1,
        "idle only once the batch's callback was delivered"
    );
    assert_eq!(receiver.with_trigger("BATCH_STATUS_UPDATE").len(), 1);
}

#[tokio::test]
async fn bat_bulk_contacts_are_created_and_deleted_in_the_background() {
    // BAT-9
    let (fake, client) = manual().await;
    let app = conversation_app(&fake);
    let receiver = Receiver::start(SECRET).await;
    let hook: types::Webhook = from(json!({
        "app_id": app, "target": receiver.url, "secret": SECRET,
        "triggers": ["CONTACT_CREATE", "CONTACT_DELETE"],
    }));
    client
        .webhooks_create_webhook()
        .body(hook)
        .send()
        .await
        .unwrap();
    let contact = |name: &str, identity: &str| {
        json!({"display_name": name, "language": "EN_US",
               "channel_identities": [{"channel": "SMS", "identity": identity}]})
    };
    let create: CreateContactsRequest = from(json!({"contacts": [
        contact("Ada", "+46700000001"),
        contact("Linus", "+46700000002"),
        // An app-scoped channel without its app (CON-2): skipped, the others are created.
        {"language": "EN_US", "display_name": "Nobody",
         "channel_identities": [{"channel": "MESSENGER", "identity": "psid-1"}]},
    ]}));
    client
        .batch()
        .batch_create_contacts()
        .body(create)
        .send()
        .await
        .unwrap();
    settle(&fake);
    let contacts = fake.contacts();
    let names: Vec<&str> = contacts
        .iter()
        .map(|c| c.display_name.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(names, ["Ada", "Linus"]);
    receiver
        .wait_until(WAIT, |evs| {
            evs.iter()
                .filter(|e| e.trigger() == Some("CONTACT_CREATE"))
                .count()
                == 2
        })
        .await;
    let ada = contacts[0].id.clone().unwrap();
    let linus = contacts[1].id.clone().unwrap();

    // Unknown ids are skipped.
    let delete: DeleteContactsRequest = from(json!({"contact_ids": [ada, NO_SUCH_ID]}));
    client
        .batch()
        .batch_delete_contacts()
        .body(delete)
        .send()
        .await
        .unwrap();
    settle(&fake);
    let left: Vec<String> = fake
        .contacts()
        .iter()
        .map(|c| c.id.clone().unwrap())
        .collect();
    assert_eq!(left, std::slice::from_ref(&linus));
    let deleted = receiver
        .wait_until(WAIT, |evs| {
            evs.iter().any(|e| e.trigger() == Some("CONTACT_DELETE"))
        })
        .await;
    assert!(fake.wait_idle(WAIT).await);
    let deletes: Vec<Value> = receiver
        .with_trigger("CONTACT_DELETE")
        .iter()
        .map(to_json)
        .collect();
    assert_eq!(deletes.len(), 1, "{deleted:#?}");
    assert_eq!(
        deletes[0]["contact_delete_notification"]["contact"]["id"],
        ada.as_str()
    );

    // 1 to 1,000 contacts, each well-formed; ids are ULIDs.
    let too_many: CreateContactsRequest = from(json!({
        "contacts": (0..1001).map(|i| contact("x", &format!("+4671{i:07}"))).collect::<Vec<_>>()
    }));
    let e = api_err(
        client
            .batch()
            .batch_create_contacts()
            .body(too_many)
            .send()
            .await,
    );
    assert_api(&e, 400, "INVALID_ARGUMENT");
    let none: CreateContactsRequest = from(json!({"contacts": []}));
    let e = api_err(
        client
            .batch()
            .batch_create_contacts()
            .body(none)
            .send()
            .await,
    );
    assert_api(&e, 400, "INVALID_ARGUMENT");
    let raw = Raw::new(&fake).await;
    let (status, body) = raw
        .call_url(
            "POST",
            &batch_url(&fake, "contacts"),
            Some(json!({"contacts": [{"channel_identities": [{"channel": "SMS", "identity": "+46700000009"}]}]}).to_string()),
        )
        .await;
    assert_error_body(status, &body, 400, "INVALID_ARGUMENT");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("language"),
        "{body}"
    );
    let ids_1001: Vec<&str> = vec![NO_SUCH_ID; 1001];
    for ids in [json!(["not-a-contact-id"]), json!([]), json!(ids_1001)] {
        let delete: DeleteContactsRequest = from(json!({ "contact_ids": ids }));
        let e = api_err(
            client
                .batch()
                .batch_delete_contacts()
                .body(delete)
                .send()
                .await,
        );
        assert_api(&e, 400, "INVALID_ARGUMENT");
    }
    let bad_id: DeleteContactsRequest = from(json!({"contact_ids": [linus, "not-a-contact-id"]}));
    let e = api_err(
        client
            .batch()
            .batch_delete_contacts()
            .body(bad_id)
            .send()
            .await,
    );
    assert_api(&e, 400, "INVALID_ARGUMENT");
    settle(&fake);
    assert_eq!(fake.contacts().len(), 1, "refused requests changed nothing");
}

#[tokio::test]
async fn bat_consents_insert_fills_the_apps_lists() {
    // BAT-10
    let (fake, client) = manual().await;
    let app = fake.create_app("a", &[Ch::Sms]);
    let insert = |v: Value| {
        let client = client.clone();
        let body: InsertConsentsRequest = from(v);
        async move {
            client
                .batch()
                .batch_insert_consents()
                .body(body)
                .send()
                .await
        }
    };
    let answer = insert(json!({"app_id": app, "consent_records": [
        {"identification": "+46700000001", "consent_type": "OPT_OUT_ALL"},
        {"identification": "+46700000002", "consent_type": "OPT_OUT_MARKETING"},
    ]}))
    .await
    .unwrap()
    .into_inner();
    assert_eq!(answer.batch_id.map(|id| id.len()), Some(26));

    let list = |kind: &'static str| {
        let client = client.clone();
        let app = app.clone();
        async move {
            let r = client
                .consents_get_consents()
                .app_id(&app)
                .list_type(types::ConsentListType::from(kind))
                .send()
                .await
                .unwrap()
                .into_inner();
            r.identities
                .iter()
                .map(|i| i.identity.clone().unwrap_or_default())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list("OPT_OUT_ALL").await, ["+46700000001"]);
    assert_eq!(list("OPT_OUT_MARKETING").await, ["+46700000002"]);
    assert!(list("OPT_OUT_NOTIFICATION").await.is_empty());
    let audit = client
        .consents_get_consents_audit_records()
        .app_id(&app)
        .identity("+46700000001")
        .send()
        .await
        .unwrap()
        .into_inner();
    let records = to_json(&audit)["audit_records"].clone();
    assert_eq!(records.as_array().unwrap().len(), 1, "{records}");
    assert_eq!(records[0]["origin"], "ORIGIN_API");
    assert_eq!(records[0]["operation"], "OPERATION_INSERT");

    // Every record names its list; one that does not refuses the whole request.
    let e = api_err(
        insert(json!({"app_id": app, "consent_records": [
            {"identification": "+46700000003", "consent_type": "OPT_OUT_ALL"},
            {"identification": "+46700000004"},
        ]}))
        .await,
    );
    assert_api(&e, 400, "INVALID_ARGUMENT");
    assert!(
        e.message.contains("consent_records[1].consent_type"),
        "{}",
        e.message
    );
    assert_eq!(
        list("OPT_OUT_ALL").await,
        ["+46700000001"],
        "nothing stored"
    );
    let e = api_err(insert(json!({"app_id": app, "consent_records": []})).await);
    assert_api(&e, 400, "INVALID_ARGUMENT");
    let e = api_err(
        insert(json!({"app_id": NO_SUCH_ID, "consent_records": [
            {"identification": "+46700000005", "consent_type": "OPT_OUT_ALL"}]}))
        .await,
    );
    assert_api(&e, 404, "NOT_FOUND");
    let raw = Raw::new(&fake).await;
    let (status, body) = raw
        .call_url(
            "POST",
            &batch_url(&fake, "consents"),
            Some(json!({"consent_records": [{"identification": "+46700000006", "consent_type": "OPT_OUT_ALL"}]}).to_string()),
        )
        .await;
    assert_error_body(status, &body, 400, "INVALID_ARGUMENT");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("app_id"),
        "{body}"
    );
}

#[tokio::test]
async fn auth5_the_batch_api_takes_bearer_tokens_only() {
    // AUTH-5
    let (fake, client) = manual().await;
    let app = fake.create_app("a", &[Ch::Sms]);
    let http = reqwest::Client::new();
    let basic =
        |req: reqwest::RequestBuilder| req.basic_auth(fake.key_id(), Some(fake.key_secret()));

    // The project's valid key, as Basic: refused by the Batch API...
    let (status, body) = read(
        basic(http.get(batch_url(&fake, &format!("messages/{NO_SUCH_ID}"))))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error_body(status, &body, 401, "UNAUTHENTICATED");
    let (status, body) = read(
        basic(http.post(batch_url(&fake, "messages")))
            .json(&simple_batch(&app, None, "basic"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error_body(status, &body, 401, "UNAUTHENTICATED");
    // ... while the Conversation API takes it.
    let (status, body) = read(
        basic(http.get(format!(
            "{}/v1/projects/{}/apps",
            fake.base_url(),
            fake.project_id()
        )))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // A bearer token gets past auth to the lookup.
    let e = api_err(
        client
            .batch()
            .batch_get_batch_status()
            .batch_id(NO_SUCH_ID)
            .send()
            .await,
    );
    assert_api(&e, 404, "NOT_FOUND");
    settle(&fake);
    assert!(fake.messages().is_empty(), "the refused batch was not sent");

    // The crate's client with Basic credentials refuses before sending.
    let sent_before = fake.requests_for("Batch_GetBatchStatus").len();
    let basic_client = fake
        .client_builder()
        .credentials(Credentials::basic(fake.key_id(), fake.key_secret()))
        .build()
        .unwrap();
    let err = basic_client
        .batch()
        .batch_get_batch_status()
        .batch_id(NO_SUCH_ID)
        .send()
        .await
        .map_err(Error::from)
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert_eq!(fake.requests_for("Batch_GetBatchStatus").len(), sent_before);
    // Basic stays fine for the Template Management API.
    let listed = basic_client
        .templates()
        .templates_v2_list_templates()
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(listed.templates.is_empty());
}
