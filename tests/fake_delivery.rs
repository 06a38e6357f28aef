//! Sending through the embedded fake: the synchronous rules of a send, processing modes, the
//! app queue, and the delivery lifecycle per channel and per test recipient, on a manual clock
//! so that every outcome follows from the test's steps. Each test names the rules of
//! `src/fake/RULES.md` it holds the fake to.

#[path = "support/fakes.rs"]
mod fakes;
#[path = "support/receiver.rs"]
mod receiver;

use fakes::*;
use receiver::Receiver;
use serde_json::{json, Value};
use sinch_conversation::fake::{app_request, recipients, Fake, Timings};
use sinch_conversation::prelude::*;
use sinch_conversation::types::{
    self, AppMessage, ConversationChannel as Ch, DeliveryStatus as S, ProcessingMode,
    ReasonCode as R, Recipient, SendMessageRequest,
};
use sinch_conversation::webhook::Event;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// A fake on a manual clock with a fast queue, its client, and a verifying receiver.
async fn manual() -> (Fake, Client, Receiver) {
    let fake = manual_fast().await;
    let client = fake.client();
    let receiver = Receiver::start(SECRET).await;
    (fake, client, receiver)
}

/// An app in `mode` on `channels` whose webhook is `receiver`.
async fn app_with(
    fake: &Fake,
    client: &Client,
    receiver: &Receiver,
    mode: ProcessingMode,
    channels: &[Ch],
) -> String {
    let app = app_in(fake, mode, channels);
    webhook(client, &app, &receiver.url, &TRIGGERS).await;
    app
}

fn to(app: &str, channel: Ch, identity: &str) -> SendMessageRequest {
    SendMessageRequest::new(
        app,
        Recipient::channel(channel, identity),
        AppMessage::text("hi"),
    )
}

/// One delivery report as the tests compare them.
#[derive(Debug, PartialEq)]
struct Report {
    status: S,
    code: Option<R>,
    channel: Ch,
}

fn report(status: S, code: Option<R>, channel: Ch) -> Report {
    Report {
        status,
        code,
        channel,
    }
}

/// The delivery reports of `message_id` the receiver has, in arrival order.
fn reports_of(receiver: &Receiver, message_id: &str) -> Vec<Report> {
    receiver
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::MessageDeliveryReport(r)
                if r.message_delivery_report.message_id == message_id =>
            {
                let r = r.message_delivery_report;
                Some(Report {
                    status: r.status,
                    code: r.reason.and_then(|r| r.code),
                    channel: r
                        .channel_identity
                        .map(|i| i.channel)
                        .unwrap_or(Ch::ChannelUnspecified),
                })
            }
            _ => None,
        })
        .collect()
}

/// Advances the clock and waits for the callbacks that became due.
async fn advance(fake: &Fake, by: Duration) {
    fake.advance(by);
    if !fake.wait_idle(WAIT).await {
        for c in fake.callbacks().iter().filter(|c| !c.finished) {
            eprintln!(
                "pending {} {:?} {}",
                c.trigger,
                c.attempts,
                String::from_utf8_lossy(&c.body)
            );
        }
        panic!("not idle");
    }
}

async fn send(client: &Client, request: &SendMessageRequest) -> String {
    client
        .send_message(request)
        .await
        .unwrap()
        .message_id
        .clone()
        .unwrap()
}

#[tokio::test]
async fn each_channel_reports_what_it_reports() {
    // DLV-1 DLV-3 DLV-4 VAL-3 MSG-7 CB-2
    let (fake, client, receiver) = manual().await;
    let channels = [
        Ch::Sms,
        Ch::Whatsapp,
        Ch::Rcs,
        Ch::Messenger,
        Ch::Telegram,
        Ch::Instagram,
    ];
    let app = app_with(
        &fake,
        &client,
        &receiver,
        ProcessingMode::Dispatch,
        &channels,
    )
    .await;
    let raw = Raw::new(&fake).await;
    // The answer is the id and the time, nothing else.
    let request = json!({"app_id": app, "recipient": {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": recipients::READS}]}}, "message": {"text_message": {"text": "hi"}}});
    let (status, answer) = raw.post("messages:send", request).await;
    assert_eq!(status, 200);
    let keys: Vec<&String> = answer.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["accepted_time", "message_id"]);
    let sms = answer["message_id"].as_str().unwrap().to_owned();
    let mut sent = vec![(Ch::Sms, sms)];
    for ch in &channels[1..] {
        // WhatsApp, Messenger and Instagram take free-form messages after the contact wrote.
        fake.inbound_text(&app, ch.clone(), recipients::READS, "hello")
            .unwrap();
        sent.push((
            ch.clone(),
            send(&client, &to(&app, ch.clone(), recipients::READS)).await,
        ));
    }
    advance(&fake, Duration::from_secs(1)).await;
    let statuses = |ch: &Ch| -> Vec<S> {
        let id = &sent.iter().find(|(c, _)| c == ch).unwrap().1;
        reports_of(&receiver, id)
            .into_iter()
            .map(|r| r.status)
            .collect()
    };
    use S::*;
    assert_eq!(
        statuses(&Ch::Sms),
        [QueuedOnChannel, Delivered],
        "SMS has no read receipts"
    );
    assert_eq!(statuses(&Ch::Whatsapp), [QueuedOnChannel, Delivered, Read]);
    assert_eq!(statuses(&Ch::Rcs), [QueuedOnChannel, Delivered, Read]);
    assert_eq!(statuses(&Ch::Instagram), [QueuedOnChannel, Delivered, Read]);
    assert_eq!(
        statuses(&Ch::Messenger),
        [QueuedOnChannel],
        "no receipts since 2020"
    );
    assert_eq!(statuses(&Ch::Telegram), [QueuedOnChannel], "never any");

    // MESSAGE_SUBMIT comes first, with the message; the envelope has its fields.
    let events = receiver.events();
    let sms_id = &sent[0].1;
    let first = events
        .iter()
        .position(|e| matches!(e, Event::MessageSubmit(s) if s.message_submit_notification.message_id.as_deref() == Some(sms_id)))
        .unwrap();
    let queued = events
        .iter()
        .position(|e| matches!(e, Event::MessageDeliveryReport(r) if &r.message_delivery_report.message_id == sms_id))
        .unwrap();
    assert!(first < queued);
    let Event::MessageSubmit(submit) = &events[first] else {
        unreachable!()
    };
    let submitted = submit
        .message_submit_notification
        .submitted_message
        .as_ref()
        .unwrap();
    assert_eq!(submitted.text_message.as_ref().unwrap().text, "hi");
    assert_eq!(submit.app_id.as_deref(), Some(app.as_str()));
    assert_eq!(submit.project_id.as_deref(), Some(fake.project_id()));
    // Messenger identities carry their app, SMS ones "".
    let channel_app = |ch: Ch| {
        events.iter().find_map(|e| match e {
            Event::MessageDeliveryReport(r) => r
                .message_delivery_report
                .channel_identity
                .clone()
                .filter(|i| i.channel == ch)
                .map(|i| i.app_id),
            _ => None,
        })
    };
    assert_eq!(channel_app(Ch::Messenger), Some(Some(app.clone())));
    assert_eq!(channel_app(Ch::Sms), Some(Some(String::new())));
    assert_eq!(receiver.rejected(), 0, "every callback was signed");
}

#[tokio::test]
async fn the_app_queue_hands_over_twenty_a_second_and_refuses_when_full() {
    // DLV-1 DLV-2
    let fake = Fake::builder()
        .manual_clock(true)
        .queue_capacity(4)
        .start()
        .await
        .unwrap();
    let client = fake
        .client_builder()
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();
    let receiver = Receiver::start(SECRET).await;
    let app = app_with(
        &fake,
        &client,
        &receiver,
        ProcessingMode::Dispatch,
        &[Ch::Sms],
    )
    .await;
    let mut ids = vec![];
    for _ in 0..5 {
        ids.push(send(&client, &to(&app, Ch::Sms, recipients::DELIVERED)).await);
    }
    // The first left at once; the next four wait their turn of 50 ms each, filling the queue.
    let app_now = client
        .app_get_app()
        .app_id(&app)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(app_now.queue_stats.unwrap().outbound_size, Some(4));
    let full = client
        .send_message(&to(&app, Ch::Sms, recipients::DELIVERED))
        .await;
    match full {
        Err(Error::Api(e)) => {
            assert_eq!(status_of(&e), (429, "RESOURCE_EXHAUSTED"));
            assert!(e.retry_delay().is_some(), "RetryInfo: {e:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(fake.wait_idle(WAIT).await);
    let queued = |receiver: &Receiver| -> usize {
        ids.iter()
            .filter(|id| {
                reports_of(receiver, id)
                    .iter()
                    .any(|r| r.status == S::QueuedOnChannel)
            })
            .count()
    };
    assert_eq!(queued(&receiver), 1);
    for expected in 2..=5 {
        advance(&fake, Duration::from_millis(50)).await;
        assert_eq!(queued(&receiver), expected);
    }
    // In queue order.
    let order: Vec<String> = receiver
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::MessageDeliveryReport(r)
                if r.message_delivery_report.status == S::QueuedOnChannel =>
            {
                Some(r.message_delivery_report.message_id)
            }
            _ => None,
        })
        .collect();
    assert_eq!(order, ids);
}

#[tokio::test]
async fn test_recipients_produce_their_documented_outcomes() {
    // DLV-5 DLV-6 DLV-8 DLV-9 DLV-14 and the recipients table
    let (fake, client, receiver) = manual().await;
    let app = app_with(
        &fake,
        &client,
        &receiver,
        ProcessingMode::Conversation,
        &[Ch::Sms, Ch::Rcs],
    )
    .await;
    use S::*;
    type Outcome = Vec<(S, Option<R>)>;
    let cases: Vec<(&str, Outcome)> = vec![
        (
            recipients::DELIVERED,
            vec![(QueuedOnChannel, None), (Delivered, None)],
        ),
        (
            recipients::INVALID,
            vec![(Failed, Some(R::RecipientInvalidChannelIdentity))],
        ),
        (
            recipients::NOT_REACHABLE,
            vec![
                (QueuedOnChannel, None),
                (Failed, Some(R::RecipientNotReachable)),
            ],
        ),
        (
            recipients::CHANNEL_FAILURE,
            vec![(QueuedOnChannel, None), (Failed, Some(R::ChannelFailure))],
        ),
        (
            recipients::REJECTED_BY_POLICY,
            vec![
                (QueuedOnChannel, None),
                (Failed, Some(R::DeliveryRejectedDueToPolicy)),
            ],
        ),
        (
            recipients::CHANNEL_RATE_LIMITED,
            vec![(QueuedOnChannel, None), (Failed, Some(R::RateLimited))],
        ),
        (
            recipients::TIMED_OUT,
            vec![(QueuedOnChannel, None), (Failed, Some(R::DeliveryTimedOut))],
        ),
        (recipients::NEVER_REPORTED, vec![(QueuedOnChannel, None)]),
        (
            recipients::DELIVERED_LATE,
            vec![(QueuedOnChannel, None), (Delivered, None)],
        ),
        (
            recipients::READS,
            vec![(QueuedOnChannel, None), (Delivered, None), (Read, None)],
        ),
        (
            recipients::REPLIES,
            vec![(QueuedOnChannel, None), (Delivered, None), (Read, None)],
        ),
        (
            recipients::OPTED_OUT,
            vec![(Failed, Some(R::RecipientNotOptedIn))],
        ),
        (
            "not-a-number",
            vec![(Failed, Some(R::RecipientInvalidChannelIdentity))],
        ),
    ];
    assert_eq!(
        cases.len() - 1,
        recipients::all().count(),
        "every test recipient is covered"
    );
    let mut sent = vec![];
    for (identity, _) in &cases {
        // RCS has read receipts.
        sent.push(send(&client, &to(&app, Ch::Rcs, identity)).await);
    }
    // Once all were handed over (one a millisecond), before the channel answers, only what
    // happens on hand-over is known.
    advance(&fake, Duration::from_millis(20)).await;
    assert_eq!(
        reports_of(&receiver, &sent[0]),
        [report(QueuedOnChannel, None, Ch::Rcs)]
    );
    assert_eq!(
        reports_of(&receiver, &sent[1]),
        [report(
            Failed,
            Some(R::RecipientInvalidChannelIdentity),
            Ch::Rcs
        )]
    );
    // The late delivery and the timeout take their time.
    advance(&fake, Duration::from_secs(5)).await;
    assert_eq!(
        reports_of(&receiver, &sent[8]).len(),
        1,
        "not yet delivered"
    );
    let t = Timings::default();
    advance(&fake, t.timeout).await;
    for ((identity, expected), id) in cases.iter().zip(&sent) {
        let got: Vec<(S, Option<R>)> = reports_of(&receiver, id)
            .into_iter()
            .map(|r| (r.status, r.code))
            .collect();
        assert_eq!(&got, expected, "recipient {identity}");
    }
    // Reasons carry a description and a sub code.
    let failed = receiver.events().into_iter().find_map(|e| match e {
        Event::MessageDeliveryReport(r) if r.message_delivery_report.status == Failed => {
            r.message_delivery_report.reason
        }
        _ => None,
    });
    let reason = failed.unwrap();
    assert!(!reason.description.unwrap().is_empty());
    assert_eq!(
        reason.sub_code,
        Some(types::ReasonSubCode::UnspecifiedSubCode)
    );
    // The replying recipient answered, quoting the message.
    let reply = receiver.events().into_iter().find_map(|e| match e {
        Event::MessageInbound(m) => Some(m.message),
        _ => None,
    });
    let reply = reply.expect("a reply");
    assert_eq!(
        reply.channel_identity.unwrap().identity,
        recipients::REPLIES
    );
    assert_eq!(reply.contact_message.reply_to.unwrap().message_id, sent[10]);
}

#[tokio::test]
async fn a_failed_channel_switches_to_the_next_identity() {
    // DLV-5 DLV-7 MSG-5 MSG-6 MODE-1
    let (fake, client, receiver) = manual().await;
    let app = app_with(
        &fake,
        &client,
        &receiver,
        ProcessingMode::Conversation,
        &[Ch::Sms, Ch::Rcs],
    )
    .await;
    let identities =
        |list: Value| -> Recipient { body(json!({"identified_by": {"channel_identities": list}})) };
    let two = identities(json!([
        {"channel": "SMS", "identity": recipients::NOT_REACHABLE},
        {"channel": "RCS", "identity": recipients::DELIVERED}
    ]));
    let id = send(
        &client,
        &SendMessageRequest::new(&app, two.clone(), AppMessage::text("x")),
    )
    .await;
    advance(&fake, Duration::from_secs(1)).await;
    use S::*;
    assert_eq!(
        reports_of(&receiver, &id),
        [
            report(QueuedOnChannel, None, Ch::Sms),
            report(SwitchingChannel, Some(R::RecipientNotReachable), Ch::Sms),
            report(QueuedOnChannel, None, Ch::Rcs),
            report(Delivered, None, Ch::Rcs),
        ]
    );
    // channel_priority_order puts RCS first.
    let mut first_rcs = SendMessageRequest::new(&app, two, AppMessage::text("x"));
    first_rcs.channel_priority_order = vec![Ch::Rcs];
    let id = send(&client, &first_rcs).await;
    advance(&fake, Duration::from_secs(1)).await;
    assert_eq!(
        reports_of(&receiver, &id),
        [
            report(QueuedOnChannel, None, Ch::Rcs),
            report(Delivered, None, Ch::Rcs)
        ]
    );
    // An identity on a channel the app lacks is skipped with CHANNEL_CONFIGURATION_MISSING.
    let viber_first = identities(json!([
        {"channel": "VIBER", "identity": "viber-user"},
        {"channel": "SMS", "identity": recipients::DELIVERED}
    ]));
    let id = send(
        &client,
        &SendMessageRequest::new(&app, viber_first, AppMessage::text("x")),
    )
    .await;
    advance(&fake, Duration::from_secs(1)).await;
    assert_eq!(
        reports_of(&receiver, &id),
        [
            report(
                SwitchingChannel,
                Some(R::ChannelConfigurationMissing),
                Ch::Viber
            ),
            report(QueuedOnChannel, None, Ch::Sms),
            report(Delivered, None, Ch::Sms),
        ]
    );
    // Synchronously refused: a priority naming a channel the app lacks; no usable identity.
    let raw = Raw::new(&fake).await;
    let base = |recipient: Value| json!({"app_id": app, "recipient": recipient, "message": {"text_message": {"text": "x"}}});
    let mut bad_priority = base(
        json!({"identified_by": {"channel_identities": [{"channel": "SMS", "identity": "+12065550100"}]}}),
    );
    bad_priority["channel_priority_order"] = json!(["WHATSAPP"]);
    assert_eq!(raw.post("messages:send", bad_priority).await.0, 400);
    let unusable = base(
        json!({"identified_by": {"channel_identities": [{"channel": "VIBER", "identity": "v"}]}}),
    );
    assert_eq!(raw.post("messages:send", unusable).await.0, 400);
    // The contact the first send created holds both identities; callbacks came in order.
    let contacts = fake.contacts();
    assert_eq!(contacts.len(), 2);
    let triggers: Vec<String> = receiver
        .events()
        .iter()
        .filter_map(|e| e.trigger().map(str::to_owned))
        .take(3)
        .collect();
    assert_eq!(
        triggers,
        ["CONTACT_CREATE", "CONVERSATION_START", "MESSAGE_SUBMIT"]
    );
}

#[tokio::test]
async fn sending_windows_media_templates_and_mms_senders_fail_as_channels_do() {
    // DLV-10 DLV-11 DLV-12 DLV-13
    let (fake, client, receiver) = manual().await;
    let app = app_with(
        &fake,
        &client,
        &receiver,
        ProcessingMode::Dispatch,
        &[Ch::Sms, Ch::Whatsapp, Ch::Messenger],
    )
    .await;
    let final_code = |id: &str| {
        reports_of(&receiver, id)
            .last()
            .map(|r| (r.status.clone(), r.code.clone()))
    };
    use S::*;

    // WhatsApp: free-form only within 24 hours of the contact's last message.
    let cold = send(&client, &to(&app, Ch::Whatsapp, "+12065550200")).await;
    fake.inbound_text(&app, Ch::Whatsapp, "+12065550201", "hi")
        .unwrap();
    let warm = send(&client, &to(&app, Ch::Whatsapp, "+12065550201")).await;
    advance(&fake, Duration::from_secs(1)).await;
    assert_eq!(
        final_code(&cold),
        Some((Failed, Some(R::OutsideAllowedSendingWindow)))
    );
    assert_eq!(final_code(&warm), Some((Delivered, None)));
    advance(&fake, Duration::from_secs(24 * 3600)).await;
    let client = fake.client(); // a day later: a new token
    let stale = send(&client, &to(&app, Ch::Whatsapp, "+12065550201")).await;
    // Messenger too, unless the message carries a tag.
    let mut tagged = to(&app, Ch::Messenger, "psid-1");
    tagged
        .channel_properties
        .insert("MESSENGER_MESSAGE_TAG".into(), "ACCOUNT_UPDATE".into());
    let tagged = send(&client, &tagged).await;
    let untagged = send(&client, &to(&app, Ch::Messenger, "psid-2")).await;
    advance(&fake, Duration::from_secs(1)).await;
    assert_eq!(
        final_code(&stale),
        Some((Failed, Some(R::OutsideAllowedSendingWindow)))
    );
    assert_eq!(final_code(&tagged), Some((QueuedOnChannel, None)));
    assert_eq!(
        final_code(&untagged),
        Some((Failed, Some(R::OutsideAllowedSendingWindow)))
    );

    // Media.
    let media = |url: &str| {
        SendMessageRequest::new(
            &app,
            Recipient::channel(Ch::Sms, recipients::DELIVERED),
            AppMessage::media(url),
        )
    };
    let unreachable = send(&client, &media("https://cdn.example/cat.jpg")).await;
    let private = send(&client, &media("http://10.0.0.7/cat.jpg")).await;
    let unsupported = send(&client, &media("https://example.com/setup.exe")).await;
    let fine = send(&client, &media("https://example.com/cat.jpg")).await;
    // Templates: the Template Management API's own.
    let missing = send(
        &client,
        &SendMessageRequest::new(
            &app,
            Recipient::channel(Ch::Sms, recipients::DELIVERED),
            AppMessage::template("01HZZZZZZZZZZZZZZZZZZZZZZZ", "en-US", [("name", "Ada")]),
        ),
    )
    .await;
    let template: sinch_conversation::templates::types::V2Template = body(json!({
        "default_translation": "en-US",
        "translations": [{"language_code": "en-US", "version": "1", "variables": [{"key": "name"}], "text_message": {"text": "Hi ${name}"}}]
    }));
    let created = client
        .templates()
        .templates_v2_create_template()
        .body(template)
        .send()
        .await
        .unwrap();
    let tid = created.id.clone().unwrap();
    let templated = |lang: &str, params: &[(&str, &str)]| {
        SendMessageRequest::new(
            &app,
            Recipient::channel(Ch::Sms, recipients::DELIVERED),
            AppMessage::template(&tid, lang, params.iter().copied()),
        )
    };
    let wrong_language = send(&client, &templated("sv-SE", &[("name", "Ada")])).await;
    let no_parameter = send(&client, &templated("en-US", &[])).await;
    let filled = send(&client, &templated("en_US", &[("name", "Ada")])).await;
    advance(&fake, Duration::from_secs(1)).await;
    assert_eq!(
        final_code(&unreachable),
        Some((Failed, Some(R::MediaNotReachable)))
    );
    assert_eq!(
        final_code(&private),
        Some((Failed, Some(R::MediaNotReachable)))
    );
    assert_eq!(
        final_code(&unsupported),
        Some((Failed, Some(R::MediaTypeUnsupported)))
    );
    assert_eq!(final_code(&fine), Some((Delivered, None)));
    assert_eq!(
        final_code(&missing),
        Some((Failed, Some(R::TemplateNotFound)))
    );
    assert_eq!(
        final_code(&wrong_language),
        Some((Failed, Some(R::TemplateNonExistingLanguageOrVersion)))
    );
    assert_eq!(
        final_code(&no_parameter),
        Some((Failed, Some(R::TemplateInsufficientParameters)))
    );
    assert_eq!(final_code(&filled), Some((Delivered, None)));

    // MMS needs a sender: the message's MMS_SENDER or the credential's default.
    let mut mms = app_request("mms", &[Ch::Mms]);
    let cred = &mut mms.channel_credentials[0];
    cred.mms_credentials.as_mut().unwrap().default_sender = None;
    let mms_app = fake.create_app_with(&mms).unwrap().id.unwrap();
    webhook(&client, &mms_app, &receiver.url, &["MESSAGE_DELIVERY"]).await;
    let without = send(&client, &to(&mms_app, Ch::Mms, recipients::DELIVERED)).await;
    let mut with = to(&mms_app, Ch::Mms, recipients::DELIVERED);
    with.channel_properties
        .insert("MMS_SENDER".into(), "+12065550199".into());
    let with = send(&client, &with).await;
    advance(&fake, Duration::from_secs(1)).await;
    assert_eq!(final_code(&without), Some((Failed, Some(R::BadRequest))));
    assert_eq!(final_code(&with), Some((Delivered, None)));
}

#[tokio::test]
async fn ttl_contacts_and_deleted_apps_end_in_their_failures() {
    // DLV-14 DLV-16 DLV-17 MSG-14
    let fake = Fake::builder()
        .manual_clock(true)
        .queue_rate(1.0)
        .start()
        .await
        .unwrap();
    let client = fake
        .client_builder()
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();
    let receiver = Receiver::start(SECRET).await;
    let app = app_with(
        &fake,
        &client,
        &receiver,
        ProcessingMode::Conversation,
        &[Ch::Sms],
    )
    .await;
    let with_ttl = |identity: &str, ttl: &str| {
        let mut r = to(&app, Ch::Sms, identity);
        r.ttl = Some(ttl.into());
        r
    };
    use S::*;
    // Handed over at once, but it would arrive after its 3 s: timed out.
    let late = send(&client, &with_ttl(recipients::DELIVERED_LATE, "3s")).await;
    // Waiting a second in the queue (one a second) outlives a 3 s ttl? No; the next ones do.
    let queued_long = send(&client, &with_ttl(recipients::DELIVERED, "3s")).await;
    let unknown_contact = send(
        &client,
        &SendMessageRequest::new(
            &app,
            Recipient::contact("01HZZZZZZZZZZZZZZZZZZZZZZZ"),
            AppMessage::text("x"),
        ),
    )
    .await;
    for _ in 0..3 {
        send(&client, &to(&app, Ch::Sms, recipients::DELIVERED)).await;
    }
    let expiring = send(&client, &with_ttl(recipients::DELIVERED, "4s")).await;
    advance(&fake, Duration::from_secs(10)).await;
    assert_eq!(
        reports_of(&receiver, &late),
        [
            report(QueuedOnChannel, None, Ch::Sms),
            report(Failed, Some(R::DeliveryTimedOut), Ch::Sms)
        ]
    );
    assert_eq!(
        reports_of(&receiver, &queued_long).last().unwrap().status,
        Delivered
    );
    assert_eq!(
        reports_of(&receiver, &unknown_contact)
            .iter()
            .map(|r| r.code.clone())
            .collect::<Vec<_>>(),
        [Some(R::ContactNotFound)]
    );
    assert_eq!(
        reports_of(&receiver, &expiring)
            .iter()
            .map(|r| (r.status.clone(), r.code.clone()))
            .collect::<Vec<_>>(),
        [(Failed, Some(R::DeliveryTimedOut))],
        "left the queue after its ttl"
    );

    // An app deleted while its messages wait: UNKNOWN_APP, reported to the message's own
    // callback_url (the app's webhooks went with it), signed with the override secret.
    let mut request = app_request("doomed", &[Ch::Sms]);
    request.callback_settings = Some(body(json!({"secret_for_overridden_callback_urls": SECRET})));
    let doomed = fake.create_app_with(&request).unwrap().id.unwrap();
    let mut msg = to(&doomed, Ch::Sms, recipients::DELIVERED);
    msg.callback_url = Some(receiver.url.clone());
    msg.message_metadata = Some("order-7".into());
    msg.correlation_id = Some("corr-7".into());
    let first = send(&client, &msg).await;
    let second = send(&client, &msg).await;
    client
        .app_delete_app()
        .app_id(&doomed)
        .send()
        .await
        .unwrap();
    advance(&fake, Duration::from_secs(3)).await;
    assert_eq!(
        reports_of(&receiver, &second).last().unwrap().code,
        Some(R::UnknownApp)
    );
    let dr = receiver.events().into_iter().find_map(|e| match e {
        Event::MessageDeliveryReport(r) if r.message_delivery_report.message_id == first => Some(r),
        _ => None,
    });
    let dr = dr.unwrap();
    assert_eq!(
        dr.message_delivery_report.metadata.as_deref(),
        Some("order-7"),
        "the send's metadata in the report"
    );
    assert_eq!(
        dr.correlation_id.as_deref(),
        Some("corr-7"),
        "its correlation id in the envelope"
    );
    assert_eq!(receiver.rejected(), 0, "signed with the override secret");
}

#[tokio::test]
async fn a_send_is_checked_before_anything_is_stored() {
    // MSG-1 MSG-2 MSG-3 MSG-4 MSG-13 MODE-3 ERR-4 ERR-5 ERR-6 ERR-8
    let fake = Fake::start().await.unwrap();
    let raw = Raw::new(&fake).await;
    let conv = conversation_app(&fake, &[Ch::Sms]);
    let dispatch = fake.create_app("d", &[Ch::Sms]);
    let to_sms = json!({"identified_by": {"channel_identities": [{"channel": "SMS", "identity": "+12065550100"}]}});
    let ok =
        json!({"app_id": conv, "recipient": to_sms, "message": {"text_message": {"text": "x"}}});
    let with = |key: &str, value: Value| {
        let mut r = ok.clone();
        r[key] = value;
        r
    };
    let without = |key: &str| {
        let mut r = ok.clone();
        r.as_object_mut().unwrap().remove(key);
        r
    };
    let refused = [
        (without("app_id"), "app_id"),
        (without("recipient"), "recipient"),
        (without("message"), "message"),
        (with("app_id", json!("my-app")), "app_id"),
        (with("message", json!({})), "one of"),
        (
            with(
                "message",
                json!({"text_message": {"text": "a"}, "media_message": {"url": "https://example.com/a.jpg"}}),
            ),
            "exactly one",
        ),
        (with("recipient", json!({})), "recipient"),
        (
            with(
                "recipient",
                json!({"contact_id": "01HZZZZZZZZZZZZZZZZZZZZZZZ", "identified_by": to_sms["identified_by"]}),
            ),
            "recipient",
        ),
        (
            with("message_metadata", json!("m".repeat(1025))),
            "message_metadata",
        ),
        (
            with("correlation_id", json!("c".repeat(129))),
            "correlation_id",
        ),
        (
            with(
                "channel_properties",
                json!({"SMS_SENDER": "s".repeat(1025)}),
            ),
            "channel_properties",
        ),
        (
            with("conversation_metadata", json!("a string")),
            "conversation_metadata",
        ),
        (
            with("conversation_metadata", json!({"k": "v".repeat(2100)})),
            "conversation_metadata",
        ),
        (with("ttl", json!("10")), "ttl"),
        (with("ttl", json!("2s")), "ttl"),
        (with("ttl", json!("999999999999s")), "ttl"),
        (with("queue", json!("URGENT")), "queue"),
        (
            with("message", json!({"text_message": {"text": 5}})),
            "text",
        ),
    ];
    for (request, named) in refused {
        let (status, answer) = raw.post("messages:send", request.clone()).await;
        assert_eq!(status, 400, "{request} -> {answer}");
        assert_eq!(answer["error"]["status"], "INVALID_ARGUMENT", "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{named}: {message}");
    }
    // DISPATCH_ONLY on a CONVERSATION app takes neither conversation metadata nor a correlation id.
    let mut dispatch_only = with("processing_strategy", json!("DISPATCH_ONLY"));
    dispatch_only["correlation_id"] = json!("c");
    assert_eq!(raw.post("messages:send", dispatch_only).await.0, 400);
    // A DISPATCH app takes identities, not contact ids.
    let by_contact = json!({"app_id": dispatch, "recipient": {"contact_id": "01HZZZZZZZZZZZZZZZZZZZZZZZ"}, "message": {"text_message": {"text": "x"}}});
    assert_eq!(raw.post("messages:send", by_contact).await.0, 400);
    // An unknown app is 404; nothing was stored, no callback produced.
    let mut unknown = ok.clone();
    unknown["app_id"] = json!("01HZZZZZZZZZZZZZZZZZZZZZZZ");
    assert_eq!(
        raw.post("messages:send", unknown).await.1["error"]["status"],
        "NOT_FOUND"
    );
    assert!(fake.messages().is_empty());
    assert!(fake.contacts().is_empty());
    assert!(fake.callbacks().is_empty());
    // And the well-formed one passes.
    let mut fine = with("ttl", json!("86400s"));
    fine["message_metadata"] = json!("m".repeat(1024));
    fine["correlation_id"] = json!("c".repeat(128));
    fine["conversation_metadata"] = json!({"order": 42});
    assert_eq!(raw.post("messages:send", fine).await.0, 200);
}

#[tokio::test]
async fn messages_are_read_back_from_their_store() {
    // MSG-8 MSG-9 MSG-10 MSG-11 MSG-12 MODE-5 LIST-2 LIST-3
    let fake = Fake::builder().queue_rate(1000.0).start().await.unwrap();
    let client = fake.client();
    let raw = Raw::new(&fake).await;
    let app = conversation_app(&fake, &[Ch::Sms]);
    let mut sent = vec![];
    for i in 0..25 {
        let r = to(&app, Ch::Sms, &format!("+120655504{:02}", i % 3));
        sent.push(send(&client, &r).await);
    }
    // Pages, newest first, each message once, the last token "".
    let (_, first) = raw.get("messages?page_size=10").await;
    assert_eq!(first["messages"].as_array().unwrap().len(), 10);
    let all: Vec<types::ConversationMessage> = {
        use futures_util::TryStreamExt;
        client
            .messages_list_messages()
            .app_id(&app)
            .page_size(10)
            .items()
            .try_collect()
            .await
            .unwrap()
    };
    let listed: Vec<String> = all.iter().map(|m| m.id.clone().unwrap()).collect();
    let mut newest_first = sent.clone();
    newest_first.reverse();
    assert_eq!(listed, newest_first);
    let (_, tail) = raw.get("messages?page_size=1000").await;
    assert_eq!(tail["next_page_token"], "");
    assert_eq!(raw.get("messages?page_size=1001").await.0, 400);

    // Filters and the combinations the API refuses.
    fake.inbound_text(&app, Ch::Sms, "+12065550400", "a reply")
        .unwrap();
    let contact = fake.messages().last().unwrap().contact_id.clone().unwrap();
    let (_, of_contact) = raw
        .get(&format!("messages?contact_id={contact}&page_size=100"))
        .await;
    assert_eq!(
        of_contact["messages"].as_array().unwrap().len(),
        10,
        "9 sent to it + the reply"
    );
    let (_, inbound) = raw.get("messages?direction=TO_APP").await;
    assert_eq!(inbound["messages"].as_array().unwrap().len(), 1);
    for bad in [
        format!("messages?contact_id={contact}&messages_source=DISPATCH_SOURCE"),
        "messages?only_recipient_originated=true".to_owned(),
        "messages?start_time=2026-01-02T00:00:00Z&end_time=2026-01-01T00:00:00Z".to_owned(),
        "messages?channel=PIGEON".to_owned(),
        "messages?page_size=ten".to_owned(),
        "messages?contact_id=x".to_owned(),
    ] {
        assert_eq!(raw.get(&bad).await.0, 400, "{bad}");
    }
    let dispatch = fake.create_app("d", &[Ch::Sms]);
    assert_eq!(
        raw.get(&format!("messages?app_id={dispatch}&contact_id={contact}"))
            .await
            .0,
        400
    );

    // DISPATCH_ONLY: that message in DISPATCH mode, found in DISPATCH_SOURCE when kept.
    let mut only = to(&app, Ch::Sms, "+12065550499");
    only.processing_strategy = Some(types::ProcessingStrategy::DispatchOnly);
    let only = send(&client, &only).await;
    let stored = fake
        .messages()
        .into_iter()
        .find(|m| m.id.as_deref() == Some(&only))
        .unwrap();
    assert_eq!(stored.processing_mode, Some(ProcessingMode::Dispatch));
    assert_eq!(stored.contact_id.as_deref(), Some(""));
    assert_eq!(
        raw.get(&format!("messages/{only}")).await.0,
        404,
        "not in CONVERSATION_SOURCE"
    );

    // Metadata update; a view without metadata.
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
    let too_long = json!({"metadata": "m".repeat(1025)});
    assert_eq!(
        raw.call(
            "PATCH",
            &format!("messages/{id}"),
            Some(&too_long.to_string())
        )
        .await
        .0,
        400
    );
    let (_, without) = raw
        .get("messages?view=WITHOUT_METADATA&page_size=100")
        .await;
    assert!(without["messages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["metadata"] == ""));
    client
        .messages_delete_message()
        .message_id(id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        status_of(&api_err(
            client.messages_get_message().message_id(id).send().await
        ))
        .0,
        404
    );

    // The last message per identity; identities or contacts, not both.
    let last: types::ListLastMessagesByChannelIdentityRequest =
        body(json!({"channel_identities": ["+12065550400", "+12065550401"]}));
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
        "the reply is the newest of +12065550400"
    );
    let both = json!({"channel_identities": ["+12065550400"], "contact_ids": [contact]});
    assert_eq!(raw.post("messages:fetch-last-message", both).await.0, 400);
    assert_eq!(
        raw.post(
            "messages:fetch-last-message",
            json!({"channel_identities": ["+12065550400"], "page_size": 1001})
        )
        .await
        .0,
        400
    );
}

#[tokio::test]
async fn callbacks_are_signed_fanned_out_and_retried() {
    // CB-1 CB-3 CB-4 CB-5
    let fake = Fake::builder()
        .callback_retries(4, Duration::from_millis(10))
        .start()
        .await
        .unwrap();
    let client = fake.client();
    let app = conversation_app(&fake, &[Ch::Sms]);
    let (a, b) = (Receiver::start(SECRET).await, Receiver::start(SECRET).await);
    webhook(
        &client,
        &app,
        &a.url,
        &["MESSAGE_INBOUND", "MESSAGE_SUBMIT"],
    )
    .await;
    webhook(&client, &app, &b.url, &["MESSAGE_INBOUND"]).await;
    a.fail_next(2);
    // A send with conversation metadata and a correlation id; then the contact answers.
    let mut r = to(&app, Ch::Sms, "+12065550300");
    r.correlation_id = Some("case-9".into());
    let sent: SendMessageRequest = {
        let mut v = serde_json::to_value(&r).unwrap();
        v["conversation_metadata"] = json!({"case": 9});
        body(v)
    };
    send(&client, &sent).await;
    fake.inbound_text(&app, Ch::Sms, "+12065550300", "thanks")
        .unwrap();
    a.wait_until(WAIT, |e| e.len() == 2).await;
    b.wait_until(WAIT, |e| e.len() == 1).await;
    assert!(fake.wait_idle(WAIT).await);
    // Each webhook got its copy; the first after two failed tries.
    let submit = fake
        .callbacks()
        .into_iter()
        .find(|c| c.trigger == "MESSAGE_SUBMIT")
        .unwrap();
    let statuses: Vec<_> = submit.attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(500), Some(500), Some(200)]);
    assert!(submit.delivered && submit.finished);
    assert_eq!(
        (a.rejected(), b.rejected()),
        (0, 0),
        "signed with the webhook's secret"
    );
    let Some(Event::MessageInbound(inbound)) = b.events().into_iter().next() else {
        panic!("no inbound")
    };
    assert_eq!(
        inbound.message_metadata.as_deref(),
        Some(r#"{"case":9}"#),
        "the conversation's metadata"
    );
    assert_eq!(inbound.correlation_id.as_deref(), Some("case-9"));

    // A webhook without a secret gets unsigned callbacks.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
    let headers = seen.clone();
    let plain = axum::Router::new().fallback(move |h: axum::http::HeaderMap| {
        let headers = headers.clone();
        async move {
            headers
                .lock()
                .unwrap()
                .push(h.contains_key("x-sinch-webhook-signature"));
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/plain", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, plain).await.unwrap() });
    let unsigned: types::Webhook =
        body(json!({"app_id": app, "target": url, "triggers": ["MESSAGE_INBOUND"]}));
    client
        .webhooks_create_webhook()
        .body(unsigned)
        .send()
        .await
        .unwrap();
    fake.inbound_text(&app, Ch::Sms, "+12065550300", "again")
        .unwrap();
    assert!(fake.wait_idle(WAIT).await);
    assert_eq!(*seen.lock().unwrap(), [false]);
}

#[tokio::test]
async fn a_callback_can_be_redelivered_and_a_receivers_retry_after_is_honoured() {
    // CB-1 CB-3
    let fake = Fake::builder()
        .manual_clock(true)
        .callback_retries(3, Duration::from_millis(10))
        .start()
        .await
        .unwrap();
    let client = fake.client();
    let app = fake.create_app("a", &[Ch::Sms]);
    // A receiver that is busy once, asking for 30 s, then takes everything.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, String)>::new()));
    let log = seen.clone();
    let busy = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let server =
        axum::Router::new().fallback(move |h: axum::http::HeaderMap, body: axum::body::Bytes| {
            let (log, busy) = (log.clone(), busy.clone());
            async move {
                let nonce = h["x-sinch-webhook-signature-nonce"]
                    .to_str()
                    .unwrap()
                    .to_owned();
                log.lock()
                    .unwrap()
                    .push((nonce, String::from_utf8_lossy(&body).into_owned()));
                if busy.swap(false, std::sync::atomic::Ordering::SeqCst) {
                    return (
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        [("retry-after", "30")],
                    )
                        .into_response();
                }
                axum::http::StatusCode::OK.into_response()
            }
        });
    use axum::response::IntoResponse;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cb", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, server).await.unwrap() });
    webhook(&client, &app, &url, &["MESSAGE_INBOUND"]).await;
    fake.inbound_text(&app, Ch::Sms, recipients::DELIVERED, "hello")
        .unwrap();
    // The first try got 503 with Retry-After: 30; the backoff alone (10 ms) does not bring the
    // next try, 30 s of the fake's clock do.
    assert!(!fake.wait_idle(Duration::from_millis(300)).await);
    fake.advance(Duration::from_millis(100));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(seen.lock().unwrap().len(), 1);
    fake.advance(Duration::from_secs(30));
    assert!(fake.wait_idle(WAIT).await);
    let first = &fake.callbacks()[0];
    assert_eq!(
        first.attempts.iter().map(|a| a.status).collect::<Vec<_>>(),
        [Some(503), Some(200)]
    );
    // Each try is freshly signed, and the headers are recorded.
    let names: Vec<&str> = first.attempts[0]
        .headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert!(
        names.contains(&"x-sinch-webhook-signature")
            && names.contains(&"x-sinch-webhook-signature-nonce"),
        "{names:?}"
    );
    // An answer lost on the way back: the API sends the same callback again.
    assert!(fake.redeliver(0));
    assert!(!fake.redeliver(99));
    assert!(fake.wait_idle(WAIT).await);
    let callbacks = fake.callbacks();
    assert_eq!(callbacks[1].redelivery_of, Some(0));
    assert!(callbacks[1].delivered);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[2].1, seen[1].1, "the same body");
    assert_ne!(seen[2].0, seen[1].0, "a fresh nonce");
}
