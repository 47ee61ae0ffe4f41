//! Attachments: sending a file (staged, uploaded resumably by the `uploader`, then sent as a
//! message through the outbox) and downloading one (resumed with HTTP ranges, checked against
//! its SHA-256, kept in a size-bounded cache folder).
//!
//! A message with a file behaves like any other: it shows at once as queued, survives restarts
//! and reconnects, and goes out once its bytes are on the relay; messages written after it in
//! the same conversation wait for it, so the order the user wrote in is kept.

pub mod files;
pub mod location;
mod one_at_a_time;
pub(crate) mod relay;
pub(crate) mod uploader;

use std::path::{Path, PathBuf};

use tern_proto::{ConversationId, Seq};

use crate::accounts::account_dir;
use crate::cache::{chat, conversations as convs, outbox, transfers};
use crate::client::Client;
use crate::connection::Cmd;
use crate::error::{Error, Result};
use crate::events::{ChatMessage, Event, MessageStatus, Quote};
pub(crate) use one_at_a_time::KeyedLocks;

/// The `meta` key of this device's photo-location setting.
const KEEP_LOCATION_KEY: &str = "keep_photo_location";

impl Client {
    fn files_dir(&self, which: &str) -> PathBuf {
        account_dir(&self.shared.config, self.shared.user_id).join(which)
    }

    /// Whether photos keep the place they were taken when sent from this device. Off unless
    /// the user turns it on: location (EXIF GPS, XMP) is removed from JPEG and PNG files
    /// before they are staged for upload; the orientation is kept.
    pub async fn keeps_photo_location(&self) -> Result<bool> {
        let value = self
            .shared
            .cache
            .call(|txn| crate::cache::meta_get(txn, KEEP_LOCATION_KEY))
            .await?;
        Ok(value.as_deref() == Some("true"))
    }

    /// Turn keeping photo locations on or off for this device (kept across restarts).
    pub async fn set_keeps_photo_location(&self, keep: bool) -> Result<()> {
        let value = if keep { "true" } else { "false" };
        self.shared
            .cache
            .call(move |txn| crate::cache::meta_set(txn, KEEP_LOCATION_KEY, value))
            .await
    }

    /// Send the file at `path` (with an optional caption, optionally as a reply). Returns the
    /// local echo at once; the upload runs in the background (progress as
    /// [`Event::Transfer`]), then the message goes out.
    pub async fn send_file(
        &self,
        conversation_id: ConversationId,
        path: &Path,
        caption: &str,
        reply_to: Option<Seq>,
    ) -> Result<ChatMessage> {
        self.send_file_named(conversation_id, path, None, caption, reply_to)
            .await
    }

    /// [`Client::send_file`], the file named `name` instead of by its path (a forwarded
    /// file keeps the name it came with).
    pub(crate) async fn send_file_named(
        &self,
        conversation_id: ConversationId,
        path: &Path,
        name: Option<String>,
        caption: &str,
        reply_to: Option<Seq>,
    ) -> Result<ChatMessage> {
        // Refused before the file is copied and goes up, not after.
        self.shared.check_body(caption.trim())?;
        let limit = self.relay_limits().await?.max_attachment_bytes;
        let size = tokio::fs::metadata(path).await?.len();
        if let Some(max) = limit.filter(|&max| size > max) {
            return Err(Error::Invalid(format!(
                "the file is too large for this relay ({}; it takes files of at most {})",
                mib(size),
                mib(max)
            )));
        }
        let client_id = uuid::Uuid::now_v7().to_string();
        let (src, dir, cid) = (
            path.to_owned(),
            self.files_dir("outgoing"),
            client_id.clone(),
        );
        let strip = !self.keeps_photo_location().await?;
        let prepared = tokio::task::spawn_blocking(move || {
            files::prepare(&src, &dir, &cid, name.as_deref(), strip)
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        let item = outbox::OutboxItem {
            client_id: client_id.clone(),
            conversation_id,
            body: caption.trim().to_owned(),
            created_at: tern_proto::now_ms(),
            reply_to,
            attachment: Some(prepared.attachment.clone()),
            ..outbox::OutboxItem::default()
        };
        let echo = ChatMessage {
            conversation_id,
            seq: None,
            client_id: client_id.clone(),
            sender_id: self.shared.user_id,
            sender: self.shared.username.clone(),
            sender_name: self.shared.username.clone(),
            body: item.body.clone(),
            sent_at: item.created_at,
            written_at: None,
            mine: true,
            status: MessageStatus::Queued,
            reply_to: reply_to.map(Quote::pending),
            attachment: Some(prepared.attachment),
            local_file: Some(prepared.staged.display().to_string()),
            ..ChatMessage::default()
        };
        let staged = prepared.staged.display().to_string();
        let echo = self
            .shared
            .cache
            .call(move |txn| {
                convs::ensure(txn, conversation_id)?;
                outbox::enqueue(txn, &item)?;
                transfers::stage(txn, &item.client_id, &staged)?;
                let mut echo = [echo];
                chat::resolve_quotes(txn, &mut echo)?;
                let [echo] = echo;
                Ok(echo)
            })
            .await?;
        self.shared.emit(Event::Message {
            message: echo.clone(),
        });
        self.wake_uploader();
        Ok(echo)
    }

    /// Download the file attached to the message at `seq` into the cache folder (resuming a
    /// partial download) and return where it is. Checked against the sender's SHA-256.
    pub async fn download(&self, conversation_id: ConversationId, seq: Seq) -> Result<PathBuf> {
        let me = self.shared.user_id;
        let read = || async move {
            let message = self
                .shared
                .cache
                .call(move |txn| chat::chat_at(txn, me, conversation_id, seq))
                .await?
                .ok_or_else(|| Error::Invalid("no such message".into()))?;
            let a = message
                .attachment
                .clone()
                .ok_or_else(|| Error::Invalid("that message has no attachment".into()))?;
            Ok::<_, Error>((a, message.local_file))
        };
        let (a, done) = read().await?;
        if let Some(done) = done {
            return Ok(PathBuf::from(done));
        }
        // Ids name files here: a hostile descriptor must not point outside the folder.
        if !tern_proto::is_blob_id(&a.blob_id) {
            return Err(Error::Invalid("the attachment has an invalid id".into()));
        }
        // A download of the same file already running finishes first; this one then finds
        // it done (or resumes what that one left, if it failed).
        let _one = self.shared.fetches.lock(&a.blob_id).await;
        if let (_, Some(done)) = read().await? {
            return Ok(PathBuf::from(done));
        }
        self.shared.check_open()?;
        let dir = self.files_dir("downloads");
        crate::private_fs::create_dir(&dir)?;
        let target = dir.join(format!("{}-{}", &a.blob_id, safe_file_name(&a.name)));
        let partial = dir.join(format!("{}.part", &a.blob_id));
        let fetched = self.fetch_verified(&a, conversation_id, &partial).await;
        if let Err(e) = self.shared.check_open() {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
        let renamed = fetched.and_then(|()| Ok(std::fs::rename(&partial, &target)?));
        if let Err(e) = renamed {
            // Deleting the message for everyone meanwhile removed the partial file under
            // the download: say that, not what failed on the way.
            let gone = read().await.is_err_and(|e| matches!(e, Error::Invalid(_)));
            return Err(if gone { deleted_meanwhile() } else { e });
        }
        let (blob, path, total) = (a.blob_id.clone(), target.display().to_string(), a.size);
        let view = self
            .shared
            .cache
            .call(move |txn| {
                // Deleted for everyone (or gone from the cache) while it came: the file goes
                // too. (A message deleted for me keeps its row, hidden, like its file.)
                let shown = chat::chat_at(txn, me, conversation_id, seq)?;
                if shown
                    .as_ref()
                    .is_none_or(|m| m.deleted || m.attachment.is_none())
                {
                    return Ok(None);
                }
                transfers::downloaded(txn, &blob, &path, total, transfers::FILE_CACHE_BYTES)?;
                chat::chat_at(txn, me, conversation_id, seq)
            })
            .await?;
        let Some(message) = view else {
            let _ = std::fs::remove_file(&target);
            return Err(deleted_meanwhile());
        };
        self.shared.emit(Event::MessageChanged {
            message,
            hidden: false,
        });
        Ok(target)
    }

    /// Fetch what is missing of `a` into `partial` (resuming after what is there), reporting
    /// progress, then check it against the sender's hash; a mismatch removes the file.
    async fn fetch_verified(
        &self,
        a: &tern_proto::Attachment,
        conversation_id: ConversationId,
        partial: &std::path::Path,
    ) -> Result<()> {
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(partial)
            .await?;
        let shared = self.shared.clone();
        let (blob, total) = (a.blob_id.clone(), a.size);
        // A link that breaks mid-file (the relay ends an HTTP connection after a while, a
        // network drops) is asked again from where it stopped, as long as each answer brings
        // more of the file; one that brings nothing is the error to report.
        let mut from = file.metadata().await?.len();
        while from < total {
            let progress = |done| {
                shared.emit(Event::Transfer {
                    conversation_id,
                    client_id: String::new(),
                    blob_id: blob.clone(),
                    done,
                    total,
                    upload: false,
                })
            };
            let got = relay::download(
                &shared.config,
                &shared.token,
                &a.blob_id,
                from,
                &mut file,
                progress,
            )
            .await;
            let now = file.metadata().await?.len();
            match got {
                Ok(()) => break,
                Err(e) if now <= from || !matches!(e, Error::Http(_)) => return Err(e),
                Err(e) => {
                    tracing::debug!(error = %e, at = now, "download broke off; resuming");
                    shared.check_open()?;
                    from = now;
                }
            }
        }
        drop(file);
        let (check, sha) = (partial.to_path_buf(), a.sha256.clone());
        let ok = tokio::task::spawn_blocking(move || files::verify(&check, &sha))
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
        if !ok {
            let _ = std::fs::remove_file(partial);
            return Err(Error::Invalid(
                "the downloaded file does not match what was sent; try again".into(),
            ));
        }
        Ok(())
    }

    pub(crate) fn wake_uploader(&self) {
        self.uploads.notify_one();
        self.shared.ask(&self.cmds, Cmd::Flush);
    }
}

/// A download's message was deleted for everyone while its file came.
fn deleted_meanwhile() -> Error {
    Error::Invalid("the message was deleted while its file came".into())
}

/// `bytes` as a person reads a file's size: "2.5 MiB", "1 MiB", "900 KiB", "512 bytes".
fn mib(bytes: u64) -> String {
    let (value, unit) = match bytes {
        0..1024 => return format!("{bytes} bytes"),
        1024..1_048_576 => (bytes as f64 / 1024.0, "KiB"),
        _ => (bytes as f64 / 1_048_576.0, "MiB"),
    };
    if value >= 10.0 || value.fract() == 0.0 {
        format!("{value:.0} {unit}")
    } else {
        format!("{value:.1} {unit}")
    }
}

/// Ask the relay to give up upload `id` (its message was deleted or its file refused for
/// good), so that it no longer counts against the quota: best effort, the relay's sweep
/// forgets it after a day otherwise.
pub(crate) async fn give_up_upload(shared: &crate::shared::Shared, id: &str) {
    if let Err(e) = relay::cancel(&shared.config, &shared.token, id).await {
        tracing::debug!(error = %e, "could not give up an upload on the relay");
    }
}

/// Longest name (bytes) [`safe_file_name`] gives: with the blob id and dash before it (33
/// bytes) a saved file's name stays within the 255 bytes every platform's file systems take.
const MAX_SAVED_NAME_BYTES: usize = 200;

/// `name` as a file name safe inside one folder on every platform: path separators, control
/// characters and what Windows refuses in a name (`? * " < > |`, a trailing dot or space)
/// replaced, and shortened to [`MAX_SAVED_NAME_BYTES`] keeping its extension.
fn safe_file_name(name: &str) -> String {
    let mut safe: String = name
        .chars()
        .map(|c| {
            // Direction marks and overrides make a name read as another (`cod.exe` as
            // `exe.doc`); zero-width ones hide.
            let format = matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}');
            if c.is_control() || format || "/\\:?*\"<>|".contains(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    if safe.len() > MAX_SAVED_NAME_BYTES {
        let ext = files::extension(&safe).to_owned();
        let mut cut = MAX_SAVED_NAME_BYTES - ext.len();
        while !safe.is_char_boundary(cut) {
            cut -= 1;
        }
        safe.truncate(cut);
        safe.push_str(&ext);
    }
    if safe.ends_with(['.', ' ']) {
        safe.pop();
        safe.push('_');
    }
    safe
}

#[cfg(test)]
mod tests {
    use super::safe_file_name;

    #[test]
    fn a_received_name_stays_in_its_folder_and_reads_as_what_it_is() {
        assert_eq!(safe_file_name("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(safe_file_name("a\\b:c\nd"), "a_b_c_d");
        // `invoice<RLO>fdp.exe` shows as "invoiceexe.pdf": the override goes.
        assert_eq!(safe_file_name("invoice\u{202e}fdp.exe"), "invoice_fdp.exe");
        assert_eq!(safe_file_name("zero\u{200b}width"), "zero_width");
        assert_eq!(safe_file_name("café 北京.pdf"), "café 北京.pdf");
        // What Windows refuses in a name.
        assert_eq!(safe_file_name("why? <a|b> \"*\".pdf"), "why_ _a_b_ ___.pdf");
        assert_eq!(safe_file_name("notes."), "notes_");
        // A long name keeps its extension and fits beside the blob id in 255 bytes.
        let long = safe_file_name(&format!("{}.txt", "é".repeat(127)));
        assert!(33 + long.len() <= 255, "{} bytes", long.len());
        assert!(long.ends_with("éé.txt"), "{long}");
    }

    #[test]
    fn a_size_reads_in_the_unit_that_suits_it() {
        use super::mib;
        assert_eq!(mib(1000), "1000 bytes");
        assert_eq!(mib(900 * 1024), "900 KiB");
        assert_eq!(mib(1536), "1.5 KiB");
        assert_eq!(mib(2 * 1024 * 1024), "2 MiB");
        assert_eq!(mib(100 * 1024 * 1024 + 1), "100 MiB");
    }
}
