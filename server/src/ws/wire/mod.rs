//! The relay's WebSocket: RFC 6455 over an upgraded connection, holding no buffer while idle.
//!
//! A general-purpose codec keeps a read buffer for the connection's life and reads into its
//! spare room; with tens of thousands of idle connections that buffer is most of a relay's
//! memory. Here every read goes into a buffer on the stack, and only bytes that do not yet
//! make a whole frame are kept, in a heap buffer that grows with the bytes received (never
//! with the length a header claims) and is freed once consumed. Outgoing frames are encoded into one buffer that is written (a burst in
//! one write) and then freed. An idle connection holds the socket and a few words.
//!
//! What the socket does for the protocol by itself: answers a ping with a pong, answers the
//! client's close frame with its own, assembles fragmented messages, and refuses what breaks
//! RFC 6455 ([`WireError`]): unmasked or reserved-bit frames, unknown opcodes, oversized or
//! fragmented control frames, invalid close codes, text that is not UTF-8, and frames or
//! messages over the hard limit (refused from the header, before their bytes are buffered).

mod frame;
pub mod handshake;

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use axum::extract::ws::{CloseFrame, Message};
use bytes::Bytes;
use futures_util::{Sink, Stream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub use frame::WireError;

/// Bytes read at once, on the stack of the read (not in the connection).
const READ_CHUNK: usize = 8 * 1024;
/// An inbox holding a partial frame gives back room over this much and over four times its
/// contents (a large frame's room is not kept for the small ones after it).
const SHRINK_ABOVE: usize = 64 * 1024;

/// Limits of one connection's socket.
#[derive(Debug, Clone, Copy)]
pub struct WireLimits {
    /// Largest frame, and largest message assembled from fragments, in bytes.
    pub max_message: usize,
    /// Encoded bytes gathered before a write is forced (a burst leaves in few writes).
    pub write_buffer: usize,
}

/// A fragmented message being assembled.
struct Partial {
    opcode: u8,
    data: Vec<u8>,
}

/// One WebSocket connection, the server's side: a [`Stream`] of the client's messages and a
/// [`Sink`] for the relay's.
pub struct Wire<T> {
    io: T,
    /// Bytes read and not yet made into messages, from `start`; unallocated while idle.
    inbox: Vec<u8>,
    start: usize,
    /// A fragmented message being assembled (boxed: rare, and idle connections pay a word).
    partial: Option<Box<Partial>>,
    /// Encoded frames not yet written, from `written`; unallocated while idle.
    outbox: Vec<u8>,
    written: usize,
    /// The payload of the pong owed for the latest ping. One at most, as RFC 6455 §5.5.3
    /// allows: a peer that pings without reading cannot pile pongs up in the outbox.
    pong: Option<Bytes>,
    /// Bytes were written outside a flush (a pong, a close reply) and the stream below
    /// (TLS) may hold them until flushed.
    unflushed: bool,
    limits: WireLimits,
    /// The read side is done: the peer closed, left, or broke the protocol.
    read_done: bool,
    /// A close frame was queued (the relay's or the reply to the peer's): nothing may follow.
    close_sent: bool,
    /// Writing failed; nothing more can be sent.
    broken: bool,
}

impl<T> Wire<T> {
    /// The server's side of an upgraded connection.
    pub fn new(io: T, limits: WireLimits) -> Self {
        Wire {
            io,
            inbox: Vec::new(),
            start: 0,
            partial: None,
            outbox: Vec::new(),
            written: 0,
            pong: None,
            unflushed: false,
            limits,
            read_done: false,
            close_sent: false,
            broken: false,
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> Wire<T> {
    /// Write what the outbox holds, then the pong owed (if any), then free it. The pong is
    /// encoded only once everything before it has left, so a peer that pings without reading
    /// is owed one pong, never a pile of them.
    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.broken {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        loop {
            while self.written < self.outbox.len() {
                let result =
                    ready!(Pin::new(&mut self.io).poll_write(cx, &self.outbox[self.written..]));
                match result {
                    Ok(0) => return Poll::Ready(Err(self.fail(io::ErrorKind::WriteZero.into()))),
                    Ok(n) => self.written += n,
                    Err(e) => return Poll::Ready(Err(self.fail(e))),
                }
            }
            // Nothing is kept while nothing waits.
            self.outbox = Vec::new();
            self.written = 0;
            match self.pong.take() {
                Some(payload) if !self.close_sent => {
                    frame::encode(&mut self.outbox, frame::PONG, &payload)
                }
                _ => return Poll::Ready(Ok(())),
            }
        }
    }

    /// Send what the socket owes by itself (a pong, a close reply) without waiting: what
    /// cannot leave now leaves when the task is woken for it. A failure shows on the next
    /// write.
    fn drive_control(&mut self, cx: &mut Context<'_>) {
        if self.broken {
            return;
        }
        if self.pong.is_some() || self.written < self.outbox.len() {
            match self.poll_write_out(cx) {
                Poll::Ready(Ok(())) => self.unflushed = true,
                _ => return,
            }
        }
        if self.unflushed {
            if let Poll::Ready(result) = Pin::new(&mut self.io).poll_flush(cx) {
                self.unflushed = false;
                if let Err(e) = result {
                    self.fail(e);
                }
            }
        }
    }

    fn fail(&mut self, e: io::Error) -> io::Error {
        self.broken = true;
        self.pong = None;
        self.outbox = Vec::new();
        self.written = 0;
        e
    }

    /// Read more bytes into the inbox; `Ok(0)` when the peer closed its side. Reads go to the
    /// stack and only what arrived is kept, so the inbox grows with the bytes a peer actually
    /// sent, never with the length a frame header claims.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        // Left uninitialised: zeroing 8 KiB on every poll (most of which find nothing to read
        // when a push wakes the connection) showed in profiles of group fan-out.
        let mut chunk = [MaybeUninit::<u8>::uninit(); READ_CHUNK];
        let mut buf = ReadBuf::uninit(&mut chunk);
        ready!(Pin::new(&mut self.io).poll_read(cx, &mut buf))?;
        let read = buf.filled();
        if self.start == self.inbox.len() {
            // Nothing buffered: keep exactly what was read.
            self.inbox = read.to_vec();
            self.start = 0;
        } else {
            if self.start > 0 {
                self.inbox.drain(..self.start);
                self.start = 0;
            }
            self.inbox.extend_from_slice(read);
        }
        Poll::Ready(Ok(read.len()))
    }

    /// The next whole message in the inbox, handling control frames and fragments on the way;
    /// `None` when more bytes are needed.
    fn next_message(&mut self) -> Result<Option<Message>, WireError> {
        loop {
            let buffered = &self.inbox[self.start..];
            let Some(h) = frame::parse_header(buffered, self.limits.max_message)? else {
                return Ok(None);
            };
            if buffered.len() < h.frame_len() {
                return Ok(None);
            }
            let mut payload = if buffered.len() == h.frame_len() && self.start == 0 {
                // The inbox holds this frame alone (one frame per read, the common case): it
                // becomes the payload, with no allocation or copy of its own.
                let mut all = std::mem::take(&mut self.inbox);
                all.drain(..h.header_len);
                all
            } else {
                let payload = buffered[h.header_len..h.frame_len()].to_vec();
                self.start += h.frame_len();
                payload
            };
            frame::unmask(&mut payload, h.mask);
            let left = self.inbox.len() - self.start;
            if left == 0 {
                self.inbox = Vec::new();
                self.start = 0;
            } else if self.inbox.capacity() > SHRINK_ABOVE.max(4 * left) {
                // What is left after a large frame keeps no more room than it needs.
                self.inbox.drain(..self.start);
                self.start = 0;
                self.inbox.shrink_to(READ_CHUNK.max(left));
            }
            if let Some(message) = self.on_frame(h, payload)? {
                return Ok(Some(message));
            }
        }
    }

    /// One frame; `Some` when it completes a message the caller gets.
    fn on_frame(
        &mut self,
        h: frame::Header,
        payload: Vec<u8>,
    ) -> Result<Option<Message>, WireError> {
        match h.opcode {
            frame::TEXT | frame::BINARY if self.partial.is_some() => {
                Err(WireError::Protocol("a new message inside a fragmented one"))
            }
            frame::TEXT | frame::BINARY if h.fin => message(h.opcode, payload).map(Some),
            frame::TEXT | frame::BINARY => {
                self.partial = Some(Box::new(Partial {
                    opcode: h.opcode,
                    data: payload,
                }));
                Ok(None)
            }
            frame::CONTINUATION => {
                let Some(partial) = self.partial.as_mut() else {
                    return Err(WireError::Protocol("a continuation without a message"));
                };
                if partial.data.len() + payload.len() > self.limits.max_message {
                    return Err(WireError::TooBig(self.limits.max_message));
                }
                partial.data.extend_from_slice(&payload);
                if !h.fin {
                    return Ok(None);
                }
                let Partial { opcode, data } = *self.partial.take().expect("checked above");
                message(opcode, data).map(Some)
            }
            frame::PING => {
                let payload = Bytes::from(payload);
                if !self.close_sent {
                    // Replaces a pong not yet sent: only the latest ping is answered.
                    self.pong = Some(payload.clone());
                }
                Ok(Some(Message::Ping(payload)))
            }
            frame::PONG => Ok(Some(Message::Pong(payload.into()))),
            _ => {
                let close = frame::parse_close(&payload)?;
                if !self.close_sent {
                    // Answer with the peer's code, as RFC 6455 §5.5.1 suggests.
                    let reply = close.map(|(code, _)| frame::close_payload(code, ""));
                    frame::encode(
                        &mut self.outbox,
                        frame::CLOSE,
                        reply.as_deref().unwrap_or(&[]),
                    );
                    self.close_sent = true;
                }
                self.read_done = true;
                Ok(Some(Message::Close(close.map(|(code, reason)| {
                    CloseFrame {
                        code,
                        reason: reason.into(),
                    }
                }))))
            }
        }
    }
}

/// A whole data message.
fn message(opcode: u8, data: Vec<u8>) -> Result<Message, WireError> {
    if opcode == frame::TEXT {
        let text = String::from_utf8(data).map_err(|_| WireError::InvalidUtf8)?;
        Ok(Message::Text(text.into()))
    } else {
        Ok(Message::Binary(Bytes::from(data)))
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> Stream for Wire<T> {
    type Item = Result<Message, axum::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.read_done {
                return Poll::Ready(None);
            }
            this.drive_control(cx);
            match this.next_message() {
                Ok(Some(message)) => return Poll::Ready(Some(Ok(message))),
                Ok(None) => {}
                Err(e) => {
                    this.read_done = true;
                    this.inbox = Vec::new();
                    this.partial = None;
                    return Poll::Ready(Some(Err(axum::Error::new(e))));
                }
            }
            match ready!(this.poll_fill(cx)) {
                Ok(0) => {
                    // The peer left, with or without a whole frame.
                    this.read_done = true;
                    return Poll::Ready(None);
                }
                Ok(_) => {}
                Err(e) => {
                    this.read_done = true;
                    return Poll::Ready(Some(Err(axum::Error::new(e))));
                }
            }
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> Sink<Message> for Wire<T> {
    type Error = axum::Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        if this.outbox.len() - this.written >= this.limits.write_buffer {
            ready!(this.poll_write_out(cx)).map_err(axum::Error::new)?;
        }
        if this.broken {
            return Poll::Ready(Err(axum::Error::new(io::Error::from(
                io::ErrorKind::BrokenPipe,
            ))));
        }
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
        let this = self.get_mut();
        if this.broken || this.close_sent {
            return Err(axum::Error::new(io::Error::new(
                io::ErrorKind::NotConnected,
                "the WebSocket is closing",
            )));
        }
        let out = &mut this.outbox;
        match item {
            Message::Text(text) => frame::encode(out, frame::TEXT, text.as_bytes()),
            Message::Binary(bytes) => frame::encode(out, frame::BINARY, &bytes),
            Message::Ping(bytes) => frame::encode(out, frame::PING, &bytes[..bytes.len().min(125)]),
            Message::Pong(bytes) => frame::encode(out, frame::PONG, &bytes[..bytes.len().min(125)]),
            Message::Close(close) => {
                let payload = close
                    .map(|c| frame::close_payload(c.code, c.reason.as_str()))
                    .unwrap_or_default();
                frame::encode(out, frame::CLOSE, &payload);
                this.close_sent = true;
            }
        }
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        ready!(this.poll_write_out(cx)).map_err(axum::Error::new)?;
        ready!(Pin::new(&mut this.io).poll_flush(cx)).map_err(axum::Error::new)?;
        this.unflushed = false;
        Poll::Ready(Ok(()))
    }

    /// Write what waits (the close frame last, if one was sent or is a reply) and shut the
    /// connection's sending side.
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        ready!(self.as_mut().poll_flush(cx))?;
        Pin::new(&mut self.get_mut().io)
            .poll_shutdown(cx)
            .map_err(axum::Error::new)
    }
}

#[cfg(test)]
mod tests;
