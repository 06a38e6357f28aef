//! One-line constructors for the messages and recipients most sends use. They build the same
//! generated types as the builders, so the shortest code is also the fast path.

use crate::types::{
    AppMessage, CardMessage, CarouselMessage, ChannelRecipientIdentity, ConversationChannel,
    IdentifiedBy, MediaMessage, Recipient, SendMessageRequest, TemplateMessage, TemplateReference,
    TextMessage,
};
use std::collections::HashMap;

impl AppMessage {
    /// A text message.
    pub fn text(text: impl Into<String>) -> Self {
        AppMessage {
            text_message: Some(TextMessage { text: text.into() }),
            ..Default::default()
        }
    }

    /// A media message (image, video, document, ...) at a public URL.
    pub fn media(url: impl Into<String>) -> Self {
        AppMessage {
            media_message: Some(MediaMessage {
                url: url.into(),
                thumbnail_url: None,
                filename_override: None,
            }),
            ..Default::default()
        }
    }

    /// A carousel of cards (each a [`CardMessage`]: title, description, media, choices).
    pub fn carousel(cards: impl IntoIterator<Item = CardMessage>) -> Self {
        AppMessage {
            carousel_message: Some(CarouselMessage {
                cards: cards.into_iter().collect(),
                choices: vec![],
            }),
            ..Default::default()
        }
    }

    /// A template message: template `template_id` (from the Template Management API) in
    /// `language_code`, its `${name}` variables filled from `parameters`. The latest version is
    /// used unless the returned message's `omni_template.version` is set.
    pub fn template<K, V>(
        template_id: impl Into<String>,
        language_code: impl Into<String>,
        parameters: impl IntoIterator<Item = (K, V)>,
    ) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        AppMessage {
            template_message: Some(TemplateMessage {
                channel_template: HashMap::new(),
                omni_template: Some(TemplateReference {
                    template_id: template_id.into(),
                    language_code: Some(language_code.into()),
                    parameters: parameters
                        .into_iter()
                        .map(|(k, v)| (k.into(), v.into()))
                        .collect(),
                    version: None,
                }),
            }),
            ..Default::default()
        }
    }
}

impl Recipient {
    /// A contact by its id.
    pub fn contact(contact_id: impl Into<String>) -> Self {
        Recipient {
            contact_id: Some(contact_id.into()),
            identified_by: None,
        }
    }

    /// Whoever has `identity` on `channel` (a phone number in E.164 form for SMS, WhatsApp,
    /// RCS, ...); the API creates the contact if it is new.
    pub fn channel(channel: ConversationChannel, identity: impl Into<String>) -> Self {
        Recipient {
            contact_id: None,
            identified_by: Some(IdentifiedBy {
                channel_identities: vec![ChannelRecipientIdentity {
                    channel,
                    identity: identity.into(),
                }],
            }),
        }
    }
}

impl SendMessageRequest {
    /// A request to send `message` from app `app_id` to `recipient`, every other field unset
    /// (set them on the returned value).
    ///
    /// ```
    /// use sinch_conversation::types::{AppMessage, ConversationChannel, Recipient, SendMessageRequest};
    /// let mut request = SendMessageRequest::new(
    ///     "01HAPP...",
    ///     Recipient::channel(ConversationChannel::Sms, "+15551234567"),
    ///     AppMessage::text("Your code is 123456"),
    /// );
    /// request.message_metadata = Some("otp".into());
    /// ```
    pub fn new(app_id: impl Into<String>, recipient: Recipient, message: AppMessage) -> Self {
        SendMessageRequest {
            app_id: app_id.into(),
            recipient,
            message,
            callback_url: None,
            channel_priority_order: vec![],
            channel_properties: HashMap::new(),
            conversation_metadata: None,
            conversation_metadata_update_strategy: None,
            correlation_id: None,
            message_content_type: None,
            message_metadata: None,
            processing_strategy: None,
            queue: None,
            ttl: None,
        }
    }
}
