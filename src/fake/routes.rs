//! Which operation a method and path name, and the handler that answers it.

use super::ctx::Ctx;
use super::reply::{ApiFailure, Reply};
use super::request::Req;
use super::{apps, contacts, conversations, events, extras, messages};
use hyper::Method;

pub(crate) type Handler = fn(&mut Ctx, &Req) -> Result<Reply, ApiFailure>;

pub(crate) struct Route {
    method: Method,
    /// Segments after `/v1/projects/{project_id}/`; `{}` captures a segment, `{}:verb` one
    /// ending in `:verb`.
    pattern: &'static str,
    /// The operationId in `spec/conversation.yaml`.
    pub op: &'static str,
    pub handler: Handler,
}

macro_rules! routes {
    ($($method:ident $pattern:literal => $op:literal $handler:path,)*) => {
        static ROUTES: &[Route] = &[$(Route {
            method: Method::$method,
            pattern: $pattern,
            op: $op,
            handler: $handler,
        },)*];
    };
}

routes! {
    POST "messages:send" => "Messages_SendMessage" messages::send,
    GET "messages/{}" => "Messages_GetMessage" messages::get,
    DELETE "messages/{}" => "Messages_DeleteMessage" messages::delete,
    PATCH "messages/{}" => "Messages_UpdateMessageMetadata" messages::update_metadata,
    GET "messages" => "Messages_ListMessages" messages::list,
    POST "messages:fetch-last-message" => "Messages_ListLastMessagesByChannelIdentity" messages::last_by_identity,
    GET "apps" => "App_ListApps" apps::list,
    POST "apps" => "App_CreateApp" apps::create,
    GET "apps/{}" => "App_GetApp" apps::get,
    DELETE "apps/{}" => "App_DeleteApp" apps::delete,
    PATCH "apps/{}" => "App_UpdateApp" apps::update,
    GET "contacts" => "Contact_ListContacts" contacts::list,
    POST "contacts" => "Contact_CreateContact" contacts::create,
    GET "contacts/{}" => "Contact_GetContact" contacts::get,
    DELETE "contacts/{}" => "Contact_DeleteContact" contacts::delete,
    PATCH "contacts/{}" => "Contact_UpdateContact" contacts::update,
    POST "contacts/{}:merge" => "Contact_MergeContact" contacts::merge,
    POST "contacts:getChannelProfile" => "Contact_GetChannelProfile" contacts::channel_profile,
    GET "contacts:identityConflicts" => "Contact_ListIdentityConflicts" contacts::identity_conflicts,
    GET "conversations" => "Conversation_ListConversations" conversations::list,
    POST "conversations" => "Conversation_CreateConversation" conversations::create,
    GET "conversations/{}" => "Conversation_GetConversation" conversations::get,
    DELETE "conversations/{}" => "Conversation_DeleteConversation" conversations::delete,
    PATCH "conversations/{}" => "Conversation_UpdateConversation" conversations::update,
    GET "conversations:recent" => "Conversation_ListRecentConversations" conversations::recent,
    POST "conversations/{}:inject-event" => "Events_InjectEvent" events::inject,
    POST "conversations/{}:stop" => "Conversation_StopActiveConversation" conversations::stop,
    POST "conversations/{}:inject-message" => "Conversation_InjectMessage" conversations::inject_message,
    POST "events:send" => "Events_SendEvent" events::send,
    GET "events/{}" => "Events_GetEvent" events::get,
    DELETE "events/{}" => "Events_DeleteEvents" events::delete,
    GET "events" => "Events_ListEvents" events::list,
    POST "messages:transcode" => "Transcoding_TranscodeMessage" extras::transcode,
    POST "capability:query" => "Capability_QueryCapability" extras::capability,
    GET "apps/{}/consents/identities/{}" => "Consents_GetConsentsAuditRecords" extras::consent_audit,
    GET "apps/{}/consents/{}" => "Consents_GetConsents" extras::consents,
    GET "apps/{}/webhooks" => "Webhooks_ListWebhooks" apps::list_webhooks,
    POST "webhooks" => "Webhooks_CreateWebhook" apps::create_webhook,
    GET "webhooks/{}" => "Webhooks_GetWebhook" apps::get_webhook,
    PATCH "webhooks/{}" => "Webhooks_UpdateWebhook" apps::update_webhook,
    DELETE "webhooks/{}" => "Webhooks_DeleteWebhook" apps::delete_webhook,
    GET "settings" => "ProjectSettings_GetSettings" extras::get_settings,
    POST "settings" => "ProjectSettings_CreateSettings" extras::create_settings,
    PATCH "settings" => "ProjectSettings_UpdateSettings" extras::update_settings,
    DELETE "settings" => "ProjectSettings_DeleteSettings" extras::delete_settings,
}

/// Every operationId the fake answers.
pub fn operations() -> impl Iterator<Item = &'static str> {
    ROUTES.iter().map(|r| r.op)
}

pub(crate) struct Found {
    pub route: &'static Route,
    pub project: String,
    pub params: Vec<String>,
}

/// The route for `method path`, with the project and the captured path parameters.
pub(crate) fn find(method: &Method, path: &str) -> Option<Found> {
    let rest = path.strip_prefix("/v1/projects/")?;
    let (project, rest) = rest.split_once('/')?;
    if project.is_empty() {
        return None;
    }
    let segments: Vec<&str> = rest.split('/').collect();
    ROUTES
        .iter()
        .filter(|r| r.method == *method)
        .find_map(|route| {
            let pattern: Vec<&str> = route.pattern.split('/').collect();
            if pattern.len() != segments.len() {
                return None;
            }
            let mut params = vec![];
            for (p, s) in pattern.iter().zip(&segments) {
                match p.strip_prefix("{}") {
                    None if p == s => {}
                    None => return None,
                    Some(suffix) => {
                        let value = s.strip_suffix(suffix).filter(|v| !v.is_empty())?;
                        if suffix.is_empty() && value.contains(':') {
                            return None; // `contacts/x:merge` is not `contacts/{}`
                        }
                        params.push(decode(value));
                    }
                }
            }
            Some(Found {
                route,
                project: decode(project),
                params,
            })
        })
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}
