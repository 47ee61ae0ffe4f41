//! A connection's socket with its outgoing queue, driven by the connection's own task.
//!
//! There is no writer task: a connection is one task, and its loop polls [`OutQueue::poll_io`]
//! as one arm of its `select!`. That poll feeds every waiting frame into the socket, flushes
//! once (a burst of replies and pushes leaves in one write), then reads the next frame when
//! the loop wants one. Handing a frame over ([`OutQueue::push`]) never waits: frames wait here,
//! in order, until the socket takes them. When the backlog passes its limit the peer is too
//! slow to serve (more frames than its limit, or more bytes: a frame entering the backlog is
//! serialized there and counted): `push` says so and the connection closes with 4008, instead
//! of the loop blocking and starving its heartbeat, kick and shutdown arms.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::extract::ws::Message;
use futures_util::{Sink, Stream};

use super::outbound::{encode, Outbound};
use super::wire::handshake::Socket;

/// The peer is not reading fast enough to be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooSlow;

/// What the socket read: a frame, a read error, or `None` when the peer left or the socket
/// failed while writing.
pub type Read = Option<Result<Message, axum::Error>>;

/// A backlog that grew past this many frames gives its memory back once it is empty again.
const KEPT_CAPACITY: usize = 16;

/// Ordered, bounded, never-blocking queue in front of the socket, and the socket itself.
pub struct OutQueue<S = Socket> {
    socket: S,
    backlog: VecDeque<(Outbound, usize)>,
    limit: usize,
    /// Bytes waiting in the backlog, and their limit.
    bytes: usize,
    byte_limit: usize,
    /// Large frames go out deflated (agreed at the handshake).
    compression: bool,
    /// Frames were fed into the socket since its last flush.
    unflushed: bool,
    /// A write failed: nothing more can be sent, and the read side reports the end.
    broken: bool,
}

impl<S> OutQueue<S>
where
    S: Sink<Message> + Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    /// A queue in front of `socket`, holding at most `limit` frames and `byte_limit` bytes.
    pub fn new(socket: S, compression: bool, limit: usize, byte_limit: usize) -> Self {
        OutQueue {
            socket,
            backlog: VecDeque::new(),
            limit,
            bytes: 0,
            byte_limit,
            compression,
            unflushed: false,
            broken: false,
        }
    }

    /// Queue a frame behind everything queued before it; never waits.
    pub fn push(&mut self, item: Outbound) -> Result<(), TooSlow> {
        if self.broken {
            // The read side will notice and end; nothing queued can be delivered any more.
            return Ok(());
        }
        let (item, n) = item.weighed();
        self.bytes += n;
        self.backlog.push_back((item, n));
        if self.backlog.len() > self.limit || self.bytes > self.byte_limit {
            Err(TooSlow)
        } else {
            Ok(())
        }
    }

    /// Drop every frame still waiting (the peer is being closed for not reading them).
    pub fn discard(&mut self) {
        self.backlog = VecDeque::new();
        self.bytes = 0;
    }

    /// Feed the backlog into the socket and flush it. Ready with `Ok` once everything queued
    /// has been written, with `Err` once the socket has failed.
    pub fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        if self.broken {
            return Poll::Ready(Err(()));
        }
        let result = self.feed_and_flush(cx);
        match result {
            Poll::Ready(Err(())) => {
                self.broken = true;
                self.discard();
            }
            Poll::Ready(Ok(())) if self.backlog.capacity() > KEPT_CAPACITY => {
                // A burst's backlog keeps no memory on an idle connection.
                self.backlog = VecDeque::new();
            }
            _ => {}
        }
        result
    }

    /// Feed frames from the front of the backlog while the socket accepts them, then flush
    /// once if anything was fed since the last flush.
    fn feed_and_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        while !self.backlog.is_empty() {
            if ready!(Pin::new(&mut self.socket).poll_ready(cx)).is_err() {
                return Poll::Ready(Err(()));
            }
            let (item, n) = self.backlog.pop_front().expect("the backlog is not empty");
            self.bytes -= n;
            self.unflushed = true;
            let message = encode(item, self.compression);
            if Pin::new(&mut self.socket).start_send(message).is_err() {
                return Poll::Ready(Err(()));
            }
        }
        if self.unflushed {
            if ready!(Pin::new(&mut self.socket).poll_flush(cx)).is_err() {
                return Poll::Ready(Err(()));
            }
            self.unflushed = false;
        }
        Poll::Ready(Ok(()))
    }

    /// One arm of the connection loop: write what is waiting, then read a frame if `can_read`
    /// and fewer than `max_backlog` frames still wait (a peer that does not read gets nothing
    /// more read from it). The backlog is checked after writing, in the same poll, so a peer
    /// that catches up is read from again at once. Ready with `None` when the peer left or the
    /// socket failed.
    pub fn poll_io(
        &mut self,
        cx: &mut Context<'_>,
        can_read: bool,
        max_backlog: usize,
    ) -> Poll<Read> {
        if let Poll::Ready(Err(())) = self.poll_write(cx) {
            return Poll::Ready(None);
        }
        // Not reading while the backlog is full leaves the write's waker registered (the
        // backlog is not empty), so the peer making room wakes this arm again.
        if !can_read || self.backlog.len() >= max_backlog {
            if self.backlog.is_empty() && !self.broken {
                // Paused for the store: what the socket owes by itself (a pong) still leaves.
                // A failure shows when reading resumes.
                let _ = Pin::new(&mut self.socket).poll_flush(cx);
            }
            return Poll::Pending;
        }
        Pin::new(&mut self.socket).poll_next(cx)
    }

    /// Queue `item` and wait until the socket took everything queued, at most `patience`.
    /// For the few places that must send a sequence in order (a sync's pages, the last replies
    /// before closing); a peer that does not take it in time is too slow.
    pub async fn send(&mut self, item: Outbound, patience: Duration) -> Result<(), TooSlow> {
        self.push(item)?;
        match tokio::time::timeout(patience, std::future::poll_fn(|cx| self.poll_write(cx))).await {
            // A failed socket is not a slow peer: the read side reports the end.
            Ok(_) => Ok(()),
            Err(_) => Err(TooSlow),
        }
    }

    /// Write what is queued (a close frame last, if one was pushed) and close the socket.
    /// Closing is tried even when writing failed: after the peer's close frame the codec
    /// refuses further frames, and closing is what sends the close reply it holds (without it
    /// the peer sees the connection reset, 1006). Unbounded in time: the caller bounds it.
    pub async fn close(&mut self) {
        let _ = std::future::poll_fn(|cx| self.poll_write(cx)).await;
        let _ = std::future::poll_fn(|cx| Pin::new(&mut self.socket).poll_close(cx)).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use tern_proto::{RequestId, ServerFrame};

    /// What a test socket's peer has: the frames written to it, room for more, and whether
    /// the link is gone.
    #[derive(Default)]
    struct Peer {
        received: VecDeque<Message>,
        room: usize,
        gone: bool,
        /// What the peer sent, for the socket to read.
        sent: VecDeque<Message>,
    }

    /// A socket whose peer takes at most `room` frames until the test reads them, and which
    /// reads what the peer `sent`.
    struct TestSocket(Arc<Mutex<Peer>>);

    fn socket(room: usize) -> (TestSocket, Arc<Mutex<Peer>>) {
        let peer = Arc::new(Mutex::new(Peer {
            room,
            ..Peer::default()
        }));
        (TestSocket(peer.clone()), peer)
    }

    impl Sink<Message> for TestSocket {
        type Error = ();
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            let peer = self.0.lock().unwrap();
            if peer.gone {
                Poll::Ready(Err(()))
            } else if peer.received.len() < peer.room {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            }
        }
        fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), ()> {
            self.0.lock().unwrap().received.push_back(item);
            Ok(())
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Ready(Ok(()))
        }
    }

    impl Stream for TestSocket {
        type Item = Result<Message, axum::Error>;
        fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            match self.0.lock().unwrap().sent.pop_front() {
                Some(m) => Poll::Ready(Some(Ok(m))),
                None => Poll::Pending,
            }
        }
    }

    fn pong(id: u64) -> Outbound {
        Outbound::own(ServerFrame::Pong { id: RequestId(id) })
    }

    fn id_of(message: Message) -> u64 {
        let Message::Text(text) = message else {
            panic!("expected text, got {message:?}")
        };
        match serde_json::from_str(text.as_str()).unwrap() {
            ServerFrame::Pong { id } => id.0,
            other => panic!("unexpected {other:?}"),
        }
    }

    /// Poll the queue's I/O once, as the connection loop does.
    fn poll_once(q: &mut OutQueue<TestSocket>) -> Poll<Read> {
        let waker = futures_util::task::noop_waker();
        q.poll_io(&mut Context::from_waker(&waker), true, usize::MAX)
    }

    #[test]
    fn frames_keep_their_order_through_the_backlog_and_a_full_backlog_is_too_slow() {
        let (sock, peer) = socket(2);
        let mut q = OutQueue::new(sock, false, 3, 1 << 20);
        for id in 0..3 {
            assert_eq!(q.push(pong(id)), Ok(()));
        }
        assert_eq!(q.push(pong(3)), Err(TooSlow), "over the limit");
        let mut seen = Vec::new();
        for _ in 0..10 {
            assert!(poll_once(&mut q).is_pending(), "nothing to read");
            seen.extend(peer.lock().unwrap().received.drain(..).map(id_of));
        }
        assert_eq!(seen, vec![0, 1, 2, 3]);
        assert_eq!(q.backlog.len(), 0);
        assert_eq!(q.push(pong(4)), Ok(()), "room again once the peer read");
    }

    #[test]
    fn a_full_backlog_stops_reading_and_reading_resumes_in_the_poll_that_drains_it() {
        let (sock, peer) = socket(0);
        peer.lock()
            .unwrap()
            .sent
            .push_back(Message::Text("hello".into()));
        let mut q = OutQueue::new(sock, false, 10, 1 << 20);
        for id in 0..3 {
            q.push(pong(id)).unwrap();
        }
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(
            q.poll_io(&mut cx, true, 3).is_pending(),
            "the peer reads nothing"
        );
        assert_eq!(peer.lock().unwrap().sent.len(), 1, "nothing read meanwhile");
        // The peer reads: the same poll writes everything and reads its frame.
        peer.lock().unwrap().room = 10;
        match q.poll_io(&mut cx, true, 3) {
            Poll::Ready(Some(Ok(Message::Text(t)))) => assert_eq!(t.as_str(), "hello"),
            other => panic!("expected the peer's frame, got {other:?}"),
        }
        assert_eq!(q.backlog.len(), 0);
        assert_eq!(peer.lock().unwrap().received.len(), 3);
    }

    #[test]
    fn a_backlog_over_its_byte_limit_is_too_slow_even_with_few_frames() {
        let (sock, _peer) = socket(1);
        let mut q = OutQueue::new(sock, false, 100, 1000);
        q.push(pong(0)).unwrap();
        let big = ServerFrame::Error {
            id: None,
            code: tern_proto::ErrorCode::BadRequest,
            message: "x".repeat(2000),
        };
        assert_eq!(q.push(Outbound::own(big)), Err(TooSlow));
    }

    #[tokio::test]
    async fn an_ordered_send_gives_up_when_the_peer_never_makes_room() {
        let (sock, peer) = socket(1);
        let mut q = OutQueue::new(sock, false, 10, 1 << 20);
        assert_eq!(q.send(pong(1), Duration::from_millis(50)).await, Ok(()));
        assert_eq!(
            q.send(pong(2), Duration::from_millis(50)).await,
            Err(TooSlow)
        );
        assert_eq!(peer.lock().unwrap().received.len(), 1);
    }

    #[tokio::test]
    async fn a_pong_leaves_while_reading_is_paused() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (server, mut client) = tokio::io::duplex(4096);
        let limits = super::super::wire::WireLimits {
            max_message: 1 << 20,
            write_buffer: 1 << 14,
        };
        let mut q = OutQueue::new(
            super::super::wire::Wire::new(server, limits),
            false,
            10,
            1 << 20,
        );
        // A masked ping with payload "hi" (mask of zeros).
        client
            .write_all(&[0x89, 0x82, 0, 0, 0, 0, b'h', b'i'])
            .await
            .unwrap();
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(matches!(
            q.poll_io(&mut cx, true, 10),
            Poll::Ready(Some(Ok(Message::Ping(_))))
        ));
        // The loop pauses reading (requests in flight); the pong goes out all the same.
        assert!(q.poll_io(&mut cx, false, 10).is_pending());
        let mut pong = [0u8; 4];
        tokio::time::timeout(Duration::from_secs(5), client.read_exact(&mut pong))
            .await
            .expect("the pong is sent while reading is paused")
            .unwrap();
        assert_eq!(pong, [0x8A, 2, b'h', b'i']);
    }

    #[test]
    fn a_failed_socket_ends_the_reading_and_drops_what_waits() {
        let (sock, peer) = socket(1);
        peer.lock().unwrap().gone = true;
        let mut q = OutQueue::new(sock, false, 10, 1 << 20);
        q.push(pong(1)).unwrap();
        assert!(matches!(poll_once(&mut q), Poll::Ready(None)));
        assert_eq!(q.backlog.len(), 0);
        assert_eq!(q.push(pong(2)), Ok(()), "a broken socket takes nothing");
        assert_eq!(q.backlog.len(), 0);
    }
}
