//! The Conversation API v1 (`spec/conversation.yaml`): each project's apps, webhooks,
//! contacts, conversations, messages, events, consents and settings, and the handler of every
//! operation. Limits the document states are checked before a handler runs; the rules here
//! are the ones a schema cannot say (processing modes, delivery, merges, windows).

pub(crate) mod apps;
mod capability;
mod channels;
mod consents;
mod contacts;
mod context;
mod conversations;
mod delivery;
mod events;
mod inbound;
mod messages;
mod notify;
mod record;
mod settings;
mod transcode;
mod webhooks;
mod whatsapp;

pub(crate) use apps::create_app;
pub use channels::Timings;
pub(crate) use consents::set as set_consent;
pub(crate) use contacts::{create_from as create_contact, remove as delete_contact};
pub(crate) use delivery::refuse;
pub(crate) use inbound::{inbound, inbound_event};
pub(crate) use messages::{accept, check as check_send};
pub(crate) use notify::notify_batch;

pub(crate) use record::Record;

use crate::fake::core::ctx::Ctx;
use crate::fake::core::server::Handler;
use crate::fake::core::service::ServiceDef;
use crate::fake::core::state::Project;
use crate::types::{self, ConversationChannel as Channel};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

/// One project's Conversation API state. Maps are keyed by id: ULIDs sort in creation order.
#[derive(Default)]
pub(crate) struct State {
    pub apps: BTreeMap<String, types::AppResponse>,
    pub webhooks: BTreeMap<String, types::Webhook>,
    pub contacts: BTreeMap<String, types::Contact>,
    pub conversations: BTreeMap<String, types::Conversation>,
    /// Every message accepted or received, in both processing modes; what the API still
    /// shows of each is [`Stored::visible`].
    pub messages: BTreeMap<String, Stored<Record>>,
    pub events: BTreeMap<String, Stored<types::ConversationEvent>>,
    /// (app id, list type) -> identities on the list.
    pub consents: BTreeMap<(String, String), BTreeSet<String>>,
    /// (app id, identity) -> audit trail.
    pub consent_audit: BTreeMap<(String, String), Vec<types::ConsentAuditRecord>>,
    pub settings: Option<types::ProjectSettings>,
    /// Each app's outgoing queue.
    pub queues: HashMap<String, delivery::AppQueue>,
    /// When each (app, channel, identity) last wrote to the app: opens channels' reply windows.
    pub last_inbound: HashMap<(String, Channel, String), Duration>,
    /// DISPATCH mode: the metadata and correlation id sends left on each (app, channel,
    /// identity) for its replies.
    pub remembered: HashMap<context::IdentityKey, context::Remembered>,
}

/// Which of the API's two message stores an item is in (`messages_source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    Conversation,
    Dispatch,
}

impl Source {
    pub fn of(mode: &types::ProcessingMode) -> Source {
        match mode {
            types::ProcessingMode::Dispatch => Source::Dispatch,
            _ => Source::Conversation,
        }
    }
}

/// A message or event with what the API's types do not carry: its app, store, retention.
#[derive(Clone)]
pub(crate) struct Stored<T> {
    pub app_id: String,
    pub source: Source,
    /// Until when the API keeps it (fake time); `None`: for good.
    pub kept_until: Option<Duration>,
    /// Deleted through the API (kept for inspection).
    pub deleted: bool,
    /// Boxed: messages are large and kept by the thousand in a B-tree.
    pub item: Box<T>,
}

impl<T> Stored<T> {
    /// An item of `app_id` in `mode` accepted now, kept as the app's retention settings say
    /// (DISPATCH: `dispatch_retention_policy.ttl_days`, 0 by default; CONVERSATION:
    /// `retention_policy`, 180 days by default, or for good with the persist policy).
    pub fn kept(ctx: &Ctx, app_id: &str, mode: &types::ProcessingMode, item: T) -> Self {
        let app = ctx.p.conv().apps.get(app_id);
        let days = |d: i32| ctx.at + Duration::from_secs(u64::from(d.max(0) as u32) * 86_400);
        let kept_until = match mode {
            types::ProcessingMode::Dispatch => {
                let d = app
                    .and_then(|a| a.dispatch_retention_policy.as_ref())
                    .and_then(|p| p.ttl_days)
                    .unwrap_or(0);
                Some(days(d))
            }
            _ => {
                let policy = app.and_then(|a| a.retention_policy.as_ref());
                let persist = policy
                    .and_then(|p| p.retention_type.as_ref())
                    .is_some_and(|t| t.as_str() == "PERSIST_RETENTION_POLICY");
                (!persist).then(|| days(policy.and_then(|p| p.ttl_days).unwrap_or(180)))
            }
        };
        Stored {
            app_id: app_id.to_owned(),
            source: Source::of(mode),
            kept_until,
            deleted: false,
            item: Box::new(item),
        }
    }

    /// An item injected into a CONVERSATION-mode conversation, kept for good.
    pub fn injected(app_id: String, item: T) -> Self {
        Stored {
            app_id,
            source: Source::Conversation,
            kept_until: None,
            deleted: false,
            item: Box::new(item),
        }
    }

    /// Whether the API still shows it at `at` in `source`.
    pub fn visible(&self, source: Source, at: Duration) -> bool {
        !self.deleted && self.source == source && self.kept_until.is_none_or(|k| at < k)
    }
}

impl State {
    pub fn unified_contacts(&self) -> bool {
        self.settings
            .as_ref()
            .and_then(|s| s.contact_settings.as_ref())
            .and_then(|c| c.unified_contact_id_enabled)
            .unwrap_or(false)
    }

    /// Whether `identity` is on the app's `list` consent list.
    pub fn on_list(&self, app_id: &str, list: &str, identity: &str) -> bool {
        self.consents
            .get(&(app_id.to_owned(), list.to_owned()))
            .is_some_and(|s| s.contains(identity))
    }
}

/// The processing mode of `app` (the API's default, DISPATCH, when unset).
pub(crate) fn mode_of(app: &types::AppResponse) -> types::ProcessingMode {
    app.processing_mode
        .clone()
        .unwrap_or(types::ProcessingMode::Dispatch)
}

/// Channels whose identities belong to one app (page-scoped ids): their channel identities
/// carry the app's id; everyone else's carry `""`.
pub(crate) fn app_scoped(channel: &Channel) -> bool {
    matches!(
        channel,
        Channel::Messenger | Channel::Instagram | Channel::Line | Channel::Wechat
    )
}

/// The Conversation API, at the root of the fake's address.
pub(crate) const SERVICE: ServiceDef = ServiceDef {
    document: "conversation",
    prefix: "",
    bearer_only: false,
    handler,
    state: || Box::<State>::default(),
};

impl Project {
    pub fn conv(&self) -> &State {
        self.part()
    }
    pub fn conv_mut(&mut self) -> &mut State {
        self.part_mut()
    }
}

/// The handler of a Conversation API operation.
fn handler(operation: &str) -> Option<Handler> {
    Some(match operation {
        "Messages_SendMessage" => messages::send,
        "Messages_GetMessage" => messages::get,
        "Messages_DeleteMessage" => messages::delete,
        "Messages_UpdateMessageMetadata" => messages::update_metadata,
        "Messages_ListMessages" => messages::list,
        "Messages_ListLastMessagesByChannelIdentity" => messages::last_by_identity,
        "App_ListApps" => apps::list,
        "App_CreateApp" => apps::create,
        "App_GetApp" => apps::get,
        "App_DeleteApp" => apps::delete,
        "App_UpdateApp" => apps::update,
        "Contact_ListContacts" => contacts::list,
        "Contact_CreateContact" => contacts::create,
        "Contact_GetContact" => contacts::get,
        "Contact_DeleteContact" => contacts::delete,
        "Contact_UpdateContact" => contacts::update,
        "Contact_MergeContact" => contacts::merge,
        "Contact_GetChannelProfile" => contacts::channel_profile,
        "Contact_ListIdentityConflicts" => contacts::identity_conflicts,
        "Conversation_ListConversations" => conversations::list,
        "Conversation_CreateConversation" => conversations::create,
        "Conversation_GetConversation" => conversations::get,
        "Conversation_DeleteConversation" => conversations::delete,
        "Conversation_UpdateConversation" => conversations::update,
        "Conversation_ListRecentConversations" => conversations::recent,
        "Conversation_StopActiveConversation" => conversations::stop,
        "Conversation_InjectMessage" => conversations::inject_message,
        "Events_InjectEvent" => events::inject,
        "Events_SendEvent" => events::send,
        "Events_GetEvent" => events::get,
        "Events_DeleteEvents" => events::delete,
        "Events_ListEvents" => events::list,
        "Transcoding_TranscodeMessage" => transcode::transcode,
        "Capability_QueryCapability" => capability::query,
        "Consents_GetConsents" => consents::list,
        "Consents_GetConsentsAuditRecords" => consents::audit,
        "Webhooks_ListWebhooks" => webhooks::list,
        "Webhooks_CreateWebhook" => webhooks::create,
        "Webhooks_GetWebhook" => webhooks::get,
        "Webhooks_UpdateWebhook" => webhooks::update,
        "Webhooks_DeleteWebhook" => webhooks::delete,
        "ProjectSettings_GetSettings" => settings::get,
        "ProjectSettings_CreateSettings" => settings::create,
        "ProjectSettings_UpdateSettings" => settings::update,
        "ProjectSettings_DeleteSettings" => settings::delete,
        _ => return None,
    })
}
