//! Conformance: wire JSON -> generated type -> JSON must give the same document.
//!
//! The independent corpus is the official Java SDK's test resources (`../shared/fixtures/
//! sinch-java-v1`, or `SINCH_FIXTURES_DIR`); every file there is mapped below to the type it
//! represents. Our own examples in `tests/data/` are checked the same way in every clone.
//!
//! Equality is on JSON values with three rules, all about representation, not content:
//! an explicit `null` equals an absent field (optional fields serialize as absent); an empty list
//! equals an absent one (the API is proto3-based, where the two are the same value, and the
//! generated types leave empty optional lists out); numbers compare by value (`1.0` == `1`).

use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use sinch_conversation::templates::types as templates;
use sinch_conversation::{batch, types};

#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/json.rs"]
mod json;
use corpus::{corpus_dir, json_files, templates_corpus_dir};
use json::{canonical, first_difference};
use std::path::Path;

type Check = fn(&Value) -> Result<Value, String>;

fn round_trip<T: DeserializeOwned + Serialize>(v: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(v.clone()).map_err(|e| format!("deserialize: {e}"))?;
    serde_json::to_value(&typed).map_err(|e| format!("serialize: {e}"))
}

macro_rules! table {
    ($($file:literal => $($ty:ident)::+),* $(,)?) => {
        &[$(($file, round_trip::<$($ty)::+> as Check)),*]
    };
}

/// Fixture (relative to the corpus root) -> the generated type it represents.
const CORPUS: &[(&str, Check)] = table! {
    "AgentDto.json" => types::Agent,
    "ChannelIdentityDto.json" => types::ChannelIdentity,
    "ReasonDto.json" => types::Reason,
    "RecipientChannelRecipientIdentitiesDto.json" => types::Recipient,
    "RecipientContactIdDto.json" => types::Recipient,
    "TemplateReferenceFieldWithVersionDto.json" => types::OmniMessageOverride,
    "TemplateReferenceWithVersionDto.json" => types::TemplateReference,
    "TemplateReferenceWithoutVersionDto.json" => types::TemplateReference,
    "apps/AppCreateRequestDto.json" => types::AppCreateRequest,
    "apps/AppResponseDto.json" => types::AppResponse,
    "apps/AppUpdateRequestDto.json" => types::AppUpdateRequest,
    "capability/request/QueryCapabilityRequestDto.json" => types::QueryCapabilityRequest,
    "consents/AuditRecordsResponseDto.json" => types::ConsentAuditRecordsResponse,
    "consents/ConsentsListResponseDtoPage0.json" => types::ListConsentsResponse,
    "consents/ConsentsListResponseDtoPage1.json" => types::ListConsentsResponse,
    "contacts/ContactDto.json" => types::Contact,
    "contacts/ContactGetChannelProfileByChannelRequestDto.json" => types::GetChannelProfileRequest,
    "contacts/ContactGetChannelProfileByContactRequestDto.json" => types::GetChannelProfileRequest,
    "contacts/ContactListResponseDtoPage0.json" => types::ListContactsResponse,
    "contacts/ContactListResponseDtoPage1.json" => types::ListContactsResponse,
    "contacts/ContactMergeRequestDto.json" => types::MergeContactRequest,
    "contacts/IdentityConflictsDto.json" => types::IdentityConflict,
    "contacts/ListIdentityConflictsResponseDtoPage0.json" => types::ListIdentityConflictsResponse,
    "contacts/ListIdentityConflictsResponseDtoPage1.json" => types::ListIdentityConflictsResponse,
    "conversations/ConversationResponseDto.json" => types::Conversation,
    "conversations/request/CreateConversationRequestDto.json" => types::CreateConversationRequest,
    "conversations/request/InjectAppMessageRequestDto.json" => types::InjectMessageRequest,
    "conversations/request/InjectEventRequestDto.json" => types::InjectEventRequest,
    "conversations/response/ConversationRecentMessageDto.json" => types::ConversationRecentMessage,
    "conversations/response/ConversationsListRecentResponse-page-0.json" => types::ListRecentConversationsResponse,
    "conversations/response/ConversationsListResponse-page-0.json" => types::ListConversationsResponse,
    "conversations/response/ConversationsListResponse-page-1.json" => types::ListConversationsResponse,
    "conversations/response/ConversationsListResponse-page-2.json" => types::ListConversationsResponse,
    "credentials/ConversationChannelAppleBusinessChatResponseDto.json" => types::ConversationChannelCredential,
    "credentials/ConversationChannelInstagramRequestDto.json" => types::ConversationChannelCredential,
    "credentials/ConversationChannelInstagramResponseDto.json" => types::ConversationChannelCredential,
    "credentials/ConversationChannelKakaoTalkChatResponseDto.json" => types::ConversationChannelCredential,
    "credentials/ConversationChannelKakaoTalkRequestDto.json" => types::ConversationChannelCredential,
    "credentials/ConversationChannelKakaoTalkResponseDto.json" => types::ConversationChannelCredential,
    "credentials/ConversationChannelLineEnterpriseJapanResponseDto.json" => types::ConversationChannelCredential,
    "credentials/ConversationChannelLineEnterpriseThailandRequestDto.json" => types::ConversationChannelCredential,
    "credentials/ConversationChannelLineEnterpriseThailandResponseDto.json" => types::ConversationChannelCredential,
    "credentials/ConversationChannelLineResponseDto.json" => types::ConversationChannelCredential,
    "credentials/ConversationChannelMMSRequestDto.json" => types::ConversationChannelCredential,
    "credentials/ConversationChannelMMSResponseDto.json" => types::ConversationChannelCredential,
    "credentials/ConversationChannelMessengerResponseDto.json" => types::ConversationChannelCredential,
    "credentials/ConversationChannelRCSRequestDto.json" => types::ConversationChannelCredential,
    "credentials/ConversationChannelRCSResponseDto.json" => types::ConversationChannelCredential,
    "credentials/ConversationChannelSMSResponseDto.json" => types::ConversationChannelCredential,
    "credentials/ConversationChannelTelegramRequestDto.json" => types::ConversationChannelCredential,
    "credentials/ConversationChannelTelegramResponseDto.json" => types::ConversationChannelCredential,
    "credentials/ConversationChannelViberBmResponseDto.json" => types::ConversationChannelCredential,
    "credentials/ConversationChannelWeChatRequestDto.json" => types::ConversationChannelCredential,
    "credentials/ConversationChannelWeChatResponseDto.json" => types::ConversationChannelCredential,
    "credentials/ConversationChannelWhatsAppResponseDto.json" => types::ConversationChannelCredential,
    "eventdestinations/ClientCredentialsDto.json" => types::WebhookClientCredentials,
    "eventdestinations/request/EventDestinationRequestDto.json" => types::Webhook,
    "eventdestinations/response/EventDestinationsListResponseDto.json" => types::ListWebhooksResponse,
    "events/ConversationEventGenericEventDto.json" => types::ConversationEvent,
    "events/request/SendEventRequestDto.json" => types::SendEventRequest,
    "events/response/EventsListResponse-page-1.json" => types::ListEventsResponse,
    "events/response/SendEventResponseDto.json" => types::SendEventResponse,
    "events/types/AgentJoinedEventDto.json" => types::AppEvent,
    "events/types/CommentEventDto.json" => types::ContactEvent,
    "events/types/CommentReplyEventDto.json" => types::AppEvent,
    "events/types/ComposingEndEventDto.json" => types::AppEvent,
    "events/types/ConversationDeletedEventDto.json" => types::ContactEvent,
    "events/types/GenericEventDto.json" => types::AppEvent,
    "events/types/PaymentStatusUpdateEventDto.json" => types::ContactMessageEvent,
    "events/types/ShortLinkActivatedEventDto.json" => types::ContactMessageEvent,
    "messages/AppMessageCardDto.json" => types::AppMessage,
    "messages/AppMessageCarouselDto.json" => types::AppMessage,
    "messages/AppMessageContactInfoDto.json" => types::AppMessage,
    "messages/AppMessageListDto.json" => types::AppMessage,
    "messages/AppMessageLocationDto.json" => types::AppMessage,
    "messages/AppMessageTemplateDto.json" => types::AppMessage,
    "messages/AppMessageTextDto.json" => types::AppMessage,
    "messages/ChoiceItemDto.json" => types::ListChoiceItem,
    "messages/ContactMessageChoiceResponseDto.json" => types::ContactMessage,
    "messages/ContactMessageFallbackDto.json" => types::ContactMessage,
    "messages/ContactMessageLocationDto.json" => types::ContactMessage,
    "messages/ContactMessageMediaDto.json" => types::ContactMessage,
    "messages/ContactMessageProductResponseDto.json" => types::ContactMessage,
    "messages/ContactMessageTextDto.json" => types::ContactMessage,
    "messages/ContactMessageTextNullReplyToDto.json" => types::ContactMessage,
    "messages/ConversationMessageAppTextRequestDto.json" => types::ConversationMessage,
    "messages/ConversationMessageAppTextResponseDto.json" => types::ConversationMessage,
    "messages/ConversationMessageContactLocationResponseDto.json" => types::ConversationMessage,
    "messages/OmniMessageOverrideCardDto.json" => types::OmniMessageOverride,
    "messages/OmniMessageOverrideCarouselDto.json" => types::OmniMessageOverride,
    "messages/OmniMessageOverrideContactInfoDto.json" => types::OmniMessageOverride,
    "messages/OmniMessageOverrideListDto.json" => types::OmniMessageOverride,
    "messages/OmniMessageOverrideLocationDto.json" => types::OmniMessageOverride,
    "messages/OmniMessageOverrideTemplateReferenceDto.json" => types::OmniMessageOverride,
    "messages/OmniMessageOverrideTextDto.json" => types::OmniMessageOverride,
    "messages/ProductItemDto.json" => types::ProductItem,
    "messages/request/ListLastMessagesByChannelIdentityRequestDto.json" => types::ListLastMessagesByChannelIdentityRequest,
    "messages/request/MessageUpdateRequestDto.json" => types::UpdateMessageMetadataRequest,
    "messages/request/SendCardMessageRequestDto.json" => types::SendMessageRequest,
    "messages/request/SendChoiceMessageRequestDto.json" => types::SendMessageRequest,
    "messages/request/SendContactInfoMessageRequestDto.json" => types::SendMessageRequest,
    "messages/request/SendListMessageRequestDto.json" => types::SendMessageRequest,
    "messages/request/SendMediaMessageRequestDto.json" => types::SendMessageRequest,
    "messages/request/SendTemplateMessageRequestDto.json" => types::SendMessageRequest,
    "messages/request/SendTextMessageRequestDto.json" => types::SendMessageRequest,
    "messages/response/MessagesListResponse-page-1.json" => types::ListMessagesResponse,
    "messages/response/SendMessageResponseDto.json" => types::SendMessageResponse,
    "messages/types/calendar/CalendarMessageDto.json" => types::Choice,
    "messages/types/card/CardMessageDto.json" => types::AppMessage,
    "messages/types/card/CardMessageWithMessagePropertiesWhatsAppHeaderDto.json" => types::AppMessage,
    "messages/types/card/MessagePropertiesDto.json" => types::CardMessageProperties,
    "messages/types/channelspecific/ChannelSpecificMessageFlowsDto.json" => types::ChannelSpecificMessage,
    "messages/types/channelspecific/ChannelSpecificMessageKakaoTalkCarouselCommerceDto.json" => types::ChannelSpecificMessage,
    "messages/types/channelspecific/ChannelSpecificMessageKakaoTalkCommerceDto.json" => types::ChannelSpecificMessage,
    "messages/types/channelspecific/ChannelSpecificMessageOrderStatusDto.json" => types::ChannelSpecificMessage,
    "messages/types/channelspecific/kakaotalk/buttons/AppLinkButtonDto.json" => types::KakaoTalkButton,
    "messages/types/channelspecific/kakaotalk/buttons/BotKeywordButtonDto.json" => types::KakaoTalkButton,
    "messages/types/channelspecific/kakaotalk/carousel/CarouselDto.json" => types::KakaoTalkCarousel,
    "messages/types/channelspecific/kakaotalk/carousel/CarouselHeadDto.json" => types::KakaoTalkCarouselHead,
    "messages/types/channelspecific/kakaotalk/carousel/CarouselTailDto.json" => types::KakaoTalkCarouselTail,
    "messages/types/channelspecific/kakaotalk/commerce/DiscountFixedCommerceDto.json" => types::KakaoTalkCommerce,
    "messages/types/channelspecific/kakaotalk/commerce/DiscountRateCommerceDto.json" => types::KakaoTalkCommerce,
    "messages/types/channelspecific/kakaotalk/commerce/KakaoTalkCommerceChannelSpecificMessageDto.json" => types::KakaoTalkCommerceMessage,
    "messages/types/channelspecific/kakaotalk/commerce/RegularPriceCommerceDto.json" => types::KakaoTalkCommerce,
    "messages/types/channelspecific/kakaotalk/coupons/DiscountFixedCouponDto.json" => types::KakaoTalkCoupon,
    "messages/types/channelspecific/kakaotalk/coupons/DiscountRateCouponDto.json" => types::KakaoTalkCoupon,
    "messages/types/channelspecific/kakaotalk/coupons/FreeCouponDto.json" => types::KakaoTalkCoupon,
    "messages/types/channelspecific/kakaotalk/coupons/UpCouponDto.json" => types::KakaoTalkCoupon,
    "messages/types/channelspecific/kakaotalk/image/ImageDto.json" => types::KakaoTalkImage,
    "messages/types/channelspecific/whatsapp/flows/FlowChannelSpecificMessageHeaderDocumentDto.json" => types::WhatsAppFlowMessage,
    "messages/types/channelspecific/whatsapp/flows/FlowChannelSpecificMessageHeaderImageDto.json" => types::WhatsAppFlowMessage,
    "messages/types/channelspecific/whatsapp/flows/FlowChannelSpecificMessageHeaderTextDto.json" => types::WhatsAppFlowMessage,
    "messages/types/channelspecific/whatsapp/flows/WhatsAppInteractiveHeaderDocumentDto.json" => types::WhatsAppInteractiveHeader,
    "messages/types/channelspecific/whatsapp/flows/WhatsAppInteractiveHeaderImageDto.json" => types::WhatsAppInteractiveHeader,
    "messages/types/channelspecific/whatsapp/flows/WhatsAppInteractiveHeaderTextDto.json" => types::WhatsAppInteractiveHeader,
    "messages/types/channelspecific/whatsapp/nfmreply/ChannelSpecificContactMessageNfmReply.json" => types::ContactMessage,
    "messages/types/channelspecific/whatsapp/payment/OrderDetailsDto.json" => types::WhatsAppOrderDetailsMessage,
    "messages/types/channelspecific/whatsapp/payment/OrderDetailsPaymentButtonBoletoDto.json" => types::WhatsAppPaymentButton,
    "messages/types/channelspecific/whatsapp/payment/OrderDetailsPaymentButtonLinkDto.json" => types::WhatsAppPaymentButton,
    "messages/types/channelspecific/whatsapp/payment/OrderStatusDto.json" => types::WhatsAppOrderStatusMessage,
    "messages/types/choice/ChoiceMessageDto.json" => types::AppMessage,
    "messages/types/choiceresponse/ChoiceResponseMessageDto.json" => types::ContactMessage,
    "messages/types/contactinfo/AddressInfoDto.json" => types::AddressInfo,
    "messages/types/contactinfo/ContactInfoMessageDto.json" => types::AppMessage,
    "messages/types/contactinfo/NameInfoDto.json" => types::NameInfo,
    "messages/types/contactinfo/OrganizationInfoDto.json" => types::OrganizationInfo,
    "messages/types/contactinfo/PhoneNumberInfoDto.json" => types::PhoneNumberInfo,
    "messages/types/fallback/FallbackMessageDto.json" => types::ContactMessage,
    "messages/types/list/ListMessageChoiceDto.json" => types::AppMessage,
    "messages/types/list/ListMessageChoiceWithWhatsappHeaderDto.json" => types::AppMessage,
    "messages/types/location/CoordinatesDto.json" => types::Coordinates,
    "messages/types/location/LocationMessageDto.json" => types::AppMessage,
    "messages/types/media/MediaMessageDto.json" => types::AppMessage,
    "messages/types/productresponse/ProductResponseMessageDto.json" => types::ContactMessage,
    "messages/types/sharelocation/ShareLocationMessageDto.json" => types::Choice,
    "messages/types/template/TemplateMessageDto.json" => types::AppMessage,
    "messages/types/url/UrlMessageDto.json" => types::Choice,
    "projectsettings/ContactSettingsDto.json" => types::ContactSettings,
    "projectsettings/ProjectSettingsDto.json" => types::ProjectSettings,
    "projectsettings/response/ProjectSettingsResponseDto.json" => types::ProjectSettingsResponse,
    "sinchevents/capability/CapabilityEventDto.json" => types::CapabilityEvent,
    "sinchevents/channel/ChannelEventDto.json" => types::ChannelEvent,
    "sinchevents/contact/ContactDeleteEventDto.json" => types::ContactDeleteEvent,
    "sinchevents/contact/ContactIdentitiesDuplicationEventDto.json" => types::ContactIdentitiesDuplicationEvent,
    "sinchevents/contact/ContactMergeEventDto.json" => types::ContactMergeEvent,
    "sinchevents/conversation/ConversationDeleteEventDto.json" => types::ConversationDeleteEvent,
    "sinchevents/conversation/ConversationStartEventDto.json" => types::ConversationStartEvent,
    "sinchevents/conversation/ConversationStopEventDto.json" => types::ConversationStopEvent,
    "sinchevents/delivery/MessageDeliveryReceiptEventDto.json" => types::MessageDeliveryReceiptEvent,
    "sinchevents/inbound/InboundContactEventDto.json" => types::EventInboundEvent,
    "sinchevents/inbound/InboundContactMessageEventDto.json" => types::EventInboundEvent,
    "sinchevents/message/MessageSubmitEventDto.json" => types::MessageSubmitEvent,
    "sinchevents/opting/OptInEventDto.json" => types::OptInEvent,
    "sinchevents/opting/OptOutEventDto.json" => types::OptOutEvent,
    "sinchevents/smartconversations/MessageInboundSmartConversationRedactionEventDto.json" => types::MessageInboundSmartConversationRedactionEvent,
    "sinchevents/smartconversations/SmartConversationsEventDto.json" => types::SmartConversationsEvent,
    "sinchevents/unsupported/UnsupportedCallbackEventDto.json" => types::UnsupportedCallbackEvent,
    "transcoding/response/TranscodeMessageResponseDto.json" => types::TranscodeMessageResponse,
};

/// Files of the corpus deliberately not checked, each with its reason. Empty: none.
const EXCEPTIONS: &[(&str, &str)] = &[];

/// Our own examples (tests/data), written for this project.
const OWN: &[(&str, Check)] = table! {
    "send_text_to_phone.json" => types::SendMessageRequest,
    "send_choice_to_contact.json" => types::SendMessageRequest,
    "send_message_response.json" => types::SendMessageResponse,
    "contact.json" => types::Contact,
    "webhook.json" => types::Webhook,
    "callback_message_inbound.json" => types::MessageInboundEvent,
    "callback_delivery_failed.json" => types::MessageDeliveryReceiptEvent,
    "error.json" => types::Error,
    "whatsapp_order_details_deprecated_payment_settings.json" => types::WhatsAppOrderDetailsMessage,
    "batch/send_batch_request.json" => batch::types::SendBatchRequest,
    "batch/batch_status.json" => batch::types::Batch,
    "batch/batch_status_callback.json" => types::BatchStatusUpdateEvent,
};

/// The Template Management API v2 fixtures (`../shared/fixtures/sinch-java-templates-v2`, or
/// `SINCH_TEMPLATES_FIXTURES_DIR`), from the same SDK's test resources.
const TEMPLATES_CORPUS: &[(&str, Check)] = table! {
    "TemplateVariableDto.json" => templates::TemplateVariable,
    "v2/ChannelTemplateOverrideWithVersionDto.json" => templates::ChannelTemplateOverride,
    "v2/request/TemplateTranslationV2RequestDto.json" => templates::V2TemplateTranslation,
    "v2/request/TemplateV2RequestDto.json" => templates::V2Template,
    "v2/response/TemplateV2ResponseDto.json" => templates::V2TemplateResponse,
    "v2/response/TemplatesV2ListResponseDto.json" => templates::V2ListTemplatesResponse,
};

fn check(dir: &Path, file: &str, f: Check) -> Result<(), String> {
    let text = std::fs::read_to_string(dir.join(file)).map_err(|e| format!("read: {e}"))?;
    let original: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    let back = f(&original)?;
    match first_difference(&canonical(&original), &canonical(&back), "") {
        None => Ok(()),
        Some(d) => Err(format!("differs at {d}")),
    }
}

/// Checks every file of a corpus against its table and prints one summary line; fails on a
/// difference, an unmapped file or a mapped file that is missing.
fn run_corpus(
    label: &str,
    dir: Option<std::path::PathBuf>,
    table: &[(&str, Check)],
    exceptions: &[(&str, &str)],
) {
    let Some(dir) = dir else {
        println!("{label}: corpus not found; skipped (see tests/support/corpus.rs for the folder variables)");
        return;
    };
    let files = json_files(&dir);
    let (mut ok, mut failed, mut unmapped) = (0, vec![], vec![]);
    for file in &files {
        if exceptions.iter().any(|(f, _)| f == file) {
            continue;
        }
        match table.iter().find(|(f, _)| f == file) {
            None => unmapped.push(file.clone()),
            Some((_, f)) => match check(&dir, file, *f) {
                Ok(()) => ok += 1,
                Err(e) => failed.push(format!("{file}: {e}")),
            },
        }
    }
    let stale: Vec<_> = table
        .iter()
        .filter(|(f, _)| !files.iter().any(|x| x == f))
        .map(|(f, _)| *f)
        .collect();
    println!(
        "{label}: {ok} round-tripped, {} failed, {} unmapped",
        failed.len(),
        unmapped.len()
    );
    for f in &failed {
        println!("  failed: {f}");
    }
    for u in &unmapped {
        println!("  unmapped: {u}");
    }
    assert!(
        failed.is_empty() && unmapped.is_empty(),
        "{failed:#?}\n{unmapped:#?}"
    );
    assert!(
        stale.is_empty(),
        "mapped files missing from the corpus: {stale:?}"
    );
}

#[test]
fn independent_corpus_round_trips() {
    run_corpus("fixtures", corpus_dir(), CORPUS, EXCEPTIONS);
}

#[test]
fn templates_corpus_round_trips() {
    run_corpus(
        "templates fixtures",
        templates_corpus_dir(),
        TEMPLATES_CORPUS,
        &[],
    );
}

#[test]
fn own_examples_round_trip() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let failed: Vec<_> = OWN
        .iter()
        .filter_map(|(file, f)| check(&dir, file, *f).err().map(|e| format!("{file}: {e}")))
        .collect();
    println!(
        "own examples: {} round-tripped, {} failed",
        OWN.len() - failed.len(),
        failed.len()
    );
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn the_comparison_catches_real_differences() {
    let a = serde_json::json!({"x": 1, "y": null, "e": [], "z": [1.5, {"k": "v"}]});
    let same = serde_json::json!({"x": 1.0, "z": [1.5, {"k": "v"}]});
    assert_eq!(
        first_difference(&canonical(&a), &canonical(&same), ""),
        None
    );
    let dropped = serde_json::json!({"x": 1, "z": [1.5, {}]});
    assert_eq!(
        first_difference(&canonical(&a), &canonical(&dropped), ""),
        Some("/z/1/k: dropped".into())
    );
    let changed = serde_json::json!({"x": 2, "z": [1.5, {"k": "v"}]});
    assert!(first_difference(&canonical(&a), &canonical(&changed), "").is_some());
    // An empty object is content (e.g. `composing_event: {}`), not absence.
    let emptied = serde_json::json!({"x": 1, "z": [1.5, {"k": "v"}], "o": {}});
    assert!(first_difference(&canonical(&same), &canonical(&emptied), "").is_some());
}
