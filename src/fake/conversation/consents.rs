//! Consent lists: filled by contacts' STOP/START keywords (and the Batch API's consents
//! endpoint), read per list, with each identity's audit trail.

use super::apps::app;
use super::notify::{emit, Meta};
use crate::fake::core::ctx::Ctx;
use crate::fake::core::reply::{ApiFailure, Reply};
use crate::fake::core::request::{page, Req};
use crate::types::{self, ConversationChannel as Channel};

/// Puts `identity` on (or takes it off) `list` of `app_id`, with an audit record.
pub(crate) fn set(ctx: &mut Ctx, app_id: &str, list: &str, identity: &str, on: bool, origin: &str) {
    let entries = ctx
        .p
        .conv_mut()
        .consents
        .entry((app_id.to_owned(), list.to_owned()))
        .or_default();
    let changed = if on {
        entries.insert(identity.to_owned())
    } else {
        entries.remove(identity)
    };
    if !changed {
        return;
    }
    let record = types::ConsentAuditRecord {
        origin: Some(origin.into()),
        operation: Some(
            if on {
                "OPERATION_INSERT"
            } else {
                "OPERATION_DELETE"
            }
            .into(),
        ),
        list_type: Some(types::ConsentListType::from(list)),
        project_id: Some(ctx.p.id.clone()),
        app_id: Some(app_id.to_owned()),
        datetime: Some(ctx.now),
    };
    ctx.p
        .conv_mut()
        .consent_audit
        .entry((app_id.to_owned(), identity.to_owned()))
        .or_default()
        .push(record);
}

/// An inbound STOP (opt out) or START (opt in): the `OPT_OUT_ALL` list, its audit trail and
/// the OPT_OUT / OPT_IN callback.
pub(crate) fn record_consent(
    ctx: &mut Ctx,
    app_id: &str,
    contact_id: &str,
    channel: &Channel,
    identity: &str,
    opt_out: bool,
    mode: &types::ProcessingMode,
) {
    set(ctx, app_id, "OPT_OUT_ALL", identity, opt_out, "ORIGIN_MO");
    let n = types::OptOutNotification {
        request_id: Some(String::new()),
        contact_id: Some(contact_id.to_owned()),
        channel: Some(channel.clone()),
        identity: Some(identity.to_owned()),
        status: Some(
            if opt_out {
                "OPT_OUT_SUCCEEDED"
            } else {
                "OPT_IN_SUCCEEDED"
            }
            .into(),
        ),
        error_details: None,
        processing_mode: Some(mode.clone()),
    };
    let trigger = if opt_out { "OPT_OUT" } else { "OPT_IN" };
    emit(ctx, app_id, trigger, n, &Meta::default());
}

pub(crate) fn list(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let app_id = req.path("app_id");
    app(ctx, app_id)?;
    let list = req.path("list_type");
    let items = ctx
        .p
        .conv()
        .consents
        .get(&(app_id.to_owned(), list.to_owned()))
        .map(|s| {
            s.iter()
                .map(|i| {
                    let entry = types::ConsentIdentity {
                        identity: Some(i.clone()),
                    };
                    (i.clone(), entry)
                })
                .collect()
        })
        .unwrap_or_default();
    let (identities, next_page_token) = page(items, req, false)?;
    Reply::json(&types::ListConsentsResponse {
        identities,
        next_page_token,
    })
}

pub(crate) fn audit(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let (app_id, identity) = (req.path("app_id"), req.path("identity"));
    app(ctx, app_id)?;
    let audit_records = ctx
        .p
        .conv()
        .consent_audit
        .get(&(app_id.to_owned(), identity.to_owned()))
        .cloned()
        .unwrap_or_default();
    Reply::json(&types::ConsentAuditRecordsResponse {
        identity: Some(types::ConsentIdentity {
            identity: Some(identity.to_owned()),
        }),
        audit_records,
    })
}
