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
        // Refused before the file goes up, not after.
        self.shared.check_body(caption.trim())?;
        let client_id = uuid::Uuid::now_v7().to_string();
        let (src, dir, cid) = (
            path.to_owned(),
            self.files_dir("outgoing"),
            client_id.clone(),
        );
        let strip = !self.keeps_photo_location().await?;
        let mut prepared =
            tokio::task::spawn_blocking(move || files::prepare(&src, &dir, &cid, strip))
                .await
                .map_err(|e| Error::Internal(e.to_string()))??;
        if let Some(name) = name {
            prepared.attachment.name = name;
        }
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
        self.fetch_verified(&a, conversation_id, &partial).await?;
        if let Err(e) = self.shared.check_open() {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
        std::fs::rename(&partial, &target)?;
        let (blob, path, total) = (a.blob_id.clone(), target.display().to_string(), a.size);
        let view = self
            .shared
            .cache
            .call(move |txn| {
                transfers::downloaded(txn, &blob, &path, total, transfers::FILE_CACHE_BYTES)?;
                chat::chat_at(txn, me, conversation_id, seq)
            })
            .await?;
        if let Some(message) = view {
            self.shared.emit(Event::MessageChanged {
                message,
                hidden: false,
            });
        }
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
        let from = file.metadata().await?.len();
        let shared = self.shared.clone();
        let (blob, total) = (a.blob_id.clone(), a.size);
        if from < total {
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
            relay::download(
                &shared.config,
                &shared.token,
                &a.blob_id,
                from,
                &mut file,
                progress,
            )
            .await?;
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

/// Ask the relay to give up upload `id` (its message was deleted or its file refused for
/// good), so that it no longer counts against the quota: best effort, the relay's sweep
/// forgets it after a day otherwise.
pub(crate) async fn give_up_upload(shared: &crate::shared::Shared, id: &str) {
    if let Err(e) = relay::cancel(&shared.config, &shared.token, id).await {
        tracing::debug!(error = %e, "could not give up an upload on the relay");
    }
}

/// `name` with path separators and control characters replaced, safe inside one folder.
fn safe_file_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            // Direction marks and overrides make a name read as another (`cod.exe` as
            // `exe.doc`); zero-width ones hide.
            let format = matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}');
            if c.is_control() || format || "/\\:".contains(c) {
                '_'
            } else {
                c
            }
        })
        .collect()
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
    }
}
