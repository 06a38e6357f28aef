//! Handing admitted callbacks to the application: bounded queues, one worker each, optional
//! order per conversation or contact, acknowledgement on acceptance or on completion, and a
//! shutdown that drains what was accepted.

use super::dedup::{DedupKey, Owner};
use super::intake::{Intake, Rejection};
use super::{Event, HeaderSource, Verifier};
use crate::metrics::{HandlerError, MeterSetting, ReceiverMetrics, Refused};
use futures_core::future::BoxFuture;
use futures_util::FutureExt as _;
use std::collections::hash_map::DefaultHasher;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering as Mem};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::task::JoinHandle;

/// An error from a [`Handler`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Your code: receives each callback once.
///
/// Any `Fn(Event) -> impl Future<Output = Result<(), E>>` is a handler. An `Err` (or a panic)
/// means the event was not handled: with [`Ack::Handled`] the API is answered 503 and
/// redelivers it; with [`Ack::Accepted`] it was acknowledged already, so it is counted in
/// [`Stats::failed`] and logged, and retrying is up to you.
pub trait Handler: Send + Sync + 'static {
    /// Handles one event.
    fn handle(&self, event: Event) -> impl Future<Output = Result<(), BoxError>> + Send;
}

impl<F, Fut, E> Handler for F
where
    F: Fn(Event) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: Into<BoxError>,
{
    fn handle(&self, event: Event) -> impl Future<Output = Result<(), BoxError>> + Send {
        let fut = self(event);
        async move { fut.await.map_err(Into::into) }
    }
}

type Erased = Arc<dyn Fn(Event) -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync>;

/// When the API gets its 2xx.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ack {
    /// As soon as the event is in the bounded queue (the default). Answers in microseconds, so
    /// the API never times out and redelivers; a crash before your handler finishes loses the
    /// events still queued (at most the queue's capacity).
    Accepted,
    /// Once your handler returned `Ok`; an error, a panic, or no answer `within` the time is
    /// answered 503 and the API redelivers. Nothing acknowledged is lost on a crash. Keep
    /// `within` below the API's own timeout for a callback, or it redelivers a copy while the
    /// first is still being handled (that copy is answered 503 until the first finishes).
    Handled {
        /// How long to wait for the handler before answering 503.
        within: Duration,
    },
}

/// Which events must reach your handler in the order they were accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OrderBy {
    /// No order: any free worker takes any event (the default).
    #[default]
    None,
    /// Events of one conversation in order (`conversation_id` of messages, reports, submits,
    /// inbound events and conversation notifications). Events without one go to any worker.
    Conversation,
    /// Events of one contact in order (`contact_id`, else the channel identity, which is all a
    /// DISPATCH-mode app has). Events without either go to any worker.
    Contact,
}

/// Counters of a [`Receiver`] since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Callbacks that reached the receiver.
    pub received: u64,
    /// Events accepted into the queue (each callback at most once).
    pub accepted: u64,
    /// Copies of callbacks accepted before, acknowledged without handing over.
    pub duplicates: u64,
    /// Answered 401, 400 or 413: forged, stale, tampered, unreadable or too large.
    pub rejected: u64,
    /// Answered 503: queue full, a copy in progress, store unavailable, shutting down, or (with
    /// `Ack::Handled`) the handler failed.
    pub unavailable: u64,
    /// Events your handler finished with `Ok`.
    pub handled: u64,
    /// Events your handler failed on (error or panic).
    pub failed: u64,
    /// Events accepted and not yet finished by your handler.
    pub pending: u64,
}

#[derive(Default)]
struct Counters {
    received: AtomicU64,
    accepted: AtomicU64,
    duplicates: AtomicU64,
    rejected: AtomicU64,
    unavailable: AtomicU64,
    handled: AtomicU64,
    failed: AtomicU64,
}

struct Job {
    event: Event,
    key: DedupKey,
    owner: Owner,
    /// With `Ack::Handled`: where the outcome goes.
    done: Option<oneshot::Sender<Result<(), String>>>,
}

struct Shared {
    intake: Intake,
    queues: Vec<mpsc::Sender<Job>>,
    order_by: OrderBy,
    ack: Ack,
    next: AtomicUsize,
    closing: AtomicBool,
    active: AtomicUsize,
    idle: Notify,
    counts: Arc<Counters>,
    drain: watch::Sender<bool>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    retry_after: Duration,
    metrics: ReceiverMetrics,
}

/// Receives callbacks: verifies, deduplicates, and hands each event to your [`Handler`]
/// through a bounded queue. Cheap to clone; every clone is the same receiver.
///
/// Serve it with [`Receiver::service`] (tower, hyper, axum), or call [`Receiver::receive`]
/// from any framework:
///
/// ```
/// use sinch_conversation::webhook::{self, Ack, Event, Handler, OrderBy, Receiver, Verifier};
/// use std::time::Duration;
///
/// /// A handler with state of its own.
/// struct Inbox(tokio::sync::mpsc::Sender<String>);
///
/// impl Handler for Inbox {
///     async fn handle(&self, event: Event) -> Result<(), webhook::BoxError> {
///         if let Event::MessageInbound(e) = event {
///             let text = e.message.contact_message.text_message.map(|t| t.text);
///             self.0.send(text.unwrap_or_default()).await?;
///         }
///         Ok(())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, mut texts) = tokio::sync::mpsc::channel(16);
/// let receiver = Receiver::builder(Verifier::new("secret"))
///     .order_by(OrderBy::Contact)
///     .ack(Ack::Handled { within: Duration::from_secs(2) })
///     .start(Inbox(tx));
///
/// // What a framework hands you: the headers and the raw body.
/// let body = br#"{"app_id":"a","message":{"id":"m1","contact_id":"c1","contact_message":{"text_message":{"text":"hi"}}}}"#;
/// # let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
/// let headers = webhook::signed_headers(b"secret", body, "nonce-1", now);
/// assert!(receiver.receive(&headers, body).await.is_ok()); // answer 200
/// assert_eq!(texts.recv().await.as_deref(), Some("hi"));
///
/// // The API's redelivery: another nonce, the same callback. Answered 200, not handed over.
/// let again = webhook::signed_headers(b"secret", body, "nonce-2", now);
/// let rejection = receiver.receive(&again, body).await.unwrap_err();
/// assert_eq!(rejection.status(), 200);
/// assert_eq!(receiver.stats().duplicates, 1);
/// receiver.shutdown().await;
/// # }
/// ```
#[derive(Clone)]
pub struct Receiver {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("intake", &self.shared.intake)
            .field("workers", &self.shared.queues.len())
            .field("order_by", &self.shared.order_by)
            .field("ack", &self.shared.ack)
            .finish_non_exhaustive()
    }
}

/// Settings of a [`Receiver`]; [`ReceiverBuilder::start`] runs it.
#[derive(Debug)]
pub struct ReceiverBuilder {
    intake: Intake,
    capacity: usize,
    workers: usize,
    order_by: OrderBy,
    ack: Ack,
    retry_after: Duration,
    metrics: MeterSetting,
}

impl From<Verifier> for Intake {
    fn from(verifier: Verifier) -> Intake {
        Intake::new(verifier)
    }
}

impl ReceiverBuilder {
    /// Events accepted but not yet handled, across all workers (default 1024; at least one per
    /// worker). When full, callbacks are answered 503 and redelivered later. This, the body
    /// limit and the dedup store's capacity bound the receiver's memory.
    pub fn capacity(mut self, events: usize) -> Self {
        self.capacity = events;
        self
    }

    /// How many events are handled at once (default 16): one queue and one worker each.
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// Keep events of one conversation or contact in order (default: no order).
    pub fn order_by(mut self, order_by: OrderBy) -> Self {
        self.order_by = order_by;
        self
    }

    /// When to acknowledge (default [`Ack::Accepted`]).
    pub fn ack(mut self, ack: Ack) -> Self {
        self.ack = ack;
        self
    }

    /// The `Retry-After` sent with 503 answers (default 1 s; a hint, the API may keep its own
    /// schedule).
    pub fn retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = wait;
        self
    }

    /// Records the receiver's metrics with `provider` instead of the global meter provider
    /// (feature `metrics`; see the README's "Operating the client").
    #[cfg(feature = "metrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    pub fn meter_provider<P>(mut self, provider: &P) -> Self
    where
        P: opentelemetry::metrics::MeterProvider + ?Sized,
    {
        self.metrics = MeterSetting::given(provider);
        self
    }

    /// Records no metrics for this receiver (feature `metrics`).
    #[cfg(feature = "metrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    pub fn without_metrics(mut self) -> Self {
        self.metrics = MeterSetting::Off;
        self
    }

    /// Starts the workers on the current tokio runtime and returns the receiver.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn start(self, handler: impl Handler) -> Receiver {
        let handler = Arc::new(handler);
        let erased: Erased = Arc::new(move |event| {
            let handler = handler.clone();
            Box::pin(async move { handler.handle(event).await })
        });
        let per_queue = self.capacity.div_ceil(self.workers).max(1);
        let counts = Arc::new(Counters::default());
        let metrics = ReceiverMetrics::new(&self.metrics);
        let (drain, drained) = watch::channel(false);
        let mut queues = Vec::with_capacity(self.workers);
        let mut workers = Vec::with_capacity(self.workers);
        for _ in 0..self.workers {
            let (tx, rx) = mpsc::channel(per_queue);
            queues.push(tx);
            workers.push(tokio::spawn(work(
                rx,
                erased.clone(),
                self.intake.clone(),
                counts.clone(),
                drained.clone(),
                metrics.clone(),
            )));
        }
        Receiver {
            shared: Arc::new(Shared {
                intake: self.intake,
                queues,
                order_by: self.order_by,
                ack: self.ack,
                next: AtomicUsize::new(0),
                closing: AtomicBool::new(false),
                active: AtomicUsize::new(0),
                idle: Notify::new(),
                counts,
                drain,
                workers: Mutex::new(workers),
                retry_after: self.retry_after,
                metrics,
            }),
        }
    }
}

/// Counts a `receive` in flight, so shutdown can wait for it.
struct Active<'a>(&'a Shared);

impl Drop for Active<'_> {
    fn drop(&mut self) {
        if self.0.active.fetch_sub(1, Mem::SeqCst) == 1 && self.0.closing.load(Mem::SeqCst) {
            self.0.idle.notify_waiters();
        }
    }
}

impl Receiver {
    /// Settings for a receiver that admits callbacks with `intake` (or a [`Verifier`]).
    pub fn builder(intake: impl Into<Intake>) -> ReceiverBuilder {
        ReceiverBuilder {
            intake: intake.into(),
            capacity: 1024,
            workers: 16,
            order_by: OrderBy::None,
            ack: Ack::Accepted,
            retry_after: Duration::from_secs(1),
            metrics: MeterSetting::default(),
        }
    }

    /// The front half: verification settings, body limit and dedup store.
    pub fn intake(&self) -> &Intake {
        &self.shared.intake
    }

    /// The `Retry-After` for 503 answers.
    pub fn retry_after(&self) -> Duration {
        self.shared.retry_after
    }

    /// Receives one callback: `Ok` means answer 200 (handed over, or a copy of one that was);
    /// otherwise answer [`Rejection::status`].
    pub async fn receive<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
    ) -> Result<(), Rejection> {
        let counts = &self.shared.counts;
        counts.received.fetch_add(1, Mem::Relaxed);
        let result = self.admit_and_hand_over(headers, body).await;
        let counter = match &result {
            Ok(()) => None,
            Err(Rejection::Duplicate) => Some(&counts.duplicates),
            Err(r) if r.status().is_server_error() => Some(&counts.unavailable),
            Err(_) => Some(&counts.rejected),
        };
        if let Some(c) = counter {
            c.fetch_add(1, Mem::Relaxed);
        }
        self.shared.metrics.received(&result);
        result
    }

    async fn admit_and_hand_over<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
    ) -> Result<(), Rejection> {
        let shared = &*self.shared;
        shared.active.fetch_add(1, Mem::SeqCst);
        let _active = Active(shared);
        if shared.closing.load(Mem::SeqCst) {
            return Err(Rejection::Unavailable("shutting down"));
        }
        let admitted = shared.intake.admit(headers, body).await?;
        let (key, owner) = (admitted.key.clone(), admitted.owner);
        let (done, outcome) = match shared.ack {
            Ack::Accepted => (None, None),
            Ack::Handled { within } => {
                let (tx, rx) = oneshot::channel();
                (Some(tx), Some((rx, within)))
            }
        };
        let job = Job {
            event: admitted.event,
            key: admitted.key,
            owner,
            done,
        };
        if let Err(why) = self.enqueue(job) {
            shared.intake.release(&key, owner).await;
            return Err(Rejection::Unavailable(why));
        }
        shared.counts.accepted.fetch_add(1, Mem::Relaxed);
        let Some((rx, within)) = outcome else {
            shared.intake.complete(&key, owner).await;
            return Ok(());
        };
        // The worker completes or releases the key itself, whenever the handler finishes.
        match tokio::time::timeout(within, rx).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(Rejection::Handler(e)),
            Ok(Err(_)) => Err(Rejection::Handler("worker stopped".into())),
            Err(_) => Err(Rejection::Handler(format!(
                "still running after {within:?}"
            ))),
        }
    }

    /// Puts `job` on its queue without waiting: the queue for its order key, else the first
    /// with room starting from the next in turn.
    fn enqueue(&self, job: Job) -> Result<(), &'static str> {
        let shared = &*self.shared;
        let n = shared.queues.len();
        let fixed = order_key(&job.event, shared.order_by).map(|k| {
            let mut h = DefaultHasher::new();
            k.hash(&mut h);
            (h.finish() % n as u64) as usize
        });
        let (first, tries) = match fixed {
            Some(i) => (i, 1),
            None => (shared.next.fetch_add(1, Mem::Relaxed) % n, n),
        };
        let mut job = job;
        // Counted before the worker can take it out.
        shared.metrics.queued(1);
        for t in 0..tries {
            match shared.queues[(first + t) % n].try_send(job) {
                Ok(()) => return Ok(()),
                Err(mpsc::error::TrySendError::Full(back)) => job = back,
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    shared.metrics.queued(-1);
                    return Err("shutting down");
                }
            }
        }
        shared.metrics.queued(-1);
        Err("full")
    }

    /// Counts a request the HTTP layer refused before [`Self::receive`] (wrong method, body
    /// too large or unreadable).
    pub(super) fn count_refused(&self, why: Refused) {
        self.shared.metrics.refused(why);
        let c = &self.shared.counts;
        c.received.fetch_add(1, Mem::Relaxed);
        c.rejected.fetch_add(1, Mem::Relaxed);
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let c = &self.shared.counts;
        let accepted = c.accepted.load(Mem::Relaxed);
        let handled = c.handled.load(Mem::Relaxed);
        let failed = c.failed.load(Mem::Relaxed);
        Stats {
            received: c.received.load(Mem::Relaxed),
            accepted,
            duplicates: c.duplicates.load(Mem::Relaxed),
            rejected: c.rejected.load(Mem::Relaxed),
            unavailable: c.unavailable.load(Mem::Relaxed),
            handled,
            failed,
            pending: accepted.saturating_sub(handled + failed),
        }
    }

    /// Stops taking callbacks (answering 503, so the API redelivers them later or to another
    /// instance), waits for the ones being received, then lets the workers finish every event
    /// accepted so far. Returns when they have. Idempotent.
    pub async fn shutdown(&self) {
        let shared = &*self.shared;
        shared.closing.store(true, Mem::SeqCst);
        loop {
            let idle = shared.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if shared.active.load(Mem::SeqCst) == 0 {
                break;
            }
            idle.await;
        }
        shared.drain.send_replace(true);
        let workers =
            std::mem::take(&mut *shared.workers.lock().unwrap_or_else(|p| p.into_inner()));
        for w in workers {
            let _ = w.await;
        }
    }

    /// Whether [`Self::shutdown`] was called.
    pub fn is_closing(&self) -> bool {
        self.shared.closing.load(Mem::SeqCst)
    }
}

/// The key whose events must stay in order, if the event has one.
fn order_key(event: &Event, by: OrderBy) -> Option<String> {
    let identity = |c: &Option<crate::types::ChannelIdentity>| {
        c.as_ref().map(|c| format!("{}:{}", c.channel, c.identity))
    };
    let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    match by {
        OrderBy::None => None,
        OrderBy::Conversation => match event {
            Event::MessageInbound(e) => nonempty(&e.message.conversation_id),
            Event::MessageInboundSmartConversationRedaction(e) => {
                nonempty(&e.message_redaction.conversation_id)
            }
            Event::MessageDeliveryReport(e) => nonempty(&e.message_delivery_report.conversation_id),
            Event::MessageSubmit(e) => nonempty(&e.message_submit_notification.conversation_id),
            Event::EventInbound(e) => nonempty(&e.event.conversation_id),
            Event::ConversationStart(e) => conversation(&e.conversation_start_notification),
            Event::ConversationStop(e) => conversation(&e.conversation_stop_notification),
            Event::ConversationDelete(e) => conversation(&e.conversation_delete_notification),
            _ => None,
        },
        OrderBy::Contact => match event {
            Event::MessageInbound(e) => {
                nonempty(&e.message.contact_id).or_else(|| identity(&e.message.channel_identity))
            }
            Event::MessageInboundSmartConversationRedaction(e) => {
                nonempty(&e.message_redaction.contact_id)
                    .or_else(|| identity(&e.message_redaction.channel_identity))
            }
            Event::MessageDeliveryReport(e) => {
                let r = &e.message_delivery_report;
                nonempty(&r.contact_id).or_else(|| identity(&r.channel_identity))
            }
            Event::EventDeliveryReport(e) => {
                let r = &e.event_delivery_report;
                nonempty(&r.contact_id).or_else(|| identity(&r.channel_identity))
            }
            Event::MessageSubmit(e) => {
                let n = &e.message_submit_notification;
                nonempty(&n.contact_id).or_else(|| identity(&n.channel_identity))
            }
            Event::EventInbound(e) => {
                nonempty(&e.event.contact_id).or_else(|| identity(&e.event.channel_identity))
            }
            Event::ConversationStart(e) => conversation_contact(&e.conversation_start_notification),
            Event::ConversationStop(e) => conversation_contact(&e.conversation_stop_notification),
            Event::ConversationDelete(e) => {
                conversation_contact(&e.conversation_delete_notification)
            }
            Event::ContactCreate(e) => contact(&e.contact_create_notification),
            Event::ContactUpdate(e) => contact(&e.contact_update_notification),
            Event::ContactDelete(e) => contact(&e.contact_delete_notification),
            _ => None,
        },
    }
}

fn conversation(n: &crate::types::ConversationNotification) -> Option<String> {
    n.conversation.as_ref()?.id.clone()
}

fn conversation_contact(n: &crate::types::ConversationNotification) -> Option<String> {
    n.conversation.as_ref()?.contact_id.clone()
}

fn contact(n: &crate::types::ContactNotification) -> Option<String> {
    n.contact.as_ref()?.id.clone()
}

/// One worker: handles its queue's events one at a time, in order.
async fn work(
    mut rx: mpsc::Receiver<Job>,
    handler: Erased,
    intake: Intake,
    counts: Arc<Counters>,
    mut drain: watch::Receiver<bool>,
    metrics: ReceiverMetrics,
) {
    loop {
        tokio::select! {
            biased;
            job = rx.recv() => match job {
                Some(job) => run(job, &handler, &intake, &counts, &metrics).await,
                None => return,
            },
            // Shutdown (or the receiver dropped): take nothing new, finish what is queued.
            () = async { drop(drain.wait_for(|d| *d).await) } => {
                rx.close();
                while let Some(job) = rx.recv().await {
                    run(job, &handler, &intake, &counts, &metrics).await;
                }
                return;
            }
        }
    }
}

async fn run(
    job: Job,
    handler: &Erased,
    intake: &Intake,
    counts: &Counters,
    metrics: &ReceiverMetrics,
) {
    metrics.queued(-1);
    let started = std::time::Instant::now();
    let outcome = match AssertUnwindSafe(handler(job.event)).catch_unwind().await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err((HandlerError::Error, e.to_string())),
        Err(_) => Err((HandlerError::Panic, "the handler panicked".to_owned())),
    };
    metrics.handled(started, outcome.as_ref().err().map(|e| e.0));
    let outcome = outcome.map_err(|e| e.1);
    match &outcome {
        Ok(()) => counts.handled.fetch_add(1, Mem::Relaxed),
        Err(e) => {
            tracing::warn!(key = %job.key, error = %e, "callback handler failed");
            counts.failed.fetch_add(1, Mem::Relaxed)
        }
    };
    if let Some(done) = job.done {
        // Ack::Handled: the key's fate follows the handler's.
        match outcome {
            Ok(()) => intake.complete(&job.key, job.owner).await,
            Err(_) => intake.release(&job.key, job.owner).await,
        }
        let _ = done.send(outcome);
    }
}
