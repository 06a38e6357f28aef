//! Reading a callback's body within the limit. An oversized body is read on and thrown away
//! (within a bound) before the 413 is sent: a server that answers and closes while the
//! sender is still writing makes the sender's kernel see a reset, and the sender then reports
//! a transport failure (which it retries) instead of the 413 (which it must not).

use super::receiver::BoxError;
use bytes::{Buf as _, BufMut as _, Bytes, BytesMut};
use http_body::Body;
use http_body_util::BodyExt as _;
use std::time::Duration;

/// What reading the body came to.
pub(super) enum Read {
    Body(Bytes),
    /// Over the limit. `drained`: the whole body was read, so the connection can stay open.
    TooLarge {
        drained: bool,
    },
    Unreadable,
}

/// Past this many bytes (or [`DRAIN_FOR`]) an oversized body is not read any further: the
/// sender may then see its connection reset, which only a far larger body than any callback
/// risks.
fn drain_limit(limit: usize) -> u64 {
    (limit as u64).saturating_mul(8).max(8 << 20)
}

/// How long an oversized body is read at most.
const DRAIN_FOR: Duration = Duration::from_secs(5);

/// Reads `body` (sent with `headers`) up to `limit` bytes.
pub(super) async fn read<B>(headers: &http::HeaderMap, body: B, limit: usize) -> Read
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > drain_limit(limit)) {
        return Read::TooLarge { drained: false };
    }
    let mut body = std::pin::pin!(body);
    let mut kept = BytesMut::with_capacity(declared.map_or(0, |n| n.min(limit as u64) as usize));
    let mut seen = 0u64;
    let mut over: Option<tokio::time::Instant> = None;
    loop {
        let frame = match over {
            None => body.frame().await,
            Some(until) => match tokio::time::timeout_at(until, body.frame()).await {
                Ok(frame) => frame,
                Err(_) => return Read::TooLarge { drained: false },
            },
        };
        let data = match frame {
            None => break,
            Some(Err(_)) if over.is_some() => return Read::TooLarge { drained: false },
            Some(Err(_)) => return Read::Unreadable,
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue, // trailers
            },
        };
        seen += data.remaining() as u64;
        if over.is_none() && seen > limit as u64 {
            over = Some(tokio::time::Instant::now() + DRAIN_FOR);
            kept = BytesMut::new();
        }
        if over.is_none() {
            kept.put(data);
        } else if seen > drain_limit(limit) {
            return Read::TooLarge { drained: false };
        }
    }
    if over.is_some() {
        Read::TooLarge { drained: true }
    } else {
        Read::Body(kept.freeze())
    }
}
