//! Contacts: creating one, its channel identities, merging two.

use crate::types::{
    required, ChannelIdentity, ContactCreateRequest, ContactLanguage, ConversationChannel,
    MergeContactRequest,
};

impl ContactCreateRequest {
    /// A contact reachable at `channel_identities` (at least one), speaking `language`.
    ///
    /// ```
    /// use sinch_conversation::types::{ChannelIdentity, ContactCreateRequest, ContactLanguage, ConversationChannel};
    /// let contact = ContactCreateRequest::new(
    ///     [ChannelIdentity::new(ConversationChannel::Sms, "+46700000001")],
    ///     ContactLanguage::EnUs,
    /// )
    /// .with_display_name("Grace")
    /// .with_external_id("crm-1906");
    /// ```
    pub fn new(
        channel_identities: impl IntoIterator<Item = ChannelIdentity>,
        language: ContactLanguage,
    ) -> Self {
        required::ContactCreateRequest {
            channel_identities: channel_identities.into_iter().collect(),
            language,
        }
        .into()
    }
}

impl ChannelIdentity {
    /// `identity` on `channel` (for channels whose identities are per app, such as
    /// Messenger, also `with_app_id`).
    pub fn new(channel: ConversationChannel, identity: impl Into<String>) -> Self {
        required::ChannelIdentity {
            channel,
            identity: identity.into(),
        }
        .into()
    }
}

impl MergeContactRequest {
    /// Merges contact `source_id` into the contact the call names (the source is deleted).
    pub fn new(source_id: impl Into<String>) -> Self {
        required::MergeContactRequest {
            source_id: source_id.into(),
        }
        .into()
    }
}
