//! A connection's outgoing queue as its main loop sees it: handing a frame over never waits.
//!
//! Frames go to the writer task through a small channel. When the channel is full (the peer
//! reads slowly) they wait here, in order, and the loop moves them on as the writer frees room
//! ([`OutQueue::ready`] is one arm of its `select!`). When the backlog passes its limit the
//! peer is too slow to serve (more frames than its limit, or more bytes: a frame entering the
//! backlog is serialized there and counted): [`OutQueue::push`] says so and the connection
//! closes with 4008,
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
    backlog: VecDeque<(Outbound, usize)>,
    limit: usize,
    /// Bytes waiting in the backlog, and their limit.
    bytes: usize,
    byte_limit: usize,
}

impl OutQueue {
    /// A queue feeding `tx`, holding at most `limit` frames and `byte_limit` bytes beyond the
    /// channel.
    pub fn new(tx: mpsc::Sender<Outbound>, limit: usize, byte_limit: usize) -> Self {
        OutQueue {
            tx,
            backlog: VecDeque::new(),
            limit,
            bytes: 0,
            byte_limit,
        }
    }

    fn enqueue(&mut self, item: Outbound) {
        let (item, n) = item.weighed();
        self.bytes += n;
        self.backlog.push_back((item, n));
    }

    /// Queue a frame behind everything queued before it; never waits.
    pub fn push(&mut self, item: Outbound) -> Result<(), TooSlow> {
        if self.backlog.is_empty() {
            match self.tx.try_send(item) {
                Ok(()) => return Ok(()),
                Err(mpsc::error::TrySendError::Full(item)) => self.enqueue(item),
                // The writer is gone (socket failed); the read side will notice and end.
                Err(mpsc::error::TrySendError::Closed(_)) => return Ok(()),
            }
        } else {
            self.enqueue(item);
        }
        if self.backlog.len() > self.limit || self.bytes > self.byte_limit {
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
            if let Some((item, n)) = self.backlog.pop_front() {
                self.bytes -= n;
                permit.send(item);
            }
        } else {
            // Writer gone: nothing queued can be delivered any more.
            self.backlog.clear();
            self.bytes = 0;
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
    use tern_proto::{RequestId, ServerFrame};

    fn pong(id: u64) -> Outbound {
        Outbound::own(ServerFrame::Pong { id: RequestId(id) })
    }

    #[tokio::test]
    async fn frames_keep_their_order_through_the_backlog_and_a_full_backlog_is_too_slow() {
        let (tx, mut rx) = mpsc::channel(2);
        let mut q = OutQueue::new(tx, 3, 1 << 20);
        for id in 0..5 {
            assert_eq!(q.push(pong(id)), Ok(()));
        }
        assert_eq!(q.backlog(), 3);
        assert_eq!(q.push(pong(5)), Err(TooSlow), "over the limit");
        let mut seen = Vec::new();
        for _ in 0..100 {
            if seen.len() == 6 {
                break;
            }
            while let Ok(item) = rx.try_recv() {
                // Frames that waited in the backlog arrive serialized.
                let frame = match item {
                    Outbound::Own(f) => *f,
                    Outbound::Encoded(text) => serde_json::from_str(&text).unwrap(),
                    other => panic!("unexpected {other:?}"),
                };
                match frame {
                    ServerFrame::Pong { id } => seen.push(id.0),
                    other => panic!("unexpected {other:?}"),
                }
            }
            if q.backlog() > 0 {
                q.ready().await;
            }
        }
        assert_eq!(seen, vec![0, 1, 2, 3, 4, 5]);
    }

    #[tokio::test]
    async fn a_backlog_over_its_byte_limit_is_too_slow_even_with_few_frames() {
        let (tx, _rx) = mpsc::channel(1);
        let mut q = OutQueue::new(tx, 100, 1000);
        q.push(pong(0)).unwrap();
        let big = ServerFrame::Error {
            id: None,
            code: tern_proto::ErrorCode::BadRequest,
            message: "x".repeat(2000),
        };
        assert_eq!(q.push(Outbound::own(big)), Err(TooSlow));
    }

    #[tokio::test]
    async fn an_ordered_send_gives_up_when_the_writer_never_makes_room() {
        let (tx, _rx) = mpsc::channel(1);
        let mut q = OutQueue::new(tx, 10, 1 << 20);
        q.push(pong(1)).unwrap();
        q.push(pong(2)).unwrap();
        assert_eq!(
            q.send(pong(3), Duration::from_millis(50)).await,
            Err(TooSlow)
        );
    }
}
