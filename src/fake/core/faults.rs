//! Fault plans: the next N calls of an operation answer a status, wait, or lose their connection.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// What the next calls of an operation suffer; see [`crate::fake::Fake::inject`].
///
/// ```
/// use sinch_conversation::fake::Fault;
/// use std::time::Duration;
/// let outage = Fault::status(503).times(3);
/// let throttled = Fault::status(429).retry_after(Duration::from_secs(1));
/// let slow = Fault::delay(Duration::from_millis(200));
/// let cut = Fault::drop_connection();
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    pub(crate) action: Action,
    pub(crate) times: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Action {
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// Wait, then answer normally.
    Delay(Duration),
    /// Close the connection without answering (after the request was read).
    Drop,
}

impl Fault {
    /// Answer `status` with the API's error body (once; see [`Self::times`]).
    pub fn status(status: u16) -> Self {
        Fault {
            action: Action::Status {
                status,
                retry_after: None,
            },
            times: 1,
        }
    }
    /// Wait `delay` before answering normally.
    pub fn delay(delay: Duration) -> Self {
        Fault {
            action: Action::Delay(delay),
            times: 1,
        }
    }
    /// Close the connection without an answer, after reading the request: the caller cannot
    /// tell whether it was processed (it was not).
    pub fn drop_connection() -> Self {
        Fault {
            action: Action::Drop,
            times: 1,
        }
    }
    /// For this many calls (default one).
    pub fn times(mut self, n: u32) -> Self {
        self.times = n;
        self
    }
    /// With a status fault: also send `Retry-After` (whole seconds) and a `RetryInfo` detail.
    pub fn retry_after(mut self, wait: Duration) -> Self {
        if let Action::Status { retry_after, .. } = &mut self.action {
            *retry_after = Some(wait);
        }
        self
    }
}

/// The plans in force, in the order given.
#[derive(Default)]
pub(crate) struct Faults {
    plans: Mutex<VecDeque<(String, Fault)>>,
}

impl Faults {
    pub fn push(&self, operation: &str, fault: Fault) {
        if fault.times > 0 {
            self.lock().push_back((operation.to_owned(), fault));
        }
    }

    /// Forgets every plan.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The fault for this call of `operation`, if a plan covers it (uses up one of its calls).
    pub fn take(&self, operation: &str) -> Option<Action> {
        let mut plans = self.lock();
        if plans.is_empty() {
            return None;
        }
        let i = plans
            .iter()
            .position(|(op, _)| op == operation || op == "*")?;
        let (_, fault) = &mut plans[i];
        let action = fault.action.clone();
        fault.times -= 1;
        if fault.times == 0 {
            plans.remove(i);
        }
        Some(action)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(String, Fault)>> {
        self.plans.lock().unwrap_or_else(|p| p.into_inner())
    }
}
