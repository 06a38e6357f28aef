//! Messages and recipients: one-line constructors for what most sends use. They build the
//! same generated types as the builders, so the shortest code is also the fast path; the
//! message kinds the types keep boxed are taken unboxed.

use crate::types::required;
use crate::types::{
    AppMessage, CallMessage, CardMessage, CarouselMessage, ChannelRecipientIdentity, Choice,
    ChoiceMessage, ConversationChannel, Coordinates, IdentifiedBy, LocationMessage, MediaMessage,
    Recipient, SendMessageRequest, TemplateMessage, TemplateReference, TextMessage, UrlMessage,
};

impl AppMessage {
    /// A text message.
    pub fn text(text: impl Into<String>) -> Self {
        AppMessage::default().with_text_message(TextMessage::new(text))
    }

    /// A media message (image, video, document, ...) at a public URL.
    pub fn media(url: impl Into<String>) -> Self {
        AppMessage::default().with_media_message(MediaMessage::new(url))
    }

    /// One card (see [`CardMessage::new`]).
    pub fn card(card: CardMessage) -> Self {
        AppMessage::default().with_card_message(card)
    }

    /// A carousel of cards (each a [`CardMessage`]: title, description, media, choices; see
    /// [`CardMessage::new`]).
    pub fn carousel(cards: impl IntoIterator<Item = CardMessage>) -> Self {
        AppMessage::default().with_carousel_message(CarouselMessage::new(cards))
    }

    /// A text with choices (buttons or quick replies; see [`Choice`]).
    pub fn choices(text: impl Into<String>, choices: impl IntoIterator<Item = Choice>) -> Self {
        AppMessage::default().with_choice_message(ChoiceMessage::new(text, choices))
    }

    /// A location: a title and WGS 84 coordinates.
    pub fn location(title: impl Into<String>, latitude: f64, longitude: f64) -> Self {
        AppMessage::default()
            .with_location_message(LocationMessage::new(title, latitude, longitude))
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
        let reference = TemplateReference::new(template_id)
            .with_language_code(language_code)
            .with_parameters(parameters);
        AppMessage::default()
            .with_template_message(TemplateMessage::default().with_omni_template(reference))
    }
}

impl TextMessage {
    /// A text.
    pub fn new(text: impl Into<String>) -> Self {
        required::TextMessage { text: text.into() }.into()
    }
}

impl MediaMessage {
    /// The image, video, audio or document at a public URL.
    pub fn new(url: impl Into<String>) -> Self {
        required::MediaMessage { url: url.into() }.into()
    }
}

impl LocationMessage {
    /// A location with a title, at WGS 84 coordinates.
    pub fn new(title: impl Into<String>, latitude: f64, longitude: f64) -> Self {
        let coordinates = required::Coordinates {
            latitude,
            longitude,
        };
        required::LocationMessage {
            title: title.into(),
            coordinates: Coordinates::from(coordinates),
        }
        .into()
    }
}

impl CarouselMessage {
    /// Cards shown side by side (a channel that has no carousels gets them as a list).
    pub fn new(cards: impl IntoIterator<Item = CardMessage>) -> Self {
        required::CarouselMessage {
            cards: cards.into_iter().collect(),
        }
        .into()
    }
}

impl ChoiceMessage {
    /// A text followed by choices.
    pub fn new(text: impl Into<String>, choices: impl IntoIterator<Item = Choice>) -> Self {
        ChoiceMessage::from(required::ChoiceMessage {
            choices: choices.into_iter().collect(),
        })
        .with_text_message(TextMessage::new(text))
    }
}

impl TemplateReference {
    /// Template `template_id` of the Template Management API (its latest version, the
    /// template's default translation unless `language_code` is set).
    pub fn new(template_id: impl Into<String>) -> Self {
        required::TemplateReference {
            template_id: template_id.into(),
        }
        .into()
    }
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
        CardMessage::default()
            .with_title(title)
            .with_description(description)
    }

    /// The card's image, video or document, at a public URL (sets `media_message`).
    pub fn with_media(self, url: impl Into<String>) -> Self {
        self.with_media_message(MediaMessage::new(url))
    }
}

impl Choice {
    /// A choice that answers with its text (a quick reply).
    pub fn text(text: impl Into<String>) -> Self {
        Choice::default().with_text_message(TextMessage::new(text))
    }

    /// A choice that opens `url`.
    pub fn url(title: impl Into<String>, url: impl Into<String>) -> Self {
        Choice::default().with_url_message(UrlMessage::new(title, url))
    }

    /// A choice that calls `phone_number` (E.164).
    pub fn call(title: impl Into<String>, phone_number: impl Into<String>) -> Self {
        Choice::default().with_call_message(CallMessage::new(title, phone_number))
    }

    /// The data the callback for this choice carries back when the contact picks it (sets
    /// `postback_data`).
    pub fn with_postback(self, data: impl Into<String>) -> Self {
        self.with_postback_data(data)
    }
}

impl UrlMessage {
    /// A button titled `title` that opens `url`.
    pub fn new(title: impl Into<String>, url: impl Into<String>) -> Self {
        required::UrlMessage {
            title: title.into(),
            url: url.into(),
        }
        .into()
    }
}

impl CallMessage {
    /// A button titled `title` that calls `phone_number` (E.164).
    pub fn new(title: impl Into<String>, phone_number: impl Into<String>) -> Self {
        required::CallMessage {
            title: title.into(),
            phone_number: phone_number.into(),
        }
        .into()
    }
}

impl Recipient {
    /// A contact by its id.
    pub fn contact(contact_id: impl Into<String>) -> Self {
        Recipient::default().with_contact_id(contact_id)
    }

    /// Whoever has `identity` on `channel` (a phone number in E.164 form for SMS, WhatsApp,
    /// RCS, ...); the API creates the contact if it is new.
    pub fn channel(channel: ConversationChannel, identity: impl Into<String>) -> Self {
        Recipient::channels([(channel, identity)])
    }

    /// Whoever has these identities, one per channel: the message goes out on the first
    /// channel (or the request's `channel_priority_order`) and falls back to the next.
    pub fn channels<I>(identities: impl IntoIterator<Item = (ConversationChannel, I)>) -> Self
    where
        I: Into<String>,
    {
        let channel_identities = identities
            .into_iter()
            .map(|(channel, identity)| ChannelRecipientIdentity::new(channel, identity))
            .collect();
        Recipient::default().with_identified_by(IdentifiedBy::from(required::IdentifiedBy {
            channel_identities,
        }))
    }
}

impl ChannelRecipientIdentity {
    /// `identity` on `channel`.
    pub fn new(channel: ConversationChannel, identity: impl Into<String>) -> Self {
        required::ChannelRecipientIdentity {
            channel,
            identity: identity.into(),
        }
        .into()
    }
}

impl SendMessageRequest {
    /// A request to send `message` from app `app_id` to `recipient`, every other field unset
    /// (set them with the `with_*` methods).
    ///
    /// ```
    /// use sinch_conversation::types::{AppMessage, ConversationChannel, Recipient, SendMessageRequest};
    /// let request = SendMessageRequest::new(
    ///     "01HAPP...",
    ///     Recipient::channel(ConversationChannel::Sms, "+15551234567"),
    ///     AppMessage::text("Your code is 123456"),
    /// )
    /// .with_message_metadata("otp")
    /// .with_ttl("600s");
    /// ```
    pub fn new(app_id: impl Into<String>, recipient: Recipient, message: AppMessage) -> Self {
        required::SendMessageRequest {
            app_id: app_id.into(),
            recipient,
            message,
        }
        .into()
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
            .media_message(Some(MediaMessage::new("https://example.com/v.mp4")))
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
