//! A lean protocol client for load: one task per connection, frames out through a channel,
//! frames in handed to the scenario's [`Handler`] as text. No cache, no outbox: the load
//! generator measures the relay, so each connection costs as little as possible here.

use std::sync::Arc;

use anyhow::{bail, Result};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// Reacts to frames arriving on connection `conn`.
pub trait Handler: Send + Sync + 'static {
    /// A text frame arrived.
    fn frame(&self, conn: usize, text: &str);
}

/// Open an authenticated connection and wait for the welcome; returns its outgoing channel.
pub async fn open(
    port: u16,
    token: &str,
    conn: usize,
    handler: Arc<dyn Handler>,
) -> Result<mpsc::UnboundedSender<String>> {
    let mut req = format!("ws://127.0.0.1:{port}{}", tern_proto::WS_PATH).into_client_request()?;
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    // The writer below feeds every queued frame and flushes once: a write buffer makes that
    // one system call (with none, each frame was its own, which under ingest took the two
    // cores' time from the relay being measured).
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(
        req,
        Some(
            tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
                .read_buffer_size(8192)
                .write_buffer_size(64 * 1024),
        ),
        true,
    )
    .await?;
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.contains("\"welcome\"") => {}
        other => bail!("no welcome: {other:?}"),
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                out = rx.recv() => {
                    let Some(first) = out else { let _ = ws.close(None).await; return };
                    if ws.feed(Message::Text(first.into())).await.is_err() { return }
                    while let Ok(more) = rx.try_recv() {
                        if ws.feed(Message::Text(more.into())).await.is_err() { return }
                    }
                    if ws.flush().await.is_err() { return }
                }
                msg = ws.next() => match msg {
                    Some(Ok(Message::Text(t))) => handler.frame(conn, t.as_str()),
                    Some(Ok(_)) => {}
                    _ => return,
                }
            }
        }
    });
    Ok(tx)
}

/// Open many connections, `parallel` handshakes at a time (retrying those refused as busy).
pub async fn open_all(
    port: u16,
    tokens: &[String],
    handler: Arc<dyn Handler>,
    parallel: usize,
) -> Result<Vec<mpsc::UnboundedSender<String>>> {
    let sem = Arc::new(tokio::sync::Semaphore::new(parallel));
    let mut tasks = Vec::with_capacity(tokens.len());
    for (i, token) in tokens.iter().enumerate() {
        let (sem, handler, token) = (sem.clone(), handler.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await?;
            // A relay busy checking a burst of tokens answers 503; a client tries again.
            let mut attempt = 0;
            loop {
                match open(port, &token, i, handler.clone()).await {
                    Err(e) if attempt < 20 && e.to_string().contains("503") => {
                        attempt += 1;
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                    done => break done,
                }
            }
        }));
    }
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await??);
    }
    Ok(out)
}
