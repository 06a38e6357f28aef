//! Callback bodies -> `webhook::Event`: the right variant, the envelope, and a lossless round trip.

use proptest::prelude::*;
use serde_json::Value;
use sinch_conversation::webhook::{self, Event, ParseError};
use std::path::Path;

#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/json.rs"]
mod json;
use corpus::{corpus_dir, json_files};
use json::{canonical, first_difference};

fn parse_file(path: &Path) -> (Value, Event) {
    let bytes = std::fs::read(path).unwrap();
    let event = webhook::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (serde_json::from_slice(&bytes).unwrap(), event)
}

fn assert_round_trips(path: &Path, original: &Value, event: &Event) {
    let back = serde_json::to_value(event).unwrap();
    if let Some(d) = first_difference(&canonical(original), &canonical(&back), "") {
        panic!("{}: differs at {d}", path.display());
    }
}

/// Our own example of every kind: `tests/data/callbacks/<trigger in lower case>.json`.
#[test]
fn every_known_kind_parses_into_its_variant() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/callbacks");
    let kinds: Vec<_> = webhook::known_kinds().collect();
    assert_eq!(kinds.len(), 22);
    for (i, (_, trigger)) in kinds.iter().enumerate() {
        let path = dir.join(format!("{}.json", trigger.to_lowercase()));
        let (original, event) = parse_file(&path);
        assert_eq!(event.trigger(), Some(*trigger), "{}", path.display());
        assert_round_trips(&path, &original, &event);

        let env = event.envelope();
        assert_eq!(env.app_id, Some("01HZX0APP0000000000000000A"));
        assert_eq!(env.project_id, Some("f3a2c1d0-0000-4000-8000-000000000001"));
        assert_eq!(env.message_metadata, Some(format!("meta-{i}").as_str()));
        assert_eq!(env.correlation_id, Some(format!("corr-{i}").as_str()));
        let accepted = env.accepted_time.expect("accepted_time");
        assert_eq!(
            accepted.to_rfc3339(),
            format!("2024-07-01T09:00:{i:02}.250123+00:00")
        );
        assert!(env.event_time.is_some());
    }
}

#[test]
fn typed_fields_are_reachable() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/callbacks");
    let (_, event) = parse_file(&dir.join("message_inbound.json"));
    let Event::MessageInbound(e) = event else {
        panic!("wrong variant")
    };
    let media = e.message.contact_message.media_message.as_ref().unwrap();
    assert_eq!(media.url, "https://example.com/receipt.jpg");

    let (_, event) = parse_file(&dir.join("message_delivery.json"));
    let Event::MessageDeliveryReport(e) = event else {
        panic!("wrong variant")
    };
    assert_eq!(e.message_delivery_report.status.as_str(), "READ");
}

/// Every callback of the independent corpus, with the kind its file name says.
#[test]
fn corpus_callbacks_parse_and_round_trip() {
    let Some(dir) = corpus_dir()
        .map(|d| d.join("sinchevents"))
        .filter(|d| d.is_dir())
    else {
        println!("sinchevents corpus not found (set SINCH_FIXTURES_DIR); skipped");
        return;
    };
    let expected = [
        ("capability/CapabilityEventDto.json", "CAPABILITY"),
        ("channel/ChannelEventDto.json", "CHANNEL_EVENT"),
        ("contact/ContactDeleteEventDto.json", "CONTACT_DELETE"),
        (
            "contact/ContactIdentitiesDuplicationEventDto.json",
            "CONTACT_IDENTITIES_DUPLICATION",
        ),
        ("contact/ContactMergeEventDto.json", "CONTACT_MERGE"),
        (
            "conversation/ConversationDeleteEventDto.json",
            "CONVERSATION_DELETE",
        ),
        (
            "conversation/ConversationStartEventDto.json",
            "CONVERSATION_START",
        ),
        (
            "conversation/ConversationStopEventDto.json",
            "CONVERSATION_STOP",
        ),
        (
            "delivery/MessageDeliveryReceiptEventDto.json",
            "MESSAGE_DELIVERY",
        ),
        ("inbound/InboundContactEventDto.json", "EVENT_INBOUND"),
        (
            "inbound/InboundContactMessageEventDto.json",
            "EVENT_INBOUND",
        ),
        ("message/MessageSubmitEventDto.json", "MESSAGE_SUBMIT"),
        ("opting/OptInEventDto.json", "OPT_IN"),
        ("opting/OptOutEventDto.json", "OPT_OUT"),
        (
            "smartconversations/MessageInboundSmartConversationRedactionEventDto.json",
            "MESSAGE_INBOUND_SMART_CONVERSATION_REDACTION",
        ),
        (
            "smartconversations/SmartConversationsEventDto.json",
            "SMART_CONVERSATION",
        ),
        (
            "unsupported/UnsupportedCallbackEventDto.json",
            "UNSUPPORTED",
        ),
    ];
    let mut seen = 0;
    for rel in json_files(&dir) {
        let entry = dir.join(&rel);
        let (_, trigger) = expected
            .iter()
            .find(|(f, _)| *f == rel)
            .unwrap_or_else(|| panic!("{rel}: a callback fixture this test does not know"));
        let (original, event) = parse_file(&entry);
        assert_eq!(event.trigger(), Some(*trigger), "{rel}");
        assert_eq!(
            event.envelope().project_id,
            Some("project id value"),
            "{rel}"
        );
        assert_round_trips(&entry, &original, &event);
        seen += 1;
    }
    println!("sinchevents: {seen} callbacks parsed and round-tripped");
    assert_eq!(seen, expected.len());
}

#[test]
fn an_unknown_kind_is_kept_verbatim() {
    let body = br#"{"app_id":"a1","project_id":"p1","accepted_time":"2024-07-01T09:00:00Z",
        "hologram_notification":{"depth":3,"mode":"NEW"}}"#;
    let event = webhook::parse(body).unwrap();
    let Event::Unknown(raw) = &event else {
        panic!("expected Unknown, got {event:?}")
    };
    assert_eq!(raw["hologram_notification"]["depth"], 3);
    assert_eq!(event.trigger(), None);
    assert_eq!(event.envelope().app_id, Some("a1"));
    assert_eq!(event.envelope().project_id, Some("p1"));
    assert!(event.envelope().accepted_time.is_some());
    assert_eq!(
        serde_json::to_value(&event).unwrap(),
        serde_json::from_slice::<Value>(body).unwrap()
    );
}

#[test]
fn unknown_enum_values_inside_a_known_kind_still_parse() {
    let body =
        br#"{"app_id":"a1","message_delivery_report":{"message_id":"m1","status":"TELEPORTED",
        "channel_identity":{"channel":"HOLOCHAT","identity":"x"}}}"#;
    let Event::MessageDeliveryReport(e) = webhook::parse(body).unwrap() else {
        panic!()
    };
    assert!(e.message_delivery_report.status.is_unknown());
    assert_eq!(e.message_delivery_report.status.as_str(), "TELEPORTED");
}

#[test]
fn bad_bodies_are_errors_not_panics() {
    assert!(matches!(
        webhook::parse(b"{not json"),
        Err(ParseError::Json(_))
    ));
    assert!(matches!(webhook::parse(b""), Err(ParseError::Json(_))));
    assert!(matches!(
        webhook::parse(b"[1,2]"),
        Err(ParseError::NotAnObject)
    ));
    assert!(matches!(
        webhook::parse(b"\"text\""),
        Err(ParseError::NotAnObject)
    ));
    let wrong_shape = br#"{"app_id":"a1","message":"not an object"}"#;
    match webhook::parse(wrong_shape) {
        Err(ParseError::Invalid { kind, .. }) => assert_eq!(kind, "MESSAGE_INBOUND"),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = webhook::parse(&body);
    }

    #[test]
    fn arbitrary_objects_with_known_keys_never_panic(
        key in prop::sample::select(webhook::known_kinds().map(|(k, _)| k).collect::<Vec<_>>()),
        inner in "[ -~]{0,40}",
    ) {
        let body = format!(r#"{{"{key}": {inner:?}, "app_id": 1}}"#);
        let _ = webhook::parse(body.as_bytes());
    }
}

/// `parse` skims the field names, then deserializes the bytes straight into the kind's type.
/// It must pick the same kind and produce the same value as going through a JSON tree.
#[test]
fn the_direct_parse_agrees_with_a_parse_through_a_tree() {
    fn through_tree(body: &[u8]) -> Value {
        let tree: Value = serde_json::from_slice(body).unwrap();
        let kind = webhook::known_kinds().find(|(k, _)| tree.get(k).is_some());
        serde_json::json!({ "kind": kind.map(|(_, t)| t), "body": tree })
    }
    fn direct(body: &[u8]) -> Value {
        let event = webhook::parse(body).unwrap();
        serde_json::json!({ "kind": event.trigger(), "body": serde_json::to_value(&event).unwrap() })
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/callbacks");
    let files = json_files(&dir);
    assert_eq!(files.len(), 22);
    for name in files {
        let bytes = std::fs::read(dir.join(&name)).unwrap();
        assert_eq!(
            canonical(&direct(&bytes)),
            canonical(&through_tree(&bytes)),
            "{name}"
        );
    }
    // Precedence follows `known_kinds()`, not the order of fields in the body.
    let both = br#"{"message_delivery_report":{"message_id":"m","status":"READ"},
        "message":{"contact_message":{"text_message":{"text":"hi"}}}}"#;
    assert_eq!(
        webhook::parse(both).unwrap().trigger(),
        Some("MESSAGE_INBOUND")
    );
    // An escaped field name is the same name.
    let escaped = br#"{"mess\u0061ge":{"contact_message":{"text_message":{"text":"hi"}}}}"#;
    assert_eq!(
        webhook::parse(escaped).unwrap().trigger(),
        Some("MESSAGE_INBOUND")
    );
    // Whitespace around the object is fine; anything after it is not JSON.
    assert!(webhook::parse(b" \n{\"app_id\":\"a\"}\n ").is_ok());
    assert!(matches!(
        webhook::parse(b"{\"app_id\":\"a\"} {}"),
        Err(ParseError::Json(_))
    ));
    assert!(matches!(
        webhook::parse(b"null"),
        Err(ParseError::NotAnObject)
    ));
}
