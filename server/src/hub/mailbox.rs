//! One connection's mailbox: what the hub pushes to it and the signal that closes it, in one
//! small allocation that holds no queue while nothing waits.
//!
//! A bounded channel allocates its shared state with cache-padded ends and a first block of
//! slots for every connection, idle or not (~700 bytes beside a separate close signal). Here
//! the queue grows only while pushes wait and gives its memory back once drained. It keeps
//! one waker, which is only right because a mailbox has one reader: the connection's own task
//! (its loop and a sync it runs inline). Do not wait on it from another task.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use super::{CloseReason, Live};

/// A drained queue that grew past this many items gives its memory back.
const KEPT_CAPACITY: usize = 8;

/// Why a push was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The queue is full: the connection is not keeping up.
    Full,
    /// The connection reads no more (it is closing); the push was dropped.
    Closed,
}

/// Pushes and the close signal of one connection.
#[derive(Debug)]
pub struct Mailbox {
    inner: Mutex<Inner>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Inner {
    queue: VecDeque<Live>,
    /// Why the connection must close; the first reason wins.
    kicked: Option<CloseReason>,
    /// The connection stopped reading its mailbox: pushes are dropped.
    closed: bool,
    /// The connection's task, when it waits for a push or a kick.
    waker: Option<Waker>,
}

impl Mailbox {
    /// A mailbox holding at most `capacity` pushes.
    pub fn new(capacity: usize) -> Self {
        Mailbox {
            inner: Mutex::new(Inner::default()),
            capacity,
        }
    }

    /// Queue a push, unless `capacity` pushes already wait or the connection reads no more.
    pub fn push(&self, item: Live) -> Result<(), Refused> {
        let waker = {
            let mut inner = self.inner.lock().unwrap();
            if inner.closed {
                return Err(Refused::Closed);
            }
            if inner.queue.len() >= self.capacity {
                return Err(Refused::Full);
            }
            inner.queue.push_back(item);
            inner.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// Ask the connection to close (the first reason wins).
    pub fn kick(&self, reason: CloseReason) {
        let waker = {
            let mut inner = self.inner.lock().unwrap();
            if inner.kicked.is_some() {
                return;
            }
            inner.kicked = Some(reason);
            inner.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Whether the connection has been asked to close.
    pub fn is_kicked(&self) -> bool {
        self.inner.lock().unwrap().kicked.is_some()
    }

    /// The next push, oldest first.
    pub fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Live> {
        let mut inner = self.inner.lock().unwrap();
        match inner.queue.pop_front() {
            Some(item) => {
                if inner.queue.is_empty() && inner.queue.capacity() > KEPT_CAPACITY {
                    inner.queue = VecDeque::new();
                }
                Poll::Ready(item)
            }
            None => {
                inner.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    /// Ready with the reason once the connection has been kicked.
    pub fn poll_kicked(&self, cx: &mut Context<'_>) -> Poll<CloseReason> {
        let mut inner = self.inner.lock().unwrap();
        match inner.kicked {
            Some(reason) => Poll::Ready(reason),
            None => {
                inner.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    /// Wait until kicked; returns why.
    pub async fn kicked(&self) -> CloseReason {
        poll_fn(|cx| self.poll_kicked(cx)).await
    }

    /// The connection reads no more: drop what waits and every later push.
    pub fn close(&self) {
        let mut inner = self.inner.lock().unwrap();
        inner.closed = true;
        inner.queue = VecDeque::new();
        inner.waker = None;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    use super::*;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Waker, Arc<Count>) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (Waker::from(count.clone()), count)
    }

    #[test]
    fn pushes_come_out_in_order_up_to_the_capacity_and_wake_the_waiting_task() {
        let mb = Mailbox::new(2);
        let (w, wakes) = waker();
        let mut cx = Context::from_waker(&w);
        assert!(mb.poll_recv(&mut cx).is_pending());
        assert_eq!(mb.push(Live::CatchUp), Ok(()));
        assert_eq!(
            wakes.0.load(Ordering::SeqCst),
            1,
            "the waiting task is woken"
        );
        assert_eq!(mb.push(Live::CatchUp), Ok(()));
        assert_eq!(
            wakes.0.load(Ordering::SeqCst),
            1,
            "woken once until it polls again"
        );
        assert_eq!(mb.push(Live::CatchUp), Err(Refused::Full));
        assert!(mb.poll_recv(&mut cx).is_ready());
        assert!(mb.poll_recv(&mut cx).is_ready());
        assert!(mb.poll_recv(&mut cx).is_pending());
    }

    #[test]
    fn a_drained_burst_gives_its_memory_back() {
        let mb = Mailbox::new(1000);
        for _ in 0..100 {
            mb.push(Live::CatchUp).unwrap();
        }
        let (w, _) = waker();
        let mut cx = Context::from_waker(&w);
        while mb.poll_recv(&mut cx).is_ready() {}
        assert_eq!(mb.inner.lock().unwrap().queue.capacity(), 0);
    }

    #[test]
    fn the_first_kick_wins_and_wakes_the_task() {
        let mb = Mailbox::new(1);
        let (w, wakes) = waker();
        let mut cx = Context::from_waker(&w);
        assert!(mb.poll_kicked(&mut cx).is_pending());
        mb.kick(tern_proto::close::REVOKED);
        mb.kick(tern_proto::close::GOING_AWAY);
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        assert!(mb.is_kicked());
        assert_eq!(
            mb.poll_kicked(&mut cx),
            Poll::Ready(tern_proto::close::REVOKED)
        );
    }

    #[test]
    fn a_closed_mailbox_drops_pushes_without_calling_them_too_slow() {
        let mb = Mailbox::new(1);
        mb.push(Live::CatchUp).unwrap();
        mb.close();
        assert_eq!(mb.push(Live::CatchUp), Err(Refused::Closed));
        assert_eq!(mb.push(Live::CatchUp), Err(Refused::Closed));
        assert!(mb.inner.lock().unwrap().queue.is_empty());
    }
}
