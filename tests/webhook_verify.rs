//! Callback signature verification: known vectors, every failure its own error, no panics.

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use sinch_conversation::webhook::{
    self, sign, signed_headers, SignatureError, Verifier, WebhookError, ALGORITHM_HEADER,
    NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use std::time::Duration;

const SECRET: &[u8] = b"my_secret_key";
const BODY: &[u8] = br#"{"event":"test"}"#;
const NONCE: &str = "01JHFFHWYY7HSS4FWTMDTQEK8V";
const TS: i64 = 1736760161;
const SIG: &str = "ehhrg9MUuhpJUCo2drsI3zoqWViaojp8d6RahfBY3cg=";

fn headers(sig: &str, nonce: &str, ts: &str) -> Vec<(String, String)> {
    vec![
        (SIGNATURE_HEADER.into(), sig.into()),
        (NONCE_HEADER.into(), nonce.into()),
        (TIMESTAMP_HEADER.into(), ts.into()),
        (ALGORITHM_HEADER.into(), "HmacSHA256".into()),
    ]
}

fn known() -> Vec<(String, String)> {
    headers(SIG, NONCE, &TS.to_string())
}

#[test]
fn the_published_vector() {
    assert_eq!(sign(SECRET, BODY, NONCE, TS), SIG);
    Verifier::new(SECRET).verify_at(&known(), BODY, TS).unwrap();
}

#[test]
fn vectors_of_our_own() {
    // Computed independently with Python's hmac module.
    assert_eq!(
        sign(b"another-secret", b"", "nonce-empty-body", 1700000000),
        "dRhgwDzvMo/QyQ+dhMf1w+32hiP5GvH8jx5Lu67MPR0="
    );
    let body = "{\"text\":\"Grüße 👋\"}".as_bytes();
    let secret = "clé-secrète".as_bytes();
    let sig = "GwUlbeSPYGZ91IvOHB+jA7rkk6FLw+TU0VmRW1jYksY=";
    assert_eq!(
        sign(secret, body, "01J0000000000000000000NONC", 1712345678),
        sig
    );
    let h = headers(sig, "01J0000000000000000000NONC", "1712345678");
    Verifier::new(secret)
        .verify_at(&h, body, 1712345678)
        .unwrap();
}

#[test]
fn tampered_body_wrong_secret_and_wrong_nonce_are_bad_signatures() {
    let v = Verifier::new(SECRET);
    assert_eq!(
        v.verify_at(&known(), br#"{"event":"tesT"}"#, TS),
        Err(SignatureError::BadSignature)
    );
    assert_eq!(
        v.verify_at(&known(), b"", TS),
        Err(SignatureError::BadSignature)
    );
    assert_eq!(
        Verifier::new("wrong").verify_at(&known(), BODY, TS),
        Err(SignatureError::BadSignature)
    );
    let other_nonce = headers(SIG, "01JHFFHWYY7HSS4FWTMDTQEK8W", &TS.to_string());
    assert_eq!(
        v.verify_at(&other_nonce, BODY, TS),
        Err(SignatureError::BadSignature)
    );
    // A valid signature of another body.
    let other = sign(SECRET, b"{}", NONCE, TS);
    assert_eq!(
        v.verify_at(&headers(&other, NONCE, &TS.to_string()), BODY, TS),
        Err(SignatureError::BadSignature)
    );
}

#[test]
fn stale_and_future_timestamps_are_rejected() {
    let v = Verifier::new(SECRET);
    match v.verify_at(&known(), BODY, TS + 301) {
        Err(SignatureError::StaleTimestamp {
            skew_seconds: -301,
            tolerance_seconds: 300,
        }) => {}
        other => panic!("{other:?}"),
    }
    match v.verify_at(&known(), BODY, TS - 301) {
        Err(SignatureError::StaleTimestamp {
            skew_seconds: 301, ..
        }) => {}
        other => panic!("{other:?}"),
    }
    // Exactly at the tolerance passes, either way.
    v.verify_at(&known(), BODY, TS + 300).unwrap();
    v.verify_at(&known(), BODY, TS - 300).unwrap();
}

#[test]
fn a_custom_tolerance_is_respected() {
    let v = Verifier::new(SECRET).tolerance(Duration::from_secs(10));
    v.verify_at(&known(), BODY, TS + 10).unwrap();
    assert!(matches!(
        v.verify_at(&known(), BODY, TS + 11),
        Err(SignatureError::StaleTimestamp { .. })
    ));
}

#[test]
fn the_system_clock_rejects_an_old_callback() {
    let v = Verifier::new(SECRET);
    assert!(matches!(
        v.verify(&known(), BODY),
        Err(SignatureError::StaleTimestamp { .. })
    ));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    v.verify(&signed_headers(SECRET, BODY, "n", now), BODY)
        .unwrap();
}

#[test]
fn each_missing_header_is_named() {
    let v = Verifier::new(SECRET);
    for name in [SIGNATURE_HEADER, NONCE_HEADER, TIMESTAMP_HEADER] {
        let h: Vec<_> = known().into_iter().filter(|(k, _)| k != name).collect();
        assert_eq!(
            v.verify_at(&h, BODY, TS),
            Err(SignatureError::MissingHeader(name))
        );
    }
    // The algorithm header is optional: HmacSHA256 is assumed.
    let h: Vec<_> = known()
        .into_iter()
        .filter(|(k, _)| k != ALGORITHM_HEADER)
        .collect();
    v.verify_at(&h, BODY, TS).unwrap();
}

#[test]
fn malformed_headers_and_algorithms() {
    let v = Verifier::new(SECRET);
    let h = headers(SIG, NONCE, "yesterday");
    assert!(matches!(
        v.verify_at(&h, BODY, TS),
        Err(SignatureError::MalformedHeader {
            header: TIMESTAMP_HEADER,
            ..
        })
    ));
    let h = headers("not base64!!", NONCE, &TS.to_string());
    assert!(matches!(
        v.verify_at(&h, BODY, TS),
        Err(SignatureError::MalformedHeader {
            header: SIGNATURE_HEADER,
            ..
        })
    ));
    let mut h = known();
    h[3].1 = "HmacSHA1".into();
    assert_eq!(
        v.verify_at(&h, BODY, TS),
        Err(SignatureError::UnsupportedAlgorithm("HmacSHA1".into()))
    );
    // A huge timestamp is stale, not an overflow.
    let h = headers(SIG, NONCE, &i64::MAX.to_string());
    assert!(matches!(
        v.verify_at(&h, BODY, i64::MIN),
        Err(SignatureError::StaleTimestamp { .. })
    ));
    // Non-UTF-8 bytes in a HeaderMap value.
    let mut map = header_map(&known());
    map.insert(NONCE_HEADER, HeaderValue::from_bytes(b"\xff\xfe").unwrap());
    assert!(matches!(
        v.verify_at(&map, BODY, TS),
        Err(SignatureError::MalformedHeader {
            header: NONCE_HEADER,
            ..
        })
    ));
}

fn header_map(pairs: &[(String, String)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            )
        })
        .collect()
}

#[test]
fn header_names_match_case_insensitively() {
    let v = Verifier::new(SECRET);
    let shouted: Vec<(String, String)> = known()
        .into_iter()
        .map(|(k, val)| (k.to_uppercase(), val))
        .collect();
    v.verify_at(&shouted, BODY, TS).unwrap();
    let titled = [
        ("X-Sinch-Webhook-Signature", SIG),
        ("X-Sinch-Webhook-Signature-Nonce", NONCE),
        ("X-Sinch-Webhook-Signature-Timestamp", "1736760161"),
    ];
    v.verify_at(&titled, BODY, TS).unwrap();
    v.verify_at(&header_map(&shouted), BODY, TS).unwrap();
}

#[test]
fn verify_and_parse_keeps_the_two_failures_apart() {
    let v = Verifier::new(SECRET);
    let body = br#"{"app_id":"a","contact_create_notification":{"contact":{"id":"c1"}}}"#;
    let h = signed_headers(SECRET, body, "n1", TS);
    let event = v.verify_and_parse_at(&h, body, TS).unwrap();
    assert_eq!(event.trigger(), Some("CONTACT_CREATE"));
    assert!(matches!(
        v.verify_and_parse_at(&h, b"{}", TS),
        Err(WebhookError::Signature(_))
    ));
    let junk = b"not json";
    let h = signed_headers(SECRET, junk, "n2", TS);
    assert!(matches!(
        v.verify_and_parse_at(&h, junk, TS),
        Err(WebhookError::Parse(_))
    ));
}

#[test]
fn debug_and_errors_never_show_the_secret() {
    let secret = "sup3r-s3cret-value";
    let v = Verifier::new(secret);
    assert!(!format!("{v:?}").contains(secret));
    let errors = [
        v.verify_at(&known(), BODY, TS).unwrap_err(),
        v.verify_at(&headers(SIG, NONCE, "x"), BODY, TS)
            .unwrap_err(),
        v.verify_at(&known(), BODY, 0).unwrap_err(),
    ];
    for e in errors {
        assert!(!format!("{e} {e:?}").contains(secret));
    }
}

#[test]
fn during_a_rotation_every_listed_secret_verifies_and_no_other() {
    let v = Verifier::new("new-secret").accept_also("old-secret");
    for secret in [b"new-secret".as_slice(), b"old-secret"] {
        let h = signed_headers(secret, BODY, NONCE, TS);
        v.verify_at(&h, BODY, TS).unwrap();
    }
    let h = signed_headers(b"older-secret", BODY, NONCE, TS);
    assert_eq!(v.verify_at(&h, BODY, TS), Err(SignatureError::BadSignature));
    // Each secret is still bound to the body, nonce and timestamp.
    let h = signed_headers(b"old-secret", BODY, NONCE, TS);
    assert_eq!(
        v.verify_at(&h, br#"{"event":"tesT"}"#, TS),
        Err(SignatureError::BadSignature)
    );
    // The window applies whichever secret signed.
    assert!(matches!(
        v.verify_at(&h, BODY, TS + 301),
        Err(SignatureError::StaleTimestamp { .. })
    ));
    let shown = format!("{v:?}");
    assert!(
        !shown.contains("new-secret") && !shown.contains("old-secret"),
        "{shown}"
    );
    assert!(shown.contains("2 redacted"), "{shown}");
}

#[test]
fn a_signed_request_reaches_a_handler_through_webhook_parse() {
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/callbacks/message_inbound.json"
    ))
    .unwrap();
    let h = signed_headers(b"whsec", &body, "nonce", TS);
    Verifier::new("whsec")
        .verify_at(
            &header_map(
                &h.iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect::<Vec<_>>(),
            ),
            &body,
            TS,
        )
        .unwrap();
    assert!(matches!(
        webhook::parse(&body).unwrap(),
        webhook::Event::MessageInbound(_)
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn sign_then_verify_round_trips(
        secret in proptest::collection::vec(any::<u8>(), 0..64),
        body in proptest::collection::vec(any::<u8>(), 0..256),
        nonce in "[A-Za-z0-9]{0,32}",
        ts in -10_000_000_000i64..10_000_000_000,
    ) {
        let h = signed_headers(&secret, &body, &nonce, ts);
        prop_assert!(Verifier::new(&secret).verify_at(&h, &body, ts).is_ok());
        let mut other = body.clone();
        other.push(b'x');
        prop_assert_eq!(Verifier::new(&secret).verify_at(&h, &other, ts), Err(SignatureError::BadSignature));
    }

    #[test]
    fn arbitrary_headers_and_bodies_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..256),
        sig in ".{0,64}",
        nonce in ".{0,32}",
        ts in ".{0,24}",
        alg in ".{0,16}",
        now in any::<i64>(),
        tolerance in any::<u64>(),
    ) {
        let h = [
            (SIGNATURE_HEADER, sig.as_str()),
            (NONCE_HEADER, nonce.as_str()),
            (TIMESTAMP_HEADER, ts.as_str()),
            (ALGORITHM_HEADER, alg.as_str()),
        ];
        let v = Verifier::new(b"k").tolerance(Duration::from_secs(tolerance));
        let _ = v.verify_at(&h, &body, now);
        let _ = v.verify_and_parse_at(&h, &body, now);
    }
}
