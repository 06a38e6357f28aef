//! Sends one text message.
//!
//! ```text
//! SINCH_PROJECT_ID=... SINCH_KEY_ID=... SINCH_KEY_SECRET=... SINCH_REGION=eu \
//! SINCH_APP_ID=... SINCH_TO=+15551234567 cargo run --example send_text -- "Hello from Rust"
//! ```

use sinch_conversation::prelude::*;
use sinch_conversation::types;

const HELP: &str = "\
This example sends one SMS text through a Conversation API app. Set SINCH_PROJECT_ID, \
SINCH_KEY_ID and SINCH_KEY_SECRET to your project id and an access key from the Sinch dashboard \
(Settings > Access keys), SINCH_REGION to the region of your app (us, eu or br; default us), \
SINCH_APP_ID to the app that sends, and SINCH_TO to the recipient's phone number in E.164 form \
(+15551234567). SINCH_BASE_URL and SINCH_AUTH_URL optionally point at another server, such as a \
local fake. The message text is the first argument.";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let (client, app_id, to) = match configure() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}\n\n{HELP}");
            return std::process::ExitCode::from(2);
        }
    };
    let text = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "Hello from Rust".into());
    match send(&client, app_id, to, text).await {
        Ok(id) => {
            println!("accepted: message id {id}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sending failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn configure() -> Result<(Client, String, String)> {
    let client = Client::from_env()?;
    let var = |n: &str| {
        std::env::var(n).map_err(|_| Error::Config(format!("environment variable {n} is not set")))
    };
    Ok((client, var("SINCH_APP_ID")?, var("SINCH_TO")?))
}

async fn send(client: &Client, app_id: String, to: String, text: String) -> Result<String> {
    // Builders check required fields when the request is built; optional fields take `Some`.
    let request = types::SendMessageRequest::builder()
        .app_id(app_id)
        .recipient(
            types::Recipient::builder().identified_by(Some(types::IdentifiedBy {
                channel_identities: vec![types::ChannelRecipientIdentity {
                    channel: types::ConversationChannel::Sms,
                    identity: to,
                }],
            })),
        )
        .message(types::AppMessage::builder().text_message(Some(types::TextMessage { text })));
    let sent = client.messages_send_message().body(request).send().await?;
    Ok(sent.into_inner().message_id.unwrap_or_default())
}
