//! Forwarding a message to another chat: a new message of the user's with the same text and
//! the same attachment. The file is not uploaded again: the message names the blob already on
//! the relay, which lets a member read a blob they could read before link it elsewhere (and
//! the new chat's members then read it). Nothing says where it came from, as in Signal.

use tern_proto::{ConversationId, Seq};

use crate::cache::{messages, outbox};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::events::ChatMessage;

impl Client {
    /// Forward the message at `seq` of conversation `from` to conversation `to`; its local
    /// echo (status `queued`). Only a stored text message that shows (not deleted, not
    /// withheld) can be ([`Error::Invalid`] otherwise).
    pub async fn forward(
        &self,
        to: ConversationId,
        from: ConversationId,
        seq: Seq,
    ) -> Result<ChatMessage> {
        let original = self
            .shared
            .cache
            .call(move |txn| messages::text_at(txn, from, seq))
            .await?
            .filter(|m| !m.deleted && !m.withheld)
            .ok_or_else(|| Error::Invalid("that message cannot be forwarded".into()))?;
        let attachment = original.attachment.filter(|a| !a.blob_id.is_empty());
        if original.body.trim().is_empty() && attachment.is_none() {
            return Err(Error::Invalid("that message cannot be forwarded".into()));
        }
        let item = outbox::OutboxItem {
            client_id: uuid::Uuid::now_v7().to_string(),
            conversation_id: to,
            body: original.body,
            created_at: tern_proto::now_ms(),
            attachment,
            ..outbox::OutboxItem::default()
        };
        self.queue_text(item).await
    }
}
