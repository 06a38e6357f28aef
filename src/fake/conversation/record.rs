//! How the fake keeps a message: the fields lists filter and merges rewrite, typed, and the
//! message itself as JSON. A `ConversationMessage` holds every message kind inline (over 2 KB
//! even for a short text); kept by the hundred thousand, that size, not the work, would set
//! the fake's speed.

use crate::types;
use bytes::Bytes;
use chrono::{DateTime, Utc};

/// A message's fields, by the names `ConversationMessage` gives them.
pub(crate) struct Record {
    pub id: Option<String>,
    pub direction: Option<types::ConversationDirection>,
    pub channel_identity: Option<types::ChannelIdentity>,
    pub contact_id: Option<String>,
    pub conversation_id: Option<String>,
    pub metadata: Option<String>,
    pub accept_time: Option<DateTime<Utc>>,
    pub sender_id: Option<String>,
    pub processing_mode: Option<types::ProcessingMode>,
    pub injected: Option<bool>,
    content: Content,
}

/// The message, as its JSON.
enum Content {
    App(Bytes),
    Contact(Bytes),
    None,
}

impl Record {
    pub fn new(m: types::ConversationMessage) -> Record {
        let content = match (&m.app_message, &m.contact_message) {
            (Some(a), _) => Content::App(json(a)),
            (None, Some(c)) => Content::Contact(json(c)),
            (None, None) => Content::None,
        };
        Record {
            id: m.id,
            direction: m.direction,
            channel_identity: m.channel_identity,
            contact_id: m.contact_id,
            conversation_id: m.conversation_id,
            metadata: m.metadata,
            accept_time: m.accept_time,
            sender_id: m.sender_id,
            processing_mode: m.processing_mode,
            injected: m.injected,
            content,
        }
    }

    /// The app's message, when the app sent it.
    pub fn app_message(&self) -> Option<types::AppMessage> {
        match &self.content {
            Content::App(b) => serde_json::from_slice(b).ok(),
            _ => None,
        }
    }

    /// The message as the API sends it.
    pub fn message(&self) -> types::ConversationMessage {
        let (app_message, contact_message) = match &self.content {
            Content::App(b) => (serde_json::from_slice(b).ok(), None),
            Content::Contact(b) => (None, serde_json::from_slice(b).ok()),
            Content::None => (None, None),
        };
        types::ConversationMessage {
            accept_time: self.accept_time,
            app_message,
            contact_message,
            channel_identity: self.channel_identity.clone(),
            contact_id: self.contact_id.clone(),
            conversation_id: self.conversation_id.clone(),
            direction: self.direction.clone(),
            id: self.id.clone(),
            metadata: self.metadata.clone(),
            injected: self.injected,
            sender_id: self.sender_id.clone(),
            processing_mode: self.processing_mode.clone(),
        }
    }
}

fn json<T: serde::Serialize>(v: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(v).unwrap_or_default())
}
