//! What a handler works with: one project under the store's lock, the clock, ids, and the
//! effects (callbacks, queue wake-ups) to carry out once the lock is released.

use super::callbacks::Outgoing;
use super::reply::ApiFailure;
use super::state::Project;
use super::Config;
use crate::types;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

pub(crate) struct Ctx<'a> {
    pub p: &'a mut Project,
    ids: &'a mut ulid::Generator,
    pub now: DateTime<Utc>,
    pub cfg: &'a Config,
    pub effects: Effects,
}

/// Done after the store's lock is released, so that no lock is held while sending.
#[derive(Default)]
pub(crate) struct Effects {
    pub callbacks: Vec<Outgoing>,
    /// Apps whose queue got new items.
    pub wake: Vec<String>,
}

/// The envelope fields a callback carries about what caused it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Meta {
    pub accepted_time: Option<DateTime<Utc>>,
    pub message_metadata: Option<String>,
    pub correlation_id: Option<String>,
    /// A per-message `callback_url` that replaces the webhooks for delivery reports.
    pub callback_url: Option<String>,
}

impl<'a> Ctx<'a> {
    pub fn new(p: &'a mut Project, ids: &'a mut ulid::Generator, cfg: &'a Config) -> Self {
        Ctx {
            p,
            ids,
            now: Utc::now(),
            cfg,
            effects: Effects::default(),
        }
    }

    pub fn new_id(&mut self) -> String {
        self.ids
            .generate()
            .unwrap_or_else(|_| ulid::Ulid::new())
            .to_string()
    }

    pub fn app(&self, id: &str) -> Result<&types::AppResponse, ApiFailure> {
        found(&self.p.apps, "app", id)
    }

    pub fn contact(&self, id: &str) -> Result<&types::Contact, ApiFailure> {
        found(&self.p.contacts, "contact", id)
    }

    pub fn conversation(&self, id: &str) -> Result<&types::Conversation, ApiFailure> {
        found(&self.p.conversations, "conversation", id)
    }

    /// Posts a `trigger` callback carrying `payload` to every webhook of `app_id` that
    /// subscribes to it (or, for delivery reports of a message sent with a `callback_url`, to
    /// that URL only). Nothing is serialized when no one listens.
    pub fn emit(
        &mut self,
        app_id: &str,
        trigger: &'static str,
        payload: impl Serialize,
        meta: &Meta,
    ) {
        let Some(key) = crate::webhook::known_kinds()
            .find(|(_, t)| *t == trigger)
            .map(|(k, _)| k)
        else {
            return;
        };
        let overridden = matches!(trigger, "MESSAGE_DELIVERY" | "EVENT_DELIVERY")
            .then_some(meta.callback_url.as_ref())
            .flatten();
        let targets: Vec<(Option<String>, String, Option<String>)> = match overridden {
            Some(url) => {
                let secret = self.p.apps.get(app_id).and_then(|a| {
                    a.callback_settings
                        .as_ref()?
                        .secret_for_overridden_callback_urls
                        .clone()
                });
                vec![(None, url.clone(), secret)]
            }
            None => self
                .p
                .webhooks
                .values()
                .filter(|w| w.app_id == app_id && w.triggers.iter().any(|t| t.as_str() == trigger))
                .map(|w| {
                    (
                        w.id.clone(),
                        w.target.clone(),
                        w.secret.clone().filter(|s| !s.is_empty()),
                    )
                })
                .collect(),
        };
        if targets.is_empty() {
            return;
        }
        let mut body = Map::new();
        body.insert("app_id".into(), app_id.into());
        if let Some(t) = meta.accepted_time {
            body.insert("accepted_time".into(), time(t));
        }
        body.insert("event_time".into(), time(self.now));
        body.insert("project_id".into(), self.p.id.clone().into());
        if let Some(m) = &meta.message_metadata {
            body.insert("message_metadata".into(), m.clone().into());
        }
        if let Some(c) = &meta.correlation_id {
            body.insert("correlation_id".into(), c.clone().into());
        }
        body.insert(
            key.into(),
            serde_json::to_value(payload).unwrap_or(Value::Null),
        );
        let body = Bytes::from(Value::Object(body).to_string());
        for (webhook_id, target, secret) in targets {
            self.effects.callbacks.push(Outgoing {
                webhook_id,
                target,
                secret,
                trigger,
                body: body.clone(),
            });
        }
    }

    /// A project-wide change (contacts): every app's webhooks hear of it.
    pub fn emit_to_all_apps(&mut self, trigger: &'static str, payload: impl Serialize) {
        let payload = serde_json::to_value(payload).unwrap_or(Value::Null);
        let apps: Vec<String> = self.p.apps.keys().cloned().collect();
        for app in apps {
            self.emit(&app, trigger, &payload, &Meta::default());
        }
    }
}

/// The resource `id` of a kind (`what`), or the API's 404.
pub(crate) fn found<'a, T>(
    map: &'a std::collections::BTreeMap<String, T>,
    what: &str,
    id: &str,
) -> Result<&'a T, ApiFailure> {
    map.get(id).ok_or_else(|| ApiFailure::not_found(what, id))
}

fn time(t: DateTime<Utc>) -> Value {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        .into()
}
