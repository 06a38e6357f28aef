//! What a channel does with a message it is handed: the checks it makes (credentials, the
//! identity's form, consent, content, sending windows) and the documented reason it fails
//! with, and how it and the recipient answer (delivered, read, failed later, or silent), on
//! the fake's clock.

use super::delivery::{message_of, Kind, Outbound};
use crate::fake::core::ctx::Ctx;
use crate::fake::recipients::{behaviour, Behaviour};
use crate::types::{self, ConversationChannel as Channel, ReasonCode as Code};
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

/// What the channel and recipient will do with a message they took.
pub(crate) enum Plan {
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
pub(crate) fn verdict(
    ctx: &Ctx,
    out: &Outbound,
    identity: &types::ChannelIdentity,
) -> Result<Plan, types::Reason> {
    let channel = &identity.channel;
    let app = ctx.p.conv().apps.get(&out.app_id);
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
    let s = ctx.p.conv();
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
    translation(ctx, reference).map(|_| ()).map_err(reason)
}

/// The translation an omni template reference names (its language, else the template's
/// default; its version, else the newest), with every variable given a parameter; else the
/// delivery reason it fails with.
pub(super) fn translation<'c>(
    ctx: &'c Ctx,
    reference: &types::TemplateReference,
) -> Result<&'c crate::templates::types::V2TemplateTranslation, Code> {
    let template = ctx
        .p
        .templates()
        .templates
        .get(&reference.template_id)
        .ok_or(Code::TemplateNotFound)?;
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
        .ok_or(Code::TemplateNonExistingLanguageOrVersion)?;
    let missing = translation.variables.iter().any(|v| {
        v.key
            .as_ref()
            .is_some_and(|k| !reference.parameters.contains_key(k))
    });
    if missing {
        return Err(Code::TemplateInsufficientParameters);
    }
    Ok(translation)
}

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
        .conv()
        .last_inbound
        .get(&key)
        .is_some_and(|t| ctx.at.saturating_sub(*t) < WINDOW);
    if open {
        Ok(())
    } else {
        Err(reason(Code::OutsideAllowedSendingWindow))
    }
}
