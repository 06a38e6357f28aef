//! The crate's own client against the embedded fake, end to end through the public API: one
//! scenario per area, callbacks received on a real webhook and verified, the app queue's
//! delivery order, fault plans and auth.

#[path = "support/receiver.rs"]
mod receiver;

use futures_util::TryStreamExt;
use receiver::Receiver;
use serde_json::json;
use sinch_conversation::fake::{Fake, Fault};
use sinch_conversation::prelude::*;
use sinch_conversation::types::{
    self, AppMessage, ConversationChannel as Ch, Recipient, SendMessageRequest,
};
use sinch_conversation::webhook::Event;
use std::time::Duration;

const SECRET: &str = "webhook-secret";
const WAIT: Duration = Duration::from_secs(10);

fn body<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).unwrap()
}

/// A fake with a fast queue, its client, an SMS + WhatsApp app and a verifying webhook
/// subscribed to every trigger the fake produces.
async fn setup() -> (Fake, Client, String, Receiver) {
    let fake = Fake::builder().queue_rate(1000.0).start().await.unwrap();
    let client = fake.client();
    let app = fake.create_app("test app", &[Ch::Sms, Ch::Whatsapp, Ch::Messenger]);
    let receiver = Receiver::start(SECRET).await;
    webhook(
        &client,
        &app,
        &receiver.url,
        &[
            "MESSAGE_DELIVERY",
            "MESSAGE_SUBMIT",
            "MESSAGE_INBOUND",
            "EVENT_DELIVERY",
            "CONVERSATION_START",
            "CONVERSATION_STOP",
            "CONVERSATION_DELETE",
            "CONTACT_CREATE",
            "CONTACT_UPDATE",
            "CONTACT_DELETE",
            "CONTACT_MERGE",
            "CONTACT_IDENTITIES_DUPLICATION",
            "CAPABILITY",
            "OPT_IN",
            "OPT_OUT",
        ],
    )
    .await;
    (fake, client, app, receiver)
}

async fn webhook(client: &Client, app: &str, target: &str, triggers: &[&str]) -> types::Webhook {
    let w: types::Webhook =
        body(json!({"app_id": app, "target": target, "triggers": triggers, "secret": SECRET}));
    client
        .webhooks_create_webhook()
        .body(w)
        .send()
        .await
        .unwrap()
        .into_inner()
}

fn text_to(app: &str, phone: &str, text: &str) -> SendMessageRequest {
    SendMessageRequest::new(
        app,
        Recipient::channel(Ch::Sms, phone),
        AppMessage::text(text),
    )
}

async fn api_err<T>(
    r: std::result::Result<T, progenitor_client::Error<()>>,
) -> sinch_conversation::ApiError {
    match r.map_err(Error::from) {
        Err(Error::Api(e)) => *e,
        Err(other) => panic!("expected an API error, got {other:?}"),
        Ok(_) => panic!("expected an API error, got success"),
    }
}

#[tokio::test]
async fn apps_crud_with_field_mask() {
    let fake = Fake::start().await.unwrap();
    let client = fake.client();
    let request: types::AppCreateRequest = body(json!({
        "display_name": "Support",
        "channel_credentials": [{"channel": "SMS", "static_bearer": {"claimed_identity": "sender", "token": "tok"}}],
        "retention_policy": {"retention_type": "MESSAGE_EXPIRE_POLICY", "ttl_days": 30}
    }));
    let app = client
        .app_create_app()
        .body(request)
        .send()
        .await
        .unwrap()
        .into_inner();
    let id = app.id.clone().unwrap();
    assert_eq!(id.len(), 26, "ULID ids");
    assert_eq!(
        app.processing_mode,
        Some(types::ProcessingMode::Conversation)
    );
    assert_eq!(
        app.queue_stats.as_ref().unwrap().outbound_limit,
        Some(500_000)
    );

    let got = client
        .app_get_app()
        .app_id(&id)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.display_name.as_deref(), Some("Support"));
    let listed = client.app_list_apps().send().await.unwrap().into_inner();
    assert_eq!(listed.apps.len(), 1);

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

    client.app_delete_app().app_id(&id).send().await.unwrap();
    let e = api_err(client.app_get_app().app_id(&id).send().await).await;
    assert_eq!(
        (e.status.as_u16(), e.error_status.as_deref()),
        (404, Some("NOT_FOUND"))
    );
}

#[tokio::test]
async fn webhooks_at_most_five_per_app() {
    let fake = Fake::start().await.unwrap();
    let client = fake.client();
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
    let sixth: types::Webhook = body(
        json!({"app_id": app, "target": "https://example.com/6", "triggers": ["MESSAGE_INBOUND"]}),
    );
    let e = api_err(client.webhooks_create_webhook().body(sixth).send().await).await;
    assert_eq!(e.status.as_u16(), 400);
    assert!(e.message.contains("5 webhooks"), "{}", e.message);

    let list = client
        .webhooks_list_webhooks()
        .app_id(&app)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.webhooks.len(), 5);
    let id = list.webhooks[0].id.clone().unwrap();
    let patch: types::Webhook = body(
        json!({"app_id": app, "target": "https://example.com/new", "triggers": ["MESSAGE_DELIVERY"]}),
    );
    let updated = client
        .webhooks_update_webhook()
        .webhook_id(&id)
        .update_mask_paths(vec!["triggers".to_string()])
        .body(patch)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        updated.triggers,
        vec![types::WebhookTrigger::MessageDelivery]
    );
    assert_eq!(
        updated.target, "https://example.com/0",
        "target was not in the mask"
    );
    client
        .webhooks_delete_webhook()
        .webhook_id(&id)
        .send()
        .await
        .unwrap();
    let e = api_err(client.webhooks_get_webhook().webhook_id(&id).send().await).await;
    assert_eq!(e.status.as_u16(), 404);
    // A webhook for an unknown app is a 404 and stores nothing.
    let orphan: types::Webhook = body(
        json!({"app_id": "01NOAPP", "target": "https://example.com", "triggers": ["MESSAGE_INBOUND"]}),
    );
    assert_eq!(
        api_err(client.webhooks_create_webhook().body(orphan).send().await)
            .await
            .status
            .as_u16(),
        404
    );
}

#[tokio::test]
async fn sending_creates_contact_and_conversation_and_reports_delivery() {
    let (fake, client, app, receiver) = setup().await;
    let sent = client
        .send_message(&text_to(&app, "+15550100", "hello"))
        .await
        .unwrap();
    let id = sent.message_id.clone().unwrap();
    assert!(sent.accepted_time.is_some());

    let events = receiver
        .wait_until(WAIT, |e| e.iter().any(|e| matches!(e, Event::MessageDeliveryReport(r) if r.message_delivery_report.status == types::DeliveryStatus::Delivered)))
        .await;
    let kinds: Vec<&str> = events.iter().filter_map(Event::trigger).collect();
    assert_eq!(
        kinds,
        [
            "CONTACT_CREATE",
            "CONVERSATION_START",
            "MESSAGE_SUBMIT",
            "MESSAGE_DELIVERY",
            "MESSAGE_DELIVERY"
        ],
    );
    let statuses: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::MessageDeliveryReport(r) => Some(r.message_delivery_report.status.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        [
            types::DeliveryStatus::QueuedOnChannel,
            types::DeliveryStatus::Delivered
        ]
    );
    assert_eq!(receiver.rejected(), 0);

    let message = client
        .messages_get_message()
        .message_id(&id)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        message.direction,
        Some(types::ConversationDirection::ToContact)
    );
    let identity = message.channel_identity.unwrap();
    assert_eq!(
        (identity.channel, identity.identity.as_str()),
        (Ch::Sms, "+15550100")
    );
    let contact_id = message.contact_id.unwrap();
    let contact = client
        .contact_get_contact()
        .contact_id(&contact_id)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(contact.channel_identities[0].identity, "+15550100");

    // A second message to the same number reuses contact and conversation.
    let again = client
        .send_message(&text_to(&app, "+15550100", "again"))
        .await
        .unwrap();
    let m2 = client
        .messages_get_message()
        .message_id(again.message_id.clone().unwrap())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(m2.contact_id.as_deref(), Some(contact_id.as_str()));
    assert_eq!(m2.conversation_id, message.conversation_id);
    assert_eq!(fake.contacts().len(), 1);

    // By contact id, with the contact's identities and the app's channels deciding the channel.
    let by_id = SendMessageRequest::new(
        &app,
        Recipient::contact(&contact_id),
        AppMessage::text("by id"),
    );
    client.send_message(&by_id).await.unwrap();
    let unknown = SendMessageRequest::new(
        &app,
        Recipient::contact("01UNKNOWNCONTACT"),
        AppMessage::text("x"),
    );
    match client.send_message(&unknown).await {
        Err(Error::Api(e)) => assert_eq!(e.status.as_u16(), 404),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn delivery_reports_follow_the_queue_rate_and_order() {
    let fake = Fake::builder().queue_rate(20.0).start().await.unwrap();
    let client = fake.client();
    let app = fake.create_app("a", &[Ch::Sms]);
    let receiver = Receiver::start(SECRET).await;
    webhook(&client, &app, &receiver.url, &["MESSAGE_DELIVERY"]).await;
    let mut ids = vec![];
    for i in 0..6 {
        let sent = client
            .send_message(&text_to(&app, &format!("+1555020{i}"), "x"))
            .await
            .unwrap();
        ids.push(sent.message_id.clone().unwrap());
    }
    receiver.wait_until(WAIT, |e| delivered(e).len() == 6).await;
    let timed: Vec<_> = receiver
        .timed()
        .into_iter()
        .filter_map(|(t, e)| match e {
            Event::MessageDeliveryReport(r)
                if r.message_delivery_report.status == types::DeliveryStatus::Delivered =>
            {
                Some((t, r.message_delivery_report.message_id.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        timed.iter().map(|(_, id)| id.clone()).collect::<Vec<_>>(),
        ids,
        "queue order"
    );
    // 20 msg/s: six items take at least five periods of 50 ms.
    let spread = timed[5].0 - timed[0].0;
    assert!(
        spread >= Duration::from_millis(225),
        "drained too fast: {spread:?}"
    );
    assert!(fake.wait_idle(WAIT).await);
}

fn delivered(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::MessageDeliveryReport(r)
                if r.message_delivery_report.status == types::DeliveryStatus::Delivered =>
            {
                Some(r.message_delivery_report.message_id.clone())
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn callbacks_are_retried_when_the_receiver_fails() {
    let fake = Fake::builder()
        .callback_retries(4, Duration::from_millis(10))
        .start()
        .await
        .unwrap();
    let client = fake.client();
    let app = fake.create_app("a", &[Ch::Sms]);
    let receiver = Receiver::start(SECRET).await;
    webhook(&client, &app, &receiver.url, &["MESSAGE_SUBMIT"]).await;
    receiver.fail_next(2);
    client
        .send_message(&text_to(&app, "+15550300", "x"))
        .await
        .unwrap();
    receiver.wait_until(WAIT, |e| e.len() == 1).await;
    assert!(fake.wait_idle(WAIT).await);
    let cb = fake
        .callbacks()
        .into_iter()
        .find(|c| c.trigger == "MESSAGE_SUBMIT")
        .unwrap();
    let statuses: Vec<_> = cb.attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(500), Some(500), Some(200)]);
    assert!(cb.delivered && cb.finished);
    assert!(matches!(cb.event().unwrap(), Event::MessageSubmit(_)));
}

#[tokio::test]
async fn messages_list_pages_filters_and_metadata() {
    let (fake, client, app, _receiver) = setup().await;
    let mut sent = vec![];
    for i in 0..25 {
        let r = client
            .send_message(&text_to(
                &app,
                &format!("+1555040{:02}", i % 3),
                &format!("m{i}"),
            ))
            .await
            .unwrap();
        sent.push(r.message_id.clone().unwrap());
    }
    // Several pages, newest first, each message once.
    let pages: Vec<types::ListMessagesResponse> = client
        .messages_list_messages()
        .app_id(&app)
        .page_size(10)
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        pages.iter().map(|p| p.messages.len()).collect::<Vec<_>>(),
        [10, 10, 5]
    );
    let listed: Vec<String> = pages
        .iter()
        .flat_map(|p| &p.messages)
        .map(|m| m.id.clone().unwrap())
        .collect();
    let mut newest_first = sent.clone();
    newest_first.reverse();
    assert_eq!(listed, newest_first);

    // Filters: a contact's messages; direction; inbound only.
    fake.inbound_text(&app, Ch::Sms, "+155504000", "a reply")
        .unwrap();
    let from_contact = client
        .messages_list_messages()
        .only_recipient_originated(true)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(from_contact.messages.len(), 1);
    let contact = from_contact.messages[0].contact_id.clone().unwrap();
    let of_contact = client
        .messages_list_messages()
        .contact_id(&contact)
        .page_size(100)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(of_contact.messages.len(), 10); // 9 sent to it + the reply
    let outgoing = client
        .messages_list_messages()
        .direction(types::ConversationDirection::ToContact)
        .channel(Ch::Sms)
        .page_size(100)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(outgoing.messages.len(), 25);

    // Metadata update, view without metadata, delete.
    let id = &sent[0];
    let update: types::UpdateMessageMetadataRequest = body(json!({"metadata": "order-42"}));
    let m = client
        .messages_update_message_metadata()
        .message_id(id)
        .body(update)
        .send()
        .await
        .unwrap();
    assert_eq!(m.metadata.as_deref(), Some("order-42"));
    let without = client
        .messages_list_messages()
        .view(types::ConversationMessagesView::WithoutMetadata)
        .page_size(100)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(without.messages.iter().all(|m| m.metadata.is_none()));
    client
        .messages_delete_message()
        .message_id(id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        api_err(client.messages_get_message().message_id(id).send().await)
            .await
            .status
            .as_u16(),
        404
    );

    // The last message per channel identity.
    let last: types::ListLastMessagesByChannelIdentityRequest =
        body(json!({"channel_identities": ["+155504000", "+155504001"]}));
    let last = client
        .messages_list_last_messages_by_channel_identity()
        .body(last)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(last.messages.len(), 2);
    assert!(
        last.messages[0].contact_message.is_some(),
        "the reply is the newest of +155504000"
    );
}

#[tokio::test]
async fn contacts_crud_paging_and_identity_conflicts() {
    let (_fake, client, _app, receiver) = setup().await;
    for i in 0..12 {
        let c: types::ContactCreateRequest = body(json!({
            "channel_identities": [{"channel": "SMS", "identity": format!("+1555050{i:02}")}],
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
    let all: Vec<types::Contact> = client
        .contact_list_contacts()
        .page_size(5)
        .items()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 12);
    let odd = client
        .contact_list_contacts()
        .external_id("crm-1")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(odd.contacts.len(), 6);
    let one = client
        .contact_list_contacts()
        .channel(Ch::Sms)
        .identity("+155505003")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(one.contacts.len(), 1);

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

    // A second contact with the same number is an identity conflict.
    let dup: types::ContactCreateRequest = body(
        json!({"channel_identities": [{"channel": "SMS", "identity": "+155505003"}], "language": "EN_US"}),
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
        })
        .await;

    // Unified Contact ID cannot be switched on while conflicts remain.
    let settings: types::ProjectSettings =
        body(json!({"contact_settings": {"unified_contact_id_enabled": true}}));
    let e = api_err(
        client
            .project_settings_create_settings()
            .body(settings.clone())
            .send()
            .await,
    )
    .await;
    assert_eq!(e.status.as_u16(), 400);
    client
        .contact_delete_contact()
        .contact_id(dup.id.unwrap())
        .send()
        .await
        .unwrap();
    client
        .project_settings_create_settings()
        .body(settings)
        .send()
        .await
        .unwrap();
    let again: types::ContactCreateRequest = body(
        json!({"channel_identities": [{"channel": "SMS", "identity": "+155505003"}], "language": "EN_US"}),
    );
    let e = api_err(client.contact_create_contact().body(again).send().await).await;
    assert!(e.message.contains("already belongs"), "{}", e.message);

    client
        .contact_delete_contact()
        .contact_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        api_err(client.contact_get_contact().contact_id(&id).send().await)
            .await
            .status
            .as_u16(),
        404
    );
    receiver
        .wait_until(WAIT, |e| {
            e.iter().any(|e| matches!(e, Event::ContactDelete(_)))
        })
        .await;
}

#[tokio::test]
async fn merging_contacts_follows_the_documented_rules() {
    let (fake, client, app, receiver) = setup().await;
    // The destination talks on SMS, the source on SMS and WhatsApp, both with the same app.
    let dest: types::ContactCreateRequest = body(json!({
        "channel_identities": [{"channel": "SMS", "identity": "+15550601"}],
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
        "channel_identities": [{"channel": "SMS", "identity": "+15550602"}, {"channel": "WHATSAPP", "identity": "+15550602"}],
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
    assert_eq!(ids, [(Ch::Sms, "+15550601"), (Ch::Whatsapp, "+15550602")]);
    assert_eq!(merged.channel_priority, [Ch::Sms, Ch::Whatsapp]);
    // Optional fields only fill empty ones.
    assert_eq!(merged.display_name.as_deref(), Some("Dest"));
    assert_eq!(merged.email.as_deref(), Some("s@example.com"));
    assert_eq!(merged.language, Some(types::ContactLanguage::EnUs));
    // Both had an active conversation with the app: the source's message joined the destination's.
    let m_source = client
        .messages_get_message()
        .message_id(to_source.message_id.clone().unwrap())
        .send()
        .await
        .unwrap()
        .into_inner();
    let m_dest = client
        .messages_get_message()
        .message_id(to_dest.message_id.clone().unwrap())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(m_source.contact_id.as_deref(), Some(dest_id.as_str()));
    assert_eq!(m_source.conversation_id, m_dest.conversation_id);
    let convs = client
        .conversation_list_conversations()
        .only_active(false)
        .app_id(&app)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(convs.conversations.len(), 1);
    // The source is gone.
    assert_eq!(
        api_err(
            client
                .contact_get_contact()
                .contact_id(&source_id)
                .send()
                .await
        )
        .await
        .status
        .as_u16(),
        404
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
async fn conversations_lifecycle() {
    let (fake, client, app, receiver) = setup().await;
    let a = client
        .send_message(&text_to(&app, "+15550701", "first"))
        .await
        .unwrap();
    client
        .send_message(&text_to(&app, "+15550702", "other"))
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

    let conv = client
        .conversation_get_conversation()
        .conversation_id(&conv_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (conv.active, conv.active_channel.clone()),
        (Some(true), Some(Ch::Sms))
    );
    let active = client
        .conversation_list_conversations()
        .only_active(true)
        .app_id(&app)
        .send()
        .await
        .unwrap();
    assert_eq!(active.total_size, Some(2));
    // Recent: the conversation with the newest message first.
    fake.inbound_text(&app, Ch::Sms, "+15550701", "newest")
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

    // Inject a message and an event.
    let inject: types::InjectMessageRequest = body(json!({
        "accept_time": "2026-01-02T03:04:05Z", "direction": "TO_APP",
        "channel_identity": {"channel": "SMS", "identity": "+15550701"},
        "contact_message": {"text_message": {"text": "sent from elsewhere"}}
    }));
    client
        .conversation_inject_message()
        .conversation_id(&conv_id)
        .body(inject)
        .send()
        .await
        .unwrap();
    let injected = client
        .messages_list_messages()
        .conversation_id(&conv_id)
        .page_size(50)
        .send()
        .await
        .unwrap();
    assert!(injected.messages.iter().any(|m| m.injected == Some(true)));
    let ev: types::InjectEventRequest = body(json!({"app_event": {"composing_event": {}}}));
    let ev = client
        .events_inject_event()
        .conversation_id(&conv_id)
        .body(ev)
        .send()
        .await
        .unwrap();
    assert!(ev.event_id.is_some());

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
    let b = client
        .send_message(&text_to(&app, "+15550701", "after stop"))
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

    // Explicit create needs no active conversation between the two.
    let create: types::CreateConversationRequest =
        body(json!({"app_id": app, "contact_id": contact_id}));
    let e = api_err(
        client
            .conversation_create_conversation()
            .body(create)
            .send()
            .await,
    )
    .await;
    assert_eq!(e.status.as_u16(), 400);

    // Delete removes its messages.
    client
        .conversation_delete_conversation()
        .conversation_id(&conv_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        api_err(
            client
                .messages_get_message()
                .message_id(a.message_id.clone().unwrap())
                .send()
                .await
        )
        .await
        .status
        .as_u16(),
        404
    );
    receiver
        .wait_until(WAIT, |e| {
            ["CONVERSATION_STOP", "CONVERSATION_DELETE"]
                .iter()
                .all(|t| e.iter().any(|e| e.trigger() == Some(t)))
        })
        .await;
}

#[tokio::test]
async fn events_send_get_list_delete() {
    let (_fake, client, app, receiver) = setup().await;
    let send: types::SendEventRequest = body(json!({
        "app_id": app, "recipient": {"identified_by": {"channel_identities": [{"channel": "WHATSAPP", "identity": "+15550801"}]}},
        "event": {"composing_event": {}}
    }));
    let sent = client
        .events_send_event()
        .body(send)
        .send()
        .await
        .unwrap()
        .into_inner();
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
        api_err(client.events_get_event().event_id(&id).send().await)
            .await
            .status
            .as_u16(),
        404
    );
}

#[tokio::test]
async fn transcoding_is_deterministic_per_channel() {
    let fake = Fake::start().await.unwrap();
    let client = fake.client();
    let app = fake.create_app("a", &[Ch::Sms]);
    let request: types::TranscodeMessageRequest = body(json!({
        "app_id": app, "to": "+15550901", "channels": ["SMS", "WHATSAPP", "MESSENGER"],
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
    assert_eq!(a, b);
    assert_eq!(a.transcoded_message["SMS"], "Hi there");
    let wa: serde_json::Value = serde_json::from_str(&a.transcoded_message["WHATSAPP"]).unwrap();
    assert_eq!(wa["text"]["body"], "Hi there");
    let fb: serde_json::Value = serde_json::from_str(&a.transcoded_message["MESSENGER"]).unwrap();
    assert_eq!(fb["message"]["text"], "Hi there");
}

#[tokio::test]
async fn capability_answers_at_once_and_calls_back() {
    let (_fake, client, app, receiver) = setup().await;
    let c: types::ContactCreateRequest = body(json!({
        "channel_identities": [{"channel": "SMS", "identity": "+15551001"}, {"channel": "WHATSAPP", "identity": "+15551001"}],
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
        body(json!({"app_id": app, "recipient": {"contact_id": "01NOBODY"}}));
    assert_eq!(
        api_err(
            client
                .capability_query_capability()
                .body(unknown)
                .send()
                .await
        )
        .await
        .status
        .as_u16(),
        404
    );
}

#[tokio::test]
async fn consents_from_stop_keyword_and_failed_delivery() {
    let (fake, client, app, receiver) = setup().await;
    fake.inbound_text(&app, Ch::Sms, "+15551101", "STOP")
        .unwrap();
    let list = client
        .consents_get_consents()
        .app_id(&app)
        .list_type(types::ConsentListType::OptOutAll)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.identities[0].identity.as_deref(), Some("+15551101"));
    let audit = client
        .consents_get_consents_audit_records()
        .app_id(&app)
        .identity("+15551101")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(audit.audit_records.len(), 1);
    // A message to the opted-out number is accepted, then fails on delivery.
    let sent = client
        .send_message(&text_to(&app, "+15551101", "promo"))
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
    fake.inbound_text(&app, Ch::Sms, "+15551101", "start")
        .unwrap();
    let list = client
        .consents_get_consents()
        .app_id(&app)
        .list_type(types::ConsentListType::OptOutAll)
        .send()
        .await
        .unwrap();
    assert!(list.identities.is_empty());
}

#[tokio::test]
async fn project_settings_lifecycle() {
    let fake = Fake::start().await.unwrap();
    let client = fake.client();
    assert_eq!(
        api_err(client.project_settings_get_settings().send().await)
            .await
            .status
            .as_u16(),
        404
    );
    let s: types::ProjectSettings =
        body(json!({"contact_settings": {"unified_contact_id_enabled": false}}));
    let created = client
        .project_settings_create_settings()
        .body(s.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.project_id.as_deref(), Some(fake.project_id()));
    assert_eq!(
        api_err(
            client
                .project_settings_create_settings()
                .body(s)
                .send()
                .await
        )
        .await
        .status
        .as_u16(),
        409
    );
    let on: types::ProjectSettings =
        body(json!({"contact_settings": {"unified_contact_id_enabled": true}}));
    let updated = client
        .project_settings_update_settings()
        .body(on)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        updated
            .settings
            .unwrap()
            .contact_settings
            .unwrap()
            .unified_contact_id_enabled,
        Some(true)
    );
    client
        .project_settings_delete_settings()
        .send()
        .await
        .unwrap();
    assert_eq!(
        api_err(client.project_settings_get_settings().send().await)
            .await
            .status
            .as_u16(),
        404
    );
}

#[tokio::test]
async fn inbound_messages_reach_the_webhook() {
    let (fake, client, app, receiver) = setup().await;
    let sent = client
        .send_message(&SendMessageRequest::new(
            &app,
            Recipient::channel(Ch::Messenger, "psid-1"),
            AppMessage::text("Pick one"),
        ))
        .await
        .unwrap();
    fake.inbound_text(&app, Ch::Messenger, "psid-1", "hello back")
        .unwrap();
    fake.inbound_media(&app, Ch::Messenger, "psid-1", "https://example.com/cat.jpg")
        .unwrap();
    fake.inbound_choice(
        &app,
        Ch::Messenger,
        "psid-1",
        sent.message_id.as_deref().unwrap(),
        "yes",
    )
    .unwrap();
    let events = receiver
        .wait_until(WAIT, |e| {
            e.iter()
                .filter(|e| matches!(e, Event::MessageInbound(_)))
                .count()
                == 3
        })
        .await;
    let inbound: Vec<&types::InboundMessage> = events
        .iter()
        .filter_map(|e| match e {
            Event::MessageInbound(m) => Some(&m.message),
            _ => None,
        })
        .collect();
    assert_eq!(
        inbound[0]
            .contact_message
            .text_message
            .as_ref()
            .unwrap()
            .text,
        "hello back"
    );
    assert!(inbound[1].contact_message.media_message.is_some());
    assert_eq!(
        inbound[2]
            .contact_message
            .choice_response_message
            .as_ref()
            .unwrap()
            .postback_data,
        "yes"
    );
    assert!(inbound
        .iter()
        .all(|m| m.direction == Some(types::ConversationDirection::ToApp)));
    // The contact the send created is the one that answered.
    let first = fake
        .messages()
        .into_iter()
        .find(|m| m.id == sent.message_id)
        .unwrap();
    assert_eq!(inbound[0].contact_id, first.contact_id);
    assert!(
        fake.inbound_text(&app, Ch::Telegram, "x", "y").is_err(),
        "the app has no Telegram"
    );
}

#[tokio::test]
async fn fault_plans_rehearse_outages() {
    let fake = Fake::start().await.unwrap();
    let client = fake
        .client_builder()
        .retry(RetryConfig::default().initial_backoff(Duration::from_millis(5)))
        .timeout(Some(Duration::from_millis(300)))
        .build()
        .unwrap();
    let app = fake.create_app("a", &[Ch::Sms]);
    // Two 503s: a GET is retried through them.
    fake.inject("App_GetApp", Fault::status(503).times(2));
    client.app_get_app().app_id(&app).send().await.unwrap();
    let statuses: Vec<u16> = fake
        .requests_for("App_GetApp")
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [503, 503, 200]);

    // A dropped connection on a send is ambiguous: reported, not repeated, nothing stored.
    fake.inject("Messages_SendMessage", Fault::drop_connection());
    let err = client
        .send_message(&text_to(&app, "+15551201", "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(fake.requests_for("Messages_SendMessage").len(), 1);
    assert!(fake.messages().is_empty());

    // A delay beyond the client's timeout: a timeout without retries; a GET recovers with them.
    fake.inject(
        "App_ListApps",
        Fault::delay(Duration::from_secs(2)).times(2),
    );
    let once = fake
        .client_builder()
        .retry(RetryConfig::disabled())
        .timeout(Some(Duration::from_millis(300)))
        .build()
        .unwrap();
    let err = once
        .app_list_apps()
        .send()
        .await
        .map_err(Error::from)
        .unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    let started = std::time::Instant::now();
    client.app_list_apps().send().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "the first attempt timed out"
    );

    // A 500 on a send is never repeated.
    fake.inject("Messages_SendMessage", Fault::status(500));
    let err = client
        .send_message(&text_to(&app, "+15551201", "x"))
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    assert_eq!(fake.requests_for("Messages_SendMessage").len(), 2);
}

#[tokio::test]
async fn expired_tokens_are_refreshed_and_basic_auth_works() {
    let fake = Fake::builder()
        .token_ttl(Duration::from_secs(3600))
        .start()
        .await
        .unwrap();
    let client = fake.client();
    client.app_list_apps().send().await.unwrap();
    fake.expire_tokens();
    client.app_list_apps().send().await.unwrap();
    let ops: Vec<(&str, u16)> = fake
        .requests()
        .iter()
        .map(|r| (r.operation, r.status))
        .collect();
    assert_eq!(
        ops,
        [
            ("oauth2.token", 200),
            ("App_ListApps", 200),
            ("App_ListApps", 401),
            ("oauth2.token", 200),
            ("App_ListApps", 200)
        ]
    );
    let basic = fake
        .client_builder()
        .credentials(Credentials::basic(fake.key_id(), fake.key_secret()))
        .build()
        .unwrap();
    basic.app_list_apps().send().await.unwrap();
    assert_eq!(
        fake.requests().last().unwrap().auth_scheme.as_deref(),
        Some("Basic")
    );
    let wrong = fake
        .client_builder()
        .credentials(Credentials::oauth2(fake.key_id(), "not-the-secret"))
        .build()
        .unwrap();
    let err = wrong
        .app_list_apps()
        .send()
        .await
        .map_err(Error::from)
        .unwrap_err();
    assert!(matches!(err, Error::Auth(_)), "{err:?}");
}

#[tokio::test]
async fn every_spec_operation_is_served() {
    let spec: serde_json::Value =
        serde_norway::from_str(&std::fs::read_to_string("spec/conversation.yaml").unwrap())
            .unwrap();
    let mut in_spec: Vec<String> = spec["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|op| op.get("operationId")?.as_str().map(str::to_owned))
        .collect();
    let mut served: Vec<String> = sinch_conversation::fake::operations()
        .map(str::to_owned)
        .collect();
    in_spec.sort();
    served.sort();
    assert_eq!(in_spec, served);
}
