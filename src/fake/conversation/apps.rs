//! Apps and their webhooks.

use super::ctx::{found, Ctx};
use super::reply::{ApiFailure, Reply};
use super::request::Req;
use super::state::Shared;
use super::{patch, Config};
use crate::types;
use serde_json::json;
use std::sync::Arc;

/// Webhooks one app may have, as the API documents.
const MAX_WEBHOOKS: usize = 5;

/// An app as the API answers it, from a create request's JSON.
fn new_app(
    id: &str,
    mut request: serde_json::Value,
    cfg: &Config,
) -> Result<types::AppResponse, ApiFailure> {
    let obj = request
        .as_object_mut()
        .ok_or_else(|| ApiFailure::bad_request("the request body must be a JSON object"))?;
    obj.insert("id".into(), id.into());
    obj.entry("processing_mode")
        .or_insert("CONVERSATION".into());
    obj.entry("conversation_metadata_report_view")
        .or_insert("NONE".into());
    if let Some(creds) = obj
        .get_mut("channel_credentials")
        .and_then(|c| c.as_array_mut())
    {
        for c in creds.iter_mut().filter_map(|c| c.as_object_mut()) {
            c.entry("state").or_insert(json!({"status": "ACTIVE"}));
        }
    }
    obj.insert(
        "rate_limits".into(),
        json!({"inbound": 25, "outbound": cfg.queue_rate.round() as i64, "webhooks": 25}),
    );
    obj.insert(
        "queue_stats".into(),
        json!({"outbound_size": 0, "outbound_limit": cfg.queue_capacity.min(i64::MAX as usize)}),
    );
    serde_json::from_value(request)
        .map_err(|e| ApiFailure::bad_request(format!("invalid app: {e}")))
}

/// The app with its live queue size.
fn view(ctx: &Ctx, app: &types::AppResponse) -> types::AppResponse {
    let mut app = app.clone();
    let queued = app
        .id
        .as_ref()
        .and_then(|id| ctx.p.queues.get(id))
        .map_or(0, |q| q.items.len());
    if let Some(stats) = &mut app.queue_stats {
        stats.outbound_size = Some(queued as i64);
    }
    app
}

pub(crate) fn create(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let parsed: types::AppCreateRequest = req.json()?;
    if parsed.display_name.trim().is_empty() {
        return Err(ApiFailure::bad_request("display_name must not be empty"));
    }
    let id = ctx.new_id();
    let app = new_app(
        &id,
        serde_json::to_value(&parsed).unwrap_or_default(),
        ctx.cfg,
    )?;
    ctx.p.apps.insert(id, app.clone());
    Reply::json(&app)
}

pub(crate) fn list(ctx: &mut Ctx, _: &Req) -> Result<Reply, ApiFailure> {
    let apps = ctx.p.apps.values().map(|a| view(ctx, a)).collect();
    Reply::json(&types::ListAppsResponse { apps })
}

pub(crate) fn get(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    Reply::json(&view(ctx, ctx.app(req.param(0))?))
}

pub(crate) fn delete(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let id = req.param(0);
    ctx.app(id)?;
    ctx.p.apps.remove(id);
    ctx.p.webhooks.retain(|_, w| w.app_id != id);
    ctx.p.queues.remove(id);
    Reply::empty()
}

pub(crate) fn update(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let id = req.param(0);
    let mut app = patch::apply(ctx.app(id)?, req)?;
    app.id = Some(id.to_owned());
    if app
        .display_name
        .as_deref()
        .is_some_and(|n| n.trim().is_empty())
    {
        return Err(ApiFailure::bad_request("display_name must not be empty"));
    }
    ctx.p.apps.insert(id.to_owned(), app.clone());
    Reply::json(&view(ctx, &app))
}

fn check_webhook(ctx: &Ctx, w: &types::Webhook) -> Result<(), ApiFailure> {
    ctx.app(&w.app_id)?;
    let url = url::Url::parse(&w.target)
        .map_err(|e| ApiFailure::bad_request(format!("target {:?} is not a URL: {e}", w.target)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ApiFailure::bad_request(
            "target must be an http or https URL",
        ));
    }
    if w.triggers.is_empty() {
        return Err(ApiFailure::bad_request(
            "triggers must name at least one trigger",
        ));
    }
    Ok(())
}

pub(crate) fn create_webhook(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let mut w: types::Webhook = req.json()?;
    check_webhook(ctx, &w)?;
    let count = ctx
        .p
        .webhooks
        .values()
        .filter(|x| x.app_id == w.app_id)
        .count();
    if count >= MAX_WEBHOOKS {
        return Err(ApiFailure::bad_request(format!(
            "app {} already has {MAX_WEBHOOKS} webhooks, the most an app may have",
            w.app_id
        )));
    }
    let id = ctx.new_id();
    w.id = Some(id.clone());
    w.target_type.get_or_insert(types::WebhookTargetType::Http);
    ctx.p.webhooks.insert(id, w.clone());
    Reply::json(&w)
}

fn webhook<'a>(ctx: &'a Ctx, id: &str) -> Result<&'a types::Webhook, ApiFailure> {
    found(&ctx.p.webhooks, "webhook", id)
}

pub(crate) fn list_webhooks(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let app = req.param(0);
    ctx.app(app)?;
    let webhooks = ctx
        .p
        .webhooks
        .values()
        .filter(|w| w.app_id == app)
        .cloned()
        .collect();
    Reply::json(&types::ListWebhooksResponse { webhooks })
}

pub(crate) fn get_webhook(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    Reply::json(webhook(ctx, req.param(0))?)
}

pub(crate) fn update_webhook(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let id = req.param(0);
    let current = webhook(ctx, id)?;
    let app_id = current.app_id.clone();
    let mut w = patch::apply(current, req)?;
    if w.app_id != app_id {
        return Err(ApiFailure::bad_request(
            "a webhook cannot move to another app",
        ));
    }
    w.id = Some(id.to_owned());
    check_webhook(ctx, &w)?;
    ctx.p.webhooks.insert(id.to_owned(), w.clone());
    Reply::json(&w)
}

pub(crate) fn delete_webhook(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let id = req.param(0);
    webhook(ctx, id)?;
    ctx.p.webhooks.remove(id);
    Reply::empty()
}

impl Shared {
    /// Test set-up without a request: an app with (placeholder) credentials for `channels`.
    pub(crate) fn create_app(
        self: &Arc<Self>,
        name: &str,
        channels: &[types::ConversationChannel],
    ) -> String {
        let request = json!({
            "display_name": name,
            "channel_credentials": channels
                .iter()
                .map(|c| json!({"channel": c.as_str(), "static_bearer": {"claimed_identity": "fake", "token": "fake"}}))
                .collect::<Vec<_>>(),
        });
        let mut store = self.lock();
        let (p, ids) = store.split(&self.cfg.project_id);
        let mut ctx = Ctx::new(p, ids, &self.cfg);
        let id = ctx.new_id();
        let app = new_app(&id, request, &self.cfg).expect("a well-formed app");
        ctx.p.apps.insert(id.clone(), app);
        id
    }
}
