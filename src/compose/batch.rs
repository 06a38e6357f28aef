//! The Batch API: a message for many recipients with their parameters, bulk contacts and
//! consent records.

use crate::generated::batch::types::{
    required, CancelBatchRequest, ConsentRecord, CreateContactsRequest, DeleteContactsRequest,
    InsertConsentsRequest, RecipientAndParams, SendBatchRequest,
};
use crate::types::{AppMessage, ContactCreateRequest, Recipient};

impl SendBatchRequest {
    /// `message` from app `app_id` to each of `recipients` (1 to 1,000), its `${name}`
    /// placeholders filled from each recipient's parameters. Schedule it with
    /// `with_send_after`, label it with `with_batch_metadata`.
    ///
    /// ```
    /// use sinch_conversation::batch::types::{RecipientAndParams, SendBatchRequest};
    /// use sinch_conversation::types::{AppMessage, Recipient};
    /// let batch = SendBatchRequest::new(
    ///     "01HAPP...",
    ///     AppMessage::text("Hi ${name}, see you at ${time}"),
    ///     [
    ///         RecipientAndParams::new(Recipient::contact("01CONTACTA"))
    ///             .with_parameters([("name", "Ada"), ("time", "10:00")]),
    ///         RecipientAndParams::new(Recipient::contact("01CONTACTB"))
    ///             .with_parameters([("name", "Linus"), ("time", "11:30")]),
    ///     ],
    /// )
    /// .with_batch_metadata([("campaign", "december-reminders")]);
    /// ```
    pub fn new(
        app_id: impl Into<String>,
        message: AppMessage,
        recipients: impl IntoIterator<Item = RecipientAndParams>,
    ) -> Self {
        required::SendBatchRequest {
            app_id: app_id.into(),
            message,
            recipient_and_params: recipients.into_iter().collect(),
        }
        .into()
    }
}

impl RecipientAndParams {
    /// One recipient of a batch; its placeholder values with `with_parameters`.
    pub fn new(recipient: Recipient) -> Self {
        required::RecipientAndParams { recipient }.into()
    }
}

impl CancelBatchRequest {
    /// Cancels the scheduled batch `batch_id`.
    pub fn batch(batch_id: impl Into<String>) -> Self {
        CancelBatchRequest::default().with_batch_id(batch_id)
    }
}

impl CreateContactsRequest {
    /// Creates `contacts` (1 to 1,000; see [`ContactCreateRequest::new`]).
    pub fn new(contacts: impl IntoIterator<Item = ContactCreateRequest>) -> Self {
        required::CreateContactsRequest {
            contacts: contacts.into_iter().collect(),
        }
        .into()
    }
}

impl DeleteContactsRequest {
    /// Deletes the contacts with these ids (up to 1,000).
    pub fn new(contact_ids: impl IntoIterator<Item = impl Into<String>>) -> Self {
        required::DeleteContactsRequest {
            contact_ids: contact_ids.into_iter().map(Into::into).collect(),
        }
        .into()
    }
}

impl InsertConsentsRequest {
    /// Consent records for app `app_id`.
    pub fn new(
        app_id: impl Into<String>,
        records: impl IntoIterator<Item = ConsentRecord>,
    ) -> Self {
        required::InsertConsentsRequest {
            app_id: app_id.into(),
            consent_records: records.into_iter().collect(),
        }
        .into()
    }
}

impl ConsentRecord {
    /// A record about `identification` (a phone number, a contact id, ...); its list with
    /// `with_consent_type`.
    pub fn new(identification: impl Into<String>) -> Self {
        required::ConsentRecord {
            identification: identification.into(),
        }
        .into()
    }
}
