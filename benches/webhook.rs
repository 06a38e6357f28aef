//! Receiving callbacks: parse and verify cost per callback, in one process and one run.
//!
//! A 670-byte MESSAGE_INBOUND callback, signed as Sinch signs it. Contenders on one core, in
//! turns of `WEBHOOK_CHUNK` callbacks, rotating who goes first, each one's time summed, so load
//! drift hits all alike. Ratios are to parsing the same bytes into a `serde_json::Value`:
//!
//! - `serde_json::Value`: the untyped floor a typed parse should at least match;
//! - typed through a tree: `Value` first, then `from_value` into the kind's type (what
//!   `webhook::parse` did before it skimmed the field names instead);
//! - serde's derived `Deserialize` for `MessageInboundEvent`, as if the kind were known before
//!   reading the body;
//! - `webhook::parse`: the typed parse (one pass, see `src/webhook/parse.rs`);
//! - `Verifier::verify_at`: the signature check alone;
//! - `Verifier::verify_and_parse_at`: both.
//!
//! `cargo bench --bench webhook` (env: WEBHOOK_N callbacks per contender, default 200000;
//! WEBHOOK_CHUNK, default 5000).

use serde_json::Value;
use sinch_conversation::types;
use sinch_conversation::webhook::{self, Event, Verifier};
use std::hint::black_box;
use std::time::{Duration, Instant};

const SECRET: &[u8] = b"bench-webhook-secret";
const NOW: i64 = 1_718_714_101;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A MESSAGE_INBOUND body of 670 bytes, as the API sends it (compact JSON).
fn inbound_body() -> Vec<u8> {
    let body = serde_json::json!({
        "app_id": "01HZX0APP0000000000000000A",
        "accepted_time": "2024-06-18T12:35:01.512345Z",
        "event_time": "2024-06-18T12:35:00Z",
        "project_id": "f3a2c1d0-0000-4000-8000-000000000001",
        "message": {
            "id": "01HZX0MSG00000000000000002",
            "direction": "TO_APP",
            "contact_message": {"text_message": {"text": "Can I move it to 20:00? We are two more"}},
            "channel_identity": {"channel": "WHATSAPP", "identity": "46700000001", "app_id": ""},
            "conversation_id": "01HZX0CONV0000000000000001",
            "contact_id": "01HZX0CONTACT00000000000C1",
            "metadata": "",
            "accept_time": "2024-06-18T12:35:01.512345Z",
            "sender_id": "",
            "processing_mode": "CONVERSATION",
            "injected": false
        },
        "message_metadata": "ticket T-91",
        "correlation_id": ""
    });
    serde_json::to_vec(&body).unwrap()
}

type Contender<'a> = (&'static str, Box<dyn Fn() + 'a>);

/// Runs each contender `n` times in turns of `chunk`; returns the summed time of each.
fn race(contenders: &[Contender<'_>], n: usize, chunk: usize) -> Vec<Duration> {
    let mut spent = vec![Duration::ZERO; contenders.len()];
    for (_, f) in contenders {
        for _ in 0..chunk.min(n) / 10 {
            f(); // warm-up
        }
    }
    let mut done = 0;
    let mut round = 0;
    while done < n {
        let this = chunk.min(n - done);
        for k in 0..contenders.len() {
            let i = (k + round) % contenders.len();
            let start = Instant::now();
            for _ in 0..this {
                (contenders[i].1)();
            }
            spent[i] += start.elapsed();
        }
        done += this;
        round += 1;
    }
    spent
}

fn main() {
    let n = env_usize("WEBHOOK_N", 200_000);
    let chunk = env_usize("WEBHOOK_CHUNK", 5_000);
    let body = inbound_body();
    let headers = webhook::signed_headers(SECRET, &body, "01J0BENCHNONCE000000000000", NOW);
    let verifier = Verifier::new(SECRET);

    // Every contender must agree on what the bytes are before anything is timed.
    let typed = webhook::parse(&body).unwrap();
    assert!(matches!(typed, Event::MessageInbound(_)));
    assert_eq!(
        verifier.verify_and_parse_at(&headers, &body, NOW).unwrap(),
        typed
    );

    let contenders: Vec<Contender<'_>> = vec![
        (
            "serde_json::Value (untyped floor)",
            Box::new(|| {
                black_box(serde_json::from_slice::<Value>(black_box(&body)).unwrap());
            }),
        ),
        (
            "typed through a Value tree (the old parse)",
            Box::new(|| {
                let tree: Value = serde_json::from_slice(black_box(&body)).unwrap();
                let e: types::MessageInboundEvent = serde_json::from_value(tree).unwrap();
                black_box(Event::MessageInbound(Box::new(e)));
            }),
        ),
        (
            "serde derive, kind known in advance",
            Box::new(|| {
                black_box(
                    serde_json::from_slice::<types::MessageInboundEvent>(black_box(&body)).unwrap(),
                );
            }),
        ),
        (
            "webhook::parse (typed)",
            Box::new(|| {
                black_box(webhook::parse(black_box(&body)).unwrap());
            }),
        ),
        (
            "Verifier::verify_at (signature only)",
            Box::new(|| {
                verifier.verify_at(&headers, black_box(&body), NOW).unwrap();
            }),
        ),
        (
            "Verifier::verify_and_parse_at",
            Box::new(|| {
                black_box(
                    verifier
                        .verify_and_parse_at(&headers, black_box(&body), NOW)
                        .unwrap(),
                );
            }),
        ),
    ];

    println!(
        "parse: a {}-byte MESSAGE_INBOUND, {n} per contender, turns of {chunk}, one thread",
        body.len()
    );
    let spent = race(&contenders, n, chunk);
    let floor = n as f64 / spent[0].as_secs_f64();
    for ((name, _), t) in contenders.iter().zip(&spent) {
        let rate = n as f64 / t.as_secs_f64();
        println!(
            "parse {name:<44} {:>9.0}/s  ratio to Value {:.2}",
            rate,
            rate / floor
        );
    }
}
