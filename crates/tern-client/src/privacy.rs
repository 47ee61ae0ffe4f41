//! Privacy and account security: blocking, presence and read-receipt settings, message
//! requests, hiding a chat, the password and the account's signed-in devices.
//!
//! Settings and the block list come back from the relay to every device of the user
//! ([`crate::Event::Privacy`]) and are kept in the cache, so [`Client::privacy`] answers
//! offline; changing them needs the relay ([`Error::Offline`] otherwise). Hiding a chat is
//! this device's choice and needs nothing.

use tern_proto::{
    AcceptRequest, Block, ClientFrame, ConversationId, ConversationInfo, PresenceVisibility,
    Privacy, ServerFrame, SessionId, SessionInfo, SetPrivacy, Unblock,
};

use crate::cache::conversations as convs;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::http;

/// How long a privacy change waits for the relay's word on it to reach the cache.
const PRIVACY_ECHO_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether `username` is on the block list.
fn lists(p: &Privacy, username: &str) -> bool {
    p.blocked
        .iter()
        .any(|b| b.username.eq_ignore_ascii_case(username))
}

impl Client {
    /// The user's privacy settings and block list, as last synced.
    pub async fn privacy(&self) -> Result<Privacy> {
        self.shared.cache.call(convs::privacy).await
    }

    /// Block `username`: they can no longer message the user directly, add them to groups
    /// or see their presence, and are not told. Returns once [`Client::privacy`] shows it.
    pub async fn block(&self, username: &str) -> Result<()> {
        let username = username.trim().to_owned();
        let events = self.subscribe();
        let name = username.clone();
        self.expect_ok(move |id| ClientFrame::Block(Block { id, username }))
            .await?;
        self.privacy_shows(events, |p| lists(p, &name)).await
    }

    /// Lift a block. Returns once [`Client::privacy`] shows it.
    pub async fn unblock(&self, username: &str) -> Result<()> {
        let username = username.trim().to_owned();
        let events = self.subscribe();
        let name = username.clone();
        self.expect_ok(move |id| ClientFrame::Unblock(Unblock { id, username }))
            .await?;
        self.privacy_shows(events, |p| !lists(p, &name)).await
    }

    /// Wait (briefly) until the cached privacy state satisfies `done`. The relay answers a
    /// change with `ok` and tells every device of the user the new state in a `privacy` push,
    /// which may come just after the `ok`: a caller that reads [`Client::privacy`] next (the
    /// CLI, which then exits) must see its own change. A push that does not come in time (the
    /// link dropped) comes with the next sync.
    async fn privacy_shows(
        &self,
        mut events: tokio::sync::broadcast::Receiver<crate::Event>,
        done: impl Fn(&Privacy) -> bool,
    ) -> Result<()> {
        use tokio::sync::broadcast::error::RecvError;
        let deadline = tokio::time::Instant::now() + PRIVACY_ECHO_WAIT;
        // The cache is read again only when the privacy state may have changed.
        let mut changed = true;
        loop {
            if changed && done(&self.privacy().await?) {
                return Ok(());
            }
            changed = match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Ok(event)) => matches!(event, crate::Event::Privacy { .. }),
                Ok(Err(RecvError::Lagged(_))) => true,
                Ok(Err(RecvError::Closed)) | Err(_) => return Ok(()),
            };
        }
    }

    /// Change who sees the user's presence and whether read receipts are sent (and seen);
    /// `None` leaves a setting as it is.
    pub async fn set_privacy(
        &self,
        presence: Option<PresenceVisibility>,
        read_receipts: Option<bool>,
    ) -> Result<()> {
        let events = self.subscribe();
        self.expect_ok(move |id| {
            ClientFrame::SetPrivacy(SetPrivacy {
                id,
                presence,
                read_receipts,
            })
        })
        .await?;
        self.privacy_shows(events, |p| {
            presence.is_none_or(|v| p.presence == v)
                && read_receipts.is_none_or(|r| p.read_receipts == r)
        })
        .await
    }

    /// Accept a message request; it becomes a normal conversation.
    pub async fn accept_request(&self, conv: ConversationId) -> Result<ConversationInfo> {
        match self
            .request(move |id| {
                ClientFrame::AcceptRequest(AcceptRequest {
                    id,
                    conversation_id: conv,
                })
            })
            .await?
        {
            ServerFrame::Conversation { conversation, .. } => Ok(conversation),
            other => Err(Error::Internal(format!("unexpected reply {other:?}"))),
        }
    }

    /// Hide a conversation from the list on this device until a new message arrives in it
    /// (also how a message request is declined).
    pub async fn hide_conversation(&self, conv: ConversationId) -> Result<()> {
        self.shared
            .cache
            .call(move |txn| convs::set_hidden(txn, conv, true))
            .await
    }

    /// Delete a chat on this device: its messages are deleted for the user (other devices and
    /// members keep them) and it leaves the list until a new message arrives (how a message
    /// request is deleted). A group request (a stranger put the user in a group) is also
    /// left: staying, the user would go on sharing their name and picture with its members
    /// and receiving its messages; this needs the relay, so it fails offline.
    pub async fn delete_chat(&self, conv: ConversationId) -> Result<()> {
        let me = self.shared.user_id;
        let group_request = self
            .shared
            .cache
            .call(move |txn| {
                Ok(convs::info(txn, conv)?.is_some_and(|info| {
                    info.kind == tern_proto::ConversationKind::Group
                        && info.members.iter().any(|m| m.user_id == me && !m.accepted)
                }))
            })
            .await?;
        if group_request {
            self.leave_group(conv).await?;
        }
        self.shared
            .cache
            .call(move |txn| {
                crate::cache::messages::hide_all(txn, conv)?;
                convs::set_hidden(txn, conv, true)
            })
            .await
    }

    /// Change the password. Every other device of the account is signed out; this one
    /// stays signed in.
    pub async fn change_password(&self, old_password: &str, new_password: &str) -> Result<()> {
        let shared = &self.shared;
        http::change_password(&shared.config, &shared.token, old_password, new_password).await
    }

    /// The account's signed-in devices, newest first (`current` marks this one).
    pub async fn sessions(&self) -> Result<Vec<SessionInfo>> {
        http::sessions(&self.shared.config, &self.shared.token).await
    }

    /// Sign out one of the account's devices; its connections close at once.
    pub async fn revoke_session(&self, session: SessionId) -> Result<()> {
        http::revoke_session(&self.shared.config, &self.shared.token, session).await
    }

    /// Delete the account on the relay, then everything this device keeps of it: the token
    /// and device credential in the keychain and the local cache (messages, files). Every
    /// other device is signed out by the relay.
    ///
    /// Once the relay has deleted the account, every local step is tried whatever the others
    /// do; if one fails the answer is [`Error::LeftBehind`], which says what stayed.
    pub async fn delete_account(self, password: &str) -> Result<()> {
        let shared = self.shared.clone();
        http::delete_account(&shared.config, &shared.token, password).await?;
        self.shutdown().await;
        let keys =
            crate::keychain::off_loop(&shared.config.relay, &shared.username, |relay, user| {
                let token = crate::keychain::delete(relay, user);
                let credential = crate::keychain::delete_device_credential(relay, user);
                token.and(credential)
            })
            .await;
        let data = crate::accounts::remove_account_data(&shared.config, shared.user_id);
        let left: Vec<String> = [
            keys.err()
                .map(|e| format!("the sign-in kept in the keychain ({e})")),
            data.err().map(|e| format!("the messages and files ({e})")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if left.is_empty() {
            Ok(())
        } else {
            Err(Error::LeftBehind(left.join("; ")))
        }
    }

    async fn expect_ok(
        &self,
        frame: impl FnOnce(tern_proto::RequestId) -> ClientFrame + Send + 'static,
    ) -> Result<()> {
        match self.request(frame).await? {
            ServerFrame::Ok { .. } => Ok(()),
            other => Err(Error::Internal(format!("unexpected reply {other:?}"))),
        }
    }
}
