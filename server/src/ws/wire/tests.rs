//! The relay's WebSocket against a real client codec (tokio-tungstenite) and against raw bytes,
//! over an in-memory duplex pipe.

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio_tungstenite::tungstenite::protocol::CloseFrame as ClientClose;
use tokio_tungstenite::tungstenite::protocol::{frame::coding::CloseCode, Role};
use tokio_tungstenite::tungstenite::Message as ClientMessage;
use tokio_tungstenite::WebSocketStream;

use super::*;

const LIMITS: WireLimits = WireLimits {
    max_message: 1 << 20,
    write_buffer: 16 * 1024,
};

fn pair() -> (Wire<DuplexStream>, DuplexStream) {
    let (server, client) = tokio::io::duplex(256 * 1024);
    (Wire::new(server, LIMITS), client)
}

async fn client_codec(io: DuplexStream) -> WebSocketStream<DuplexStream> {
    WebSocketStream::from_raw_socket(io, Role::Client, None).await
}

/// One masked client frame, raw.
fn masked(b0: u8, payload: &[u8]) -> Vec<u8> {
    frame::client_frame(b0, payload, [0x37, 0xFA, 0x21, 0x3D])
}

fn holds_nothing(w: &Wire<DuplexStream>) -> bool {
    w.inbox.capacity() == 0 && w.outbox.capacity() == 0 && w.partial.is_none()
}

async fn next_error(w: &mut Wire<DuplexStream>) -> WireError {
    let err = w.next().await.expect("an item").expect_err("an error");
    let err = err.into_inner();
    err.downcast_ref::<WireError>()
        .expect("a WireError")
        .clone()
}

#[tokio::test]
async fn messages_cross_both_ways_and_an_idle_socket_holds_no_buffer() {
    let (mut server, io) = pair();
    let mut client = client_codec(io).await;
    let big: Vec<u8> = (0..100_000).map(|i| (i % 253) as u8).collect();
    client.send(ClientMessage::text("hello")).await.unwrap();
    client
        .send(ClientMessage::binary(big.clone()))
        .await
        .unwrap();

    match server.next().await {
        Some(Ok(Message::Text(t))) => assert_eq!(t.as_str(), "hello"),
        other => panic!("expected text, got {other:?}"),
    }
    match server.next().await {
        Some(Ok(Message::Binary(b))) => assert_eq!(&b[..], &big[..]),
        other => panic!("expected binary, got {other:?}"),
    }
    assert!(holds_nothing(&server), "a drained socket keeps no buffer");

    server.feed(Message::Text("hi".into())).await.unwrap();
    server
        .feed(Message::Binary(big.clone().into()))
        .await
        .unwrap();
    server.flush().await.unwrap();
    assert!(holds_nothing(&server), "a written burst keeps no buffer");
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        ClientMessage::text("hi")
    );
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        ClientMessage::binary(big)
    );
}

#[tokio::test]
async fn a_frame_that_arrives_a_byte_at_a_time_is_one_message() {
    let (mut server, mut io) = pair();
    let text = "é".repeat(300);
    let bytes = masked(0x80 | frame::TEXT, text.as_bytes());
    let writer = tokio::spawn(async move {
        for b in bytes {
            io.write_all(&[b]).await.unwrap();
            tokio::task::yield_now().await;
        }
        io
    });
    match server.next().await {
        Some(Ok(Message::Text(t))) => assert_eq!(t.as_str(), text),
        other => panic!("expected text, got {other:?}"),
    }
    assert!(holds_nothing(&server));
    writer.await.unwrap();
}

#[tokio::test]
async fn pipelined_frames_in_one_write_come_out_in_order() {
    let (mut server, mut io) = pair();
    let all: Vec<u8> = (0..200)
        .flat_map(|i| masked(0x80 | frame::TEXT, format!("frame {i}").as_bytes()))
        .collect();
    io.write_all(&all).await.unwrap();
    for i in 0..200 {
        match server.next().await {
            Some(Ok(Message::Text(t))) => assert_eq!(t.as_str(), format!("frame {i}")),
            other => panic!("expected frame {i}, got {other:?}"),
        }
    }
    assert!(holds_nothing(&server));
}

#[tokio::test]
async fn fragments_with_a_ping_between_make_one_message_and_the_ping_is_answered() {
    let (mut server, mut io) = pair();
    let mut bytes = masked(frame::TEXT, b"hel");
    bytes.extend(masked(0x80 | frame::PING, b"are you there"));
    bytes.extend(masked(frame::CONTINUATION, b"lo, "));
    bytes.extend(masked(0x80 | frame::CONTINUATION, b"world"));
    io.write_all(&bytes).await.unwrap();
    match server.next().await {
        Some(Ok(Message::Ping(p))) => assert_eq!(&p[..], b"are you there"),
        other => panic!("expected the ping, got {other:?}"),
    }
    match server.next().await {
        Some(Ok(Message::Text(t))) => assert_eq!(t.as_str(), "hello, world"),
        other => panic!("expected the message, got {other:?}"),
    }
    // The pong went out unasked: unmasked, FIN, opcode 0xA, the ping's payload.
    let mut pong = [0u8; 15];
    io.read_exact(&mut pong).await.unwrap();
    assert_eq!(&pong[..2], &[0x80 | frame::PONG, 13]);
    assert_eq!(&pong[2..], b"are you there");
}

#[tokio::test]
async fn the_clients_close_is_answered_with_its_code_and_ends_the_stream() {
    let (mut server, io) = pair();
    let mut client = client_codec(io).await;
    client
        .send(ClientMessage::Close(Some(ClientClose {
            code: CloseCode::Normal,
            reason: "done".into(),
        })))
        .await
        .unwrap();
    match server.next().await {
        Some(Ok(Message::Close(Some(c)))) => {
            assert_eq!((c.code, c.reason.as_str()), (1000, "done"))
        }
        other => panic!("expected the close, got {other:?}"),
    }
    assert!(
        server.next().await.is_none(),
        "nothing is read after a close"
    );
    assert!(
        server.send(Message::Text("late".into())).await.is_err(),
        "nothing is sent after the close reply"
    );
    server.close().await.unwrap();
    // The client's codec completes the handshake and ends.
    match client.next().await {
        Some(Ok(ClientMessage::Close(Some(c)))) => assert_eq!(c.code, CloseCode::Normal),
        other => panic!("expected the close reply, got {other:?}"),
    }
    assert!(client.next().await.is_none());
}

#[tokio::test]
async fn the_relays_close_reaches_the_client_with_its_code_and_reason() {
    let (mut server, io) = pair();
    let mut client = client_codec(io).await;
    server
        .send(Message::Close(Some(CloseFrame {
            code: 4008,
            reason: "too slow".into(),
        })))
        .await
        .unwrap();
    server.close().await.unwrap();
    match client.next().await {
        Some(Ok(ClientMessage::Close(Some(c)))) => {
            assert_eq!((u16::from(c.code), c.reason.as_str()), (4008, "too slow"))
        }
        other => panic!("expected the close, got {other:?}"),
    }
}

#[tokio::test]
async fn a_frame_over_the_limit_is_refused_before_its_payload_arrives() {
    let (mut server, mut io) = pair();
    // Only the header of a 2 MiB frame is ever sent.
    let mut header = vec![0x80 | frame::BINARY, 0x80 | 127];
    header.extend_from_slice(&(2u64 << 20).to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]);
    io.write_all(&header).await.unwrap();
    assert_eq!(next_error(&mut server).await, WireError::TooBig(1 << 20));
    assert!(server.next().await.is_none(), "the read side is done");
    assert!(holds_nothing(&server));
}

#[tokio::test]
async fn a_header_claiming_a_large_frame_buffers_only_the_bytes_that_came() {
    let (mut server, mut io) = pair();
    let mut bytes = masked(0x80 | frame::BINARY, &vec![5; 1 << 20]);
    bytes.truncate(14 + 100);
    io.write_all(&bytes).await.unwrap();
    let waker = futures_util::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    for _ in 0..3 {
        assert!(Pin::new(&mut server).poll_next(&mut cx).is_pending());
    }
    assert_eq!(server.inbox.len() - server.start, 114);
    assert!(
        server.inbox.capacity() < 1024,
        "{} bytes held for 114 received",
        server.inbox.capacity()
    );
}

#[tokio::test]
async fn a_peer_that_pings_without_reading_is_owed_one_pong_not_one_per_ping() {
    // A pipe that holds little: the peer reads nothing, so writes soon stall.
    let (server, mut io) = tokio::io::duplex(1024);
    let mut server = Wire::new(server, LIMITS);
    let waker = futures_util::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let ping = masked(0x80 | frame::PING, &[7; 125]);
    let mut most = 0;
    for _ in 0..2000 {
        io.write_all(&ping).await.unwrap();
        while let Poll::Ready(Some(Ok(Message::Ping(_)))) = Pin::new(&mut server).poll_next(&mut cx)
        {
        }
        most = most.max(server.outbox.len() - server.written);
    }
    assert!(most <= 2 * 127, "{most} bytes of pongs waiting");
}

#[tokio::test]
async fn a_pong_is_flushed_through_a_stream_that_holds_writes_until_flushed() {
    let (server, io) = tokio::io::duplex(64 * 1024);
    let mut server = Wire::new(Held::new(server), LIMITS);
    let mut client = client_codec(io).await;
    client.send(ClientMessage::Ping("hi".into())).await.unwrap();
    // The server reads the ping and, polled again, sends the pong on its own.
    match server.next().await {
        Some(Ok(Message::Ping(p))) => assert_eq!(&p[..], b"hi"),
        other => panic!("expected the ping, got {other:?}"),
    }
    let waker = futures_util::task::noop_waker();
    assert!(Pin::new(&mut server)
        .poll_next(&mut Context::from_waker(&waker))
        .is_pending());
    match tokio::time::timeout(std::time::Duration::from_secs(5), client.next()).await {
        Ok(Some(Ok(ClientMessage::Pong(p)))) => assert_eq!(&p[..], b"hi"),
        other => panic!("expected the pong, got {other:?}"),
    }
}

#[tokio::test]
async fn a_small_frame_left_after_a_large_one_does_not_keep_its_room() {
    let (mut server, mut io) = pair();
    let mut bytes = masked(0x80 | frame::BINARY, &vec![1; 900_000]);
    bytes.extend_from_slice(&masked(0x80 | frame::PING, b"x")[..3]);
    let writer = tokio::spawn(async move {
        io.write_all(&bytes).await.unwrap();
        io
    });
    match server.next().await {
        Some(Ok(Message::Binary(b))) => assert_eq!(b.len(), 900_000),
        other => panic!("expected the large frame, got {other:?}"),
    }
    assert_eq!(server.inbox.len() - server.start, 3);
    assert!(
        server.inbox.capacity() <= 64 * 1024,
        "{} bytes kept for 3",
        server.inbox.capacity()
    );
    drop(writer.await);
}

/// A stream that, like TLS, takes writes into its own buffer and sends them only when flushed.
struct Held {
    inner: DuplexStream,
    held: Vec<u8>,
}

impl Held {
    fn new(inner: DuplexStream) -> Self {
        Held {
            inner,
            held: Vec::new(),
        }
    }
}

impl AsyncRead for Held {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Held {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.held.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        while !this.held.is_empty() {
            let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &this.held))?;
            this.held.drain(..n);
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[tokio::test]
async fn a_message_over_the_limit_in_small_fragments_is_refused() {
    let (server, mut io) = tokio::io::duplex(64 * 1024);
    let mut server = Wire::new(
        server,
        WireLimits {
            max_message: 1000,
            write_buffer: 1024,
        },
    );
    let writer = tokio::spawn(async move {
        let _ = io.write_all(&masked(frame::BINARY, &[0; 600])).await;
        let _ = io.write_all(&masked(frame::CONTINUATION, &[0; 600])).await;
        io
    });
    assert_eq!(next_error(&mut server).await, WireError::TooBig(1000));
    drop(writer.await);
}

#[tokio::test]
async fn text_that_is_not_utf8_is_refused_even_split_over_fragments() {
    let (mut server, mut io) = pair();
    io.write_all(&masked(frame::TEXT, &[0xE2, 0x82]))
        .await
        .unwrap();
    io.write_all(&masked(0x80 | frame::CONTINUATION, &[0xAC]))
        .await
        .unwrap();
    // "€" split across fragments is valid.
    match server.next().await {
        Some(Ok(Message::Text(t))) => assert_eq!(t.as_str(), "€"),
        other => panic!("expected the euro sign, got {other:?}"),
    }
    io.write_all(&masked(0x80 | frame::TEXT, &[0xC3, 0x28]))
        .await
        .unwrap();
    assert_eq!(next_error(&mut server).await, WireError::InvalidUtf8);
}

#[tokio::test]
async fn frames_that_break_the_protocol_end_the_read_side() {
    let cases: [(&str, Vec<u8>); 4] = [
        ("unmasked", vec![0x80 | frame::TEXT, 2, b'h', b'i']),
        (
            "continuation first",
            masked(0x80 | frame::CONTINUATION, b"x"),
        ),
        ("text inside a fragmented message", {
            let mut b = masked(frame::TEXT, b"a");
            b.extend(masked(0x80 | frame::TEXT, b"b"));
            b
        }),
        (
            "reserved close code",
            masked(0x80 | frame::CLOSE, &1005u16.to_be_bytes()),
        ),
    ];
    for (what, bytes) in cases {
        let (mut server, mut io) = pair();
        io.write_all(&bytes).await.unwrap();
        assert!(
            matches!(next_error(&mut server).await, WireError::Protocol(_)),
            "{what}"
        );
        assert!(
            server.next().await.is_none(),
            "{what}: the read side is done"
        );
    }
}

#[tokio::test]
async fn a_peer_that_leaves_ends_the_stream() {
    let (mut server, io) = pair();
    drop(io);
    assert!(server.next().await.is_none());
    assert!(
        server.send(Message::Text("x".into())).await.is_err(),
        "writing to a gone peer fails"
    );
}
