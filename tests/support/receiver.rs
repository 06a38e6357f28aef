//! A webhook receiver on loopback that verifies every callback with `webhook::Verifier`, keeps
//! the typed events in arrival order, and can be told to fail its next answers.
#![allow(dead_code)]

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use sinch_conversation::webhook::{Event, Verifier};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct State {
    verifier: Verifier,
    events: Mutex<Vec<(Instant, Event)>>,
    rejected: AtomicUsize,
    fail_next: AtomicUsize,
}

pub struct Receiver {
    pub url: String,
    state: Arc<State>,
}

impl Receiver {
    pub async fn start(secret: &str) -> Receiver {
        let state = Arc::new(State {
            verifier: Verifier::new(secret),
            events: Mutex::new(vec![]),
            rejected: AtomicUsize::new(0),
            fail_next: AtomicUsize::new(0),
        });
        let st = state.clone();
        let app = axum::Router::new().fallback(move |h: HeaderMap, body: Bytes| {
            let st = st.clone();
            async move {
                let failing = st
                    .fail_next
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                    .is_ok();
                if failing {
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                match st.verifier.verify_and_parse(&h, &body) {
                    Ok(e) => {
                        st.events.lock().unwrap().push((Instant::now(), e));
                        StatusCode::OK
                    }
                    Err(_) => {
                        st.rejected.fetch_add(1, Ordering::AcqRel);
                        StatusCode::UNAUTHORIZED
                    }
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/callbacks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, state }
    }

    /// Answers 500 to the next `n` callbacks.
    pub fn fail_next(&self, n: usize) {
        self.state.fail_next.store(n, Ordering::Release);
    }

    pub fn events(&self) -> Vec<Event> {
        self.timed().into_iter().map(|(_, e)| e).collect()
    }

    pub fn timed(&self) -> Vec<(Instant, Event)> {
        self.state.events.lock().unwrap().clone()
    }

    /// Callbacks whose signature did not verify.
    pub fn rejected(&self) -> usize {
        self.state.rejected.load(Ordering::Acquire)
    }

    /// Waits until `pred` holds for the events received, or panics after `timeout`.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        pred: impl Fn(&[Event]) -> bool,
    ) -> Vec<Event> {
        let until = Instant::now() + timeout;
        loop {
            let events = self.events();
            if pred(&events) {
                return events;
            }
            assert!(Instant::now() < until, "timed out; received {events:#?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Events with a given trigger.
    pub fn with_trigger(&self, trigger: &str) -> Vec<Event> {
        self.events()
            .into_iter()
            .filter(|e| e.trigger() == Some(trigger))
            .collect()
    }
}
