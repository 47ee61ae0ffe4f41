//! A connection's outgoing queue as its main loop sees it: handing a frame over never waits.
//!
//! Frames go to the writer task through a small channel. When the channel is full (the peer
//! reads slowly) they wait here, in order, and the loop moves them on as the writer frees room
//! ([`OutQueue::ready`] is one arm of its `select!`). When the backlog passes its limit the
//! peer is too slow to serve: [`OutQueue::push`] says so and the connection closes with 4008,
//! instead of the loop blocking and starving its heartbeat, kick and shutdown arms.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::mpsc;

use super::writer::Outbound;

/// The peer is not reading fast enough to be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooSlow;

/// Ordered, bounded, never-blocking queue in front of the writer.
pub struct OutQueue {
    tx: mpsc::Sender<Outbound>,
    backlog: VecDeque<Outbound>,
    limit: usize,
}

impl OutQueue {
    /// A queue feeding `tx`, holding at most `limit` frames beyond the channel.
    pub fn new(tx: mpsc::Sender<Outbound>, limit: usize) -> Self {
        OutQueue {
            tx,
            backlog: VecDeque::new(),
            limit,
        }
    }

    /// Queue a frame behind everything queued before it; never waits.
    pub fn push(&mut self, item: Outbound) -> Result<(), TooSlow> {
        if self.backlog.is_empty() {
            match self.tx.try_send(item) {
                Ok(()) => return Ok(()),
                Err(mpsc::error::TrySendError::Full(item)) => self.backlog.push_back(item),
                // The writer is gone (socket failed); the read side will notice and end.
                Err(mpsc::error::TrySendError::Closed(_)) => return Ok(()),
            }
        } else {
            self.backlog.push_back(item);
        }
        if self.backlog.len() > self.limit {
            Err(TooSlow)
        } else {
            Ok(())
        }
    }

    /// Frames waiting beyond the writer's channel.
    pub fn backlog(&self) -> usize {
        self.backlog.len()
    }

    /// Resolves when the writer has room and the backlog has a frame for it; moves one frame.
    /// Pending forever while the backlog is empty, so it can sit in a `select!`.
    pub async fn ready(&mut self) {
        if self.backlog.is_empty() {
            return std::future::pending().await;
        }
        if let Ok(permit) = self.tx.reserve().await {
            if let Some(item) = self.backlog.pop_front() {
                permit.send(item);
            }
        } else {
            // Writer gone: nothing queued can be delivered any more.
            self.backlog.clear();
        }
    }

    /// Queue `item` behind the backlog, waiting for the writer at most `patience` in all.
    /// For the few places that must send a sequence in order (a sync's pages, the last
    /// replies before closing); a peer that does not make room in time is too slow.
    pub async fn send(&mut self, item: Outbound, patience: Duration) -> Result<(), TooSlow> {
        let deadline = tokio::time::Instant::now() + patience;
        while !self.backlog.is_empty() {
            if tokio::time::timeout_at(deadline, self.ready())
                .await
                .is_err()
            {
                return Err(TooSlow);
            }
        }
        match tokio::time::timeout_at(deadline, self.tx.send(item)).await {
            Ok(_) => Ok(()),
            Err(_) => Err(TooSlow),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_proto::ServerFrame;

    fn pong(id: u64) -> Outbound {
        Outbound::own(ServerFrame::Pong { id })
    }

    #[tokio::test]
    async fn frames_keep_their_order_through_the_backlog_and_a_full_backlog_is_too_slow() {
        let (tx, mut rx) = mpsc::channel(2);
        let mut q = OutQueue::new(tx, 3);
        for id in 0..5 {
            assert_eq!(q.push(pong(id)), Ok(()));
        }
        assert_eq!(q.backlog(), 3);
        assert_eq!(q.push(pong(5)), Err(TooSlow), "over the limit");
        let mut seen = Vec::new();
        while seen.len() < 6 {
            while let Ok(item) = rx.try_recv() {
                if let Outbound::Own(f) = item {
                    if let ServerFrame::Pong { id } = *f {
                        seen.push(id);
                    }
                }
            }
            if q.backlog() > 0 {
                q.ready().await;
            }
        }
        assert_eq!(seen, vec![0, 1, 2, 3, 4, 5]);
    }

    #[tokio::test]
    async fn an_ordered_send_gives_up_when_the_writer_never_makes_room() {
        let (tx, _rx) = mpsc::channel(1);
        let mut q = OutQueue::new(tx, 10);
        q.push(pong(1)).unwrap();
        q.push(pong(2)).unwrap();
        assert_eq!(
            q.send(pong(3), Duration::from_millis(50)).await,
            Err(TooSlow)
        );
    }
}
