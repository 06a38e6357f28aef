//! Callback delivery: signed POSTs to webhooks, in order per target, retried with backoff on
//! the fake's clock.

use bytes::Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, watch};

/// A callback on its way to a webhook.
#[derive(Clone, Debug)]
pub(crate) struct Outgoing {
    pub webhook_id: Option<String>,
    pub target: String,
    pub secret: Option<String>,
    pub trigger: &'static str,
    pub body: Bytes,
}

/// A callback the fake sent (or is still sending), and how its receiver answered.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DeliveredCallback {
    /// The webhook it was for; `None` for a message's own `callback_url`.
    pub webhook_id: Option<String>,
    /// Where it was posted.
    pub target: String,
    /// The trigger, such as `MESSAGE_DELIVERY`.
    pub trigger: String,
    /// The JSON body (parse it with [`crate::webhook::parse`]).
    pub body: Bytes,
    /// The callback this one repeats (see [`crate::fake::Fake::redeliver`]).
    pub redelivery_of: Option<usize>,
    /// Each try, in order.
    pub attempts: Vec<Attempt>,
    /// Whether a try got a 2xx answer.
    pub delivered: bool,
    /// Whether the fake is done with it (delivered, or out of tries).
    pub finished: bool,
}

impl DeliveredCallback {
    /// The body as a typed event.
    pub fn event(&self) -> Result<crate::webhook::Event, crate::webhook::ParseError> {
        crate::webhook::parse(&self.body)
    }
}

/// One try at posting a callback.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Attempt {
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    /// Why there was no answer (refused, timed out, ...).
    pub error: Option<String>,
    /// When the try was made.
    pub at: SystemTime,
    /// The signature headers it carried (`x-sinch-webhook-signature` and its nonce, timestamp
    /// and algorithm), empty for a webhook without a secret.
    pub headers: Vec<(String, String)>,
}

pub(crate) struct Outbox {
    /// Each callback, and what sending it again takes (its secret is never shown).
    records: Mutex<Vec<(DeliveredCallback, Outgoing)>>,
    pending: AtomicUsize,
    tx: mpsc::UnboundedSender<(usize, Outgoing)>,
}

pub(crate) type Inbox = mpsc::UnboundedReceiver<(usize, Outgoing)>;

impl Outbox {
    pub fn new() -> (Outbox, Inbox) {
        let (tx, rx) = mpsc::unbounded_channel();
        let outbox = Outbox {
            records: Mutex::new(vec![]),
            pending: AtomicUsize::new(0),
            tx,
        };
        (outbox, rx)
    }

    pub fn send(&self, out: Outgoing) {
        self.queue(out, None);
    }

    /// Sends callback `index` again, as the API does when it did not hear an answer: the
    /// same body, freshly signed. `false` if there is no such callback.
    pub fn redeliver(&self, index: usize) -> bool {
        let out = self.lock().get(index).map(|(_, out)| out.clone());
        match out {
            Some(out) => {
                self.queue(out, Some(index));
                true
            }
            None => false,
        }
    }

    fn queue(&self, out: Outgoing, redelivery_of: Option<usize>) {
        let index = {
            let mut records = self.lock();
            let record = DeliveredCallback {
                webhook_id: out.webhook_id.clone(),
                target: out.target.clone(),
                trigger: out.trigger.to_owned(),
                body: out.body.clone(),
                redelivery_of,
                attempts: vec![],
                delivered: false,
                finished: false,
            };
            records.push((record, out.clone()));
            records.len() - 1
        };
        self.pending.fetch_add(1, Ordering::AcqRel);
        if self.tx.send((index, out)).is_err() {
            self.finish(index, false); // stopped: nothing will deliver it
        }
    }

    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }

    pub fn snapshot(&self) -> Vec<DeliveredCallback> {
        self.lock().iter().map(|(r, _)| r.clone()).collect()
    }

    fn record(&self, index: usize, attempt: Attempt) {
        if let Some((r, _)) = self.lock().get_mut(index) {
            r.attempts.push(attempt);
        }
    }

    fn finish(&self, index: usize, delivered: bool) {
        if let Some((r, _)) = self.lock().get_mut(index) {
            r.delivered = delivered;
            r.finished = true;
        }
        self.pending.fetch_sub(1, Ordering::AcqRel);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(DeliveredCallback, Outgoing)>> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Retry settings for delivery.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Policy {
    pub attempts: u32,
    /// Wait before the second try; doubles per try up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// How long a receiver may take to answer one try.
    pub timeout: Duration,
}

/// Hands each callback to its target's worker; one worker per target keeps order per target.
pub(crate) async fn dispatch(
    shared: Arc<super::state::Shared>,
    mut inbox: Inbox,
    policy: Policy,
    mut shutdown: watch::Receiver<bool>,
) {
    let http = reqwest::Client::builder()
        .timeout(policy.timeout)
        .build()
        .unwrap_or_default();
    let mut workers: HashMap<String, mpsc::UnboundedSender<(usize, Outgoing)>> = HashMap::new();
    loop {
        let next = tokio::select! {
            n = inbox.recv() => n,
            _ = shutdown.wait_for(|s| *s) => None,
        };
        let Some((index, out)) = next else { break };
        let worker = workers.entry(out.target.clone()).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            let shared = shared.clone();
            let http = http.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(deliver_all(shared, rx, http, policy, shutdown));
            tx
        });
        if let Err(mpsc::error::SendError((index, _))) = worker.send((index, out)) {
            shared.outbox.finish(index, false);
        }
    }
}

async fn deliver_all(
    shared: Arc<super::state::Shared>,
    mut rx: mpsc::UnboundedReceiver<(usize, Outgoing)>,
    http: reqwest::Client,
    policy: Policy,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let next = tokio::select! {
            n = rx.recv() => n,
            _ = shutdown.wait_for(|s| *s) => None,
        };
        let Some((index, out)) = next else { break };
        let delivered = tokio::select! {
            d = deliver(&shared, index, &out, &http, policy) => d,
            _ = shutdown.wait_for(|s| *s) => false,
        };
        shared.outbox.finish(index, delivered);
    }
}

async fn deliver(
    shared: &super::state::Shared,
    index: usize,
    out: &Outgoing,
    http: &reqwest::Client,
    policy: Policy,
) -> bool {
    let outbox = &shared.outbox;
    // A receiver's Retry-After (on 429 or 503) stretches the next wait, within the maximum.
    let mut asked = Duration::ZERO;
    for attempt in 0..policy.attempts {
        if attempt > 0 {
            let wait = policy
                .backoff
                .saturating_mul(1 << (attempt - 1).min(16))
                .max(asked)
                .min(policy.max_backoff);
            shared
                .clock
                .sleep_until(shared.clock.elapsed() + wait)
                .await;
        }
        let mut headers = vec![];
        let mut req = http
            .post(&out.target)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(out.body.clone());
        if let Some(secret) = &out.secret {
            // Signed at the real time of sending, whatever a test did to the fake's clock:
            // receivers check the timestamp against their own clock.
            let now = SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs() as i64;
            let nonce = ulid::Ulid::new().to_string();
            for (name, value) in
                crate::webhook::signed_headers(secret.as_bytes(), &out.body, &nonce, now)
            {
                headers.push((name.to_string(), value.to_string()));
                req = req.header(name, value);
            }
        }
        let (status, error) = match req.send().await {
            Ok(resp) => {
                asked = crate::parse_retry_after(resp.headers()).unwrap_or_default();
                (Some(resp.status().as_u16()), None)
            }
            Err(e) => (None, Some(e.without_url().to_string())),
        };
        outbox.record(
            index,
            Attempt {
                status,
                error,
                at: SystemTime::now(),
                headers,
            },
        );
        if status.is_some_and(|s| (200..300).contains(&s)) {
            return true;
        }
    }
    false
}
