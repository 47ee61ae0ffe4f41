//! Forwarding a message to another chat: a new message of the user's with the same text and
//! the same file. The file is sent again from this device, as any file the user sends (its
//! copy, downloaded first if need be, with this device's rule on photo locations applied), so
//! what the first sender chose to share goes no further than the forwarder's own rule lets it,
//! and deleting either message leaves the other's file alone. Nothing says where it came
//! from, as in Signal.

use tern_proto::{ConversationId, Seq};

use crate::cache::{messages, outbox};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::events::ChatMessage;

impl Client {
    /// Forward the message at `seq` of conversation `from` to conversation `to`; its local
    /// echo (status `queued`). Only a stored text message that shows here (not deleted for
    /// everyone or for me, not withheld) can be ([`Error::Invalid`] otherwise); one with a
    /// file needs the file (downloaded now if this device has no copy).
    pub async fn forward(
        &self,
        to: ConversationId,
        from: ConversationId,
        seq: Seq,
    ) -> Result<ChatMessage> {
        let refused = || Error::Invalid("that message cannot be forwarded".into());
        let original = self
            .shared
            .cache
            .call(move |txn| messages::shown_text_at(txn, from, seq))
            .await?
            .filter(|m| !m.deleted && !m.withheld)
            .ok_or_else(refused)?;
        if let Some(file) = &original.attachment {
            let copy = self.download(from, seq).await?;
            return self
                .send_file_named(to, &copy, Some(file.name.clone()), &original.body, None)
                .await;
        }
        if original.body.trim().is_empty() {
            return Err(refused());
        }
        let item = outbox::OutboxItem {
            client_id: uuid::Uuid::now_v7().to_string(),
            conversation_id: to,
            body: original.body,
            created_at: tern_proto::now_ms(),
            ..outbox::OutboxItem::default()
        };
        self.queue_text(item).await
    }
}
