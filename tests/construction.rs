//! How values of the generated types are built: the build script's passes on small inputs
//! (codegen/construct.rs: `#[non_exhaustive]`, `with_*` setters, required-field companions;
//! codegen/seal.rs: sealed operation traits), then every hand-written constructor against the
//! wire shape, from our own examples in `tests/data` and, where present, the official Java SDK's
//! fixtures (`../shared/fixtures`).

#[path = "../codegen/calls.rs"]
#[allow(dead_code)]
mod calls;
#[path = "../codegen/construct.rs"]
mod construct;
#[path = "support/corpus.rs"]
#[allow(dead_code)]
mod corpus;
#[path = "../codegen/seal.rs"]
mod seal;

use serde_json::{json, Value};
use sinch_conversation::batch::types as batch;
use sinch_conversation::templates::types as templates;
use sinch_conversation::types::{self, ConversationChannel as Ch};
use std::path::Path;

/// The pass's output as tokens (to search) and as text (to show).
fn shaped(source: &str) -> (construct::Shaped, Output) {
    let mut file: syn::File = syn::parse_str(source).unwrap();
    let shaped = construct::shape_types(&mut file.items);
    (shaped, Output::of(&file))
}

struct Output {
    tokens: String,
    text: String,
}

impl Output {
    fn of(file: &syn::File) -> Output {
        Output {
            tokens: quote::quote!(#file).to_string(),
            text: prettyplease::unparse(file),
        }
    }

    /// Whether the output holds these tokens, however they are laid out.
    fn has(&self, needle: &str) -> bool {
        let squash = |s: &str| s.split_whitespace().collect::<String>();
        squash(&self.tokens).contains(&squash(needle))
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[test]
fn structs_become_non_exhaustive_with_setters_and_companions() {
    let (shaped, out) = shaped(
        r#"
        pub mod types {
            pub struct Message {
                pub app_id: ::std::string::String,
                pub recipient: Recipient,
                #[serde(skip_serializing_if = "::std::option::Option::is_none")]
                pub ttl: ::std::option::Option<::std::string::String>,
                #[serde(skip_serializing_if = "::std::option::Option::is_none")]
                pub media: ::std::option::Option<::std::boxed::Box<Media>>,
                #[serde(default, skip_serializing_if = "::std::vec::Vec::is_empty")]
                pub order: ::std::vec::Vec<Channel>,
                #[serde(default, skip_serializing_if = ":: std :: collections :: HashMap::is_empty")]
                pub properties: ::std::collections::HashMap<::std::string::String, ::std::string::String>,
                #[serde(default = "defaults::yes")]
                pub flag: bool,
                pub type_: ::std::vec::Vec<Kind>,
            }
            pub struct Recipient {
                #[serde(skip_serializing_if = "::std::option::Option::is_none")]
                pub contact_id: ::std::option::Option<::std::string::String>,
                #[serde(skip_serializing_if = "::std::option::Option::is_none")]
                pub r#type: ::std::option::Option<::std::string::String>,
                #[serde(skip_serializing_if = "::std::option::Option::is_none")]
                pub type_: ::std::option::Option<i32>,
            }
            pub struct Empty(pub ::serde_json::Map<::std::string::String, ::serde_json::Value>);
            pub mod builder {
                pub struct Message { app_id: ::std::result::Result<::std::string::String, ::std::string::String> }
            }
        }
        "#,
    );
    assert_eq!(
        shaped,
        construct::Shaped {
            structs: 2,
            setters: 8,
            companions: 1
        },
        "{out}"
    );
    // Named structs of `types` only: not the tuple struct, not the builders below.
    assert_eq!(out.text.matches("#[non_exhaustive]").count(), 2, "{out}");
    assert!(out.has("#[non_exhaustive] pub struct Message"), "{out}");
    assert!(out.has("#[non_exhaustive] pub struct Recipient"), "{out}");
    for setter in [
        // An option takes what converts into its type.
        "pub fn with_ttl(mut self, value: impl ::std::convert::Into<::std::string::String>) -> Self { self.ttl = ::std::option::Option::Some(value.into()); self }",
        // A boxed kind is taken unboxed.
        "pub fn with_media(mut self, value: impl ::std::convert::Into<Media>) -> Self { self.media = ::std::option::Option::Some(::std::boxed::Box::new(value.into())); self }",
        // Lists and maps from any iterator.
        "pub fn with_order<I>(mut self, values: I) -> Self where I: ::std::iter::IntoIterator, I::Item: ::std::convert::Into<Channel>",
        "pub fn with_properties<I, K, V>(mut self, entries: I) -> Self where I: ::std::iter::IntoIterator<Item = (K, V)>, K: ::std::convert::Into<::std::string::String>, V: ::std::convert::Into<::std::string::String>",
        "pub fn with_flag(mut self, value: impl ::std::convert::Into<bool>) -> Self { self.flag = value.into(); self }",
        // `r#type` and `type_` are both `type`: the second keeps its own name.
        "pub fn with_type(mut self, value: impl ::std::convert::Into<::std::string::String>) -> Self { self.r#type",
        "pub fn with_type_(mut self, value: impl ::std::convert::Into<i32>) -> Self { self.type_",
    ] {
        assert!(out.has(setter), "missing {setter}\n{out}");
    }
    // Required fields have no setter: they are a constructor's arguments.
    for absent in ["fn with_app_id", "fn with_recipient", "fn with_contact_id<"] {
        assert!(!out.has(absent), "{absent}\n{out}");
    }
    // The companion holds the required fields, its types resolved from one module down; the
    // conversion leaves every optional field unset (or at its serde default).
    assert!(
        out.has(
            "pub(crate) struct Message { pub(crate) app_id: ::std::string::String, pub(crate) recipient: super::Recipient, pub(crate) type_: ::std::vec::Vec<super::Kind>, }"
        ),
        "{out}"
    );
    assert!(
        out.has(
            "impl ::std::convert::From<required::Message> for Message { fn from(r: required::Message) -> Self { Self { app_id: r.app_id, recipient: r.recipient, ttl: ::std::option::Option::None, media: ::std::option::Option::None, order: ::std::default::Default::default(), properties: ::std::default::Default::default(), flag: defaults::yes(), type_: r.type_, } } }"
        ),
        "{out}"
    );
    assert!(!out.has("struct Recipient { pub(crate)"), "{out}");
}

#[test]
fn operation_traits_are_sealed() {
    let mut file: syn::File = syn::parse_str(
        "pub trait ClientMessagesExt { fn send(&self); }
         pub trait Other { fn f(&self); }
         pub struct Client;",
    )
    .unwrap();
    let sealed = seal::seal_traits(&mut file.items);
    assert_eq!(sealed.len(), 1);
    assert_eq!(sealed[0], "ClientMessagesExt");
    let out = Output::of(&file);
    assert!(
        out.has("pub trait ClientMessagesExt: crate::sealed::Sealed"),
        "{out}"
    );
    assert!(out.has("pub trait Other {"), "{out}");
    assert!(out.has("impl crate::sealed::Sealed for Client {}"), "{out}");
}

fn own(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn wire<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap()
}

/// A fixture of the official Java SDK (`corpus` picks the folder), or `None` with a note when
/// the folder is absent.
fn fixture(dir: Option<std::path::PathBuf>, name: &str) -> Option<Value> {
    let Some(dir) = dir else {
        println!("fixtures absent: {name} not compared");
        return None;
    };
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    Some(serde_json::from_str(&text).unwrap())
}

#[test]
fn messages_and_recipients() {
    let request = types::SendMessageRequest::new(
        "01HZX0APP0000000000000000A",
        types::Recipient::channels([(Ch::Whatsapp, "+46700000001"), (Ch::Sms, "+46700000001")]),
        types::AppMessage::text("Your table for two is booked for 19:30."),
    )
    .with_channel_priority_order([Ch::Whatsapp, Ch::Sms])
    .with_message_metadata("booking-8812")
    .with_correlation_id("corr-42")
    .with_ttl("600s")
    .with_queue(types::MessageQueue::HighPriority)
    .with_processing_strategy(types::ProcessingStrategy::Default);
    assert_eq!(wire(&request), own("send_text_to_phone.json"));

    let choices = types::AppMessage::choices(
        "Pick a delivery slot",
        [
            types::Choice::text("Morning").with_postback("slot=am"),
            types::Choice::url("See all slots", "https://shop.example.com/slots"),
            types::Choice::call("Call us", "+46700000002"),
        ],
    )
    .with_agent(
        types::Agent::default()
            .with_display_name("Ada")
            // Open enums convert from their wire value too.
            .with_type("HUMAN")
            .with_picture_url("https://shop.example.com/ada.png"),
    );
    let request = types::SendMessageRequest::new(
        "01HZX0APP0000000000000000A",
        types::Recipient::contact("01HZX0CONTACT00000000000C1"),
        choices,
    );
    assert_eq!(wire(&request), own("send_choice_to_contact.json"));

    assert_eq!(
        wire(&types::AppMessage::location("Office", 59.33, 18.06)),
        json!({"location_message": {"title": "Office", "coordinates": {"latitude": 59.33, "longitude": 18.06}}})
    );
    assert_eq!(
        wire(&types::AppMessage::card(
            types::CardMessage::new("t", "d").with_media("https://example.com/a.jpg")
        )),
        json!({"card_message": {"title": "t", "description": "d", "media_message": {"url": "https://example.com/a.jpg"}}})
    );
    let template = types::AppMessage::template("tpl-1", "en-US", [("name", "Ada")]);
    assert_eq!(
        wire(&template),
        json!({"template_message": {"omni_template": {"template_id": "tpl-1", "language_code": "en-US", "parameters": {"name": "Ada"}}}})
    );
    if let Some(expected) = fixture(corpus::corpus_dir(), "TemplateReferenceWithVersionDto.json") {
        let text = |k: &str| expected[k].as_str().unwrap().to_owned();
        let reference = types::TemplateReference::new(text("template_id"))
            .with_language_code(text("language_code"))
            .with_version(text("version"))
            .with_parameters([("name", expected["parameters"]["name"].as_str().unwrap())]);
        assert_eq!(wire(&reference), expected);
    }

    // A setter replaces what was there; a field set to its "unset" value is left out.
    let card = types::CardMessage::new("t", "d")
        .with_choices([types::Choice::text("a")])
        .with_choices([types::Choice::text("b")]);
    assert_eq!(card.choices.len(), 1);
    assert_eq!(
        wire(&card.with_choices(Vec::<types::Choice>::new())),
        json!({"title": "t", "description": "d"})
    );
}

#[test]
fn templates_with_translations_and_variables() {
    let english = templates::V2TemplateTranslation::text(
        "en-US",
        "Hi ${name}, your order ${order} is on its way",
    )
    .with_variables([
        templates::TemplateVariable::new("name", "Ada"),
        templates::TemplateVariable::new("order", "1234"),
    ]);
    let swedish = templates::V2TemplateTranslation::new("sv-SE")
        .with_card_message(types::CardMessage::new(
            "Hej ${name}!",
            "Order ${order} är på väg",
        ))
        .with_channel_template_overrides([(
            Ch::Whatsapp.as_str(),
            templates::ChannelTemplateOverride::new(
                types::TemplateReference::new("order_shipped")
                    .with_language_code("sv")
                    .with_version("2"),
            )
            .with_parameter_mappings([("name", "1"), ("order", "2")]),
        )]);
    let template = templates::V2Template::new("en-US", [english, swedish])
        .with_id("order-shipped")
        .with_description("Order shipped");
    assert_eq!(wire(&template), own("template_request.json"));

    // An update carries the version it replaces.
    let update = template.with_version(3);
    assert_eq!(wire(&update)["version"], 3);

    let dir = corpus::templates_corpus_dir();
    if let Some(expected) = fixture(dir.clone(), "TemplateVariableDto.json") {
        let got = templates::TemplateVariable::new(
            expected["key"].as_str().unwrap(),
            expected["preview_value"].as_str().unwrap(),
        );
        assert_eq!(wire(&got), expected);
    }
    if let Some(expected) = fixture(dir, "v2/request/TemplateV2RequestDto.json") {
        let reference = types::TemplateReference::new("another template ID")
            .with_language_code("another language")
            .with_version("another version")
            .with_parameters([(
                "name",
                "Value for the name parameter used in the version 1 and language \"en-US\" of the template",
            )]);
        let kakaotalk = types::TemplateReference::new("my template ID value")
            .with_language_code("en-US")
            .with_version("a version");
        let translation = templates::V2TemplateTranslation::new("fr-FR")
            .with_version("1")
            .with_channel_template_overrides([(
                "KAKAOTALK",
                templates::ChannelTemplateOverride::new(reference.clone())
                    .with_parameter_mappings([("a key", "a value")]),
            )])
            .with_variables([templates::TemplateVariable::new(
                "key value",
                "preview value",
            )])
            .with_template_message(
                types::TemplateMessage::default()
                    .with_channel_template([("KAKAOTALK", kakaotalk)])
                    .with_omni_template(reference),
            );
        let template = templates::V2Template::new("fr-FR", [translation])
            .with_id("template ID")
            .with_description("template description value")
            .with_version(1);
        assert_eq!(wire(&template), expected);
    }
}

#[test]
fn batch_requests() {
    let identities = |pairs: &[(Ch, &str)]| types::Recipient::channels(pairs.iter().cloned());
    let recipients = [
        batch::RecipientAndParams::new(identities(&[(Ch::Sms, "46700000001")]))
            .with_parameters([("name", "Astrid"), ("party_size", "2"), ("time", "19:00")])
            .with_message_metadata([("booking", "BK-8812")]),
        batch::RecipientAndParams::new(identities(&[
            (Ch::Whatsapp, "46700000002"),
            (Ch::Sms, "46700000002"),
        ]))
        .with_parameters([("name", "Johan"), ("party_size", "4"), ("time", "19:30")])
        .with_message_metadata([("booking", "BK-8813")]),
        batch::RecipientAndParams::new(types::Recipient::contact("01HZX0CONTACT00000000000C3"))
            .with_parameters([("name", "Maja"), ("party_size", "6"), ("time", "20:00")])
            .with_message_metadata([("booking", "BK-8814")])
            .with_conversation_metadata([("vip", "true")]),
    ];
    let send_after = "2026-06-19T09:00:00Z"
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap();
    let request = batch::SendBatchRequest::new(
        "01HZX0APP0000000000000000A",
        types::AppMessage::text(
            "Hi ${name}, your table for ${party_size} at Lindqvist Bistro is booked for ${time}. Reply STOP to opt out.",
        ),
        recipients,
    )
    .with_processing_strategy(types::ProcessingStrategy::Default)
    .with_batch_metadata([("campaign_id", "reminders-2026-06-19"), ("location", "stockholm")])
    .with_message_metadata([("source", "booking-service")])
    .with_send_after(send_after)
    .with_channel_priority_order([Ch::Whatsapp, Ch::Sms])
    .with_ttl("43200s")
    .with_correlation_id("reminders-2026-06-19");
    assert_eq!(wire(&request), own("batch/send_batch_request.json"));

    assert_eq!(
        wire(&batch::CancelBatchRequest::batch("b-1")),
        json!({"batch_id": "b-1"})
    );
    let contacts = batch::CreateContactsRequest::new([types::ContactCreateRequest::new(
        [types::ChannelIdentity::new(Ch::Sms, "+46700000001")],
        types::ContactLanguage::Sv,
    )]);
    assert_eq!(
        wire(&contacts),
        json!({"contacts": [{"channel_identities": [{"channel": "SMS", "identity": "+46700000001"}], "language": "SV"}]})
    );
    assert_eq!(
        wire(&batch::DeleteContactsRequest::new(["c1", "c2"])),
        json!({"contact_ids": ["c1", "c2"]})
    );
    let consents = batch::InsertConsentsRequest::new(
        "app",
        [batch::ConsentRecord::new("+46700000001")
            .with_consent_type(types::ConsentListType::OptOutMarketing)],
    );
    assert_eq!(
        wire(&consents),
        json!({"app_id": "app", "consent_records": [{"identification": "+46700000001", "consent_type": "OPT_OUT_MARKETING"}]})
    );
}

#[test]
fn contacts() {
    let create = types::ContactCreateRequest::new(
        [
            types::ChannelIdentity::new(Ch::Sms, "+46700000001"),
            types::ChannelIdentity::new(Ch::Messenger, "7234567890")
                .with_app_id("01HZX0APP0000000000000000A"),
        ],
        types::ContactLanguage::EnUs,
    )
    .with_channel_priority([Ch::Sms, Ch::Messenger])
    .with_display_name("Grace")
    .with_email("grace@example.com")
    .with_external_id("crm-1906")
    .with_metadata("vip");
    // The stored contact is the request plus its id.
    let mut expected = own("contact.json");
    expected.as_object_mut().unwrap().remove("id");
    assert_eq!(wire(&create), expected);

    // An update sends what changes.
    let update = types::Contact::default().with_display_name("Grace H.");
    assert_eq!(wire(&update), json!({"display_name": "Grace H."}));

    if let Some(expected) = fixture(corpus::corpus_dir(), "contacts/ContactMergeRequestDto.json") {
        let source = expected["source_id"].as_str().unwrap();
        let mut merge = types::MergeContactRequest::new(source);
        if let Some(strategy) = expected["strategy"].as_str() {
            merge = merge.with_strategy(strategy);
        }
        assert_eq!(wire(&merge), expected);
    }
}

#[test]
fn apps_and_channel_credentials() {
    // Every field of an app request, with the values `values` gives.
    let app = |name: &str, messenger: &str, sms: (&str, &str), secrets: (&str, &str)| {
        types::AppCreateRequest::new(
            name,
            [
                types::ConversationChannelCredential::static_token(Ch::Messenger, messenger)
                    .with_callback_secret(secrets.0),
                types::ConversationChannelCredential::static_bearer(Ch::Sms, sms.0, sms.1)
                    .with_callback_secret(""),
            ],
        )
        .with_conversation_metadata_report_view(types::ConversationMetadataReportView::None)
        .with_retention_policy(
            types::RetentionPolicy::default()
                .with_retention_type(types::RetentionPolicyRetentionType::ConversationExpirePolicy)
                .with_ttl_days(180),
        )
        .with_dispatch_retention_policy(
            types::DispatchRetentionPolicy::default()
                .with_retention_type(
                    types::DispatchRetentionPolicyRetentionType::MessageExpirePolicy,
                )
                .with_ttl_days(0),
        )
        .with_processing_mode(types::ProcessingMode::Dispatch)
        .with_smart_conversation(types::SmartConversation::default().with_enabled(true))
        .with_callback_settings(
            types::CallbackSettings::default().with_secret_for_overridden_callback_urls(secrets.1),
        )
    };
    let ours = app(
        "Bookings (Brazil)",
        "EAAB-page-token",
        ("service-plan-7", "sms-api-token"),
        ("messenger-callback-secret", "override-secret"),
    );
    assert_eq!(wire(&ours), own("app_create_request.json"));
    let dir = corpus::corpus_dir();
    if let Some(expected) = fixture(dir.clone(), "apps/AppCreateRequestDto.json") {
        let sdk = app(
            "Brazil App",
            "my token",
            ("my identity", "sms token"),
            ("foo value", "my secret"),
        );
        assert_eq!(wire(&sdk), expected);
    }

    // One credential per kind, each as the official SDK's fixture has it.
    let with_callback = |c: types::ConversationChannelCredential, ordinal: i32| {
        c.with_callback_secret("callback secret")
            .with_credential_ordinal_number(ordinal)
    };
    let cases = [
        (
            "credentials/ConversationChannelInstagramRequestDto.json",
            with_callback(
                types::ConversationChannelCredential::new(Ch::Instagram)
                    .with_instagram_credentials(
                        types::InstagramCredentials::new("instagramChannel token")
                            .with_business_account_id("instagramChannel business account id"),
                    ),
                0,
            ),
        ),
        (
            "credentials/ConversationChannelKakaoTalkRequestDto.json",
            with_callback(
                types::ConversationChannelCredential::new(Ch::Kakaotalk)
                    .with_kakaotalk_credentials(types::KakaoTalkCredentials::new(
                        "kakaoTalkChannel a friend id",
                        "kakaoTalkChannel a sender key",
                    )),
                0,
            ),
        ),
        (
            "credentials/ConversationChannelLineEnterpriseThailandRequestDto.json",
            with_callback(
                types::ConversationChannelCredential::new(Ch::Line)
                    .with_line_enterprise_credentials(
                        types::LineEnterpriseCredentials::default()
                            .with_line_thailand(types::LineEnterpriseRegionCredentials::new(
                                "line enterprise credentials thailand token value",
                                "line enterprise credentials thailand secret value",
                            ))
                            .with_is_default(true),
                    ),
                1,
            ),
        ),
        (
            "credentials/ConversationChannelMMSRequestDto.json",
            with_callback(
                types::ConversationChannelCredential::new(Ch::Mms).with_mms_credentials(
                    types::MmsCredentials::new(
                        "mmsChannel an account id",
                        "mmsChannel an api key",
                        types::BasicAuthCredentials::new(
                            "mmsChannel an user name",
                            "mmsChannel a password",
                        ),
                    ),
                ),
                0,
            ),
        ),
        (
            "credentials/ConversationChannelRCSRequestDto.json",
            with_callback(
                types::ConversationChannelCredential::static_bearer(
                    Ch::Rcs,
                    "rcsChannel my claimed identity",
                    "rcsChannel my token",
                ),
                0,
            ),
        ),
        (
            "credentials/ConversationChannelTelegramRequestDto.json",
            with_callback(
                types::ConversationChannelCredential::telegram("telegramChannel token"),
                0,
            ),
        ),
        (
            "credentials/ConversationChannelWeChatRequestDto.json",
            with_callback(
                types::ConversationChannelCredential::new(Ch::Wechat).with_wechat_credentials(
                    types::WeChatCredentials::new(
                        "wechatChannel app id",
                        "wechatChannel secret",
                        "wechatChannel token",
                        "wechatChannel AES key",
                    ),
                ),
                0,
            ),
        ),
    ];
    for (file, credential) in &cases {
        if let Some(expected) = fixture(dir.clone(), file) {
            assert_eq!(wire(credential), expected, "{file}");
        }
    }
    // The rest, by shape.
    assert_eq!(
        wire(&types::ConversationChannelCredential::line("t", "s")),
        json!({"channel": "LINE", "line_credentials": {"token": "t", "secret": "s"}})
    );
    assert_eq!(
        wire(&types::ConversationChannelCredential::instagram("t")),
        json!({"channel": "INSTAGRAM", "instagram_credentials": {"token": "t"}})
    );
    assert_eq!(
        wire(
            &types::ConversationChannelCredential::new(Ch::Applebc)
                .with_applebc_credentials(types::AppleBcCredentials::new("abc"))
        ),
        json!({"channel": "APPLEBC", "applebc_credentials": {"business_chat_account_id": "abc"}})
    );
    assert_eq!(
        wire(
            &types::ConversationChannelCredential::new(Ch::Kakaotalkchat)
                .with_kakaotalkchat_credentials(types::KakaoTalkChatCredentials::new("pf"))
        ),
        json!({"channel": "KAKAOTALKCHAT", "kakaotalkchat_credentials": {"kakaotalk_plus_friend_id": "pf"}})
    );
    // Updates send what changes.
    let update = types::AppUpdateRequest::default().with_display_name("Renamed");
    assert_eq!(wire(&update), json!({"display_name": "Renamed"}));
}

#[test]
fn webhooks() {
    let mut webhook = types::Webhook::new(
        "01HZX0APP0000000000000000A",
        "https://hooks.example.com/sinch",
        [
            types::WebhookTrigger::MessageInbound,
            types::WebhookTrigger::MessageDelivery,
            types::WebhookTrigger::EventInbound,
        ],
    )
    .with_target_type(types::WebhookTargetType::Http)
    .with_secret("a-webhook-secret");
    // The stored webhook is the request plus its id.
    webhook.id = Some("01HZX0WEBHOOK0000000000001".into());
    assert_eq!(wire(&webhook), own("webhook.json"));

    if let Some(expected) = fixture(
        corpus::corpus_dir(),
        "eventdestinations/request/EventDestinationRequestDto.json",
    ) {
        let webhook = types::Webhook::new(
            "an app id",
            "https://fake.url/ConversationEvent",
            [
                types::WebhookTrigger::Capability,
                types::WebhookTrigger::ChannelEvent,
                types::WebhookTrigger::ContactCreate,
                types::WebhookTrigger::Unsupported,
            ],
        )
        .with_target_type(types::WebhookTargetType::Http)
        .with_secret("my secret value")
        .with_client_credentials(
            types::WebhookClientCredentials::new(
                "a client id",
                "a client secret",
                "https://fake.url",
            )
            .with_scope("a scope")
            .with_response_type("a response type")
            .with_token_request_type(types::WebhookClientCredentialsTokenRequestType::Basic),
        );
        assert_eq!(wire(&webhook), expected);
    }
}
