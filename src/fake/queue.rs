//! Each app's outgoing (MT) queue: sends are accepted into it and drained towards the channel
//! at the app's rate; the drain produces the DELIVERED (or FAILED) report.

use super::ctx::{Ctx, Meta};
use super::reply::ApiFailure;
use super::state::Shared;
use crate::types;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Default)]
pub(crate) struct AppQueue {
    pub items: VecDeque<Queued>,
    /// A drain task is running for this queue.
    draining: bool,
    /// When the last item left, so a restarted drain keeps the rate.
    last: Option<Instant>,
}

/// A message or event waiting in an app's queue.
pub(crate) struct Queued {
    pub kind: Kind,
    pub id: String,
    pub contact_id: String,
    pub conversation_id: Option<String>,
    pub channel_identity: types::ChannelIdentity,
    pub processing_mode: types::ProcessingMode,
    pub meta: Meta,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Message,
    Event,
}

/// Refuses with 429 when `app_id`'s queue is full (checked before anything is stored).
pub(crate) fn ensure_room(ctx: &Ctx, app_id: &str) -> Result<(), ApiFailure> {
    let full = ctx
        .p
        .queues
        .get(app_id)
        .is_some_and(|q| q.items.len() >= ctx.cfg.queue_capacity);
    if full {
        let wait = Duration::from_secs_f64(1.0 / ctx.cfg.queue_rate);
        return Err(ApiFailure::rate_limited(
            format!("the outgoing queue of app {app_id} is full"),
            wait,
        ));
    }
    Ok(())
}

/// Puts `item` at the back of `app_id`'s queue (after [`ensure_room`]).
pub(crate) fn push(ctx: &mut Ctx, app_id: &str, item: Queued) {
    ctx.p
        .queues
        .entry(app_id.to_owned())
        .or_default()
        .items
        .push_back(item);
    ctx.effects.wake.push(app_id.to_owned());
}

/// Starts the drain task of `app` in `project` unless one is running.
pub(crate) fn wake(shared: &Arc<Shared>, project: &str, app: &str) {
    let mut store = shared.lock();
    let Some(q) = store.project(project).queues.get_mut(app) else {
        return;
    };
    if q.draining || q.items.is_empty() {
        return;
    }
    q.draining = true;
    let start = q.last;
    drop(store);
    let (shared, project, app) = (shared.clone(), project.to_owned(), app.to_owned());
    let mut shutdown = shared.shutdown.subscribe();
    tokio::spawn(async move {
        tokio::select! {
            _ = drain(&shared, &project, &app, start) => {}
            _ = shutdown.wait_for(|s| *s) => {}
        }
    });
}

/// Takes one item per period until the queue is empty.
async fn drain(shared: &Arc<Shared>, project: &str, app: &str, last: Option<Instant>) {
    let period = Duration::from_secs_f64(1.0 / shared.cfg.queue_rate);
    let mut next = last.map_or_else(Instant::now, |l| (l + period).max(Instant::now()));
    loop {
        tokio::time::sleep_until(next).await;
        let effects = {
            let mut store = shared.lock();
            let (p, ids) = store.split(project);
            let Some(q) = p.queues.get_mut(app) else {
                return;
            };
            let Some(item) = q.items.pop_front() else {
                q.draining = false;
                return;
            };
            q.last = Some(Instant::now());
            let mut ctx = Ctx::new(p, ids, &shared.cfg);
            deliver(&mut ctx, app, item);
            ctx.effects
        };
        super::server::apply(shared, project, effects);
        next = (next + period).max(Instant::now());
    }
}

/// The channel took the item: report it delivered, or failed when the contact opted out.
fn deliver(ctx: &mut Ctx, app: &str, item: Queued) {
    let opted_out = ctx.p.opted_out(app, &item.channel_identity.identity);
    let (status, reason) = if opted_out {
        let reason = types::Reason {
            code: Some(types::ReasonCode::RecipientNotOptedIn),
            description: Some("the recipient opted out of messages from this app".into()),
            sub_code: None,
            channel_code: None,
        };
        (types::DeliveryStatus::Failed, Some(reason))
    } else {
        (types::DeliveryStatus::Delivered, None)
    };
    report(ctx, app, &item, status, reason);
}

/// Emits a delivery report for `item`.
pub(crate) fn report(
    ctx: &mut Ctx,
    app: &str,
    item: &Queued,
    status: types::DeliveryStatus,
    reason: Option<types::Reason>,
) {
    let metadata = item.meta.message_metadata.clone();
    match item.kind {
        Kind::Message => {
            let report = types::MessageDeliveryReport {
                message_id: item.id.clone(),
                conversation_id: item.conversation_id.clone(),
                status,
                channel_identity: Some(item.channel_identity.clone()),
                contact_id: Some(item.contact_id.clone()),
                reason,
                metadata,
                processing_mode: Some(item.processing_mode.clone()),
            };
            ctx.emit(app, "MESSAGE_DELIVERY", report, &item.meta);
        }
        Kind::Event => {
            let report = types::EventDeliveryReport {
                event_id: item.id.clone(),
                status,
                channel_identity: Some(item.channel_identity.clone()),
                contact_id: Some(item.contact_id.clone()),
                reason,
                metadata,
                processing_mode: Some(item.processing_mode.clone()),
            };
            ctx.emit(app, "EVENT_DELIVERY", report, &item.meta);
        }
    }
}
