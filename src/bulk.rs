//! Sending many messages: a bounded number in flight, each outcome as it completes, and never
//! a message twice.

use crate::generated::{Client, ResponseValue};
use crate::metrics::ClientMetrics;
use crate::{types, Result};
use futures_core::Stream;
use futures_util::{stream, StreamExt as _};

/// What became of one request of a bulk send.
#[derive(Debug)]
#[non_exhaustive]
pub struct BulkOutcome {
    /// The request's position in the input, from 0.
    pub index: usize,
    /// The request, handed back (to log it, or to send it again later if the failure allows).
    pub request: types::SendMessageRequest,
    /// The API's answer, or why there is none.
    pub result: Result<ResponseValue<types::SendMessageResponse>>,
}

impl Client {
    /// Sends every request, at most `concurrency` at a time, yielding each outcome as it
    /// completes (not in input order: use [`BulkOutcome::index`]).
    ///
    /// Sends go at the rate limiter's pace ([`crate::RateLimit`]). A request is repeated only
    /// when the API did not take it: a 429 (waited out as asked), a 503, or a failure before
    /// anything was sent. A 500, a timeout or a connection lost after sending is reported for
    /// that request and never repeated, even with
    /// [`RetryConfig::retry_ambiguous_posts`](crate::RetryConfig::retry_ambiguous_posts): the
    /// message may already be on its way, and a second copy would reach the handset twice.
    ///
    /// ```no_run
    /// # async fn demo(client: sinch_conversation::Client, app: &str) {
    /// use sinch_conversation::prelude::*;
    /// use sinch_conversation::types::{AppMessage, ConversationChannel, Recipient, SendMessageRequest};
    ///
    /// let phones = ["+15550001", "+15550002", "+15550003"];
    /// let requests = phones.iter().map(|p| {
    ///     SendMessageRequest::new(app, Recipient::channel(ConversationChannel::Sms, *p), AppMessage::text("Hi"))
    /// });
    /// let mut outcomes = std::pin::pin!(client.send_all(requests, 64));
    /// while let Some(o) = outcomes.next().await {
    ///     match o.result {
    ///         Ok(sent) => println!("{} sent as {:?}", phones[o.index], sent.message_id),
    ///         Err(e) => eprintln!("{} failed: {e}", phones[o.index]),
    ///     }
    /// }
    /// # }
    /// ```
    pub fn send_all<'a, I>(
        &'a self,
        requests: I,
        concurrency: usize,
    ) -> impl Stream<Item = BulkOutcome> + 'a
    where
        I: IntoIterator<Item = types::SendMessageRequest>,
        I::IntoIter: 'a,
    {
        self.send_stream(stream::iter(requests), concurrency)
    }

    /// [`Self::send_all`] for requests that arrive as a stream (read from a queue, a file, a
    /// database cursor); no more than `concurrency` of them are held at once.
    pub fn send_stream<'a, S>(
        &'a self,
        requests: S,
        concurrency: usize,
    ) -> impl Stream<Item = BulkOutcome> + 'a
    where
        S: Stream<Item = types::SendMessageRequest> + 'a,
    {
        let sends = requests
            .enumerate()
            .map(move |(index, request)| async move {
                // Boxed: each send's task stays small (see `send_message`).
                let result = Box::pin(self.send_message_with(&request, true, None)).await;
                BulkOutcome {
                    index,
                    request,
                    result,
                }
            });
        let shared = &*self.inner.0;
        let limiter = &shared.limiters[crate::region::Service::Conversation.index()];
        ramped(sends, concurrency.max(1), limiter, &shared.metrics)
    }
}

/// Requests in flight at the start of a client's first bulk send; one more for every
/// [`RAMP_EVERY`] that complete, up to the concurrency asked for.
const FIRST_IN_FLIGHT: usize = 2;

/// Completed requests per added request in flight while ramping up: in-flight grows by a
/// quarter per round trip, so a ramp that meets the limit overshoots it by about a quarter.
const RAMP_EVERY: usize = 4;

/// Like `buffer_unordered(max)`, but starting with a few futures running and adding one per
/// [`RAMP_EVERY`] completed futures (TCP's slow start, at a quarter of its pace) until the
/// limiter paces requests: until the API has answered a few, a bulk send does not put all its
/// requests in the air at once (with several instances starting together, most of those would
/// be refused before any limiter knows there is a limit, and the slower ramp cuts what each
/// overshoots). Once the
/// limiter paces the requests, all may wait for their slot. Like TCP, the ramp is paid once:
/// a later bulk send starts where an earlier one got without a 429 (until the next cut).
fn ramped<'a, S, F>(
    sends: S,
    max: usize,
    limiter: &'a crate::limit::Limiter,
    metrics: &'a ClientMetrics,
) -> impl Stream<Item = F::Output> + 'a
where
    S: Stream<Item = F> + 'a,
    F: std::future::Future + 'a,
{
    use futures_util::stream::{FusedStream as _, FuturesUnordered};
    use std::task::Poll;
    let mut sends = Box::pin(sends.fuse());
    let mut running = FuturesUnordered::new();
    let mut limit = FIRST_IN_FLIGHT.max(limiter.bulk_start()).min(max);
    let mut done = 0usize;
    let mut window = Window { metrics, open: 0 };
    window.set(limit);
    stream::poll_fn(move |cx| {
        if limit < max && limiter.engaged() {
            limit = max;
            window.set(limit);
        }
        while running.len() < limit {
            match sends.as_mut().poll_next(cx) {
                Poll::Ready(Some(f)) => running.push(f),
                Poll::Ready(None) | Poll::Pending => break,
            }
        }
        match running.poll_next_unpin(cx) {
            Poll::Ready(Some(out)) => {
                done += 1;
                if done.is_multiple_of(RAMP_EVERY) && limit < max {
                    limit += 1;
                    window.set(limit);
                    if !limiter.engaged() {
                        limiter.bulk_reached(limit);
                    }
                }
                Poll::Ready(Some(out))
            }
            Poll::Ready(None) if sends.is_terminated() => {
                window.set(0);
                Poll::Ready(None)
            }
            Poll::Ready(None) | Poll::Pending => Poll::Pending,
        }
    })
}

/// A bulk send's window as the `sinch.client.bulk.window` metric sees it: added while the send
/// runs, taken out when it ends or is dropped.
struct Window<'a> {
    metrics: &'a ClientMetrics,
    open: usize,
}

impl Window<'_> {
    fn set(&mut self, n: usize) {
        if n != self.open {
            self.metrics.bulk_window(n as i64 - self.open as i64);
            self.open = n;
        }
    }
}

impl Drop for Window<'_> {
    fn drop(&mut self) {
        self.set(0);
    }
}
