//! The FIFO queue in front of the `claude` processes.
//!
//! Strictly first come, first served **by arrival**: a request takes its place in line the
//! moment an adapter reads it off its transport ([`Queue::reserve`]), before its handler runs.
//! Handlers then validate and classify concurrently and may finish in any order; each fills
//! its reserved place ([`Queue::enqueue`] with the [`Reservation`]), and the line only moves
//! past a place once it is filled (or given up). So five requests written in one write start
//! in the order they were written, whichever handler the runtime happened to poll first.
//!
//! A finished task hands its slot to the next filled place at the head of the line. A waiter
//! that gives up (cancelled while queued) and a reservation that is dropped unfilled (invalid
//! request, handler gone) are skipped.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;
use uuid::Uuid;

/// One place in line.
#[derive(Debug)]
enum Place {
    /// Taken on arrival; the request is still being validated.
    Reserved,
    /// A submitted execution waiting for a slot.
    Waiting { id: Uuid, tx: oneshot::Sender<Slot> },
}

#[derive(Debug)]
struct Inner {
    max: usize,
    running: usize,
    /// The sequence number the next place gets.
    next_seq: u64,
    /// The line, in arrival order.
    line: BTreeMap<u64, Place>,
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

/// A place in line taken when a request arrived, to be filled by [`Queue::enqueue`]. Dropping
/// it unfilled gives the place up, so a request that turns out invalid never holds the line.
#[derive(Debug)]
pub struct Reservation {
    seq: u64,
    inner: Arc<Mutex<Inner>>,
    /// Still holds its place (not yet filled or given up).
    armed: bool,
}

impl Reservation {
    /// Arrival order: smaller came first.
    pub fn seq(&self) -> u64 {
        self.seq
    }
}

/// The outcome of joining the queue.
pub enum Ticket {
    /// A slot was free and nothing was ahead.
    Ready(Slot),
    /// Wait for the slot; `position` 1 is next in line, 0 means it starts as soon as the
    /// requests that arrived before it are submitted (there is a free slot for it).
    Waiting {
        position: usize,
        slot: oneshot::Receiver<Slot>,
    },
}

fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    // A poisoned lock only means another thread panicked mid-update of plain counters.
    inner.lock().unwrap_or_else(|p| p.into_inner())
}

impl Inner {
    fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Hands free slots to the filled places at the head of the line, in order. Stops at the
    /// first place still reserved: nothing may overtake a request that arrived earlier.
    fn dispatch(&mut self, inner: &Arc<Mutex<Inner>>) {
        while self.running < self.max {
            let Some(entry) = self.line.first_entry() else {
                return;
            };
            if matches!(entry.get(), Place::Reserved) {
                return;
            }
            let Place::Waiting { tx, .. } = entry.remove() else {
                return;
            };
            let slot = Slot {
                inner: inner.clone(),
                armed: true,
            };
            match tx.send(slot) {
                Ok(()) => self.running += 1,
                // That waiter left; its slot must not run Drop (we hold the lock).
                Err(mut unsent) => unsent.armed = false,
            }
        }
    }

    /// Where the place `seq` stands: 0 when a slot is free for it once the places ahead are
    /// filled, else 1 = next to start.
    fn position_of(&self, seq: u64) -> usize {
        let ahead = self.line.range(..seq).count();
        let free = self.max.saturating_sub(self.running);
        if ahead < free { 0 } else { ahead - free + 1 }
    }
}

impl Queue {
    pub fn new(max_running: usize) -> Self {
        Queue {
            inner: Arc::new(Mutex::new(Inner {
                max: max_running.max(1),
                running: 0,
                next_seq: 0,
                line: BTreeMap::new(),
            })),
        }
    }

    /// Takes the next place in line for a request that has just arrived.
    pub fn reserve(&self) -> Reservation {
        let mut g = lock(&self.inner);
        let seq = g.take_seq();
        g.line.insert(seq, Place::Reserved);
        Reservation {
            seq,
            inner: self.inner.clone(),
            armed: true,
        }
    }

    /// Joins the queue: at the reserved place when there is one, else at the end of the line.
    pub fn enqueue(&self, id: Uuid, place: Option<Reservation>) -> Ticket {
        let mut g = lock(&self.inner);
        let seq = match place {
            // A reservation of another queue cannot hold a place here.
            Some(mut r) if Arc::ptr_eq(&r.inner, &self.inner) && r.armed => {
                r.armed = false;
                r.seq
            }
            _ => g.take_seq(),
        };
        let (tx, rx) = oneshot::channel();
        g.line.insert(seq, Place::Waiting { id, tx });
        let position = g.position_of(seq);
        g.dispatch(&self.inner);
        if !g.line.contains_key(&seq) {
            // Dispatched at once: the slot is in the channel already.
            let mut rx = rx;
            if let Ok(slot) = rx.try_recv() {
                return Ticket::Ready(slot);
            }
            return Ticket::Waiting {
                position: 0,
                slot: rx,
            };
        }
        Ticket::Waiting { position, slot: rx }
    }

    /// Leaves the queue (a cancelled waiter).
    pub fn remove(&self, id: Uuid) {
        let mut g = lock(&self.inner);
        g.line
            .retain(|_, p| !matches!(p, Place::Waiting { id: w, .. } if *w == id));
        g.dispatch(&self.inner);
    }

    /// 1-based position of a waiting execution (0: it starts once the requests that arrived
    /// before it are submitted).
    pub fn position(&self, id: Uuid) -> Option<usize> {
        let g = lock(&self.inner);
        let seq = g.line.iter().find_map(|(seq, p)| match p {
            Place::Waiting { id: w, .. } if *w == id => Some(*seq),
            _ => None,
        })?;
        Some(g.position_of(seq))
    }

    /// (running, waiting): waiting counts submitted executions, not reservations.
    pub fn counts(&self) -> (usize, usize) {
        let g = lock(&self.inner);
        let waiting = g
            .line
            .values()
            .filter(|p| matches!(p, Place::Waiting { .. }))
            .count();
        (g.running, waiting)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut g = lock(&self.inner);
        g.running -= 1;
        g.dispatch(&self.inner);
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut g = lock(&self.inner);
        if matches!(g.line.get(&self.seq), Some(Place::Reserved)) {
            g.line.remove(&self.seq);
        }
        g.dispatch(&self.inner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(t: Ticket) -> Slot {
        match t {
            Ticket::Ready(s) => s,
            Ticket::Waiting { .. } => panic!("expected a free slot"),
        }
    }

    fn waiting(t: Ticket) -> (usize, oneshot::Receiver<Slot>) {
        match t {
            Ticket::Ready(_) => panic!("expected to wait"),
            Ticket::Waiting { position, slot } => (position, slot),
        }
    }

    #[tokio::test]
    async fn slots_are_handed_over_in_arrival_order() {
        let q = Queue::new(1);
        let first = ready(q.enqueue(Uuid::new_v4(), None));
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        let mut rxs = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let (position, slot) = waiting(q.enqueue(*id, None));
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
        let first = ready(q.enqueue(Uuid::new_v4(), None));
        let (_, slot) = waiting(q.enqueue(Uuid::new_v4(), None));
        drop(slot);
        drop(first);
        assert_eq!(q.counts(), (0, 0));
        assert!(matches!(q.enqueue(Uuid::new_v4(), None), Ticket::Ready(_)));
    }

    #[tokio::test]
    async fn requests_start_in_arrival_order_whatever_order_they_are_submitted_in() {
        let q = Queue::new(1);
        let places: Vec<Reservation> = (0..4).map(|_| q.reserve()).collect();
        let ids: Vec<Uuid> = (0..4).map(|_| Uuid::new_v4()).collect();
        let mut places: Vec<Option<Reservation>> = places.into_iter().map(Some).collect();
        // Submitted last-first: nothing may start before the first arrival is submitted.
        let mut tickets: Vec<Option<Ticket>> = (0..4).map(|_| None).collect();
        for i in [3, 1, 2] {
            let t = q.enqueue(ids[i], places[i].take());
            let (position, rx) = waiting(t);
            // Its place counts from arrival: request i is i-th in line.
            assert_eq!(position, i, "request {i}");
            tickets[i] = Some(Ticket::Waiting { position, slot: rx });
        }
        assert_eq!(
            q.counts(),
            (0, 3),
            "nothing starts while the first is pending"
        );
        let first = ready(q.enqueue(ids[0], places[0].take()));
        let mut order = Vec::new();
        drop(first);
        order.push(0);
        for (i, ticket) in tickets.iter_mut().enumerate().skip(1) {
            let (_, rx) = waiting(ticket.take().unwrap());
            let slot = rx.await.unwrap();
            order.push(i);
            assert_eq!(q.counts().0, 1);
            drop(slot);
        }
        assert_eq!(order, vec![0, 1, 2, 3]);
        assert_eq!(q.counts(), (0, 0));
    }

    #[tokio::test]
    async fn a_reservation_given_up_lets_the_line_move_on() {
        let q = Queue::new(1);
        let a = q.reserve();
        let b = q.reserve();
        let (position, rx) = waiting(q.enqueue(Uuid::new_v4(), Some(b)));
        assert_eq!(position, 1);
        // The first request turned out invalid: its place is dropped unfilled.
        drop(a);
        let slot = rx.await.unwrap();
        assert_eq!(q.counts(), (1, 0));
        drop(slot);
        assert_eq!(q.counts(), (0, 0));
    }

    #[tokio::test]
    async fn several_slots_fill_in_arrival_order() {
        let q = Queue::new(2);
        let a = q.reserve();
        let b = q.reserve();
        let c = q.reserve();
        let (pc, _rc) = waiting(q.enqueue(Uuid::new_v4(), Some(c)));
        assert_eq!(pc, 1, "two slots go to the two earlier arrivals");
        let (pb, rb) = waiting(q.enqueue(Uuid::new_v4(), Some(b)));
        assert_eq!(pb, 0, "a slot is free for it once the first is submitted");
        let sa = ready(q.enqueue(Uuid::new_v4(), Some(a)));
        let sb = rb.await.unwrap();
        assert_eq!(q.counts(), (2, 1));
        drop((sa, sb));
    }
}
