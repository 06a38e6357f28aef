//! Callback payloads as one typed enum.

use crate::types;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// Why a callback body could not be turned into an [`Event`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The body is not JSON.
    #[error("callback body is not JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// The body is JSON but not an object.
    #[error("callback body is not a JSON object")]
    NotAnObject,
    /// The body names a known kind of callback but does not match its documented shape.
    #[error("{kind} callback does not match its schema: {source}")]
    Invalid {
        /// The trigger name of the callback kind, such as `MESSAGE_INBOUND`.
        kind: &'static str,
        /// What did not match.
        #[source]
        source: serde_json::Error,
    },
}

/// The common fields every callback carries, borrowed from the event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Envelope<'a> {
    /// The app the callback concerns.
    pub app_id: Option<&'a str>,
    /// The project.
    pub project_id: Option<&'a str>,
    /// When the API accepted the underlying request or message.
    pub accepted_time: Option<DateTime<Utc>>,
    /// When the event happened on the channel.
    pub event_time: Option<DateTime<Utc>>,
    /// The `message_metadata` given when the message was sent.
    pub message_metadata: Option<&'a str>,
    /// The `correlation_id` given when the message was sent.
    pub correlation_id: Option<&'a str>,
}

macro_rules! events {
    ($($(#[doc = $doc:literal])* $variant:ident($ty:ident) = $key:ident: $payload:ident, $trigger:literal;)*) => {
        /// A callback delivered to a webhook, one variant per kind.
        ///
        /// The variant is chosen by the payload field the body carries (`message`,
        /// `message_delivery_report`, ...). A body with none of the known fields is
        /// [`Event::Unknown`], kept verbatim, so a kind Sinch adds later is not an error.
        /// Payloads are boxed: some are large, and events are moved between tasks.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum Event {
            $($(#[doc = $doc])* $variant(Box<types::$ty>),)*
            /// A kind of callback this version does not know, as received.
            Unknown(Map<String, Value>),
        }

        /// Payload field -> trigger name, in the order fields are looked for.
        const KINDS: &[(&str, &str)] = &[$((stringify!($key), $trigger)),*];

        impl Event {
            /// The webhook trigger that produces this kind of callback, such as
            /// `MESSAGE_INBOUND`; `None` for [`Event::Unknown`].
            pub fn trigger(&self) -> Option<&'static str> {
                match self {
                    $(Event::$variant(_) => Some($trigger),)*
                    Event::Unknown(_) => None,
                }
            }

            /// The fields every callback carries.
            pub fn envelope(&self) -> Envelope<'_> {
                match self {
                    $(Event::$variant(e) => Envelope {
                        app_id: e.app_id.as_deref(),
                        project_id: e.project_id.as_deref(),
                        accepted_time: e.accepted_time,
                        event_time: e.event_time,
                        message_metadata: e.message_metadata.as_deref(),
                        correlation_id: e.correlation_id.as_deref(),
                    },)*
                    Event::Unknown(m) => {
                        let text = |k: &str| m.get(k).and_then(Value::as_str);
                        let time = |k: &str| text(k).and_then(|t| t.parse().ok());
                        Envelope {
                            app_id: text("app_id"),
                            project_id: text("project_id"),
                            accepted_time: time("accepted_time"),
                            event_time: time("event_time"),
                            message_metadata: text("message_metadata"),
                            correlation_id: text("correlation_id"),
                        }
                    }
                }
            }

            /// The event the tree `m` describes: the first kind of [`KINDS`] whose payload field
            /// it has, else [`Event::Unknown`].
            pub(super) fn from_object(m: Map<String, Value>) -> Result<Event, ParseError> {
                $(if m.contains_key(stringify!($key)) {
                    return serde_json::from_value(Value::Object(m))
                        .map(|e| Event::$variant(Box::new(e)))
                        .map_err(|source| ParseError::Invalid { kind: $trigger, source });
                })*
                Ok(Event::Unknown(m))
            }

            /// Reads `kind`'s payload field from `map` straight into a boxed event, whose
            /// common fields [`Self::set_common`] fills in later (see `super::parse`).
            pub(super) fn next_payload<'de, A: serde::de::MapAccess<'de>>(
                kind: Kind,
                map: &mut A,
            ) -> Result<Event, A::Error> {
                Ok(match kind {
                    $(Kind::$variant => Event::$variant(Box::new(types::$ty {
                        app_id: None,
                        project_id: None,
                        accepted_time: None,
                        event_time: None,
                        message_metadata: None,
                        correlation_id: None,
                        $key: Slot::fill(map.next_value::<types::$payload>()?),
                    })),)*
                })
            }

            /// The known kind of this event.
            pub(super) fn kind(&self) -> Option<Kind> {
                match self {
                    $(Event::$variant(_) => Some(Kind::$variant),)*
                    Event::Unknown(_) => None,
                }
            }

            /// Sets the fields every callback has.
            pub(super) fn set_common(&mut self, common: Common) {
                match self {
                    $(Event::$variant(e) => {
                        e.app_id = common.app_id;
                        e.project_id = common.project_id;
                        e.accepted_time = common.accepted_time;
                        e.event_time = common.event_time;
                        e.message_metadata = common.message_metadata;
                        e.correlation_id = common.correlation_id;
                    })*
                    Event::Unknown(_) => {}
                }
            }
        }

        /// The known kinds, in the order their payload fields take precedence.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
        pub(super) enum Kind { $($variant,)* }

        impl Kind {
            /// The kind whose payload field is named `field`.
            pub(super) fn from_field(field: &str) -> Option<Kind> {
                match field {
                    $(stringify!($key) => Some(Kind::$variant),)*
                    _ => None,
                }
            }
        }

        impl serde::Serialize for Event {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Event::$variant(e) => e.serialize(s),)*
                    Event::Unknown(m) => m.serialize(s),
                }
            }
        }
    };
}

/// The fields every callback kind has besides its payload, owned (see `super::parse`).
#[derive(Default)]
pub(super) struct Common {
    pub app_id: Option<String>,
    pub project_id: Option<String>,
    pub accepted_time: Option<DateTime<Utc>>,
    pub event_time: Option<DateTime<Utc>>,
    pub message_metadata: Option<String>,
    pub correlation_id: Option<String>,
}

/// Puts a payload into its field, whether the schema makes that field required or optional.
trait Slot<T> {
    fn fill(value: T) -> Self;
}

impl<T> Slot<T> for T {
    fn fill(value: T) -> T {
        value
    }
}

impl<T> Slot<T> for Option<T> {
    fn fill(value: T) -> Option<T> {
        Some(value)
    }
}

// Each kind has its own payload field (with the payload's schema); the first one present decides.
events! {
    /// A contact sent a message.
    MessageInbound(MessageInboundEvent) = message: InboundMessage, "MESSAGE_INBOUND";
    /// A contact sent a message, with personal data redacted by Smart Conversations.
    MessageInboundSmartConversationRedaction(MessageInboundSmartConversationRedactionEvent)
        = message_redaction: InboundMessage, "MESSAGE_INBOUND_SMART_CONVERSATION_REDACTION";
    /// A sent message changed delivery status.
    MessageDeliveryReport(MessageDeliveryReceiptEvent)
        = message_delivery_report: MessageDeliveryReport, "MESSAGE_DELIVERY";
    /// A message was handed to a channel.
    MessageSubmit(MessageSubmitEvent)
        = message_submit_notification: MessageSubmitNotification, "MESSAGE_SUBMIT";
    /// A contact caused an event, such as composing or a reaction.
    EventInbound(EventInboundEvent) = event: InboundEvent, "EVENT_INBOUND";
    /// A sent event changed delivery status.
    EventDeliveryReport(EventDeliveryReceiptEvent)
        = event_delivery_report: EventDeliveryReport, "EVENT_DELIVERY";
    /// A conversation started.
    ConversationStart(ConversationStartEvent)
        = conversation_start_notification: ConversationNotification, "CONVERSATION_START";
    /// A conversation stopped.
    ConversationStop(ConversationStopEvent)
        = conversation_stop_notification: ConversationNotification, "CONVERSATION_STOP";
    /// A conversation was deleted.
    ConversationDelete(ConversationDeleteEvent)
        = conversation_delete_notification: ConversationNotification, "CONVERSATION_DELETE";
    /// A contact was created.
    ContactCreate(ContactCreateEvent)
        = contact_create_notification: ContactNotification, "CONTACT_CREATE";
    /// A contact was updated.
    ContactUpdate(ContactUpdateEvent)
        = contact_update_notification: ContactNotification, "CONTACT_UPDATE";
    /// A contact was deleted.
    ContactDelete(ContactDeleteEvent)
        = contact_delete_notification: ContactNotification, "CONTACT_DELETE";
    /// Two contacts were merged.
    ContactMerge(ContactMergeEvent)
        = contact_merge_notification: ContactMergeNotification, "CONTACT_MERGE";
    /// A channel identity now belongs to several contacts.
    ContactIdentitiesDuplication(ContactIdentitiesDuplicationEvent)
        = duplicated_contact_identities_notification: DuplicatedIdentitiesNotification,
          "CONTACT_IDENTITIES_DUPLICATION";
    /// A capability query was answered.
    Capability(CapabilityEvent) = capability_notification: CapabilityNotification, "CAPABILITY";
    /// An opt-in request finished.
    OptIn(OptInEvent) = opt_in_notification: OptInNotification, "OPT_IN";
    /// An opt-out request finished.
    OptOut(OptOutEvent) = opt_out_notification: OptOutNotification, "OPT_OUT";
    /// Something happened on a channel account.
    ChannelEvent(ChannelEvent)
        = channel_event_notification: ChannelEventNotification, "CHANNEL_EVENT";
    /// A record was stored.
    RecordNotification(RecordNotificationEvent)
        = record_notification: RecordNotification, "RECORD_NOTIFICATION";
    /// Smart Conversations analysed a message.
    SmartConversations(SmartConversationsEvent)
        = smart_conversation_notification: SmartConversationNotification, "SMART_CONVERSATION";
    /// A channel sent something the API does not support, passed through.
    Unsupported(UnsupportedCallbackEvent)
        = unsupported_callback: UnsupportedCallback, "UNSUPPORTED";
    /// A batch sent with the Batch API changed state (see [`crate::batch`]).
    BatchStatusUpdate(BatchStatusUpdateEvent)
        = batch_status_update_notification: BatchStatusUpdateNotification, "BATCH_STATUS_UPDATE";
}

/// The payload field names this version recognises, with their trigger names.
pub fn known_kinds() -> impl Iterator<Item = (&'static str, &'static str)> {
    KINDS.iter().copied()
}
