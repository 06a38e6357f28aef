//! The build script's `Debug` redaction (codegen/redact.rs), on small inputs and on the
//! generated types themselves.

#[path = "../codegen/redact.rs"]
mod redact;

use sinch_conversation::types;

#[test]
fn secret_names() {
    for name in [
        "token",
        "secret",
        "password",
        "client_secret",
        "callback_secret",
        "app_secret",
        "apple_pay_certificate_password",
        "secret_for_overridden_callback_urls",
        "api_key",
        "aes_key",
    ] {
        assert!(redact::is_secret(name), "{name}");
    }
    for name in [
        "next_page_token",
        "page_token",
        "flow_token",
        "key",
        "template_key",
        "item_key",
        "id",
        "r#type",
    ] {
        assert!(!redact::is_secret(name), "{name}");
    }
}

#[test]
fn derived_debug_is_replaced_only_where_a_secret_lives() {
    let mut file: syn::File = syn::parse_quote! {
        #[derive(Clone, ::std::fmt::Debug, PartialEq)]
        pub struct Creds { pub user: String, pub password: String }
        #[derive(Clone, Debug)]
        pub struct Page { pub next_page_token: String }
        pub mod builder {
            #[derive(Clone, Debug)]
            pub struct Creds { user: Result<String, String>, password: Result<String, String> }
        }
    };
    let changed = redact::redact_debug(&mut file.items);
    assert_eq!(changed, ["Creds", "Creds"]);
    let text = prettyplease::unparse(&file);
    assert!(
        text.contains("#[derive(Clone, PartialEq)]\npub struct Creds"),
        "{text}"
    );
    assert!(
        text.contains("#[derive(Clone, Debug)]\npub struct Page"),
        "{text}"
    );
    assert_eq!(
        text.matches(".field(\"password\", &\"[redacted]\")")
            .count(),
        2,
        "{text}"
    );
    assert_eq!(
        text.matches(".field(\"user\", &self.user)").count(),
        2,
        "{text}"
    );
}

#[test]
fn generated_credentials_do_not_show_their_secrets() {
    let creds = types::ConversationChannelCredential::static_bearer(
        types::ConversationChannel::Whatsapp,
        "sender-1",
        "wa-token-123",
    )
    .with_callback_secret("cb-secret-456");
    let shown = format!("{creds:?}");
    assert!(
        !shown.contains("wa-token-123") && !shown.contains("cb-secret-456"),
        "{shown}"
    );
    assert!(
        shown.contains("sender-1") && shown.contains("[redacted]"),
        "{shown}"
    );

    let webhook = types::Webhook::new(
        "a",
        "https://example.com/cb",
        [types::WebhookTrigger::MessageInbound],
    )
    .with_secret("hook-secret-789")
    .with_client_credentials(types::WebhookClientCredentials::new(
        "c",
        "oauth-secret-000",
        "https://example.com/t",
    ));
    let shown = format!("{webhook:?}");
    assert!(
        !shown.contains("hook-secret-789") && !shown.contains("oauth-secret-000"),
        "{shown}"
    );

    let builder = types::StaticBearerCredentials::builder()
        .claimed_identity("x")
        .token("builder-token-1");
    assert!(!format!("{builder:?}").contains("builder-token-1"));
}
