//! Work the fake does later, on its clock: each task runs under the store's lock at its due
//! time, in due order, and may schedule more.

use super::ctx::{Ctx, Effects};
use super::state::Shared;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// A piece of later work on one project's state.
pub(crate) type Task = Box<dyn FnOnce(&mut Ctx) + Send>;

struct Entry {
    due: Duration,
    seq: u64,
    project: String,
    task: Task,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Reversed: the heap's top is the earliest task (ties in the order scheduled).
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.due, other.seq).cmp(&(self.due, self.seq))
    }
}

#[derive(Default)]
pub(crate) struct Timers {
    heap: Mutex<BinaryHeap<Entry>>,
    seq: AtomicU64,
    changed: Notify,
    /// Held while due tasks run, so the background runner and `advance` never interleave.
    running: Mutex<()>,
    /// Tasks taken off the heap whose effects are not carried out yet.
    in_flight: AtomicUsize,
}

impl Timers {
    pub fn push(&self, project: &str, due: Duration, task: Task) {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let entry = Entry {
            due,
            seq,
            project: project.to_owned(),
            task,
        };
        let mut heap = self.lock();
        // The runner sleeps until the earliest task; only an earlier one needs to wake it.
        let earlier = heap.peek().is_none_or(|first| due < first.due);
        heap.push(entry);
        drop(heap);
        if earlier {
            self.changed.notify_one();
        }
    }

    /// Tasks waiting or running.
    pub fn pending(&self) -> usize {
        let heap = self.lock();
        heap.len() + self.in_flight.load(Ordering::Acquire)
    }

    /// Tasks due at or before `at`, or running.
    pub fn due_by(&self, at: Duration) -> usize {
        let heap = self.lock();
        heap.iter().filter(|e| e.due <= at).count() + self.in_flight.load(Ordering::Acquire)
    }

    fn next_due(&self) -> Option<Duration> {
        self.lock().peek().map(|e| e.due)
    }

    /// The next task due by `now`, counted in flight (under the heap's lock, so that an idle
    /// check never sees it neither waiting nor running).
    fn pop_due(&self, now: Duration) -> Option<Entry> {
        let mut heap = self.lock();
        if heap.peek().is_some_and(|e| e.due <= now) {
            self.in_flight.fetch_add(1, Ordering::AcqRel);
            heap.pop()
        } else {
            None
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BinaryHeap<Entry>> {
        self.heap.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Runs every task due by the clock's current time (and those they schedule for no later).
pub(crate) fn run_due(shared: &Arc<Shared>) {
    let _running = shared
        .timers
        .running
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let now = shared.clock.elapsed();
    while let Some(entry) = shared.timers.pop_due(now) {
        let effects = {
            let mut store = shared.lock();
            let (p, ids) = store.split(&entry.project);
            // The task runs at its due time, not whenever the runner got to it: follow-up
            // work and callback timestamps keep their intended spacing.
            let mut ctx = Ctx::new(p, ids, shared, entry.due);
            (entry.task)(&mut ctx);
            ctx.effects
        };
        apply(shared, &entry.project, effects);
        shared.timers.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Carries out what a handler or task decided, once the store is unlocked.
pub(crate) fn apply(shared: &Arc<Shared>, project: &str, effects: Effects) {
    for cb in effects.callbacks {
        shared.outbox.send(cb);
    }
    for (due, task) in effects.timers {
        shared.timers.push(project, due, task);
    }
}

/// The background runner: sleeps until the next task is due (by the clock, which a manual
/// clock only moves on `advance`), runs it, repeats.
pub(crate) async fn run(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let changed = shared.timers.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        match shared.timers.next_due() {
            Some(due) => tokio::select! {
                _ = shared.clock.sleep_until(due) => run_due(&shared),
                _ = changed => {}
                _ = shutdown.wait_for(|s| *s) => return,
            },
            None => tokio::select! {
                _ = changed => {}
                _ = shutdown.wait_for(|s| *s) => return,
            },
        }
    }
}
