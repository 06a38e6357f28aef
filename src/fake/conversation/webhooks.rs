//! Webhooks: at most five per app, targets the API accepts (absolute http(s) URLs, not its own
//! hosts, not twice in one app), triggers other than `UNSPECIFIED_TRIGGER`.

use super::apps::app;
use crate::fake::core::ctx::{found, Ctx};
use crate::fake::core::patch;
use crate::fake::core::reply::{ApiFailure, Reply};
use crate::fake::core::request::Req;
use crate::types;

/// Webhooks one app may have.
const MAX_WEBHOOKS: usize = 5;

/// Checks a webhook as the API does, `except` being its own id on update.
fn check(ctx: &Ctx, w: &types::Webhook, except: Option<&str>) -> Result<(), ApiFailure> {
    app(ctx, &w.app_id)?;
    let url = url::Url::parse(&w.target)
        .map_err(|e| ApiFailure::bad_request(format!("target {:?} is not a URL: {e}", w.target)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ApiFailure::bad_request(
            "target must be an http or https URL",
        ));
    }
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    if host.starts_with("conversation-api.") && host.ends_with(".sinch.com") {
        return Err(ApiFailure::bad_request(format!(
            "target host {host} is one of the API's own and may not be a webhook"
        )));
    }
    if w.triggers
        .iter()
        .any(|t| t.as_str() == "UNSPECIFIED_TRIGGER")
    {
        return Err(ApiFailure::bad_request(
            "UNSPECIFIED_TRIGGER is not a trigger a webhook can subscribe to",
        ));
    }
    let others = ctx
        .p
        .conv()
        .webhooks
        .values()
        .filter(|x| x.app_id == w.app_id && x.id.as_deref() != except);
    let mut count = 0;
    for other in others {
        count += 1;
        if other.target == w.target {
            return Err(ApiFailure::bad_request(format!(
                "app {} already has a webhook for target {}",
                w.app_id, w.target
            )));
        }
    }
    if count >= MAX_WEBHOOKS {
        return Err(ApiFailure::precondition(format!(
            "app {} already has {MAX_WEBHOOKS} webhooks, the most an app may have",
            w.app_id
        )));
    }
    Ok(())
}

/// A webhook as the API sends it: without OAuth2 credentials, `client_credentials` is `null`
/// rather than absent.
fn wire(w: &types::Webhook) -> serde_json::Value {
    let mut v = serde_json::to_value(w).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.entry("client_credentials")
            .or_insert(serde_json::Value::Null);
    }
    v
}

fn answer(w: &types::Webhook) -> Result<Reply, ApiFailure> {
    Reply::json(&wire(w))
}

fn webhook<'a>(ctx: &'a Ctx, id: &str) -> Result<&'a types::Webhook, ApiFailure> {
    found(&ctx.p.conv().webhooks, "webhook", id)
}

pub(crate) fn create(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let mut w: types::Webhook = req.json()?;
    check(ctx, &w, None)?;
    let id = ctx.new_id();
    w.id = Some(id.clone());
    w.target_type.get_or_insert(types::WebhookTargetType::Http);
    w.secret.get_or_insert_with(String::new);
    ctx.p.conv_mut().webhooks.insert(id, w.clone());
    answer(&w)
}

pub(crate) fn list(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let app_id = req.path("app_id");
    app(ctx, app_id)?;
    let webhooks: Vec<serde_json::Value> = ctx
        .p
        .conv()
        .webhooks
        .values()
        .filter(|w| w.app_id == app_id)
        .map(wire)
        .collect();
    Reply::json(&serde_json::json!({ "webhooks": webhooks }))
}

pub(crate) fn get(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    answer(webhook(ctx, req.path("webhook_id"))?)
}

pub(crate) fn update(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let id = req.path("webhook_id");
    let mut w: types::Webhook = patch::apply(webhook(ctx, id)?, req)?;
    w.id = Some(id.to_owned());
    // The target rules hold after an update too; a webhook may move to another app.
    check(ctx, &w, Some(id))?;
    ctx.p.conv_mut().webhooks.insert(id.to_owned(), w.clone());
    answer(&w)
}

pub(crate) fn delete(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let id = req.path("webhook_id");
    webhook(ctx, id)?;
    ctx.p.conv_mut().webhooks.remove(id);
    Reply::empty()
}
