//! Sends one text to a list of recipients, as fast as the API allows, with a progress bar and
//! a summary of what was sent and what failed, and why.
//!
//! ```text
//! cargo run --release --example bulk_send                       # 4,000 numbers, local fake API
//! cargo run --release --example bulk_send -- recipients.txt "Your order has shipped"   # Sinch
//! ```
//!
//! Without `--release` it is a debug build, and the example says so if that build (the client
//! and the fake sharing the CPU unoptimised) could not keep up with the limit.
//!
//! Against Sinch it needs `SINCH_PROJECT_ID`, `SINCH_KEY_ID`, `SINCH_KEY_SECRET`,
//! `SINCH_REGION`, `SINCH_APP_ID` and a file with one E.164 number per line.
//! Without them it starts the embedded fake with the API's documented limit of 800 requests/s,
//! so the client's rate limiter has something to adapt to.

use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use sinch_conversation::fake::Fake;
use sinch_conversation::prelude::*;
use sinch_conversation::types::{AppMessage, ConversationChannel, Recipient, SendMessageRequest};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

const IN_FLIGHT: usize = 64;
/// The fake's project limit: the API's documented 800 requests/s.
const LIMIT: f64 = 800.0;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let text = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "Your order has shipped".into());
    let configured = std::env::var_os("SINCH_PROJECT_ID").is_some();
    let (client, app, recipients, fake) = if configured {
        let Some(path) = args.first() else {
            eprintln!("usage: bulk_send RECIPIENTS_FILE [TEXT]  (one E.164 number per line)");
            return ExitCode::from(2);
        };
        let recipients: Vec<String> = match std::fs::read_to_string(path) {
            Ok(s) => s
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            Err(e) => {
                eprintln!("reading {path}: {e}");
                return ExitCode::from(2);
            }
        };
        let client = match Client::from_env() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("{e}\nset SINCH_PROJECT_ID, SINCH_KEY_ID, SINCH_KEY_SECRET, SINCH_REGION and SINCH_APP_ID");
                return ExitCode::from(2);
            }
        };
        let Ok(app) = std::env::var("SINCH_APP_ID") else {
            eprintln!("set SINCH_APP_ID to the app that sends");
            return ExitCode::from(2);
        };
        (client, app, recipients, None)
    } else {
        let fake = match Fake::builder().rate_limit(Some(LIMIT)).start().await {
            Ok(f) => f,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        };
        println!(
            "No SINCH_* variables: sending to the embedded fake at {} (limit 800 requests/s)",
            fake.base_url()
        );
        let app = fake.create_app("bulk_send example", &[ConversationChannel::Sms]);
        let recipients = (0..4000).map(|i| format!("+1555{i:07}")).collect();
        (fake.client(), app, recipients, Some(fake))
    };

    let requests = recipients.iter().map(|to| {
        SendMessageRequest::new(
            &app,
            Recipient::channel(ConversationChannel::Sms, to.as_str()),
            AppMessage::text(text.as_str()),
        )
    });
    let bar = ProgressBar::new(recipients.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} sent, {per_sec}, {msg}")
            .expect("a valid template"),
    );
    let started = Instant::now();
    let (mut sent, mut failed) = (0usize, BTreeMap::<String, Vec<usize>>::new());
    let mut outcomes = std::pin::pin!(client.send_all(requests, IN_FLIGHT));
    while let Some(o) = outcomes.next().await {
        match o.result {
            Ok(_) => sent += 1,
            Err(e) => failed.entry(reason(&e)).or_default().push(o.index),
        }
        bar.inc(1);
        bar.set_message(format!(
            "{} failed",
            failed.values().map(Vec::len).sum::<usize>()
        ));
    }
    bar.finish();
    let took = started.elapsed().as_secs_f64();

    println!(
        "sent {sent} of {} in {took:.1} s ({:.0} messages/s)",
        recipients.len(),
        sent as f64 / took
    );
    for (why, indexes) in &failed {
        let examples: Vec<&str> = indexes
            .iter()
            .take(3)
            .map(|&i| recipients[i].as_str())
            .collect();
        println!(
            "failed {}: {why} (e.g. {})",
            indexes.len(),
            examples.join(", ")
        );
    }
    if let Some(fake) = fake {
        let throttled = fake.requests().iter().filter(|r| r.status == 429).count();
        println!("the fake answered 429 {throttled} times; each was waited out, none was lost");
        if cfg!(debug_assertions) && (sent as f64 / took) < 0.9 * LIMIT {
            println!(
                "this debug build could not keep up with the limit: \
                 `cargo run --release --example bulk_send` shows the real speed"
            );
        }
    }
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A short, groupable reason for a failure.
fn reason(e: &Error) -> String {
    match e {
        Error::Api(api) => format!(
            "HTTP {} {}",
            api.status.as_u16(),
            api.error_status.as_deref().unwrap_or("")
        ),
        Error::Timeout(_) => "timed out (not repeated: it may have been sent)".into(),
        Error::Transport(_) => "connection failed".into(),
        other => other.to_string(),
    }
}
