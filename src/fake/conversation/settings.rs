//! Project settings: Unified Contact ID, which can only be switched on once no identity is
//! held by two contacts.

use super::contacts::conflicts;
use crate::fake::core::ctx::Ctx;
use crate::fake::core::patch;
use crate::fake::core::reply::{ApiFailure, Reply};
use crate::fake::core::request::Req;
use crate::types;

fn settings_reply(ctx: &Ctx) -> Result<Reply, ApiFailure> {
    Reply::json(&types::ProjectSettingsResponse {
        project_id: Some(ctx.p.id.clone()),
        settings: ctx.p.conv().settings.clone(),
    })
}

fn current_settings<'a>(ctx: &'a Ctx) -> Result<&'a types::ProjectSettings, ApiFailure> {
    ctx.p
        .conv()
        .settings
        .as_ref()
        .ok_or_else(|| ApiFailure::new(404, format!("project {} has no settings", ctx.p.id)))
}

/// Unified Contact ID needs every identity to belong to one contact.
fn check_settings(ctx: &Ctx, s: &types::ProjectSettings) -> Result<(), ApiFailure> {
    let unified = s
        .contact_settings
        .as_ref()
        .and_then(|c| c.unified_contact_id_enabled);
    let n = conflicts(ctx.p.conv()).len();
    if unified == Some(true) && n > 0 {
        return Err(ApiFailure::precondition(format!(
            "resolve the {n} identity conflicts (contacts:identityConflicts) before enabling Unified Contact ID"
        )));
    }
    Ok(())
}

pub(crate) fn get(ctx: &mut Ctx, _: &Req) -> Result<Reply, ApiFailure> {
    current_settings(ctx)?;
    settings_reply(ctx)
}

pub(crate) fn create(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    if ctx.p.conv().settings.is_some() {
        return Err(ApiFailure::precondition(format!(
            "project {} already has settings",
            ctx.p.id
        )));
    }
    let s: types::ProjectSettings = req.json()?;
    check_settings(ctx, &s)?;
    ctx.p.conv_mut().settings = Some(s);
    settings_reply(ctx)
}

pub(crate) fn update(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let s = patch::apply(current_settings(ctx)?, req)?;
    check_settings(ctx, &s)?;
    ctx.p.conv_mut().settings = Some(s);
    settings_reply(ctx)
}

pub(crate) fn delete(ctx: &mut Ctx, _: &Req) -> Result<Reply, ApiFailure> {
    current_settings(ctx)?;
    ctx.p.conv_mut().settings = None;
    Reply::empty()
}
