//! Acting on a stored message: edit, delete for everyone, delete for me, react.
//!
//! Edits, deletes and reactions go out through the outbox exactly like messages (persisted
//! first, resent after a reconnect or restart, deduplicated by client id), so one made offline
//! is not lost. Until the relay confirms it, the chat shows it on top of the stored message
//! (see [`crate::cache::chat`]); if the relay refuses it for good (the edit window closed, the
//! message was deleted meanwhile), it is dropped and [`Event::ActionRefused`] says why.
//!
//! The checks here mirror the relay's so the user gets an answer at once; the relay's are the
//! ones that count.

use tern_proto::{ConversationId, MessageKind, Seq};

use crate::cache::{chat, messages, outbox};
use crate::client::Client;
use crate::connection::Cmd;
use crate::error::{Error, Result};
use crate::events::{ChatMessage, Event};

/// Longest reaction accepted (bytes), as on the relay.
const MAX_REACTION_BYTES: usize = 64;

impl Client {
    /// Replace the text of one of the user's messages. Returns the message as it now shows.
    pub async fn edit(&self, conv: ConversationId, seq: Seq, body: &str) -> Result<ChatMessage> {
        if body.trim().is_empty() {
            return Err(Error::Invalid(
                "a message cannot be edited to nothing; delete it instead".into(),
            ));
        }
        self.shared.check_body(body)?;
        self.act(conv, seq, Action::Is(MessageKind::Edit), body.to_owned())
            .await
    }

    /// Delete a message for every member (the user's own, or any in a group the user
    /// administers). Its text is erased on the relay and in every cache; a tombstone remains.
    pub async fn delete_for_everyone(&self, conv: ConversationId, seq: Seq) -> Result<ChatMessage> {
        self.act(conv, seq, Action::Is(MessageKind::Delete), String::new())
            .await
    }

    /// Toggle the user's reaction `emoji` on a message. Returns the message as it now shows.
    pub async fn react(&self, conv: ConversationId, seq: Seq, emoji: &str) -> Result<ChatMessage> {
        let emoji = emoji.trim();
        if emoji.is_empty()
            || emoji.len() > MAX_REACTION_BYTES
            || emoji.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(Error::Invalid("a reaction is one emoji".into()));
        }
        self.act(conv, seq, Action::ToggleReaction, emoji.to_owned())
            .await
    }

    /// Delete a message on this device only; other devices and members keep it.
    pub async fn delete_for_me(&self, conv: ConversationId, seq: Seq) -> Result<()> {
        let me = self.shared.user_id;
        let view = self
            .shared
            .cache
            .call(move |txn| {
                let view = chat::chat_at(txn, me, conv, seq)?;
                if view.is_some() {
                    messages::hide(txn, conv, seq)?;
                }
                Ok(view)
            })
            .await?
            .ok_or_else(|| Error::Invalid("no such message".into()))?;
        self.shared.emit(Event::MessageChanged {
            message: view,
            hidden: true,
        });
        Ok(())
    }

    /// Check an action against the cached message, queue it, and show it.
    async fn act(
        &self,
        conv: ConversationId,
        seq: Seq,
        action: Action,
        body: String,
    ) -> Result<ChatMessage> {
        let me = self.shared.user_id;
        let mut item = outbox::OutboxItem {
            client_id: uuid::Uuid::now_v7().to_string(),
            conversation_id: conv,
            body,
            created_at: tern_proto::now_ms(),
            kind: MessageKind::React,
            target_seq: Some(seq),
            reply_to: None,
            attachment: None,
        };
        let view = self
            .shared
            .cache
            .call(move |txn| {
                // Decided in the transaction that queues it: two quick taps on a reaction
                // queue "on" then "off", not "on" twice.
                let kind = match action {
                    Action::Is(kind) => kind,
                    Action::ToggleReaction
                        if chat::my_reaction(txn, me, conv, seq, &item.body)? =>
                    {
                        MessageKind::Unreact
                    }
                    Action::ToggleReaction => MessageKind::React,
                };
                item.kind = kind;
                let target = chat::chat_at(txn, me, conv, seq)?
                    .ok_or_else(|| Error::Invalid("no such message".into()))?;
                if target.deleted {
                    return Err(Error::Invalid("that message was deleted".into()));
                }
                if kind == MessageKind::Edit && !target.mine {
                    return Err(Error::Invalid(
                        "only your own messages can be edited".into(),
                    ));
                }
                outbox::enqueue(txn, &item)?;
                chat::chat_at(txn, me, conv, seq)?
                    .ok_or_else(|| Error::Invalid("no such message".into()))
            })
            .await?;
        self.shared.emit(Event::MessageChanged {
            message: view.clone(),
            hidden: false,
        });
        self.shared.ask(&self.cmds, Cmd::Flush);
        Ok(view)
    }
}

/// What an action on a message is.
#[derive(Debug, Clone, Copy)]
enum Action {
    /// This kind.
    Is(MessageKind),
    /// The user's reaction: added, or removed if it is there (its state as queued counts).
    ToggleReaction,
}
