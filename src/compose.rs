//! One-line constructors for the messages and recipients most sends use. They build the same
//! generated types as the builders, so the shortest code is also the fast path, and they box
//! the message kinds the generated types keep boxed.

use crate::types::{
    AppMessage, CallMessage, CardMessage, CarouselMessage, ChannelRecipientIdentity, Choice,
    ConversationChannel, IdentifiedBy, MediaMessage, Recipient, SendMessageRequest,
    TemplateMessage, TemplateReference, TextMessage, UrlMessage,
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
            media_message: Some(media(url)),
            ..Default::default()
        }
    }

    /// A carousel of cards (each a [`CardMessage`]: title, description, media, choices; see
    /// [`CardMessage::new`]).
    pub fn carousel(cards: impl IntoIterator<Item = CardMessage>) -> Self {
        AppMessage {
            carousel_message: Some(Box::new(CarouselMessage {
                cards: cards.into_iter().collect(),
                choices: vec![],
            })),
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
            template_message: Some(Box::new(TemplateMessage {
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
            })),
            ..Default::default()
        }
    }
}

/// A media message at `url`, boxed as the message types hold it.
fn media(url: impl Into<String>) -> Box<MediaMessage> {
    Box::new(MediaMessage {
        url: url.into(),
        thumbnail_url: None,
        filename_override: None,
    })
}

impl CardMessage {
    /// A card with a title and a description; add media and choices with [`Self::with_media`]
    /// and [`Self::with_choices`].
    ///
    /// ```
    /// use sinch_conversation::types::{AppMessage, CardMessage, Choice};
    /// let card = CardMessage::new("Linen shirt", "Cut from organic linen, in six colours.")
    ///     .with_media("https://media.example.com/shirt.jpg")
    ///     .with_choices([
    ///         Choice::text("Buy now").with_postback("buy-1024"),
    ///         Choice::url("See it in the shop", "https://shop.example.com/1024"),
    ///     ]);
    /// let message = AppMessage::carousel([card.clone(), card]);
    /// ```
    pub fn new(title: impl Into<String>, description: impl Into<String>) -> Self {
        CardMessage {
            title: Some(title.into()),
            description: Some(description.into()),
            ..Default::default()
        }
    }

    /// The card's image, video or document, at a public URL.
    pub fn with_media(mut self, url: impl Into<String>) -> Self {
        self.media_message = Some(media(url));
        self
    }

    /// The card's choices (buttons), in order.
    pub fn with_choices(mut self, choices: impl IntoIterator<Item = Choice>) -> Self {
        self.choices = choices.into_iter().collect();
        self
    }
}

impl Choice {
    /// A choice that answers with its text (a quick reply).
    pub fn text(text: impl Into<String>) -> Self {
        Choice {
            text_message: Some(TextMessage { text: text.into() }),
            ..Default::default()
        }
    }

    /// A choice that opens `url`.
    pub fn url(title: impl Into<String>, url: impl Into<String>) -> Self {
        Choice {
            url_message: Some(Box::new(UrlMessage {
                title: title.into(),
                url: url.into(),
            })),
            ..Default::default()
        }
    }

    /// A choice that calls `phone_number` (E.164).
    pub fn call(title: impl Into<String>, phone_number: impl Into<String>) -> Self {
        Choice {
            call_message: Some(Box::new(CallMessage {
                title: title.into(),
                phone_number: phone_number.into(),
            })),
            ..Default::default()
        }
    }

    /// The data the callback for this choice carries back when the contact picks it.
    pub fn with_postback(mut self, data: impl Into<String>) -> Self {
        self.postback_data = Some(data.into());
        self
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    // The sizes the boxed message kinds buy (codegen/boxed.rs): each of these lists stays
    // within one small allocation (under 1 KiB, glibc's per-thread cache).
    #[test]
    fn message_types_stay_small() {
        assert!(
            10 * size_of::<CardMessage>() <= 1000,
            "{}",
            size_of::<CardMessage>()
        );
        assert!(4 * size_of::<Choice>() <= 1000, "{}", size_of::<Choice>());
        assert!(
            size_of::<SendMessageRequest>() <= 640,
            "{}",
            size_of::<SendMessageRequest>()
        );
    }

    #[test]
    fn constructors_box_what_the_types_box() {
        let card = CardMessage::new("t", "d")
            .with_media("https://example.com/a.jpg")
            .with_choices([
                Choice::text("yes").with_postback("y"),
                Choice::url("site", "https://example.com"),
            ]);
        let json = serde_json::to_value(AppMessage::carousel([card])).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"carousel_message": {"cards": [{
                "title": "t", "description": "d",
                "media_message": {"url": "https://example.com/a.jpg"},
                "choices": [
                    {"text_message": {"text": "yes"}, "postback_data": "y"},
                    {"url_message": {"title": "site", "url": "https://example.com"}}
                ]
            }]}})
        );
        // The builders take and give the unboxed kinds.
        let built: AppMessage = AppMessage::builder()
            .media_message(Some(*media("https://example.com/v.mp4")))
            .try_into()
            .unwrap();
        assert_eq!(built, AppMessage::media("https://example.com/v.mp4"));
        let back = crate::types::builder::AppMessage::from(built.clone());
        assert_eq!(AppMessage::try_from(back).unwrap(), built);
        let call = serde_json::to_value(Choice::call("Call us", "+15551234567")).unwrap();

        assert_eq!(
            call,
            serde_json::json!({"call_message": {"title": "Call us", "phone_number": "+15551234567"}})
        );
    }
}
