//! Delivery: each app's outgoing queue (drained at its rate), then the channel (see
//! [`super::channels`] for what it does), reported as the API does: MESSAGE_SUBMIT and
//! QUEUED_ON_CHANNEL on hand-over, then DELIVERED, READ, FAILED (with the documented reason) or
//! nothing; a failure with another identity left is SWITCHING_CHANNEL and the next one is
//! tried.

use super::channels::{reason, verdict, Plan};
use super::notify::{emit, Meta};
use crate::fake::core::ctx::Ctx;
use crate::fake::core::reply::ApiFailure;
use crate::types::{self, ConversationChannel as Channel, ReasonCode as Code};
use std::collections::HashMap;
use std::time::Duration;

/// An app's outgoing queue: how many wait, and when the next one may leave.
#[derive(Default)]
pub(crate) struct AppQueue {
    waiting: usize,
    next_slot: Duration,
}

impl AppQueue {
    pub fn len(&self) -> usize {
        self.waiting
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Message,
    Event,
}

/// A message or event on its way to a contact.
pub(crate) struct Outbound {
    pub kind: Kind,
    pub id: String,
    pub app_id: String,
    /// `""` in DISPATCH mode, as the API reports it.
    pub contact_id: String,
    pub conversation_id: String,
    pub mode: types::ProcessingMode,
    /// The identities to try, in order.
    pub candidates: Vec<types::ChannelIdentity>,
    /// The send's `message_metadata` (`event_metadata`), reported in each delivery report.
    pub metadata: String,
    pub content_type: Option<types::MessageContentType>,
    pub channel_properties: HashMap<String, String>,
    pub meta: Meta,
    /// When the `ttl` ends (fake time).
    pub expires: Option<Duration>,
    /// Decided on acceptance: the message fails this way when it leaves the queue.
    pub doomed: Option<types::Reason>,
}

/// Refuses a send with 429 when `app_id`'s queue is full (checked before anything is stored).
pub(crate) fn ensure_room(ctx: &Ctx, app_id: &str) -> Result<(), ApiFailure> {
    let full = ctx
        .p
        .conv()
        .queues
        .get(app_id)
        .is_some_and(|q| q.waiting >= ctx.cfg.queue_capacity);
    if full {
        let wait = Duration::from_secs_f64(1.0 / ctx.cfg.queue_rate);
        return Err(ApiFailure::rate_limited(
            format!("the outgoing queue of app {app_id} is full"),
            wait,
        ));
    }
    Ok(())
}

/// Puts `out` in its app's queue: it leaves at the app's rate, in order.
pub(crate) fn enqueue(ctx: &mut Ctx, out: Outbound) {
    let period = Duration::from_secs_f64(1.0 / ctx.cfg.queue_rate);
    let at = ctx.at;
    let q = ctx
        .p
        .conv_mut()
        .queues
        .entry(out.app_id.clone())
        .or_default();
    let slot = q.next_slot.max(at);
    q.next_slot = slot + period;
    q.waiting += 1;
    ctx.effects
        .timers
        .push((slot, Box::new(move |ctx: &mut Ctx| dequeue(ctx, out))));
}

fn dequeue(ctx: &mut Ctx, mut out: Outbound) {
    if let Some(q) = ctx.p.conv_mut().queues.get_mut(&out.app_id) {
        q.waiting = q.waiting.saturating_sub(1);
    }
    let first = out.candidates.first().cloned();
    if !ctx.p.conv().apps.contains_key(&out.app_id) {
        return fail(ctx, &out, first, reason(Code::UnknownApp));
    }
    if out.expires.is_some_and(|e| ctx.at >= e) {
        return fail(ctx, &out, first, reason(Code::DeliveryTimedOut));
    }
    if let Some(r) = out.doomed.take() {
        return fail(ctx, &out, first, r);
    }
    attempt(ctx, out, None);
}

/// Hands `out` to the channel of its next candidate identity.
fn attempt(ctx: &mut Ctx, mut out: Outbound, last: Option<types::Reason>) {
    if out.candidates.is_empty() {
        let r = last.unwrap_or_else(|| reason(Code::NoChannelsLeft));
        return fail(ctx, &out, None, r);
    }
    let identity = out.candidates.remove(0);
    match verdict(ctx, &out, &identity) {
        Err(r) => give_up_or_switch(ctx, out, identity, r),
        Ok(plan) => {
            if out.kind == Kind::Message {
                submitted(ctx, &out, &identity);
            }
            report(
                ctx,
                &out,
                &identity,
                types::DeliveryStatus::QueuedOnChannel,
                None,
            );
            schedule(ctx, out, identity, plan);
        }
    }
}

/// After a channel failed: SWITCHING_CHANNEL and the next identity, or FAILED when none is
/// left or the message expired (no fallback after `ttl`).
fn give_up_or_switch(
    ctx: &mut Ctx,
    out: Outbound,
    identity: types::ChannelIdentity,
    r: types::Reason,
) {
    let expired = out.expires.is_some_and(|e| ctx.at >= e);
    if out.candidates.is_empty() || expired {
        return fail(ctx, &out, Some(identity), r);
    }
    let status = types::DeliveryStatus::SwitchingChannel;
    report(ctx, &out, &identity, status, Some(r.clone()));
    attempt(ctx, out, Some(r));
}

/// A message the API took (in a batch) but could not even queue: reported FAILED with the
/// reason it was refused.
pub(crate) fn refuse(ctx: &mut Ctx, app_id: &str, why: &str) {
    let mode = ctx
        .p
        .conv()
        .apps
        .get(app_id)
        .map(super::mode_of)
        .unwrap_or(types::ProcessingMode::Dispatch);
    let out = Outbound {
        kind: Kind::Message,
        id: ctx.new_id(),
        app_id: app_id.to_owned(),
        contact_id: String::new(),
        conversation_id: String::new(),
        mode,
        candidates: vec![],
        metadata: String::new(),
        content_type: None,
        channel_properties: HashMap::new(),
        meta: Meta {
            accepted_time: Some(ctx.now),
            ..Meta::default()
        },
        expires: None,
        doomed: None,
    };
    let mut r = reason(Code::BadRequest);
    r.description = Some(why.to_owned());
    fail(ctx, &out, None, r);
}

fn fail(ctx: &mut Ctx, out: &Outbound, identity: Option<types::ChannelIdentity>, r: types::Reason) {
    let identity = identity.unwrap_or_else(|| types::ChannelIdentity {
        channel: Channel::ChannelUnspecified,
        identity: String::new(),
        app_id: Some(String::new()),
    });
    report(ctx, out, &identity, types::DeliveryStatus::Failed, Some(r));
}

fn schedule(ctx: &mut Ctx, out: Outbound, identity: types::ChannelIdentity, plan: Plan) {
    let t = ctx.cfg.timings;
    match plan {
        Plan::Silent => {}
        Plan::Fail { after, code } => ctx.after(after, move |ctx| {
            give_up_or_switch(ctx, out, identity, reason(code))
        }),
        Plan::Deliver { after, read, reply } => {
            // A message that would arrive after its ttl times out instead.
            if let Some(left) = out.expires.map(|e| e.saturating_sub(ctx.at)) {
                if left < after {
                    return ctx.after(left, move |ctx| {
                        fail(ctx, &out, Some(identity), reason(Code::DeliveryTimedOut))
                    });
                }
            }
            ctx.after(after, move |ctx| {
                let delivered = types::DeliveryStatus::Delivered;
                report(ctx, &out, &identity, delivered, None);
                if read {
                    ctx.after(t.read, move |ctx| {
                        report(ctx, &out, &identity, types::DeliveryStatus::Read, None);
                        if reply {
                            ctx.after(t.reply, move |ctx| answer(ctx, &out, &identity));
                        }
                    });
                } else if reply {
                    ctx.after(t.reply, move |ctx| answer(ctx, &out, &identity));
                }
            });
        }
    }
}

/// The replying test recipient's answer to a delivered message.
fn answer(ctx: &mut Ctx, out: &Outbound, identity: &types::ChannelIdentity) {
    let message = types::ContactMessage {
        text_message: Some(types::TextMessage {
            text: "Thanks, got it".into(),
        }),
        reply_to: (out.kind == Kind::Message).then(|| types::ReplyTo {
            message_id: out.id.clone(),
        }),
        ..Default::default()
    };
    let _ = super::inbound::receive(
        ctx,
        &out.app_id,
        identity.channel.clone(),
        &identity.identity,
        super::inbound::Received::Message(Box::new(message)),
    );
}

/// The app message of a message on its way, as stored (events have none).
pub(crate) fn message_of(ctx: &Ctx, out: &Outbound) -> Option<types::AppMessage> {
    ctx.p.conv().messages.get(&out.id)?.item.app_message()
}

/// The channel identity as reports carry it: the app's id on app-scoped channels, else `""`.
fn reported(out: &Outbound, identity: &types::ChannelIdentity) -> types::ChannelIdentity {
    let mut i = identity.clone();
    i.app_id = Some(if super::app_scoped(&i.channel) {
        out.app_id.clone()
    } else {
        String::new()
    });
    i
}

fn submitted(ctx: &mut Ctx, out: &Outbound, identity: &types::ChannelIdentity) {
    let n = types::MessageSubmitNotification {
        message_id: Some(out.id.clone()),
        conversation_id: Some(out.conversation_id.clone()),
        channel_identity: Some(reported(out, identity)),
        contact_id: Some(out.contact_id.clone()),
        submitted_message: message_of(ctx, out),
        metadata: Some(out.metadata.clone()),
        processing_mode: Some(out.mode.clone()),
    };
    emit(ctx, &out.app_id, "MESSAGE_SUBMIT", n, &out.meta);
}

/// Emits a delivery report for `out` on `identity`.
fn report(
    ctx: &mut Ctx,
    out: &Outbound,
    identity: &types::ChannelIdentity,
    status: types::DeliveryStatus,
    reason: Option<types::Reason>,
) {
    let identity = Some(reported(out, identity));
    match out.kind {
        Kind::Message => {
            let report = types::MessageDeliveryReport {
                message_id: out.id.clone(),
                conversation_id: Some(out.conversation_id.clone()),
                status,
                channel_identity: identity,
                contact_id: Some(out.contact_id.clone()),
                reason,
                metadata: Some(out.metadata.clone()),
                processing_mode: Some(out.mode.clone()),
            };
            emit(ctx, &out.app_id, "MESSAGE_DELIVERY", report, &out.meta);
        }
        Kind::Event => {
            let report = types::EventDeliveryReport {
                event_id: out.id.clone(),
                status,
                channel_identity: identity,
                contact_id: Some(out.contact_id.clone()),
                reason,
                metadata: Some(out.metadata.clone()),
                processing_mode: Some(out.mode.clone()),
            };
            emit(ctx, &out.app_id, "EVENT_DELIVERY", report, &out.meta);
        }
    }
}
