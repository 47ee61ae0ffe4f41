//! The uploader: one task per signed-in client that moves staged files to the relay, oldest
//! first, resuming each from the offset the relay reports (so an interrupted upload — a lost
//! link, a relay restart, an app restart — continues where the relay's copy ends and the
//! bytes sent stay close to the file's size). When an upload completes, its message gets the
//! blob id and the connection task is asked to flush the outbox, which sends it like any
//! other message.
//!
//! A refusal that retrying cannot fix (too large, over quota) marks the message failed with the
//! reason; a wrong hash or an upload the relay no longer knows starts over from 0.

use std::sync::Arc;
use std::time::Duration;

use tern_proto::ErrorCode;
use tokio::sync::{mpsc, Notify};

use super::relay;
use crate::cache::outbox;
use crate::cache::transfers::{self, PendingUpload as Pending};
use crate::connection::Cmd;
use crate::error::{Error, Result};
use crate::events::{ConnectionState, Event, MessageStatus};
use crate::shared::Shared;

/// How often the queue is looked at when nothing is waiting, and the first pause after a
/// failure that may pass (offline, relay busy); the pause doubles with each round that fails,
/// up to [`MAX_RETRY_AFTER`].
const RETRY_AFTER: Duration = Duration::from_secs(2);
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The pause after `rounds` failed rounds in a row (at least one).
fn backoff(rounds: u32) -> Duration {
    RETRY_AFTER
        .saturating_mul(1 << rounds.saturating_sub(1).min(16))
        .min(MAX_RETRY_AFTER)
}

/// Run until the client stops (the task is aborted with it).
pub(crate) async fn run(shared: Arc<Shared>, wake: Arc<Notify>, cmds: mpsc::Sender<Cmd>) {
    let mut failed_rounds = 0u32;
    let mut events = shared.subscribe();
    loop {
        // A device the relay signed out has no token to upload with: wait for a new reason.
        if matches!(shared.state(), ConnectionState::SignedOut { .. }) {
            wake.notified().await;
            continue;
        }
        let work = shared
            .cache
            .call(transfers::pending)
            .await
            .unwrap_or_default();
        let empty = work.is_empty();
        let mut failed = false;
        for item in work {
            match upload(&shared, &item).await {
                Ok(()) => {
                    shared.ask(&cmds, Cmd::Flush);
                }
                Err(e) => {
                    // One stuck file must not hold up the others: go on with the next.
                    if let Err(e) = on_error(&shared, &item, e).await {
                        tracing::warn!(error = %e, "upload bookkeeping failed");
                    }
                    failed = true;
                }
            }
        }
        failed_rounds = if failed { failed_rounds + 1 } else { 0 };
        let pause = if failed {
            backoff(failed_rounds)
        } else if empty {
            RETRY_AFTER
        } else {
            Duration::ZERO
        };
        if rest(&wake, &mut events, pause).await {
            failed_rounds = 0;
        }
    }
}

/// Wait `pause`, or less: until a new file is queued or the link comes back online (then
/// true: try at once, from the first pause again).
async fn rest(
    wake: &Notify,
    events: &mut tokio::sync::broadcast::Receiver<Event>,
    pause: Duration,
) -> bool {
    let deadline = tokio::time::Instant::now() + pause;
    loop {
        tokio::select! {
            _ = wake.notified() => return true,
            _ = tokio::time::sleep_until(deadline) => return false,
            ev = events.recv() => match ev {
                Ok(Event::Connection { state: ConnectionState::Online }) => return true,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                // No more events (the client is going; the task is aborted with it).
                Err(_) => {
                    tokio::time::sleep_until(deadline).await;
                    return false;
                }
            },
        }
    }
}

/// Move one file to the relay and give its message the blob id.
async fn upload(shared: &Shared, item: &Pending) -> Result<()> {
    let (config, token) = (&shared.config, &shared.token);
    let a = &item.attachment;
    let id = match &item.upload_id {
        Some(id) => id.clone(),
        None => {
            let id = relay::create(config, token, a.size, &a.sha256, &a.content_type).await?;
            let (cid, uid) = (item.client_id.clone(), id.clone());
            shared
                .cache
                .call(move |txn| transfers::set_upload_id(txn, &cid, Some(&uid)))
                .await?;
            id
        }
    };
    let mut at = relay::offset(config, token, &id).await?;
    let mut file = std::fs::File::open(&item.path)?;
    let mut complete = at == a.size;
    while !complete {
        let chunk = read_at(&mut file, at, relay::CHUNK)?;
        if chunk.is_empty() {
            return Err(Error::Internal(
                "the staged file is shorter than declared".into(),
            ));
        }
        let (next, done) = relay::append(config, token, &id, at, chunk).await?;
        at = next;
        complete = done;
        shared.emit(Event::Transfer {
            conversation_id: item.conversation_id,
            client_id: item.client_id.clone(),
            blob_id: String::new(),
            done: at,
            total: a.size,
            upload: true,
        });
    }
    let mut attachment = a.clone();
    attachment.blob_id = id.clone();
    let cid = item.client_id.clone();
    shared
        .cache
        .call(move |txn| transfers::uploaded(txn, &cid, &attachment))
        .await?;
    shared.emit(Event::Transfer {
        conversation_id: item.conversation_id,
        client_id: item.client_id.clone(),
        blob_id: id,
        done: a.size,
        total: a.size,
        upload: true,
    });
    Ok(())
}

fn read_at(file: &mut std::fs::File, at: u64, max: usize) -> Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(at))?;
    let mut buf = vec![0u8; max];
    let mut filled = 0;
    while filled < max {
        let n = file.read(&mut buf[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    buf.truncate(filled);
    Ok(buf)
}

/// Decide what a failed upload means: start over, give up on the message, or try later.
async fn on_error(shared: &Shared, item: &Pending, e: Error) -> Result<()> {
    let code = match &e {
        Error::Relay { code, .. } => Some(*code),
        _ => None,
    };
    // The staged copy is gone or unreadable: nothing to resume from; the message fails.
    let local =
        matches!(&e, Error::Io(_)) || matches!(&e, Error::Internal(m) if m.contains("staged"));
    match code {
        // The relay dropped the bytes but keeps the reservation: resume on it from 0 — unless
        // the staged copy itself changed, which no retry can fix.
        Some(ErrorCode::HashMismatch) => {
            let (path, sha) = (item.path.clone(), item.attachment.sha256.clone());
            let intact = tokio::task::spawn_blocking(move || {
                super::files::verify(std::path::Path::new(&path), &sha)
            })
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
            .unwrap_or(false);
            if intact {
                Ok(())
            } else {
                fail(shared, item, "the file changed before it was sent".into()).await
            }
        }
        Some(ErrorCode::NotFound) => {
            tracing::info!(error = %e, "upload starts over");
            let cid = item.client_id.clone();
            shared
                .cache
                .call(move |txn| transfers::set_upload_id(txn, &cid, None))
                .await
        }
        _ if local => fail(shared, item, e.to_string()).await,
        Some(ErrorCode::AttachmentTooLarge | ErrorCode::QuotaExceeded | ErrorCode::BadRequest) => {
            fail(shared, item, e.to_string()).await
        }
        _ => {
            tracing::debug!(error = %e, "upload paused; will resume");
            Ok(())
        }
    }
}

/// Give up on a message's file: the message is marked failed with `reason` (its file no longer
/// holds up the messages written after it; retrying uploads it again).
async fn fail(shared: &Shared, item: &Pending, reason: String) -> Result<()> {
    if let Some(id) = &item.upload_id {
        super::give_up_upload(shared, id).await;
    }
    let (cid, why) = (item.client_id.clone(), reason.clone());
    shared
        .cache
        .call(move |txn| {
            transfers::set_upload_id(txn, &cid, None)?;
            outbox::fail(txn, &cid, &why).map(|_| ())
        })
        .await?;
    shared.emit(Event::Status {
        conversation_id: item.conversation_id,
        client_id: item.client_id.clone(),
        seq: None,
        sent_at: None,
        written_at: None,
        status: MessageStatus::Failed { reason },
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_after_failed_rounds_doubles_up_to_a_minute() {
        let secs: Vec<u64> = (1..=8).map(|r| backoff(r).as_secs()).collect();
        assert_eq!(secs, vec![2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff(u32::MAX), MAX_RETRY_AFTER);
    }
}
