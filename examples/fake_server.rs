//! The embedded fake Sinch API (Conversation, Template Management v2, Batch) as a standalone
//! server, for clients in other languages and the official SDKs.
//!
//! ```text
//! cargo run --example fake_server -- [--port 8080] [--project-id ID] [--key-id ID]
//!     [--key-secret S] [--rate-limit N|off] [--queue-rate N] [--token-ttl SECONDS]
//!     [--manual-clock]
//! ```
//!
//! It prints the URLs, the credentials, a ready app and the control endpoints (under
//! `/_fake`), then serves until stopped (Ctrl-C).

use sinch_conversation::fake::{app_request, recipients, Fake};
use sinch_conversation::types::{ConversationChannel as Ch, ProcessingMode};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str =
    "usage: fake_server [--port N] [--project-id ID] [--key-id ID] [--key-secret S] \
[--rate-limit N|off] [--queue-rate N] [--token-ttl SECONDS] [--manual-clock]";

#[tokio::main]
async fn main() -> ExitCode {
    let builder = match configure(std::env::args().skip(1)) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let fake = match builder.start().await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let channels = [
        Ch::Sms,
        Ch::Whatsapp,
        Ch::Rcs,
        Ch::Messenger,
        Ch::Viber,
        Ch::Telegram,
    ];
    let mut request = app_request("fake_server app", &channels);
    request.processing_mode = Some(ProcessingMode::Conversation);
    let app = match fake.create_app_with(&request) {
        Ok(app) => app.id.unwrap_or_default(),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    println!("Fake Sinch API listening on {}", fake.base_url());
    println!(
        "  base URL       {}   (Conversation API: /v1/projects/{{project_id}}/...)",
        fake.base_url()
    );
    println!(
        "  templates URL  {}   (Template Management v2: /v2/projects/{{project_id}}/templates)",
        fake.templates_url()
    );
    println!(
        "  batch URL      {}   (Batch API: /v1/projects/{{project_id}}/...)",
        fake.batch_url()
    );
    println!("  token URL      {}", fake.token_url());
    println!("  project id     {}", fake.project_id());
    println!("  key id         {}", fake.key_id());
    println!("  key secret     {}", fake.key_secret());
    println!("  app id         {app}   (CONVERSATION mode; SMS, WhatsApp, RCS, Messenger, Viber, Telegram)");
    println!(
        "  control        {}/_fake   (GET it for the list of endpoints)",
        fake.base_url()
    );
    println!("  test recipients:");
    for (identity, outcome) in recipients::all() {
        println!("    {identity}  {outcome}");
    }
    println!("Stop with Ctrl-C.");
    let _ = tokio::signal::ctrl_c().await;
    fake.stop();
    ExitCode::SUCCESS
}

fn configure(
    mut args: impl Iterator<Item = String>,
) -> Result<sinch_conversation::fake::FakeBuilder, String> {
    let mut b = Fake::builder().addr(SocketAddr::from(([127, 0, 0, 1], 8080)));
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        b = match flag.as_str() {
            "--port" => {
                let port = value()?
                    .parse::<u16>()
                    .map_err(|e| format!("--port: {e}"))?;
                b.addr(SocketAddr::from(([127, 0, 0, 1], port)))
            }
            "--project-id" => b.project_id(value()?),
            "--key-id" => b.key_id(value()?),
            "--key-secret" => b.key_secret(value()?),
            "--rate-limit" => match value()?.as_str() {
                "off" => b.rate_limit(None),
                n => b.rate_limit(Some(n.parse().map_err(|e| format!("--rate-limit: {e}"))?)),
            },
            "--queue-rate" => {
                b.queue_rate(value()?.parse().map_err(|e| format!("--queue-rate: {e}"))?)
            }
            "--token-ttl" => {
                let secs = value()?.parse().map_err(|e| format!("--token-ttl: {e}"))?;
                b.token_ttl(Duration::from_secs(secs))
            }
            "--manual-clock" => b.manual_clock(true),
            "-h" | "--help" => return Err("fake_server: the embedded fake API as a server".into()),
            other => return Err(format!("unknown argument {other:?}")),
        };
    }
    Ok(b)
}
