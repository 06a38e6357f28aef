//! Template Management v2: a template, its translations and their variables.

use crate::generated::templates::types::{
    required, ChannelTemplateOverride, TemplateVariable, V2Template, V2TemplateTranslation,
};
use crate::types::{TemplateReference, TextMessage};

impl V2Template {
    /// A template (the body of a create or an update): its translations, and the language of
    /// the one a message that names no language gets. An update also needs the current
    /// version (`with_version`); a create may give an id (`with_id`).
    ///
    /// ```
    /// use sinch_conversation::templates::types::{TemplateVariable, V2Template, V2TemplateTranslation};
    /// let template = V2Template::new(
    ///     "en-US",
    ///     [V2TemplateTranslation::text("en-US", "Hi ${name}, your order is on its way")
    ///         .with_variables([TemplateVariable::new("name", "Ada")])],
    /// )
    /// .with_description("Order shipped");
    /// ```
    pub fn new(
        default_translation: impl Into<String>,
        translations: impl IntoIterator<Item = V2TemplateTranslation>,
    ) -> Self {
        required::V2Template {
            default_translation: default_translation.into(),
            translations: translations.into_iter().collect(),
        }
        .into()
    }
}

impl V2TemplateTranslation {
    /// A translation into `language_code` (BCP-47, such as `en-US`) with no message yet: set
    /// exactly one with a `with_*_message` setter (`with_card_message(CardMessage::new(..))`,
    /// ...).
    pub fn new(language_code: impl Into<String>) -> Self {
        required::V2TemplateTranslation {
            language_code: language_code.into(),
        }
        .into()
    }

    /// A translation into `language_code` whose message is a text; its `${name}` placeholders
    /// are filled per message (declare them with `with_variables`).
    pub fn text(language_code: impl Into<String>, text: impl Into<String>) -> Self {
        V2TemplateTranslation::new(language_code).with_text_message(TextMessage::new(text))
    }
}

impl TemplateVariable {
    /// The placeholder `key` (`${key}` in the message) and a sample value for previews.
    pub fn new(key: impl Into<String>, preview_value: impl Into<String>) -> Self {
        TemplateVariable::default()
            .with_key(key)
            .with_preview_value(preview_value)
    }
}

impl ChannelTemplateOverride {
    /// Sends the channel's own template `template` (one approved on that channel, such as a
    /// WhatsApp template) instead of the translation's message; map the translation's
    /// variables onto its parameters with `with_parameter_mappings`.
    pub fn new(template: TemplateReference) -> Self {
        ChannelTemplateOverride::default().with_template_reference(template)
    }
}
