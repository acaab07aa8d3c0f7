//! The FIFO queue in front of the `claude` processes.
//!
//! Strictly first come, first served: the order is fixed when [`Queue::enqueue`] is called
//! (under one lock), not when a future happens to be polled first. A finished task hands its
//! slot directly to the next waiter. A waiter that gives up (cancelled while queued) is skipped.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;
use uuid::Uuid;

#[derive(Debug)]
struct Inner {
    max: usize,
    running: usize,
    waiting: VecDeque<(Uuid, oneshot::Sender<Slot>)>,
}

/// A bounded FIFO of executions.
#[derive(Debug, Clone)]
pub struct Queue {
    inner: Arc<Mutex<Inner>>,
}

/// Permission to run; dropping it lets the next waiter in.
#[derive(Debug)]
pub struct Slot {
    inner: Arc<Mutex<Inner>>,
    armed: bool,
}

/// The outcome of joining the queue.
pub enum Ticket {
    /// A slot was free.
    Ready(Slot),
    /// Wait for the slot; `position` 1 is next in line.
    Waiting {
        position: usize,
        slot: oneshot::Receiver<Slot>,
    },
}

fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    // A poisoned lock only means another thread panicked mid-update of plain counters.
    inner.lock().unwrap_or_else(|p| p.into_inner())
}

impl Queue {
    pub fn new(max_running: usize) -> Self {
        Queue {
            inner: Arc::new(Mutex::new(Inner {
                max: max_running.max(1),
                running: 0,
                waiting: VecDeque::new(),
            })),
        }
    }

    pub fn enqueue(&self, id: Uuid) -> Ticket {
        let mut g = lock(&self.inner);
        if g.running < g.max && g.waiting.is_empty() {
            g.running += 1;
            return Ticket::Ready(Slot {
                inner: self.inner.clone(),
                armed: true,
            });
        }
        let (tx, rx) = oneshot::channel();
        g.waiting.push_back((id, tx));
        Ticket::Waiting {
            position: g.waiting.len(),
            slot: rx,
        }
    }

    /// Leaves the queue (a cancelled waiter).
    pub fn remove(&self, id: Uuid) {
        lock(&self.inner).waiting.retain(|(w, _)| *w != id);
    }

    /// 1-based position of a waiting execution.
    pub fn position(&self, id: Uuid) -> Option<usize> {
        lock(&self.inner)
            .waiting
            .iter()
            .position(|(w, _)| *w == id)
            .map(|i| i + 1)
    }

    /// (running, waiting)
    pub fn counts(&self) -> (usize, usize) {
        let g = lock(&self.inner);
        (g.running, g.waiting.len())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut g = lock(&self.inner);
        while let Some((_, tx)) = g.waiting.pop_front() {
            let next = Slot {
                inner: self.inner.clone(),
                armed: true,
            };
            match tx.send(next) {
                Ok(()) => return,                        // handed over: `running` is unchanged
                Err(mut unsent) => unsent.armed = false, // that waiter left; try the next
            }
        }
        g.running -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_are_handed_over_in_arrival_order() {
        let q = Queue::new(1);
        let Ticket::Ready(first) = q.enqueue(Uuid::new_v4()) else {
            panic!()
        };
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        let mut rxs = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let Ticket::Waiting { position, slot } = q.enqueue(*id) else {
                panic!()
            };
            assert_eq!(position, i + 1);
            rxs.push(slot);
        }
        assert_eq!(q.counts(), (1, 3));
        // The second waiter gives up.
        q.remove(ids[1]);
        assert_eq!(q.position(ids[2]), Some(2));
        drop(first);
        let s0 = rxs.remove(0).await.unwrap();
        assert_eq!(q.counts(), (1, 1));
        drop(s0);
        let s2 = rxs.remove(1).await.unwrap();
        drop(s2);
        assert_eq!(q.counts(), (0, 0));
    }

    #[tokio::test]
    async fn a_waiter_that_dropped_its_receiver_does_not_leak_the_slot() {
        let q = Queue::new(1);
        let Ticket::Ready(first) = q.enqueue(Uuid::new_v4()) else {
            panic!()
        };
        let Ticket::Waiting { slot, .. } = q.enqueue(Uuid::new_v4()) else {
            panic!()
        };
        drop(slot);
        drop(first);
        assert_eq!(q.counts(), (0, 0));
        assert!(matches!(q.enqueue(Uuid::new_v4()), Ticket::Ready(_)));
    }
}
