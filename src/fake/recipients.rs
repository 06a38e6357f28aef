//! Test recipients: identities that make the fake produce one delivery outcome each, like the
//! test card numbers payment APIs publish.
//!
//! They are phone numbers from the range reserved for fiction (+1 206 555-01xx); the same
//! digits work as the identity on any channel (an SMS number, a WhatsApp number, a Messenger
//! id). Any other identity is delivered, unless a documented rule fails it (see the rule
//! table in [`crate::fake`]). Timings come from [`super::Timings`].
//!
//! | Identity | Outcome |
//! | --- | --- |
//! | [`DELIVERED`] `+12065550100` | QUEUED_ON_CHANNEL, then DELIVERED (what every other identity gets) |
//! | [`INVALID`] `+12065550101` | FAILED `RECIPIENT_INVALID_CHANNEL_IDENTITY` when the channel takes it |
//! | [`NOT_REACHABLE`] `+12065550102` | QUEUED_ON_CHANNEL, then FAILED `RECIPIENT_NOT_REACHABLE` |
//! | [`CHANNEL_FAILURE`] `+12065550103` | QUEUED_ON_CHANNEL, then FAILED `CHANNEL_FAILURE` after the channel's retries |
//! | [`REJECTED_BY_POLICY`] `+12065550104` | QUEUED_ON_CHANNEL, then FAILED `DELIVERY_REJECTED_DUE_TO_POLICY` |
//! | [`CHANNEL_RATE_LIMITED`] `+12065550105` | QUEUED_ON_CHANNEL, then FAILED `RATE_LIMITED` (the channel throttled it) |
//! | [`TIMED_OUT`] `+12065550106` | QUEUED_ON_CHANNEL, then FAILED `DELIVERY_TIMED_OUT` when the message's `ttl` (or the timeout) runs out |
//! | [`NEVER_REPORTED`] `+12065550107` | QUEUED_ON_CHANNEL, then nothing |
//! | [`DELIVERED_LATE`] `+12065550108` | QUEUED_ON_CHANNEL, then DELIVERED after the late delay |
//! | [`READS`] `+12065550109` | DELIVERED, then READ on channels with read receipts |
//! | [`REPLIES`] `+12065550110` | DELIVERED, READ where the channel reports it, then a MESSAGE_INBOUND reply quoting the message |
//! | [`OPTED_OUT`] `+12065550111` | FAILED `RECIPIENT_NOT_OPTED_IN`: on every app's opt-out list |
//!
//! A failure on one channel with another identity left to try is reported as
//! SWITCHING_CHANNEL and the next identity is tried, as the API does.

/// Delivered (as any identity without a rule against it is).
pub const DELIVERED: &str = "+12065550100";
/// Fails with `RECIPIENT_INVALID_CHANNEL_IDENTITY`.
pub const INVALID: &str = "+12065550101";
/// Fails with `RECIPIENT_NOT_REACHABLE` after reaching the channel.
pub const NOT_REACHABLE: &str = "+12065550102";
/// Fails with `CHANNEL_FAILURE` after the channel's retries.
pub const CHANNEL_FAILURE: &str = "+12065550103";
/// Fails with `DELIVERY_REJECTED_DUE_TO_POLICY`.
pub const REJECTED_BY_POLICY: &str = "+12065550104";
/// Fails with `RATE_LIMITED`: the channel throttled it.
pub const CHANNEL_RATE_LIMITED: &str = "+12065550105";
/// Fails with `DELIVERY_TIMED_OUT` when the message's `ttl`, or the fake's timeout, ends.
pub const TIMED_OUT: &str = "+12065550106";
/// Reaches QUEUED_ON_CHANNEL and is never reported again.
pub const NEVER_REPORTED: &str = "+12065550107";
/// Delivered after [`super::Timings::late`].
pub const DELIVERED_LATE: &str = "+12065550108";
/// Delivered, then read (on channels with read receipts).
pub const READS: &str = "+12065550109";
/// Delivered, read where reported, then answers with a text that replies to the message.
pub const REPLIES: &str = "+12065550110";
/// On every app's `OPT_OUT_ALL` list: fails with `RECIPIENT_NOT_OPTED_IN`.
pub const OPTED_OUT: &str = "+12065550111";

/// What a test identity does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Behaviour {
    Delivered,
    Invalid,
    NotReachable,
    ChannelFailure,
    RejectedByPolicy,
    RateLimited,
    TimedOut,
    NeverReported,
    Late,
    Reads,
    Replies,
    OptedOut,
}

const ALL: [(&str, Behaviour, &str); 12] = [
    (DELIVERED, Behaviour::Delivered, "delivered"),
    (
        INVALID,
        Behaviour::Invalid,
        "FAILED RECIPIENT_INVALID_CHANNEL_IDENTITY",
    ),
    (
        NOT_REACHABLE,
        Behaviour::NotReachable,
        "FAILED RECIPIENT_NOT_REACHABLE",
    ),
    (
        CHANNEL_FAILURE,
        Behaviour::ChannelFailure,
        "FAILED CHANNEL_FAILURE after retries",
    ),
    (
        REJECTED_BY_POLICY,
        Behaviour::RejectedByPolicy,
        "FAILED DELIVERY_REJECTED_DUE_TO_POLICY",
    ),
    (
        CHANNEL_RATE_LIMITED,
        Behaviour::RateLimited,
        "FAILED RATE_LIMITED by the channel",
    ),
    (
        TIMED_OUT,
        Behaviour::TimedOut,
        "FAILED DELIVERY_TIMED_OUT at ttl or timeout",
    ),
    (
        NEVER_REPORTED,
        Behaviour::NeverReported,
        "QUEUED_ON_CHANNEL, then nothing",
    ),
    (
        DELIVERED_LATE,
        Behaviour::Late,
        "DELIVERED after the late delay",
    ),
    (READS, Behaviour::Reads, "DELIVERED, then READ"),
    (REPLIES, Behaviour::Replies, "DELIVERED, READ, then a reply"),
    (
        OPTED_OUT,
        Behaviour::OptedOut,
        "FAILED RECIPIENT_NOT_OPTED_IN (opted out)",
    ),
];

/// Every test identity with what it does, in the table's order.
pub fn all() -> impl Iterator<Item = (&'static str, &'static str)> {
    ALL.iter().map(|(id, _, what)| (*id, *what))
}

/// The behaviour of `identity` (compared by its digits, so `12065550102` and `+12065550102`
/// are the same recipient); `None` for ordinary identities.
pub(crate) fn behaviour(identity: &str) -> Option<Behaviour> {
    let digits = identity.strip_prefix('+').unwrap_or(identity);
    ALL.iter()
        .find(|(id, _, _)| id[1..] == *digits)
        .map(|(_, b, _)| *b)
}
