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
use sinch_conversation::types;

#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/json.rs"]
mod json;
use corpus::{corpus_dir, json_files};
use json::{canonical, first_difference};
use std::path::Path;

type Check = fn(&Value) -> Result<Value, String>;

fn round_trip<T: DeserializeOwned + Serialize>(v: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(v.clone()).map_err(|e| format!("deserialize: {e}"))?;
    serde_json::to_value(&typed).map_err(|e| format!("serialize: {e}"))
}

macro_rules! table {
    ($($file:literal => $ty:ident),* $(,)?) => {
        &[$(($file, round_trip::<types::$ty> as Check)),*]
    };
}

/// Fixture (relative to the corpus root) -> the generated type it represents.
const CORPUS: &[(&str, Check)] = table! {
    "AgentDto.json" => Agent,
    "ChannelIdentityDto.json" => ChannelIdentity,
    "ReasonDto.json" => Reason,
    "RecipientChannelRecipientIdentitiesDto.json" => Recipient,
    "RecipientContactIdDto.json" => Recipient,
    "TemplateReferenceFieldWithVersionDto.json" => OmniMessageOverride,
    "TemplateReferenceWithVersionDto.json" => TemplateReference,
    "TemplateReferenceWithoutVersionDto.json" => TemplateReference,
    "apps/AppCreateRequestDto.json" => AppCreateRequest,
    "apps/AppResponseDto.json" => AppResponse,
    "apps/AppUpdateRequestDto.json" => AppUpdateRequest,
    "capability/request/QueryCapabilityRequestDto.json" => QueryCapabilityRequest,
    "consents/AuditRecordsResponseDto.json" => ConsentAuditRecordsResponse,
    "consents/ConsentsListResponseDtoPage0.json" => ListConsentsResponse,
    "consents/ConsentsListResponseDtoPage1.json" => ListConsentsResponse,
    "contacts/ContactDto.json" => Contact,
    "contacts/ContactGetChannelProfileByChannelRequestDto.json" => GetChannelProfileRequest,
    "contacts/ContactGetChannelProfileByContactRequestDto.json" => GetChannelProfileRequest,
    "contacts/ContactListResponseDtoPage0.json" => ListContactsResponse,
    "contacts/ContactListResponseDtoPage1.json" => ListContactsResponse,
    "contacts/ContactMergeRequestDto.json" => MergeContactRequest,
    "contacts/IdentityConflictsDto.json" => IdentityConflict,
    "contacts/ListIdentityConflictsResponseDtoPage0.json" => ListIdentityConflictsResponse,
    "contacts/ListIdentityConflictsResponseDtoPage1.json" => ListIdentityConflictsResponse,
    "conversations/ConversationResponseDto.json" => Conversation,
    "conversations/request/CreateConversationRequestDto.json" => CreateConversationRequest,
    "conversations/request/InjectAppMessageRequestDto.json" => InjectMessageRequest,
    "conversations/request/InjectEventRequestDto.json" => InjectEventRequest,
    "conversations/response/ConversationRecentMessageDto.json" => ConversationRecentMessage,
    "conversations/response/ConversationsListRecentResponse-page-0.json" => ListRecentConversationsResponse,
    "conversations/response/ConversationsListResponse-page-0.json" => ListConversationsResponse,
    "conversations/response/ConversationsListResponse-page-1.json" => ListConversationsResponse,
    "conversations/response/ConversationsListResponse-page-2.json" => ListConversationsResponse,
    "credentials/ConversationChannelAppleBusinessChatResponseDto.json" => ConversationChannelCredential,
    "credentials/ConversationChannelInstagramRequestDto.json" => ConversationChannelCredential,
    "credentials/ConversationChannelInstagramResponseDto.json" => ConversationChannelCredential,
    "credentials/ConversationChannelKakaoTalkChatResponseDto.json" => ConversationChannelCredential,
    "credentials/ConversationChannelKakaoTalkRequestDto.json" => ConversationChannelCredential,
    "credentials/ConversationChannelKakaoTalkResponseDto.json" => ConversationChannelCredential,
    "credentials/ConversationChannelLineEnterpriseJapanResponseDto.json" => ConversationChannelCredential,
    "credentials/ConversationChannelLineEnterpriseThailandRequestDto.json" => ConversationChannelCredential,
    "credentials/ConversationChannelLineEnterpriseThailandResponseDto.json" => ConversationChannelCredential,
    "credentials/ConversationChannelLineResponseDto.json" => ConversationChannelCredential,
    "credentials/ConversationChannelMMSRequestDto.json" => ConversationChannelCredential,
    "credentials/ConversationChannelMMSResponseDto.json" => ConversationChannelCredential,
    "credentials/ConversationChannelMessengerResponseDto.json" => ConversationChannelCredential,
    "credentials/ConversationChannelRCSRequestDto.json" => ConversationChannelCredential,
    "credentials/ConversationChannelRCSResponseDto.json" => ConversationChannelCredential,
    "credentials/ConversationChannelSMSResponseDto.json" => ConversationChannelCredential,
    "credentials/ConversationChannelTelegramRequestDto.json" => ConversationChannelCredential,
    "credentials/ConversationChannelTelegramResponseDto.json" => ConversationChannelCredential,
    "credentials/ConversationChannelViberBmResponseDto.json" => ConversationChannelCredential,
    "credentials/ConversationChannelWeChatRequestDto.json" => ConversationChannelCredential,
    "credentials/ConversationChannelWeChatResponseDto.json" => ConversationChannelCredential,
    "credentials/ConversationChannelWhatsAppResponseDto.json" => ConversationChannelCredential,
    "eventdestinations/ClientCredentialsDto.json" => WebhookClientCredentials,
    "eventdestinations/request/EventDestinationRequestDto.json" => Webhook,
    "eventdestinations/response/EventDestinationsListResponseDto.json" => ListWebhooksResponse,
    "events/ConversationEventGenericEventDto.json" => ConversationEvent,
    "events/request/SendEventRequestDto.json" => SendEventRequest,
    "events/response/EventsListResponse-page-1.json" => ListEventsResponse,
    "events/response/SendEventResponseDto.json" => SendEventResponse,
    "events/types/AgentJoinedEventDto.json" => AppEvent,
    "events/types/CommentEventDto.json" => ContactEvent,
    "events/types/CommentReplyEventDto.json" => AppEvent,
    "events/types/ComposingEndEventDto.json" => AppEvent,
    "events/types/ConversationDeletedEventDto.json" => ContactEvent,
    "events/types/GenericEventDto.json" => AppEvent,
    "events/types/PaymentStatusUpdateEventDto.json" => ContactMessageEvent,
    "events/types/ShortLinkActivatedEventDto.json" => ContactMessageEvent,
    "messages/AppMessageCardDto.json" => AppMessage,
    "messages/AppMessageCarouselDto.json" => AppMessage,
    "messages/AppMessageContactInfoDto.json" => AppMessage,
    "messages/AppMessageListDto.json" => AppMessage,
    "messages/AppMessageLocationDto.json" => AppMessage,
    "messages/AppMessageTemplateDto.json" => AppMessage,
    "messages/AppMessageTextDto.json" => AppMessage,
    "messages/ChoiceItemDto.json" => ListChoiceItem,
    "messages/ContactMessageChoiceResponseDto.json" => ContactMessage,
    "messages/ContactMessageFallbackDto.json" => ContactMessage,
    "messages/ContactMessageLocationDto.json" => ContactMessage,
    "messages/ContactMessageMediaDto.json" => ContactMessage,
    "messages/ContactMessageProductResponseDto.json" => ContactMessage,
    "messages/ContactMessageTextDto.json" => ContactMessage,
    "messages/ContactMessageTextNullReplyToDto.json" => ContactMessage,
    "messages/ConversationMessageAppTextRequestDto.json" => ConversationMessage,
    "messages/ConversationMessageAppTextResponseDto.json" => ConversationMessage,
    "messages/ConversationMessageContactLocationResponseDto.json" => ConversationMessage,
    "messages/OmniMessageOverrideCardDto.json" => OmniMessageOverride,
    "messages/OmniMessageOverrideCarouselDto.json" => OmniMessageOverride,
    "messages/OmniMessageOverrideContactInfoDto.json" => OmniMessageOverride,
    "messages/OmniMessageOverrideListDto.json" => OmniMessageOverride,
    "messages/OmniMessageOverrideLocationDto.json" => OmniMessageOverride,
    "messages/OmniMessageOverrideTemplateReferenceDto.json" => OmniMessageOverride,
    "messages/OmniMessageOverrideTextDto.json" => OmniMessageOverride,
    "messages/ProductItemDto.json" => ProductItem,
    "messages/request/ListLastMessagesByChannelIdentityRequestDto.json" => ListLastMessagesByChannelIdentityRequest,
    "messages/request/MessageUpdateRequestDto.json" => UpdateMessageMetadataRequest,
    "messages/request/SendCardMessageRequestDto.json" => SendMessageRequest,
    "messages/request/SendChoiceMessageRequestDto.json" => SendMessageRequest,
    "messages/request/SendContactInfoMessageRequestDto.json" => SendMessageRequest,
    "messages/request/SendListMessageRequestDto.json" => SendMessageRequest,
    "messages/request/SendMediaMessageRequestDto.json" => SendMessageRequest,
    "messages/request/SendTemplateMessageRequestDto.json" => SendMessageRequest,
    "messages/request/SendTextMessageRequestDto.json" => SendMessageRequest,
    "messages/response/MessagesListResponse-page-1.json" => ListMessagesResponse,
    "messages/response/SendMessageResponseDto.json" => SendMessageResponse,
    "messages/types/calendar/CalendarMessageDto.json" => Choice,
    "messages/types/card/CardMessageDto.json" => AppMessage,
    "messages/types/card/CardMessageWithMessagePropertiesWhatsAppHeaderDto.json" => AppMessage,
    "messages/types/card/MessagePropertiesDto.json" => CardMessageProperties,
    "messages/types/channelspecific/ChannelSpecificMessageFlowsDto.json" => ChannelSpecificMessage,
    "messages/types/channelspecific/ChannelSpecificMessageKakaoTalkCarouselCommerceDto.json" => ChannelSpecificMessage,
    "messages/types/channelspecific/ChannelSpecificMessageKakaoTalkCommerceDto.json" => ChannelSpecificMessage,
    "messages/types/channelspecific/ChannelSpecificMessageOrderStatusDto.json" => ChannelSpecificMessage,
    "messages/types/channelspecific/kakaotalk/buttons/AppLinkButtonDto.json" => KakaoTalkButton,
    "messages/types/channelspecific/kakaotalk/buttons/BotKeywordButtonDto.json" => KakaoTalkButton,
    "messages/types/channelspecific/kakaotalk/carousel/CarouselDto.json" => KakaoTalkCarousel,
    "messages/types/channelspecific/kakaotalk/carousel/CarouselHeadDto.json" => KakaoTalkCarouselHead,
    "messages/types/channelspecific/kakaotalk/carousel/CarouselTailDto.json" => KakaoTalkCarouselTail,
    "messages/types/channelspecific/kakaotalk/commerce/DiscountFixedCommerceDto.json" => KakaoTalkCommerce,
    "messages/types/channelspecific/kakaotalk/commerce/DiscountRateCommerceDto.json" => KakaoTalkCommerce,
    "messages/types/channelspecific/kakaotalk/commerce/KakaoTalkCommerceChannelSpecificMessageDto.json" => KakaoTalkCommerceMessage,
    "messages/types/channelspecific/kakaotalk/commerce/RegularPriceCommerceDto.json" => KakaoTalkCommerce,
    "messages/types/channelspecific/kakaotalk/coupons/DiscountFixedCouponDto.json" => KakaoTalkCoupon,
    "messages/types/channelspecific/kakaotalk/coupons/DiscountRateCouponDto.json" => KakaoTalkCoupon,
    "messages/types/channelspecific/kakaotalk/coupons/FreeCouponDto.json" => KakaoTalkCoupon,
    "messages/types/channelspecific/kakaotalk/coupons/UpCouponDto.json" => KakaoTalkCoupon,
    "messages/types/channelspecific/kakaotalk/image/ImageDto.json" => KakaoTalkImage,
    "messages/types/channelspecific/whatsapp/flows/FlowChannelSpecificMessageHeaderDocumentDto.json" => WhatsAppFlowMessage,
    "messages/types/channelspecific/whatsapp/flows/FlowChannelSpecificMessageHeaderImageDto.json" => WhatsAppFlowMessage,
    "messages/types/channelspecific/whatsapp/flows/FlowChannelSpecificMessageHeaderTextDto.json" => WhatsAppFlowMessage,
    "messages/types/channelspecific/whatsapp/flows/WhatsAppInteractiveHeaderDocumentDto.json" => WhatsAppInteractiveHeader,
    "messages/types/channelspecific/whatsapp/flows/WhatsAppInteractiveHeaderImageDto.json" => WhatsAppInteractiveHeader,
    "messages/types/channelspecific/whatsapp/flows/WhatsAppInteractiveHeaderTextDto.json" => WhatsAppInteractiveHeader,
    "messages/types/channelspecific/whatsapp/nfmreply/ChannelSpecificContactMessageNfmReply.json" => ContactMessage,
    "messages/types/channelspecific/whatsapp/payment/OrderDetailsDto.json" => WhatsAppOrderDetailsMessage,
    "messages/types/channelspecific/whatsapp/payment/OrderDetailsPaymentButtonBoletoDto.json" => WhatsAppPaymentButton,
    "messages/types/channelspecific/whatsapp/payment/OrderDetailsPaymentButtonLinkDto.json" => WhatsAppPaymentButton,
    "messages/types/channelspecific/whatsapp/payment/OrderStatusDto.json" => WhatsAppOrderStatusMessage,
    "messages/types/choice/ChoiceMessageDto.json" => AppMessage,
    "messages/types/choiceresponse/ChoiceResponseMessageDto.json" => ContactMessage,
    "messages/types/contactinfo/AddressInfoDto.json" => AddressInfo,
    "messages/types/contactinfo/ContactInfoMessageDto.json" => AppMessage,
    "messages/types/contactinfo/NameInfoDto.json" => NameInfo,
    "messages/types/contactinfo/OrganizationInfoDto.json" => OrganizationInfo,
    "messages/types/contactinfo/PhoneNumberInfoDto.json" => PhoneNumberInfo,
    "messages/types/fallback/FallbackMessageDto.json" => ContactMessage,
    "messages/types/list/ListMessageChoiceDto.json" => AppMessage,
    "messages/types/list/ListMessageChoiceWithWhatsappHeaderDto.json" => AppMessage,
    "messages/types/location/CoordinatesDto.json" => Coordinates,
    "messages/types/location/LocationMessageDto.json" => AppMessage,
    "messages/types/media/MediaMessageDto.json" => AppMessage,
    "messages/types/productresponse/ProductResponseMessageDto.json" => ContactMessage,
    "messages/types/sharelocation/ShareLocationMessageDto.json" => Choice,
    "messages/types/template/TemplateMessageDto.json" => AppMessage,
    "messages/types/url/UrlMessageDto.json" => Choice,
    "projectsettings/ContactSettingsDto.json" => ContactSettings,
    "projectsettings/ProjectSettingsDto.json" => ProjectSettings,
    "projectsettings/response/ProjectSettingsResponseDto.json" => ProjectSettingsResponse,
    "sinchevents/capability/CapabilityEventDto.json" => CapabilityEvent,
    "sinchevents/channel/ChannelEventDto.json" => ChannelEvent,
    "sinchevents/contact/ContactDeleteEventDto.json" => ContactDeleteEvent,
    "sinchevents/contact/ContactIdentitiesDuplicationEventDto.json" => ContactIdentitiesDuplicationEvent,
    "sinchevents/contact/ContactMergeEventDto.json" => ContactMergeEvent,
    "sinchevents/conversation/ConversationDeleteEventDto.json" => ConversationDeleteEvent,
    "sinchevents/conversation/ConversationStartEventDto.json" => ConversationStartEvent,
    "sinchevents/conversation/ConversationStopEventDto.json" => ConversationStopEvent,
    "sinchevents/delivery/MessageDeliveryReceiptEventDto.json" => MessageDeliveryReceiptEvent,
    "sinchevents/inbound/InboundContactEventDto.json" => EventInboundEvent,
    "sinchevents/inbound/InboundContactMessageEventDto.json" => EventInboundEvent,
    "sinchevents/message/MessageSubmitEventDto.json" => MessageSubmitEvent,
    "sinchevents/opting/OptInEventDto.json" => OptInEvent,
    "sinchevents/opting/OptOutEventDto.json" => OptOutEvent,
    "sinchevents/smartconversations/MessageInboundSmartConversationRedactionEventDto.json" => MessageInboundSmartConversationRedactionEvent,
    "sinchevents/smartconversations/SmartConversationsEventDto.json" => SmartConversationsEvent,
    "sinchevents/unsupported/UnsupportedCallbackEventDto.json" => UnsupportedCallbackEvent,
    "transcoding/response/TranscodeMessageResponseDto.json" => TranscodeMessageResponse,
};

/// Files of the corpus deliberately not checked, each with its reason. Empty: none.
const EXCEPTIONS: &[(&str, &str)] = &[];

/// Our own examples (tests/data), written for this project.
const OWN: &[(&str, Check)] = table! {
    "send_text_to_phone.json" => SendMessageRequest,
    "send_choice_to_contact.json" => SendMessageRequest,
    "send_message_response.json" => SendMessageResponse,
    "contact.json" => Contact,
    "webhook.json" => Webhook,
    "callback_message_inbound.json" => MessageInboundEvent,
    "callback_delivery_failed.json" => MessageDeliveryReceiptEvent,
    "error.json" => Error,
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

#[test]
fn independent_corpus_round_trips() {
    let Some(dir) = corpus_dir() else {
        println!("fixtures: corpus not found (set SINCH_FIXTURES_DIR); skipped");
        return;
    };
    let files = json_files(&dir);
    let (mut ok, mut failed, mut unmapped) = (0, vec![], vec![]);
    for file in &files {
        if EXCEPTIONS.iter().any(|(f, _)| f == file) {
            continue;
        }
        match CORPUS.iter().find(|(f, _)| f == file) {
            None => unmapped.push(file.clone()),
            Some((_, f)) => match check(&dir, file, *f) {
                Ok(()) => ok += 1,
                Err(e) => failed.push(format!("{file}: {e}")),
            },
        }
    }
    let stale: Vec<_> = CORPUS
        .iter()
        .filter(|(f, _)| !files.iter().any(|x| x == f))
        .map(|(f, _)| *f)
        .collect();
    println!(
        "fixtures: {ok} round-tripped, {} failed, {} unmapped",
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
