//! The embedded fake's resource areas through the crate's own client, one test per area, each
//! naming the rules of `src/fake/RULES.md` it holds the fake to: apps, webhooks, contacts,
//! conversations, events, consents, capability, settings, transcoding, and the shapes and
//! values of what the API sends back.

#[path = "support/fakes.rs"]
mod fakes;
#[path = "support/receiver.rs"]
mod receiver;

use fakes::*;
use futures_util::TryStreamExt;
use receiver::Receiver;
use serde_json::json;
use sinch_conversation::fake::Fake;
use sinch_conversation::prelude::*;
use sinch_conversation::types::{
    self, AppMessage, ConversationChannel as Ch, ProcessingMode, Recipient, SendMessageRequest,
};
use sinch_conversation::webhook::Event;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// A fake with a fast queue, its client, a CONVERSATION-mode app on SMS, WhatsApp and
/// Messenger, and a verifying webhook subscribed to every trigger.
async fn setup() -> (Fake, Client, String, Receiver) {
    let fake = Fake::builder().queue_rate(1000.0).start().await.unwrap();
    let client = fake.client();
    let app = conversation_app(&fake, &[Ch::Sms, Ch::Whatsapp, Ch::Messenger]);
    let receiver = Receiver::start(SECRET).await;
    webhook(&client, &app, &receiver.url, &TRIGGERS).await;
    (fake, client, app, receiver)
}

fn text_to(app: &str, phone: &str, text: &str) -> SendMessageRequest {
    SendMessageRequest::new(
        app,
        Recipient::channel(Ch::Sms, phone),
        AppMessage::text(text),
    )
}

#[tokio::test]
async fn apps_are_created_with_the_apis_defaults_and_patched_by_mask() {
    // APP-1 APP-2 APP-3 APP-6 APP-7 APP-8 LIST-4 VAL-1 ERR-2
    let fake = Fake::start().await.unwrap();
    let client = fake.client();
    let raw = Raw::new(&fake).await;
    let (status, app) = raw
        .post(
            "apps",
            json!({
                "display_name": "Support",
                "channel_credentials": [{"channel": "SMS", "static_bearer": {"claimed_identity": "+12065550199", "token": "tok"}}],
                "retention_policy": {"retention_type": "MESSAGE_EXPIRE_POLICY", "ttl_days": 30}
            }),
        )
        .await;
    assert_eq!(status, 200, "{app}");
    let id = app["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 26, "ULID ids");
    assert_eq!(
        app["processing_mode"], "DISPATCH",
        "the default since 2025-04-16"
    );
    assert_eq!(app["conversation_metadata_report_view"], "NONE");
    assert_eq!(
        app["retention_policy"]["ttl_days"], 30,
        "what the request set stays"
    );
    assert_eq!(
        app["dispatch_retention_policy"],
        json!({"retention_type": "MESSAGE_EXPIRE_POLICY", "ttl_days": 0})
    );
    assert_eq!(app["message_retry_settings"]["retry_duration"], 3600);
    assert_eq!(app["delivery_report_based_fallback"]["enabled"], false);
    assert_eq!(app["smart_conversation"]["enabled"], false);
    assert_eq!(app["persist_message_status"]["enabled"], false);
    assert_eq!(app["message_search"]["enabled"], false);
    assert_eq!(
        app["callback_settings"]["secret_for_overridden_callback_urls"],
        ""
    );
    assert_eq!(app["rate_limits"]["outbound"], 20);
    assert_eq!(
        app["queue_stats"],
        json!({"outbound_size": 0, "outbound_limit": 500000})
    );
    let credential = &app["channel_credentials"][0];
    assert_eq!(
        credential["state"]["status"], "PENDING",
        "a new credential is validated first"
    );
    assert_eq!(credential["state"]["description"], "");
    assert_eq!(
        (
            credential["callback_secret"].as_str(),
            credential["channel_known_id"].as_str()
        ),
        (Some(""), Some(""))
    );

    let got = client
        .app_get_app()
        .app_id(&id)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.display_name.as_deref(), Some("Support"));
    assert_eq!(
        got.channel_credentials[0].state.as_ref().unwrap().status,
        types::ChannelIntegrationStatus::Active
    );
    let (_, listed) = raw.get("apps").await;
    assert_eq!(listed["apps"].as_array().unwrap().len(), 1);
    assert!(
        listed.get("next_page_token").is_none(),
        "apps are not paged: {listed}"
    );

    // Only the masked path changes; the retention policy the body omits stays.
    let update: types::AppUpdateRequest = body(json!({"display_name": "Support v2"}));
    let updated = client
        .app_update_app()
        .app_id(&id)
        .update_mask_paths(vec!["display_name".to_string()])
        .body(update)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.display_name.as_deref(), Some("Support v2"));
    assert_eq!(updated.retention_policy.unwrap().ttl_days, Some(30));
    // The `update_mask=a,b` form other SDKs send.
    let (status, renamed) = raw
        .call(
            "PATCH",
            &format!("apps/{id}?update_mask=display_name"),
            Some(r#"{"display_name": "Desk", "processing_mode": "CONVERSATION"}"#),
        )
        .await;
    assert_eq!(
        (
            status,
            renamed["display_name"].as_str(),
            renamed["processing_mode"].as_str()
        ),
        (200, Some("Desk"), Some("DISPATCH"))
    );

    // A webhook goes with its app.
    webhook(
        &client,
        &id,
        "https://example.com/hook",
        &["MESSAGE_INBOUND"],
    )
    .await;
    client.app_delete_app().app_id(&id).send().await.unwrap();
    let e = api_err(client.app_get_app().app_id(&id).send().await);
    assert_eq!(status_of(&e), (404, "NOT_FOUND"));
    assert_eq!(raw.get(&format!("apps/{id}/webhooks")).await.0, 404);
}

#[tokio::test]
async fn app_settings_and_credentials_are_checked() {
    // APP-1 APP-4 APP-5 ERR-4 ERR-6
    let fake = Fake::start().await.unwrap();
    let raw = Raw::new(&fake).await;
    let sms = json!({"channel": "SMS", "static_bearer": {"claimed_identity": "a", "token": "b"}});
    let refused = [
        (json!({"channel_credentials": []}), "display_name"),
        (
            json!({"display_name": " ", "channel_credentials": []}),
            "display_name",
        ),
        (json!({"display_name": "a"}), "channel_credentials"),
        (
            json!({"display_name": "a", "channel_credentials": [{"channel": "SMS"}]}),
            "static_bearer",
        ),
        (
            json!({"display_name": "a", "channel_credentials": [{"channel": "MESSENGER", "static_bearer": {"claimed_identity": "a", "token": "b"}}]}),
            "static_token",
        ),
        (
            json!({"display_name": "a", "channel_credentials": [sms, sms]}),
            "twice",
        ),
        (
            json!({"display_name": "a", "channel_credentials": [{"channel": "SMS", "static_bearer": {"claimed_identity": "a", "token": "b"}, "callback_secret": "x".repeat(257)}]}),
            "callback_secret",
        ),
        (
            json!({"display_name": "a", "channel_credentials": [], "retention_policy": {"ttl_days": 0}}),
            "ttl_days",
        ),
        (
            json!({"display_name": "a", "channel_credentials": [], "retention_policy": {"ttl_days": 3651}}),
            "ttl_days",
        ),
        (
            json!({"display_name": "a", "channel_credentials": [], "dispatch_retention_policy": {"ttl_days": 8}}),
            "ttl_days",
        ),
        (
            json!({"display_name": "a", "channel_credentials": [], "dispatch_retention_policy": {"retention_type": "PERSIST_RETENTION_POLICY"}}),
            "MESSAGE_EXPIRE_POLICY",
        ),
        (
            json!({"display_name": "a", "channel_credentials": [], "message_retry_settings": {"retry_duration": 20}}),
            "retry_duration",
        ),
        (
            json!({"display_name": "a", "channel_credentials": [], "delivery_report_based_fallback": {"enabled": true, "delivery_report_waiting_time": 5}}),
            "waiting_time",
        ),
        (
            json!({"display_name": "a", "channel_credentials": [], "processing_mode": "BATCH"}),
            "processing_mode",
        ),
        (
            json!({"display_name": 7, "channel_credentials": []}),
            "display_name",
        ),
    ];
    for (request, named) in refused {
        let (status, answer) = raw.post("apps", request.clone()).await;
        assert_eq!(status, 400, "{request} -> {answer}");
        assert_eq!(answer["error"]["status"], "INVALID_ARGUMENT");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{request}: {message}");
    }
    // An empty credential list is an app without channels (channels come later by update).
    assert_eq!(
        raw.post(
            "apps",
            json!({"display_name": "a", "channel_credentials": []})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        raw.get("apps").await.1["apps"].as_array().unwrap().len(),
        1,
        "nothing refused was stored"
    );
}

#[tokio::test]
async fn webhooks_follow_the_documented_target_and_trigger_rules() {
    // WH-1 WH-2 WH-3 WH-4 WH-5 VAL-2 APP-7 ERR-2 ERR-5 LIST-4
    let fake = Fake::start().await.unwrap();
    let client = fake.client();
    let raw = Raw::new(&fake).await;
    let app = fake.create_app("a", &[Ch::Sms]);
    for i in 0..5 {
        webhook(
            &client,
            &app,
            &format!("https://example.com/{i}"),
            &["MESSAGE_INBOUND"],
        )
        .await;
    }
    let hook =
        |target: &str| json!({"app_id": app, "target": target, "triggers": ["MESSAGE_INBOUND"]});
    let (status, sixth) = raw.post("webhooks", hook("https://example.com/6")).await;
    assert_eq!(
        (status, sixth["error"]["status"].as_str()),
        (400, Some("FAILED_PRECONDITION"))
    );
    assert!(sixth["error"]["message"]
        .as_str()
        .unwrap()
        .contains("5 webhooks"));

    let (_, list) = raw.get(&format!("apps/{app}/webhooks")).await;
    assert_eq!(list["webhooks"].as_array().unwrap().len(), 5);
    assert!(list.get("next_page_token").is_none(), "not paged");
    assert_eq!(
        list["webhooks"][0]["client_credentials"],
        serde_json::Value::Null,
        "sent as null"
    );
    assert_eq!(list["webhooks"][0]["target_type"], "HTTP", "the default");
    let id = list["webhooks"][0]["id"].as_str().unwrap().to_owned();

    // Targets and triggers, checked on another app (the first is full).
    let other = fake.create_app("b", &[Ch::Sms]);
    let on_other = |target: String, triggers: serde_json::Value| json!({"app_id": other, "target": target, "triggers": triggers});
    let long = format!("https://example.com/{}", "a".repeat(742));
    let refused = [
        on_other(long, json!(["MESSAGE_INBOUND"])),
        on_other("ftp://example.com/x".into(), json!([])),
        on_other("not a url".into(), json!([])),
        on_other(
            "https://conversation-api.eu.sinch.com/hook".into(),
            json!([]),
        ),
        on_other(
            "https://example.com/t".into(),
            json!(["UNSPECIFIED_TRIGGER"]),
        ),
        on_other("https://example.com/t".into(), json!(["NOT_A_TRIGGER"])),
    ];
    for r in refused {
        assert_eq!(raw.post("webhooks", r.clone()).await.0, 400, "{r}");
    }
    // No triggers (a dormant webhook) and a loopback target are fine; the same target twice is not.
    assert_eq!(
        raw.post(
            "webhooks",
            on_other("http://127.0.0.1:9/hook".into(), json!([]))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        raw.post(
            "webhooks",
            on_other("http://127.0.0.1:9/hook".into(), json!(["MESSAGE_INBOUND"]))
        )
        .await
        .0,
        400
    );
    assert_eq!(
        raw.post(
            "webhooks",
            json!({"app_id": "01HZZZZZZZZZZZZZZZZZZZZZZZ", "target": "https://example.com"})
        )
        .await
        .0,
        404
    );
    assert_eq!(
        raw.post(
            "webhooks",
            json!({"app_id": "not-an-id", "target": "https://example.com"})
        )
        .await
        .0,
        400
    );

    // A PATCH names only what changes; the mask keeps the rest.
    let (status, updated) = raw
        .call(
            "PATCH",
            &format!("webhooks/{id}?update_mask.paths=triggers"),
            Some(r#"{"triggers": ["MESSAGE_DELIVERY"], "target": "https://example.com/new"}"#),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["triggers"], json!(["MESSAGE_DELIVERY"]));
    assert_eq!(
        updated["target"], "https://example.com/0",
        "target was not in the mask"
    );
    let (status, _) = raw
        .call(
            "PATCH",
            &format!("webhooks/{id}"),
            Some(r#"{"target": "https://example.com/1"}"#),
        )
        .await;
    assert_eq!(status, 400, "a target the app already has");
    client
        .webhooks_delete_webhook()
        .webhook_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        status_of(&api_err(
            client.webhooks_get_webhook().webhook_id(&id).send().await
        ))
        .0,
        404
    );

    // A DISMISS webhook hears nothing.
    let receiver = Receiver::start(SECRET).await;
    let dismissed: types::Webhook = body(
        json!({"app_id": app, "target": receiver.url, "triggers": ["MESSAGE_INBOUND"], "target_type": "DISMISS", "secret": SECRET}),
    );
    client
        .webhooks_create_webhook()
        .body(dismissed)
        .send()
        .await
        .unwrap();
    fake.inbound_text(&app, Ch::Sms, "+12065550100", "hello")
        .unwrap();
    assert!(fake.wait_idle(WAIT).await);
    assert!(receiver.events().is_empty());
}

#[tokio::test]
async fn contacts_are_created_listed_and_patched_as_documented() {
    // CON-1 CON-2 CON-3 CON-4 CON-7 CON-9 LIST-1 LIST-2 LIST-3 LIST-5 VAL-1 ERR-5
    let (_fake, client, _app, receiver) = setup().await;
    let raw = Raw::new(&_fake).await;
    let (_, empty) = raw.get("contacts").await;
    assert_eq!(
        empty,
        json!({"contacts": [], "next_page_token": ""}),
        "the wire shape of an empty list"
    );
    for i in 0..12 {
        let c: types::ContactCreateRequest = body(json!({
            "channel_identities": [{"channel": "SMS", "identity": format!("+1206555{i:04}")}],
            "language": "EN_US",
            "external_id": format!("crm-{}", i % 2),
        }));
        client
            .contact_create_contact()
            .body(c)
            .send()
            .await
            .unwrap();
    }
    let (_, first) = raw.get("contacts?page_size=5").await;
    assert_eq!(
        first["contacts"][0]["display_name"], "Unknown",
        "the default name"
    );
    assert_eq!(
        (
            first["contacts"][0]["email"].as_str(),
            first["contacts"][0]["metadata"].as_str()
        ),
        (Some(""), Some(""))
    );
    assert_ne!(first["next_page_token"], "");
    // A contact added between pages neither repeats nor shifts the rest.
    let token = first["next_page_token"].as_str().unwrap().to_owned();
    let late: types::ContactCreateRequest = body(
        json!({"channel_identities": [{"channel": "SMS", "identity": "+12065559999"}], "language": "EN_US"}),
    );
    client
        .contact_create_contact()
        .body(late)
        .send()
        .await
        .unwrap();
    let (_, second) = raw
        .get(&format!("contacts?page_size=5&page_token={token}"))
        .await;
    assert_eq!(
        second["contacts"][0]["channel_identities"][0]["identity"],
        "+12065550005"
    );
    let all: Vec<types::Contact> = client
        .contact_list_contacts()
        .page_size(20)
        .items()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 13);
    let (_, last) = raw.get("contacts?page_size=20").await;
    assert_eq!(last["next_page_token"], "", "the last page");
    assert_eq!(
        raw.get("contacts?page_size=21").await.0,
        400,
        "the documented maximum is 20"
    );

    // Filters: external id alone, or channel and identity together.
    let odd = client
        .contact_list_contacts()
        .external_id("crm-1")
        .send()
        .await
        .unwrap();
    assert_eq!(odd.contacts.len(), 6);
    let one = client
        .contact_list_contacts()
        .channel(Ch::Sms)
        .identity("+12065550003")
        .send()
        .await
        .unwrap();
    assert_eq!(one.contacts.len(), 1);
    for bad in [
        "contacts?channel=SMS",
        "contacts?identity=%2B12065550003",
        "contacts?external_id=crm-1&channel=SMS&identity=x",
    ] {
        assert_eq!(raw.get(bad).await.0, 400, "{bad}");
    }

    // Creation rules.
    let refused = [
        json!({"channel_identities": [], "language": "EN_US"}),
        json!({"channel_identities": [{"channel": "SMS", "identity": "+1"}]}),
        json!({"channel_identities": [{"channel": "MESSENGER", "identity": "psid"}], "language": "EN_US"}),
        json!({"channel_identities": [{"channel": "SMS", "identity": "+1"}], "language": "EN_US", "metadata": "m".repeat(1025)}),
        json!({"channel_identities": [{"channel": "SMS", "identity": "+1"}], "language": "KLINGON"}),
    ];
    for r in refused {
        assert_eq!(raw.post("contacts", r.clone()).await.0, 400, "{r}");
    }

    let id = one.contacts[0].id.clone().unwrap();
    let patch: types::Contact =
        body(json!({"display_name": "Ada", "channel_identities": [], "channel_priority": []}));
    let updated = client
        .contact_update_contact()
        .contact_id(&id)
        .update_mask_paths(vec!["display_name".to_string()])
        .body(patch)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.display_name.as_deref(), Some("Ada"));
    assert_eq!(
        updated.channel_identities.len(),
        1,
        "identities were not in the mask"
    );

    // Without Unified Contact ID two contacts may share a number: a duplication notice and an
    // identity conflict.
    let dup: types::ContactCreateRequest = body(
        json!({"channel_identities": [{"channel": "SMS", "identity": "+12065550003"}], "language": "EN_US"}),
    );
    let dup = client
        .contact_create_contact()
        .body(dup)
        .send()
        .await
        .unwrap()
        .into_inner();
    let conflicts = client
        .contact_list_identity_conflicts()
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(conflicts.conflicts.len(), 1);
    assert_eq!(
        conflicts.conflicts[0].contact_ids,
        vec![id.clone(), dup.id.clone().unwrap()]
    );
    receiver
        .wait_until(WAIT, |e| {
            e.iter()
                .any(|e| matches!(e, Event::ContactIdentitiesDuplication(_)))
                && e.iter().any(|e| matches!(e, Event::ContactUpdate(_)))
        })
        .await;
    client
        .contact_delete_contact()
        .contact_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        status_of(&api_err(
            client.contact_get_contact().contact_id(&id).send().await
        ))
        .0,
        404
    );
    let creates = receiver
        .wait_until(WAIT, |e| {
            e.iter().any(|e| matches!(e, Event::ContactDelete(_)))
        })
        .await;
    assert_eq!(
        creates
            .iter()
            .filter(|e| matches!(e, Event::ContactCreate(_)))
            .count(),
        14
    );
}

#[tokio::test]
async fn unified_contact_id_mirrors_phone_numbers_and_needs_no_conflicts() {
    // CON-6 SET-1 SET-2
    let fake = Fake::start().await.unwrap();
    let client = fake.client();
    let raw = Raw::new(&fake).await;
    assert_eq!(
        status_of(&api_err(
            client.project_settings_get_settings().send().await
        )),
        (404, "NOT_FOUND")
    );
    let a: types::ContactCreateRequest = body(
        json!({"channel_identities": [{"channel": "SMS", "identity": "+12065550123"}], "language": "EN_US"}),
    );
    let a = client
        .contact_create_contact()
        .body(a.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    let b: types::ContactCreateRequest = body(
        json!({"channel_identities": [{"channel": "MMS", "identity": "+12065550123"}], "language": "EN_US"}),
    );
    let b = client
        .contact_create_contact()
        .body(b)
        .send()
        .await
        .unwrap()
        .into_inner();

    let on: types::ProjectSettings =
        body(json!({"contact_settings": {"unified_contact_id_enabled": true}}));
    let e = api_err(
        client
            .project_settings_create_settings()
            .body(on.clone())
            .send()
            .await,
    );
    assert_eq!(status_of(&e), (400, "FAILED_PRECONDITION"));
    assert!(e.message.contains("identity conflicts"), "{}", e.message);
    assert_eq!(raw.get("settings").await.0, 404, "nothing stored");
    client
        .contact_delete_contact()
        .contact_id(b.id.unwrap())
        .send()
        .await
        .unwrap();
    let created = client
        .project_settings_create_settings()
        .body(on.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.project_id.as_deref(), Some(fake.project_id()));
    assert_eq!(
        status_of(&api_err(
            client
                .project_settings_create_settings()
                .body(on)
                .send()
                .await
        )),
        (400, "FAILED_PRECONDITION")
    );

    // Now a number is one contact's, and a phone number is on SMS, MMS and RCS alike.
    let again: types::ContactCreateRequest = body(
        json!({"channel_identities": [{"channel": "RCS", "identity": "+12065550123"}], "language": "EN_US"}),
    );
    let e = api_err(client.contact_create_contact().body(again).send().await);
    assert_eq!(status_of(&e), (400, "FAILED_PRECONDITION"));
    let c: types::ContactCreateRequest = body(
        json!({"channel_identities": [{"channel": "SMS", "identity": "+12065550124"}], "language": "EN_US"}),
    );
    let c = client
        .contact_create_contact()
        .body(c)
        .send()
        .await
        .unwrap()
        .into_inner();
    let channels: Vec<Ch> = c
        .channel_identities
        .iter()
        .map(|i| i.channel.clone())
        .collect();
    assert_eq!(channels, [Ch::Sms, Ch::Mms, Ch::Rcs]);
    assert_eq!(
        a.channel_identities.len(),
        1,
        "a contact made before is left as it was"
    );

    client
        .project_settings_delete_settings()
        .send()
        .await
        .unwrap();
    assert_eq!(
        status_of(&api_err(
            client.project_settings_get_settings().send().await
        ))
        .0,
        404
    );
}

#[tokio::test]
async fn merging_contacts_follows_the_documented_rules() {
    // CON-5 MODE-1
    let (fake, client, app, receiver) = setup().await;
    // The destination talks on SMS, the source on SMS and WhatsApp, both with the same app.
    let dest: types::ContactCreateRequest = body(json!({
        "channel_identities": [{"channel": "SMS", "identity": "+12065550601"}],
        "channel_priority": ["SMS"], "language": "EN_US", "display_name": "Dest"
    }));
    let dest = client
        .contact_create_contact()
        .body(dest)
        .send()
        .await
        .unwrap()
        .into_inner();
    let source: types::ContactCreateRequest = body(json!({
        "channel_identities": [{"channel": "SMS", "identity": "+12065550602"}, {"channel": "WHATSAPP", "identity": "+12065550602"}],
        "channel_priority": ["WHATSAPP", "SMS"], "language": "SV", "display_name": "Source", "email": "s@example.com"
    }));
    let source = client
        .contact_create_contact()
        .body(source)
        .send()
        .await
        .unwrap()
        .into_inner();
    let (dest_id, source_id) = (dest.id.clone().unwrap(), source.id.clone().unwrap());
    let to_dest = client
        .send_message(&SendMessageRequest::new(
            &app,
            Recipient::contact(&dest_id),
            AppMessage::text("d"),
        ))
        .await
        .unwrap();
    let to_source = client
        .send_message(&SendMessageRequest::new(
            &app,
            Recipient::contact(&source_id),
            AppMessage::text("s"),
        ))
        .await
        .unwrap();

    let merge: types::MergeContactRequest = body(json!({"source_id": source_id}));
    let merged = client
        .contact_merge_contact()
        .destination_id(&dest_id)
        .body(merge)
        .send()
        .await
        .unwrap()
        .into_inner();
    // WhatsApp was new to the destination: moved, at the end of the priority list. SMS was not.
    let ids: Vec<(Ch, &str)> = merged
        .channel_identities
        .iter()
        .map(|i| (i.channel.clone(), i.identity.as_str()))
        .collect();
    assert_eq!(
        ids,
        [(Ch::Sms, "+12065550601"), (Ch::Whatsapp, "+12065550602")]
    );
    assert_eq!(merged.channel_priority, [Ch::Sms, Ch::Whatsapp]);
    // Optional fields only fill empty ones.
    assert_eq!(merged.display_name.as_deref(), Some("Dest"));
    assert_eq!(merged.email.as_deref(), Some("s@example.com"));
    assert_eq!(merged.language, Some(types::ContactLanguage::EnUs));
    // Both had an active conversation with the app: the source's message joined the destination's.
    let get = |id: Option<String>| client.messages_get_message().message_id(id.unwrap()).send();
    let m_source = get(to_source.message_id.clone())
        .await
        .unwrap()
        .into_inner();
    let m_dest = get(to_dest.message_id.clone()).await.unwrap().into_inner();
    assert_eq!(m_source.contact_id.as_deref(), Some(dest_id.as_str()));
    assert_eq!(m_source.conversation_id, m_dest.conversation_id);
    let convs = client
        .conversation_list_conversations()
        .app_id(&app)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(convs.conversations.len(), 1);
    assert_eq!(
        status_of(&api_err(
            client
                .contact_get_contact()
                .contact_id(&source_id)
                .send()
                .await
        ))
        .0,
        404
    );
    let same: types::MergeContactRequest = body(json!({"source_id": dest_id}));
    assert_eq!(
        status_of(&api_err(
            client
                .contact_merge_contact()
                .destination_id(&dest_id)
                .body(same)
                .send()
                .await
        ))
        .0,
        400
    );
    let events = receiver
        .wait_until(WAIT, |e| {
            e.iter().any(|e| matches!(e, Event::ContactMerge(_)))
        })
        .await;
    let Some(Event::ContactMerge(m)) = events.iter().find(|e| matches!(e, Event::ContactMerge(_)))
    else {
        unreachable!()
    };
    let n = m.contact_merge_notification.clone();
    assert_eq!(
        n.deleted_contact.unwrap().id.as_deref(),
        Some(source_id.as_str())
    );
    assert_eq!(
        n.preserved_contact.unwrap().id.as_deref(),
        Some(dest_id.as_str())
    );
    assert_eq!(fake.contacts().len(), 1);
}

#[tokio::test]
async fn conversations_live_in_conversation_mode_only() {
    // CONV-1 CONV-2 CONV-3 CONV-4 CONV-5 CONV-6 CONV-7 CONV-8 CONV-9 EVT-3 MODE-1 LIST-3 VAL-1
    let (fake, client, app, receiver) = setup().await;
    let raw = Raw::new(&fake).await;
    let a = client
        .send_message(&text_to(&app, "+12065550701", "first"))
        .await
        .unwrap();
    client
        .send_message(&text_to(&app, "+12065550702", "other"))
        .await
        .unwrap();
    let m = client
        .messages_get_message()
        .message_id(a.message_id.clone().unwrap())
        .send()
        .await
        .unwrap();
    let conv_id = m.conversation_id.clone().unwrap();
    let contact_id = m.contact_id.clone().unwrap();

    let (_, conv) = raw.get(&format!("conversations/{conv_id}")).await;
    assert_eq!(
        (conv["active"].as_bool(), conv["active_channel"].as_str()),
        (Some(true), Some("SMS"))
    );
    assert_eq!(
        (conv["correlation_id"].as_str(), conv["metadata"].as_str()),
        (Some(""), Some(""))
    );
    assert_eq!(
        conv["last_received"], "1970-01-01T00:00:00Z",
        "no message from the contact yet"
    );
    assert_eq!(conv["metadata_json"], json!({}));
    // `only_active` is optional; the listing needs an app or a contact.
    let (status, all) = raw.get(&format!("conversations?app_id={app}")).await;
    assert_eq!((status, all["total_size"].as_i64()), (200, Some(2)));
    assert_eq!(raw.get("conversations").await.0, 400);
    assert_eq!(
        raw.get(&format!("conversations?app_id={app}&page_size=21"))
            .await
            .0,
        400
    );

    // Recent: the conversation with the newest message first, unless ascending.
    fake.inbound_text(&app, Ch::Sms, "+12065550701", "newest")
        .unwrap();
    let recent = client
        .conversation_list_recent_conversations()
        .app_id(&app)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        recent.conversations[0]
            .conversation
            .as_ref()
            .unwrap()
            .id
            .as_deref(),
        Some(conv_id.as_str())
    );
    assert!(recent.conversations[0]
        .last_message
        .as_ref()
        .unwrap()
        .contact_message
        .is_some());
    let oldest_first = client
        .conversation_list_recent_conversations()
        .app_id(&app)
        .order(types::RecentConversationsOrder::Asc)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_ne!(
        oldest_first.conversations[0]
            .conversation
            .as_ref()
            .unwrap()
            .id
            .as_deref(),
        Some(conv_id.as_str())
    );
    assert_eq!(
        raw.get("conversations:recent").await.0,
        400,
        "app_id is required"
    );
    assert_eq!(
        raw.get(&format!("conversations:recent?app_id={app}&page_size=51"))
            .await
            .0,
        400
    );

    // Metadata: merge patch keeps keys the update does not mention.
    let set: types::Conversation = body(json!({"metadata_json": {"a": 1, "b": {"c": 2}}}));
    client
        .conversation_update_conversation()
        .conversation_id(&conv_id)
        .body(set)
        .send()
        .await
        .unwrap();
    let patch: types::Conversation = body(json!({"metadata_json": {"b": {"d": 3}}}));
    let updated = client
        .conversation_update_conversation()
        .conversation_id(&conv_id)
        .metadata_update_strategy(types::MetadataUpdateStrategy::MergePatch)
        .update_mask_paths(vec!["metadata_json".to_string()])
        .body(patch)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        serde_json::Value::Object(updated.metadata_json),
        json!({"a": 1, "b": {"c": 2, "d": 3}})
    );

    // Injected messages and events are dated within the last 30 days.
    let recently = (fake.now() - chrono::Duration::days(1)).to_rfc3339();
    let inject = |at: &str| {
        json!({
            "accept_time": at, "direction": "TO_APP",
            "channel_identity": {"channel": "SMS", "identity": "+12065550701"},
            "contact_message": {"text_message": {"text": "sent from elsewhere"}}
        })
    };
    let path = format!("conversations/{conv_id}:inject-message");
    assert_eq!(raw.post(&path, inject(&recently)).await, (200, json!({})));
    let long_ago = (fake.now() - chrono::Duration::days(31)).to_rfc3339();
    let future = (fake.now() + chrono::Duration::hours(1)).to_rfc3339();
    assert_eq!(raw.post(&path, inject(&long_ago)).await.0, 400);
    assert_eq!(raw.post(&path, inject(&future)).await.0, 400);
    let mut both = inject(&recently);
    both["app_message"] = json!({"text_message": {"text": "x"}});
    assert_eq!(
        raw.post(&path, both).await.0,
        400,
        "one of app_message and contact_message"
    );
    let mut someone_else = inject(&recently);
    someone_else["contact_id"] = json!("01HZZZZZZZZZZZZZZZZZZZZZZZ");
    assert_eq!(raw.post(&path, someone_else).await.0, 400);
    let listed = client
        .messages_list_messages()
        .conversation_id(&conv_id)
        .page_size(50)
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed
            .messages
            .iter()
            .filter(|m| m.injected == Some(true))
            .count(),
        1
    );
    let event_path = format!("conversations/{conv_id}:inject-event");
    let (status, ev) = raw
        .post(
            &event_path,
            json!({"app_event": {"composing_event": {}}, "accept_time": recently}),
        )
        .await;
    assert_eq!(status, 200, "{ev}");
    assert!(ev["event_id"].is_string());
    assert_eq!(
        raw.post(&event_path, json!({"app_event": {"composing_event": {}}}))
            .await
            .0,
        400,
        "accept_time is required"
    );

    // Stop: inactive, and the next message starts a new conversation.
    client
        .conversation_stop_active_conversation()
        .conversation_id(&conv_id)
        .send()
        .await
        .unwrap();
    let stopped = client
        .conversation_get_conversation()
        .conversation_id(&conv_id)
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.active, Some(false));
    let inactive = client
        .conversation_list_conversations()
        .app_id(&app)
        .only_active(false)
        .send()
        .await
        .unwrap();
    assert_eq!(
        inactive.conversations.len(),
        1,
        "only_active=false lists inactive ones"
    );
    let b = client
        .send_message(&text_to(&app, "+12065550701", "after stop"))
        .await
        .unwrap();
    let mb = client
        .messages_get_message()
        .message_id(b.message_id.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_ne!(mb.conversation_id.as_deref(), Some(conv_id.as_str()));
    assert_eq!(mb.contact_id.as_deref(), Some(contact_id.as_str()));

    // One active conversation per app and contact.
    let create: types::CreateConversationRequest =
        body(json!({"app_id": app, "contact_id": contact_id}));
    let e = api_err(
        client
            .conversation_create_conversation()
            .body(create)
            .send()
            .await,
    );
    assert_eq!(status_of(&e), (400, "FAILED_PRECONDITION"));
    // A DISPATCH app has no conversations.
    let dispatch = fake.create_app("d", &[Ch::Sms]);
    let create: types::CreateConversationRequest =
        body(json!({"app_id": dispatch, "contact_id": contact_id}));
    assert_eq!(
        status_of(&api_err(
            client
                .conversation_create_conversation()
                .body(create)
                .send()
                .await
        )),
        (400, "FAILED_PRECONDITION")
    );

    // Delete removes its messages.
    client
        .conversation_delete_conversation()
        .conversation_id(&conv_id)
        .send()
        .await
        .unwrap();
    let gone = api_err(
        client
            .messages_get_message()
            .message_id(a.message_id.clone().unwrap())
            .send()
            .await,
    );
    assert_eq!(status_of(&gone).0, 404);
    receiver
        .wait_until(WAIT, |e| {
            [
                "CONVERSATION_START",
                "CONVERSATION_STOP",
                "CONVERSATION_DELETE",
            ]
            .iter()
            .all(|t| e.iter().any(|e| e.trigger() == Some(t)))
        })
        .await;
}

#[tokio::test]
async fn events_are_sent_listed_and_deleted() {
    // EVT-1 EVT-2 DLV-15
    let (fake, client, app, receiver) = setup().await;
    let raw = Raw::new(&fake).await;
    fake.inbound_text(&app, Ch::Whatsapp, "+12065550801", "hi")
        .unwrap();
    let send: types::SendEventRequest = body(json!({
        "app_id": app, "recipient": {"identified_by": {"channel_identities": [{"channel": "WHATSAPP", "identity": "+12065550801"}]}},
        "event": {"composing_event": {}}
    }));
    let sent = client
        .events_send_event()
        .body(send)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(sent.accepted_time.is_some());
    let id = sent.event_id.unwrap();
    let ev = client
        .events_get_event()
        .event_id(&id)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(ev.app_event.unwrap().composing_event.is_some());
    assert_eq!(ev.channel_identity.unwrap().channel, Ch::Whatsapp);
    let listed = client
        .events_list_events()
        .contact_id(ev.contact_id.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(listed.events.len(), 1);
    assert_eq!(
        raw.get("events").await.0,
        400,
        "a conversation or a contact is required"
    );
    receiver
        .wait_until(WAIT, |e| e.iter().any(|e| matches!(e, Event::EventDeliveryReport(r) if r.event_delivery_report.status == types::DeliveryStatus::Delivered)))
        .await;
    client
        .events_delete_events()
        .event_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        status_of(&api_err(
            client.events_get_event().event_id(&id).send().await
        ))
        .0,
        404
    );

    // SMS carries no events: accepted, then failed.
    let sms: types::SendEventRequest = body(json!({
        "app_id": app, "recipient": {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": "+12065550802"}]}},
        "event": {"composing_event": {}}
    }));
    let sent = client
        .events_send_event()
        .body(sms)
        .send()
        .await
        .unwrap()
        .into_inner();
    let events = receiver
        .wait_until(WAIT, |e| e.iter().any(|e| matches!(e, Event::EventDeliveryReport(r) if r.event_delivery_report.status == types::DeliveryStatus::Failed)))
        .await;
    let failed = events
        .iter()
        .find_map(|e| match e {
            Event::EventDeliveryReport(r)
                if r.event_delivery_report.status == types::DeliveryStatus::Failed =>
            {
                Some(r.event_delivery_report.clone())
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(Some(failed.event_id), sent.event_id);
    assert_eq!(
        failed.reason.unwrap().code,
        Some(types::ReasonCode::UnsupportedOperation)
    );
}

#[tokio::test]
async fn transcoding_answers_one_entry_per_channel_and_sends_nothing() {
    // TRN-1
    let fake = Fake::start().await.unwrap();
    let client = fake.client();
    let raw = Raw::new(&fake).await;
    let app = fake.create_app("a", &[Ch::Sms]);
    let request: types::TranscodeMessageRequest = body(json!({
        "app_id": app, "to": "+12065550901", "channels": ["SMS", "WHATSAPP", "MESSENGER"],
        "app_message": {"text_message": {"text": "Hi there"}}
    }));
    let a = client
        .transcoding_transcode_message()
        .body(request.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    let b = client
        .transcoding_transcode_message()
        .body(request)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a, b, "deterministic");
    assert_eq!(a.transcoded_message.len(), 3);
    assert_eq!(a.transcoded_message["SMS"], "Hi there");
    let wa: serde_json::Value = serde_json::from_str(&a.transcoded_message["WHATSAPP"]).unwrap();
    assert_eq!(wa["text"]["body"], "Hi there");
    assert!(fake.messages().is_empty());
    let none =
        json!({"app_id": app, "channels": [], "app_message": {"text_message": {"text": "x"}}});
    assert_eq!(raw.post("messages:transcode", none).await.0, 400);
}

#[tokio::test]
async fn capability_answers_at_once_and_calls_back_per_channel() {
    // CAP-1
    let (_fake, client, app, receiver) = setup().await;
    let c: types::ContactCreateRequest = body(json!({
        "channel_identities": [{"channel": "SMS", "identity": "+12065551001"}, {"channel": "WHATSAPP", "identity": "+12065551001"}],
        "language": "EN_US"
    }));
    let contact = client
        .contact_create_contact()
        .body(c)
        .send()
        .await
        .unwrap()
        .into_inner();
    let q: types::QueryCapabilityRequest = body(
        json!({"app_id": app, "recipient": {"contact_id": contact.id}, "request_id": "req-1"}),
    );
    let answer = client
        .capability_query_capability()
        .body(q)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.request_id.as_deref(), Some("req-1"));
    let events = receiver
        .wait_until(WAIT, |e| {
            e.iter()
                .filter(|e| matches!(e, Event::Capability(_)))
                .count()
                == 2
        })
        .await;
    let channels: Vec<Ch> = events
        .iter()
        .filter_map(|e| match e {
            Event::Capability(c) => c.capability_notification.channel.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(channels, [Ch::Sms, Ch::Whatsapp]);
    let unknown: types::QueryCapabilityRequest =
        body(json!({"app_id": app, "recipient": {"contact_id": "01HZZZZZZZZZZZZZZZZZZZZZZZ"}}));
    assert_eq!(
        status_of(&api_err(
            client
                .capability_query_capability()
                .body(unknown)
                .send()
                .await
        ))
        .0,
        404
    );
}

#[tokio::test]
async fn consents_come_from_keywords_with_an_audit_trail() {
    // CB-6 CNS-1 CNS-2 DLV-9
    let (fake, client, app, receiver) = setup().await;
    let raw = Raw::new(&fake).await;
    fake.inbound_text(&app, Ch::Sms, "+12065551101", "STOP")
        .unwrap();
    let list = client
        .consents_get_consents()
        .app_id(&app)
        .list_type(types::ConsentListType::OptOutAll)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.identities[0].identity.as_deref(), Some("+12065551101"));
    assert_eq!(
        raw.get(&format!("apps/{app}/consents/OPT_OUT_ALL?page_size=51"))
            .await
            .0,
        400
    );
    assert_eq!(
        raw.get(&format!("apps/{app}/consents/OPT_IN_ALL")).await.0,
        400,
        "not a list"
    );
    let audit = client
        .consents_get_consents_audit_records()
        .app_id(&app)
        .identity("+12065551101")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(audit.audit_records.len(), 1);
    let record = &audit.audit_records[0];
    assert_eq!(
        (
            record.origin.as_ref().unwrap().as_str(),
            record.operation.as_ref().unwrap().as_str()
        ),
        ("ORIGIN_MO", "OPERATION_INSERT")
    );
    // A message to the opted-out number is accepted, then fails on delivery.
    let sent = client
        .send_message(&text_to(&app, "+12065551101", "promo"))
        .await
        .unwrap();
    let events = receiver
        .wait_until(WAIT, |e| e.iter().any(|e| matches!(e, Event::MessageDeliveryReport(r) if r.message_delivery_report.status == types::DeliveryStatus::Failed)))
        .await;
    let failed = events
        .iter()
        .find_map(|e| match e {
            Event::MessageDeliveryReport(r)
                if r.message_delivery_report.status == types::DeliveryStatus::Failed =>
            {
                Some(r.message_delivery_report.clone())
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(Some(failed.message_id), sent.message_id.clone());
    assert_eq!(
        failed.reason.unwrap().code,
        Some(types::ReasonCode::RecipientNotOptedIn)
    );
    assert!(events.iter().any(|e| matches!(e, Event::OptOut(_))));
    fake.inbound_text(&app, Ch::Sms, "+12065551101", "start")
        .unwrap();
    let list = client
        .consents_get_consents()
        .app_id(&app)
        .list_type(types::ConsentListType::OptOutAll)
        .send()
        .await
        .unwrap();
    assert!(list.identities.is_empty());
    let audit = client
        .consents_get_consents_audit_records()
        .app_id(&app)
        .identity("+12065551101")
        .send()
        .await
        .unwrap();
    assert_eq!(
        audit.audit_records[1].operation.as_ref().unwrap().as_str(),
        "OPERATION_DELETE"
    );
    receiver
        .wait_until(WAIT, |e| e.iter().any(|e| matches!(e, Event::OptIn(_))))
        .await;
}

#[tokio::test]
async fn every_operation_of_the_three_documents_is_served() {
    let mut in_spec: Vec<String> = vec![];
    for doc in [
        "spec/conversation.yaml",
        "spec/templates.yaml",
        "spec/batch.yaml",
    ] {
        let spec: serde_json::Value =
            serde_norway::from_str(&std::fs::read_to_string(doc).unwrap()).unwrap();
        in_spec.extend(
            spec["paths"]
                .as_object()
                .unwrap()
                .values()
                .flat_map(|item| item.as_object().unwrap().values())
                .filter_map(|op| op.get("operationId")?.as_str().map(str::to_owned)),
        );
    }
    let mut served: Vec<String> = sinch_conversation::fake::operations()
        .map(str::to_owned)
        .collect();
    in_spec.sort();
    served.sort();
    assert_eq!(in_spec.len(), 58);
    assert_eq!(in_spec, served);
}

#[tokio::test]
async fn dispatch_apps_keep_no_contacts_or_messages_by_default() {
    // MODE-2 MODE-3 MODE-4 MSG-8 VAL-3
    let fake = Fake::builder().queue_rate(1000.0).start().await.unwrap();
    let client = fake.client();
    let raw = Raw::new(&fake).await;
    let app = app_in(&fake, ProcessingMode::Dispatch, &[Ch::Sms, Ch::Messenger]);
    let receiver = Receiver::start(SECRET).await;
    webhook(&client, &app, &receiver.url, &TRIGGERS).await;
    let sent = client
        .send_message(&text_to(&app, "+12065550100", "hi"))
        .await
        .unwrap();
    let id = sent.message_id.clone().unwrap();
    fake.inbound_text(&app, Ch::Messenger, "psid-7", "hello")
        .unwrap();
    let events = receiver
        .wait_until(WAIT, |e| {
            e.iter().any(|e| matches!(e, Event::MessageInbound(_)))
                && e.iter().any(|e| matches!(e, Event::MessageDeliveryReport(r) if r.message_delivery_report.status == types::DeliveryStatus::Delivered))
        })
        .await;
    assert!(
        events
            .iter()
            .all(|e| !matches!(e, Event::ContactCreate(_) | Event::ConversationStart(_))),
        "{events:#?}"
    );
    for e in &events {
        match e {
            Event::MessageDeliveryReport(r) => {
                let r = &r.message_delivery_report;
                assert_eq!(
                    (r.contact_id.as_deref(), r.conversation_id.as_deref()),
                    (Some(""), Some(""))
                );
                assert_eq!(r.processing_mode, Some(ProcessingMode::Dispatch));
                assert_eq!(
                    r.channel_identity.as_ref().unwrap().app_id.as_deref(),
                    Some(""),
                    "SMS is not app-scoped"
                );
            }
            Event::MessageInbound(m) => {
                assert_eq!(
                    (
                        m.message.contact_id.as_deref(),
                        m.message.conversation_id.as_deref()
                    ),
                    (Some(""), Some(""))
                );
                assert_eq!(
                    m.message
                        .channel_identity
                        .as_ref()
                        .unwrap()
                        .app_id
                        .as_deref(),
                    Some(app.as_str()),
                    "Messenger is"
                );
            }
            _ => {}
        }
    }
    assert!(fake.contacts().is_empty());
    // Kept for 0 days: the API finds nothing, in either store.
    assert_eq!(
        raw.get(&format!("messages/{id}?messages_source=DISPATCH_SOURCE"))
            .await
            .0,
        404
    );
    assert_eq!(raw.get(&format!("messages/{id}")).await.0, 404);
    let (_, listed) = raw.get("messages?messages_source=DISPATCH_SOURCE").await;
    assert_eq!(listed, json!({"messages": [], "next_page_token": ""}));
    assert_eq!(
        fake.messages().len(),
        2,
        "inspection sees what the API does not keep"
    );

    // With a retention of a day, DISPATCH_SOURCE finds it and CONVERSATION_SOURCE does not.
    let mut keeping = sinch_conversation::fake::app_request("keeping", &[Ch::Sms]);
    keeping.dispatch_retention_policy = Some(body(
        json!({"retention_type": "MESSAGE_EXPIRE_POLICY", "ttl_days": 1}),
    ));
    let keeping = fake.create_app_with(&keeping).unwrap().id.unwrap();
    let kept = client
        .send_message(&text_to(&keeping, "+12065550100", "kept"))
        .await
        .unwrap();
    let kept = kept.message_id.clone().unwrap();
    let (status, m) = raw
        .get(&format!("messages/{kept}?messages_source=DISPATCH_SOURCE"))
        .await;
    assert_eq!(
        (status, m["processing_mode"].as_str()),
        (200, Some("DISPATCH"))
    );
    assert_eq!(
        raw.get(&format!("messages/{kept}")).await.0,
        404,
        "the other store"
    );
    fake.advance(Duration::from_secs(86_400));
    let raw = Raw::new(&fake).await; // the old token expired with the day
    assert_eq!(
        raw.get(&format!("messages/{kept}?messages_source=DISPATCH_SOURCE"))
            .await
            .0,
        404,
        "expired after a day"
    );

    // Recipients by contact id need contacts: DISPATCH takes identities only.
    let by_id = SendMessageRequest::new(
        &app,
        Recipient::contact("01HZZZZZZZZZZZZZZZZZZZZZZZ"),
        AppMessage::text("x"),
    );
    match client.send_message(&by_id).await {
        Err(Error::Api(e)) => assert_eq!(e.status.as_u16(), 400, "{}", e.message),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn channel_profiles_exist_on_the_channels_that_have_them() {
    // CON-8 VAL-4
    let fake = Fake::start().await.unwrap();
    let client = fake.client();
    let raw = Raw::new(&fake).await;
    let app = conversation_app(&fake, &[Ch::Sms, Ch::Messenger]);
    let c: types::ContactCreateRequest = body(json!({
        "channel_identities": [{"channel": "MESSENGER", "identity": "psid-9", "app_id": app}, {"channel": "SMS", "identity": "+12065550900"}],
        "language": "EN_US", "display_name": "Grace"
    }));
    let contact = client
        .contact_create_contact()
        .body(c)
        .send()
        .await
        .unwrap()
        .into_inner();
    let ask = |channel: &str| json!({"app_id": app, "channel": channel, "recipient": {"contact_id": contact.id}});
    let (status, profile) = raw
        .post("contacts:getChannelProfile", ask("MESSENGER"))
        .await;
    assert_eq!(
        (status, profile["profile_name"].as_str()),
        (200, Some("Grace"))
    );
    assert_eq!(
        raw.post("contacts:getChannelProfile", ask("SMS")).await.0,
        400,
        "SMS has no profiles"
    );
    assert_eq!(
        raw.post("contacts:getChannelProfile", ask("INSTAGRAM"))
            .await
            .0,
        404,
        "no Instagram identity"
    );
    // Timestamps are RFC 3339 in UTC.
    let sent = client
        .send_message(&SendMessageRequest::new(
            &app,
            Recipient::channel(Ch::Sms, "+12065550900"),
            AppMessage::text("x"),
        ))
        .await
        .unwrap();
    let (_, m) = raw
        .get(&format!("messages/{}", sent.message_id.clone().unwrap()))
        .await;
    let t = m["accept_time"].as_str().unwrap();
    assert!(
        t.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(t).is_ok(),
        "{t}"
    );
}
