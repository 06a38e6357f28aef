//! Delivery: each app's outgoing queue (drained at its rate), then the channel. When the queue
//! hands a message to a channel the fake decides what that channel and the recipient would do
//! and reports it as the API does: MESSAGE_SUBMIT and QUEUED_ON_CHANNEL on hand-over, then
//! DELIVERED, READ, FAILED (with the documented reason) or nothing, per channel; a failure with
//! another identity left is SWITCHING_CHANNEL and the next one is tried.

use super::notify::{emit, Meta};
use crate::fake::core::ctx::Ctx;
use crate::fake::core::reply::ApiFailure;
use crate::fake::recipients::{behaviour, Behaviour};
use crate::types::{self, ConversationChannel as Channel, ReasonCode as Code};
use std::collections::HashMap;
use std::time::Duration;

/// How long the channel and the recipient take, on the fake's clock (see
/// [`crate::fake::FakeBuilder::timings`]). The API documents none of these; the defaults keep
/// tests quick while keeping the order of events real.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Timings {
    /// From QUEUED_ON_CHANNEL to DELIVERED (or a channel's failure report). Default 100 ms.
    pub delivery: Duration,
    /// From DELIVERED to READ, for recipients that read. Default 200 ms.
    pub read: Duration,
    /// From READ (or DELIVERED) to a replying recipient's answer. Default 300 ms.
    pub reply: Duration,
    /// From QUEUED_ON_CHANNEL to DELIVERED for [`crate::fake::recipients::DELIVERED_LATE`].
    /// Default 30 s.
    pub late: Duration,
    /// How long the channel retries before CHANNEL_FAILURE (the API's own retry window is an
    /// app setting of up to an hour). Default 2 s.
    pub channel_retry: Duration,
    /// When a message without `ttl` times out, for [`crate::fake::recipients::TIMED_OUT`].
    /// Default 60 s.
    pub timeout: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            delivery: Duration::from_millis(100),
            read: Duration::from_millis(200),
            reply: Duration::from_millis(300),
            late: Duration::from_secs(30),
            channel_retry: Duration::from_secs(2),
            timeout: Duration::from_secs(60),
        }
    }
}

impl Timings {
    /// Sets [`Self::delivery`].
    pub fn delivery(mut self, d: Duration) -> Self {
        self.delivery = d;
        self
    }
    /// Sets [`Self::read`].
    pub fn read(mut self, d: Duration) -> Self {
        self.read = d;
        self
    }
    /// Sets [`Self::reply`].
    pub fn reply(mut self, d: Duration) -> Self {
        self.reply = d;
        self
    }
    /// Sets [`Self::late`].
    pub fn late(mut self, d: Duration) -> Self {
        self.late = d;
        self
    }
    /// Sets [`Self::channel_retry`].
    pub fn channel_retry(mut self, d: Duration) -> Self {
        self.channel_retry = d;
        self
    }
    /// Sets [`Self::timeout`].
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }
}

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

/// A documented failure reason, in our words.
pub(crate) fn reason(code: Code) -> types::Reason {
    let description = match code {
        Code::RecipientInvalidChannelIdentity => {
            "the identity is not a valid address on this channel"
        }
        Code::RecipientNotReachable => "the recipient cannot be reached on this channel",
        Code::RecipientNotOptedIn => "the recipient has not opted in to messages from this app",
        Code::OutsideAllowedSendingWindow => {
            "the channel's window for free-form messages to this recipient is closed"
        }
        Code::ChannelFailure => "the channel did not take the message after repeated tries",
        Code::ChannelConfigurationMissing => "the app has no credentials for this channel",
        Code::MediaTypeUnsupported => "the channel does not support this media type",
        Code::MediaNotReachable => "the media URL could not be fetched",
        Code::NoChannelsLeft => "no channel is left to try",
        Code::TemplateNotFound => "the template does not exist",
        Code::TemplateInsufficientParameters => "a template parameter has no value",
        Code::TemplateNonExistingLanguageOrVersion => {
            "the template has no translation in this language and version"
        }
        Code::DeliveryTimedOut => "the message was not delivered before it expired",
        Code::DeliveryRejectedDueToPolicy => "the channel refused the message by its policy",
        Code::ContactNotFound => "the contact does not exist",
        Code::BadRequest => "the channel refused the message as malformed",
        Code::UnknownApp => "the app no longer exists",
        Code::NoChannelIdentityForContact => {
            "the contact has no identity on a channel the app can use"
        }
        Code::RateLimited => "the channel's rate limit was reached",
        Code::UnsupportedOperation => "the channel does not support this operation",
        _ => "the message could not be delivered",
    };
    types::Reason {
        code: Some(code),
        description: Some(description.into()),
        sub_code: Some(types::ReasonSubCode::UnspecifiedSubCode),
        channel_code: None,
    }
}

/// Refuses a send with 429 when `app_id`'s queue is full (checked before anything is stored).
pub(crate) fn ensure_room(ctx: &Ctx, app_id: &str) -> Result<(), ApiFailure> {
    let full = ctx
        .p
        .conv
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
    let q = ctx.p.conv.queues.entry(out.app_id.clone()).or_default();
    let slot = q.next_slot.max(at);
    q.next_slot = slot + period;
    q.waiting += 1;
    ctx.effects
        .timers
        .push((slot, Box::new(move |ctx: &mut Ctx| dequeue(ctx, out))));
}

fn dequeue(ctx: &mut Ctx, mut out: Outbound) {
    if let Some(q) = ctx.p.conv.queues.get_mut(&out.app_id) {
        q.waiting = q.waiting.saturating_sub(1);
    }
    let first = out.candidates.first().cloned();
    if !ctx.p.conv.apps.contains_key(&out.app_id) {
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
        .conv
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

/// What the channel and recipient will do with a message they took.
enum Plan {
    Deliver {
        after: Duration,
        read: bool,
        reply: bool,
    },
    Fail {
        after: Duration,
        code: Code,
    },
    Silent,
}

/// Whether the channel takes the message for `identity` (`Err`: it refuses at once), and
/// what happens next. The checks follow the documented reasons, in the order a channel meets
/// them.
fn verdict(
    ctx: &Ctx,
    out: &Outbound,
    identity: &types::ChannelIdentity,
) -> Result<Plan, types::Reason> {
    let channel = &identity.channel;
    let app = ctx.p.conv.apps.get(&out.app_id);
    let configured =
        app.is_some_and(|a| a.channel_credentials.iter().any(|c| c.channel == *channel));
    if !configured {
        return Err(reason(Code::ChannelConfigurationMissing));
    }
    let who = behaviour(&identity.identity);
    if who == Some(Behaviour::Invalid) || !valid_identity(channel, &identity.identity) {
        return Err(reason(Code::RecipientInvalidChannelIdentity));
    }
    if who == Some(Behaviour::OptedOut) || opted_out(ctx, out, &identity.identity) {
        return Err(reason(Code::RecipientNotOptedIn));
    }
    if out.kind == Kind::Event && matches!(channel, Channel::Sms | Channel::Mms) {
        return Err(reason(Code::UnsupportedOperation));
    }
    if let Some(m) = &message_of(ctx, out) {
        check_content(ctx, m, channel)?;
        check_window(ctx, out, m, identity)?;
        if *channel == Channel::Mms
            && !out.channel_properties.contains_key("MMS_SENDER")
            && !has_default_sender(app)
        {
            return Err(reason(Code::BadRequest));
        }
    }
    let t = ctx.cfg.timings;
    let reads = matches!(
        channel,
        Channel::Whatsapp | Channel::Rcs | Channel::Viber | Channel::Viberbm | Channel::Instagram
    );
    // Channels that report nothing past QUEUED_ON_CHANNEL: Telegram never did, Messenger
    // stopped sending receipts with the 2020 privacy changes.
    let silent = matches!(channel, Channel::Telegram | Channel::Messenger);
    Ok(match who {
        Some(Behaviour::NotReachable) => fail_after(t.delivery, Code::RecipientNotReachable),
        Some(Behaviour::ChannelFailure) => fail_after(t.channel_retry, Code::ChannelFailure),
        Some(Behaviour::RejectedByPolicy) => {
            fail_after(t.delivery, Code::DeliveryRejectedDueToPolicy)
        }
        Some(Behaviour::RateLimited) => fail_after(t.delivery, Code::RateLimited),
        Some(Behaviour::TimedOut) => {
            let until = out.expires.unwrap_or(ctx.at + t.timeout);
            fail_after(until.saturating_sub(ctx.at), Code::DeliveryTimedOut)
        }
        Some(Behaviour::NeverReported) => Plan::Silent,
        _ if silent => Plan::Silent,
        Some(Behaviour::Late) => deliver(t.late, false, false),
        Some(Behaviour::Reads) => deliver(t.delivery, reads, false),
        Some(Behaviour::Replies) => deliver(t.delivery, reads, true),
        _ => deliver(t.delivery, false, false),
    })
}

fn deliver(after: Duration, read: bool, reply: bool) -> Plan {
    Plan::Deliver { after, read, reply }
}

fn fail_after(after: Duration, code: Code) -> Plan {
    Plan::Fail { after, code }
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

/// Phone-number channels take E.164 numbers (with or without the `+`); other channels'
/// identities are opaque ids.
fn valid_identity(channel: &Channel, identity: &str) -> bool {
    let phone = matches!(
        channel,
        Channel::Sms | Channel::Mms | Channel::Whatsapp | Channel::Rcs | Channel::Viberbm
    );
    if !phone {
        return !identity.trim().is_empty();
    }
    let digits = identity.strip_prefix('+').unwrap_or(identity);
    (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// On the app's opt-out list for everything, or for the message's kind of content.
fn opted_out(ctx: &Ctx, out: &Outbound, identity: &str) -> bool {
    let s = &ctx.p.conv;
    let kind_list = match out.content_type {
        Some(types::MessageContentType::ContentMarketing) => Some("OPT_OUT_MARKETING"),
        Some(types::MessageContentType::ContentNotification) => Some("OPT_OUT_NOTIFICATION"),
        _ => None,
    };
    s.on_list(&out.app_id, "OPT_OUT_ALL", identity)
        || kind_list.is_some_and(|l| s.on_list(&out.app_id, l, identity))
}

fn has_default_sender(app: Option<&types::AppResponse>) -> bool {
    app.is_some_and(|a| {
        a.channel_credentials.iter().any(|c| {
            c.channel == Channel::Mms
                && c.mms_credentials
                    .as_ref()
                    .and_then(|m| m.default_sender.as_deref())
                    .is_some_and(|s| !s.is_empty())
        })
    })
}

/// Media the channel could not fetch or carry, templates it could not fill.
fn check_content(
    ctx: &Ctx,
    m: &types::AppMessage,
    _channel: &Channel,
) -> Result<(), types::Reason> {
    let media = m
        .media_message
        .as_ref()
        .map(|x| x.url.as_str())
        .or_else(|| {
            m.card_message
                .as_ref()
                .and_then(|c| c.media_message.as_ref())
                .map(|x| x.url.as_str())
        });
    if let Some(url) = media {
        check_media(url)?;
    }
    let Some(reference) = m
        .template_message
        .as_ref()
        .and_then(|t| t.omni_template.as_ref())
    else {
        return Ok(());
    };
    let Some(template) = ctx.p.templates.templates.get(&reference.template_id) else {
        return Err(reason(Code::TemplateNotFound));
    };
    let language = reference
        .language_code
        .clone()
        .or_else(|| template.default_translation.clone())
        .unwrap_or_default();
    let version = reference.version.as_deref().filter(|v| *v != "latest");
    let translation = template
        .translations
        .iter()
        .rfind(|t| {
            same_language(&t.language_code, &language)
                && version.is_none_or(|v| t.version.as_deref() == Some(v))
        })
        .ok_or_else(|| reason(Code::TemplateNonExistingLanguageOrVersion))?;
    let missing = translation.variables.iter().any(|v| {
        v.key
            .as_ref()
            .is_some_and(|k| !reference.parameters.contains_key(k))
    });
    if missing {
        return Err(reason(Code::TemplateInsufficientParameters));
    }
    Ok(())
}

/// Template calls accept both `en-US` and `en_US`.
fn same_language(a: &str, b: &str) -> bool {
    a.replace('_', "-")
        .eq_ignore_ascii_case(&b.replace('_', "-"))
}

/// Hosts no one can fetch from the internet (reserved names, loopback, private networks),
/// and file types no channel carries.
fn check_media(raw: &str) -> Result<(), types::Reason> {
    let Ok(url) = url::Url::parse(raw) else {
        return Err(reason(Code::MediaNotReachable));
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err(reason(Code::MediaNotReachable));
    }
    let unreachable = match url.host() {
        None => true,
        Some(url::Host::Domain(d)) => {
            let d = d.to_ascii_lowercase();
            d == "localhost"
                || [".invalid", ".test", ".example", ".localhost", ".local"]
                    .iter()
                    .any(|t| d.ends_with(t))
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ip.is_private() || ip.is_link_local(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
    };
    if unreachable {
        return Err(reason(Code::MediaNotReachable));
    }
    let ext = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .and_then(|last| last.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase());
    const CARRIED: [&str; 22] = [
        "jpg", "jpeg", "png", "gif", "webp", "bmp", "mp4", "3gp", "mov", "mp3", "m4a", "aac",
        "amr", "ogg", "opus", "wav", "pdf", "vcf", "txt", "doc", "docx", "csv",
    ];
    if ext.is_some_and(|e| !CARRIED.contains(&e.as_str())) {
        return Err(reason(Code::MediaTypeUnsupported));
    }
    Ok(())
}

/// Channels that only allow free-form messages within 24 hours of the contact's last message
/// (WhatsApp; Messenger and Instagram unless a message tag is set). Templates are always
/// allowed.
fn check_window(
    ctx: &Ctx,
    out: &Outbound,
    m: &types::AppMessage,
    identity: &types::ChannelIdentity,
) -> Result<(), types::Reason> {
    const WINDOW: Duration = Duration::from_secs(24 * 3600);
    let tagged = |key: &str| out.channel_properties.contains_key(key);
    let windowed = match identity.channel {
        Channel::Whatsapp => true,
        Channel::Messenger => !tagged("MESSENGER_MESSAGE_TAG"),
        Channel::Instagram => !tagged("INSTAGRAM_MESSAGE_TAG"),
        _ => false,
    };
    if !windowed || m.template_message.is_some() {
        return Ok(());
    }
    let key = (
        out.app_id.clone(),
        identity.channel.clone(),
        identity.identity.clone(),
    );
    let open = ctx
        .p
        .conv
        .last_inbound
        .get(&key)
        .is_some_and(|t| ctx.at.saturating_sub(*t) < WINDOW);
    if open {
        Ok(())
    } else {
        Err(reason(Code::OutsideAllowedSendingWindow))
    }
}

/// The app message of a message on its way, as stored (events have none).
fn message_of(ctx: &Ctx, out: &Outbound) -> Option<types::AppMessage> {
    ctx.p.conv.messages.get(&out.id)?.item.app_message()
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
