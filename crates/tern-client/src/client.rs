//! The public client handle: cheap to clone, every method a short call into the cache or a
//! command to the connection task.
//!
//! Reads (conversations, messages, search) are answered from the local cache, so they work
//! offline and instantly. Sends go through the outbox: [`Client::send`] stores the message and
//! returns its local echo at once; the connection task delivers it when it can. Requests that
//! need the relay (start a chat, manage a group) fail with [`Error::Offline`] when offline.

use std::sync::{Arc, Mutex};

use tern_proto::{
    ClientFrame, ConversationId, ConversationInfo, RequestId, Seq, ServerFrame, UserId,
};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::accounts::{self, cache_path};
use crate::cache::{self, conversations as convs, messages, outbox, views, Cache};
use crate::config::ClientConfig;
use crate::connection::{self, Cmd};
use crate::error::{Error, Result};
use crate::events::{ChatMessage, ConnectionState, ConversationView, Event};
use crate::http;
use crate::keychain::{self, DeviceCredential, Token};
use crate::shared::Shared;

/// A signed-in Tern client.
#[derive(Clone)]
pub struct Client {
    pub(crate) shared: Arc<Shared>,
    pub(crate) cmds: mpsc::Sender<Cmd>,
    task: Arc<Mutex<Option<JoinHandle<()>>>>,
    /// Wakes the uploader (a file was queued, or a failed one retried).
    pub(crate) uploads: Arc<tokio::sync::Notify>,
    /// The uploader task; aborted on shutdown, or when the last handle goes.
    uploader: Arc<Uploader>,
}

/// The uploader task, stopped when the last [`Client`] handle is dropped. It holds a sender
/// of the connection task's commands, so until it stops that task cannot see that nobody is
/// left: a client dropped without [`Client::shutdown`] kept its connection (online to its
/// contacts), its cache thread and its file open for as long as the process ran. Once it
/// stops, the connection task ends and lets go of the cache.
struct Uploader(Mutex<Option<JoinHandle<()>>>);

impl Drop for Uploader {
    fn drop(&mut self) {
        if let Some(task) = self.0.lock().unwrap_or_else(|e| e.into_inner()).take() {
            task.abort();
        }
    }
}

/// Longest a sign-out waits for the relay to revoke the token.
pub const LOGOUT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl Client {
    /// Create an account on the relay.
    pub async fn register(config: &ClientConfig, username: &str, password: &str) -> Result<()> {
        http::register(config, username, password).await.map(|_| ())
    }

    /// Log in, keep the token in the OS keychain, and start the client.
    pub async fn login(config: ClientConfig, username: &str, password: &str) -> Result<Client> {
        // A keychain that cannot be read only costs the device its exemption from the
        // account-wide login ceiling; storing the token below reports the problem.
        let credential =
            keychain::off_loop(&config.relay, username, keychain::load_device_credential)
                .await
                .ok()
                .flatten();
        let res = http::login(&config, username, password, credential.as_ref()).await?;
        let token = Token::new(res.token.clone());
        let kept = token.clone();
        let stored = keychain::off_loop(&config.relay, &res.username, move |relay, user| {
            keychain::store(relay, user, &kept)
        });
        if let Err(e) = stored.await {
            // Without a keychain the session must not outlive this call: revoke it.
            let _ = http::logout(&config, &token, false).await;
            return Err(e);
        }
        if !res.device_credential.is_empty() {
            let credential = DeviceCredential::new(res.device_credential.clone());
            let stored = keychain::off_loop(&config.relay, &res.username, move |relay, user| {
                keychain::store_device_credential(relay, user, &credential)
            });
            if let Err(e) = stored.await {
                tracing::warn!(error = %e, "could not keep the device credential");
            }
        }
        let (user_id, name) = (res.user_id, res.username.clone());
        // The folder is keyed by the numeric id: the relay chose the username.
        accounts::adopt_legacy(&config, &name, user_id)?;
        accounts::create_account_dir(&config, user_id)?;
        let cache = Cache::open(&cache_path(&config, user_id))?;
        accounts::remember(&config, &name, user_id)?;
        let n = name.clone();
        cache
            .call(move |txn| {
                cache::meta_set(txn, "user_id", &user_id.to_string())?;
                cache::meta_set(txn, "username", &n)
            })
            .await?;
        Ok(Self::start(config, cache, user_id, name, token))
    }

    /// Sign in silently with the token in the keychain; the cache is readable at once.
    pub async fn resume(config: ClientConfig, username: &str) -> Result<Client> {
        let token = keychain::off_loop(&config.relay, username, keychain::load)
            .await?
            .ok_or_else(|| Error::NotLoggedIn(username.into()))?;
        let known = match accounts::lookup(&config, username) {
            Some(id) => Some(id),
            None => accounts::find_legacy(&config, username)?,
        };
        let known = known.ok_or_else(|| Error::NotLoggedIn(username.into()))?;
        accounts::create_account_dir(&config, known)?;
        let cache = Cache::open(&cache_path(&config, known))?;
        let (user_id, name) = cache
            .call(|txn| {
                let id = cache::meta_get(txn, "user_id")?.and_then(|v| v.parse().ok());
                Ok((id, cache::meta_get(txn, "username")?))
            })
            .await?;
        match (user_id, name) {
            (Some(user_id), Some(name)) if user_id == known => {
                Ok(Self::start(config, cache, user_id, name, token))
            }
            _ => Err(Error::NotLoggedIn(username.into())),
        }
    }

    fn start(
        config: ClientConfig,
        cache: Cache,
        user_id: UserId,
        username: String,
        token: Token,
    ) -> Client {
        let (events, _) = broadcast::channel(4096);
        let shared = Arc::new(Shared::new(config, cache, user_id, username, token, events));
        let (cmds, rx) = mpsc::channel(256);
        let task = tokio::spawn(connection::run(shared.clone(), rx));
        let uploads = Arc::new(tokio::sync::Notify::new());
        let uploader = tokio::spawn(crate::transfer::uploader::run(
            shared.clone(),
            uploads.clone(),
            cmds.clone(),
        ));
        Client {
            shared,
            cmds,
            task: Arc::new(Mutex::new(Some(task))),
            uploads,
            uploader: Arc::new(Uploader(Mutex::new(Some(uploader)))),
        }
    }

    /// Subscribe to events. Subscribe before acting to see every consequence.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.shared.subscribe()
    }

    /// Cache transactions run since this client started (a measure of what the app costs the
    /// cache; docs/benchmarks.md).
    pub fn cache_jobs(&self) -> u64 {
        self.shared.cache.jobs_submitted()
    }

    /// The current link state.
    pub fn connection_state(&self) -> ConnectionState {
        self.shared.state()
    }

    /// The signed-in user's id.
    pub fn user_id(&self) -> UserId {
        self.shared.user_id
    }

    /// The signed-in user's name.
    pub fn username(&self) -> &str {
        &self.shared.username
    }

    /// The configuration in use.
    pub fn config(&self) -> &ClientConfig {
        &self.shared.config
    }

    /// Queue a message and return its local echo (status `queued`) at once.
    pub async fn send(&self, conversation_id: ConversationId, body: &str) -> Result<ChatMessage> {
        self.send_text(conversation_id, body, None).await
    }

    /// Queue a message, optionally replying to the message at `reply_to`, and return its
    /// local echo (status `queued`) at once.
    pub async fn send_text(
        &self,
        conversation_id: ConversationId,
        body: &str,
        reply_to: Option<Seq>,
    ) -> Result<ChatMessage> {
        if body.trim().is_empty() {
            return Err(Error::Invalid("a message cannot be empty".into()));
        }
        self.shared.check_body(body)?;
        let item = outbox::OutboxItem {
            client_id: uuid::Uuid::now_v7().to_string(),
            conversation_id,
            body: body.to_owned(),
            created_at: tern_proto::now_ms(),
            reply_to,
            ..outbox::OutboxItem::default()
        };
        self.queue_text(item).await
    }

    /// Queue a text message (its attachment, if any, already uploaded) and return its local
    /// echo (status `queued`) at once.
    pub(crate) async fn queue_text(&self, item: outbox::OutboxItem) -> Result<ChatMessage> {
        let conversation_id = item.conversation_id;
        let me = self.shared.user_id;
        let echo = ChatMessage {
            conversation_id,
            seq: None,
            client_id: item.client_id.clone(),
            sender_id: me,
            sender: self.shared.username.clone(),
            body: item.body.clone(),
            sent_at: item.created_at,
            written_at: None,
            mine: true,
            status: crate::events::MessageStatus::Queued,
            reply_to: item.reply_to.map(crate::events::Quote::pending),
            attachment: item.attachment.clone(),
            ..ChatMessage::default()
        };
        let echo = self
            .shared
            .cache
            .call(move |txn| {
                convs::ensure(txn, conversation_id)?;
                outbox::enqueue(txn, &item)?;
                let mut echo = [echo];
                cache::chat::resolve_quotes(txn, &mut echo)?;
                let [echo] = echo;
                Ok(echo)
            })
            .await?;
        self.shared.emit(Event::Message {
            message: echo.clone(),
        });
        self.shared.ask(&self.cmds, Cmd::Flush);
        Ok(echo)
    }

    /// Put a failed message back in the queue.
    pub async fn retry(&self, client_id: &str) -> Result<()> {
        let cid = client_id.to_owned();
        let conv = self
            .shared
            .cache
            .call(move |txn| outbox::retry(txn, &cid))
            .await?;
        self.shared.emit(Event::Status {
            conversation_id: conv,
            client_id: client_id.into(),
            seq: None,
            sent_at: None,
            written_at: None,
            status: crate::events::MessageStatus::Queued,
        });
        self.wake_uploader();
        Ok(())
    }

    /// Delete a failed message, or cancel one whose file is still uploading: its staged copy
    /// goes too, and the relay is asked to give up its upload, so that it no longer counts
    /// against the account's quota (if the relay cannot be reached, it forgets the upload
    /// after a day).
    pub async fn delete_failed(&self, client_id: &str) -> Result<()> {
        let cid = client_id.to_owned();
        let gone = self
            .shared
            .cache
            .call(move |txn| outbox::delete_unsent(txn, &cid))
            .await?;
        if let Some(path) = gone.staged {
            let _ = std::fs::remove_file(path);
        }
        self.shared.emit(Event::Deleted {
            conversation_id: gone.conversation_id,
            client_id: client_id.into(),
        });
        if let Some(upload) = gone.upload_id {
            // In the background: the user's deletion is done here already.
            let shared = self.shared.clone();
            tokio::spawn(async move { crate::transfer::give_up_upload(&shared, &upload).await });
        }
        Ok(())
    }

    /// Conversations from the cache, most recent first.
    pub async fn conversations(&self) -> Result<Vec<ConversationView>> {
        let me = self.shared.user_id;
        self.shared
            .cache
            .call(move |txn| views::list(txn, me))
            .await
    }

    /// One conversation as [`Client::conversations`] lists it; `None` if unknown or left.
    pub async fn conversation_view(&self, id: ConversationId) -> Result<Option<ConversationView>> {
        let me = self.shared.user_id;
        self.shared
            .cache
            .call(move |txn| views::one(txn, me, id))
            .await
    }

    /// Unread messages across all conversations (for a badge).
    pub async fn unread_total(&self) -> Result<u64> {
        let me = self.shared.user_id;
        self.shared
            .cache
            .call(move |txn| convs::unread_total(txn, me))
            .await
    }

    /// What the relay takes (the longest message, how long a message stays editable) and how
    /// far its clock is from this device's, as its last welcome said; kept across restarts.
    pub async fn relay_limits(&self) -> Result<crate::cache::prefs::RelayLimits> {
        self.shared
            .cache
            .call(crate::cache::prefs::relay_limits)
            .await
    }

    /// One conversation's cached shape.
    pub async fn conversation(&self, id: ConversationId) -> Result<Option<ConversationInfo>> {
        self.shared
            .cache
            .call(move |txn| convs::info(txn, id))
            .await
    }

    /// Up to `limit` cached messages after `after`, ascending; when they reach the newest,
    /// the unsent ones follow (as in [`Client::messages`]). For a view that keeps only part of
    /// a long chat and reads the newer part back as the user scrolls down.
    pub async fn messages_after(
        &self,
        conv: ConversationId,
        after: Seq,
        limit: usize,
    ) -> Result<Vec<ChatMessage>> {
        let me = self.shared.user_id;
        self.shared
            .cache
            .call(move |txn| views::page_after(txn, me, conv, after, limit))
            .await
    }

    /// A page of a conversation: the newest `limit` messages before `before` (or the newest,
    /// followed by unsent ones). When the cache has fewer and older ones exist, they are
    /// fetched from the relay and cached.
    pub async fn messages(
        &self,
        conv: ConversationId,
        before: Option<Seq>,
        limit: usize,
    ) -> Result<Vec<ChatMessage>> {
        let me = self.shared.user_id;
        let page = self
            .shared
            .cache
            .call(move |txn| views::page(txn, me, conv, before, limit))
            .await?;
        let stored = page.iter().filter(|m| m.seq.is_some()).count();
        let lowest = page.iter().filter_map(|m| m.seq).min().or(before);
        let needs_more = stored < limit && lowest.map(|s| s > Seq(1)).unwrap_or(false);
        if !needs_more || self.connection_state() != ConnectionState::Online {
            return Ok(page);
        }
        let fetch_before = lowest;
        let reply = self
            .request(move |id| {
                ClientFrame::History(tern_proto::HistoryRequest {
                    id,
                    conversation_id: conv,
                    before_seq: fetch_before,
                    limit: limit as u32,
                })
            })
            .await;
        if let Ok(ServerFrame::History {
            messages: fetched, ..
        }) = reply
        {
            self.shared
                .cache
                .call(move |txn| messages::store(txn, me, &fetched).map(|_| ()))
                .await?;
            return self
                .shared
                .cache
                .call(move |txn| views::page(txn, me, conv, before, limit))
                .await;
        }
        Ok(page)
    }

    /// Every cached message of a conversation as the relay stored it (for comparisons).
    pub async fn stored_messages(
        &self,
        conv: ConversationId,
    ) -> Result<Vec<tern_proto::MessageRecord>> {
        self.shared
            .cache
            .call(move |txn| messages::all(txn, conv))
            .await
    }

    /// Search every cached message, newest first: words match as prefixes, `"quoted
    /// phrases"` exactly.
    pub async fn search(&self, query: &str, limit: usize) -> Result<Vec<ChatMessage>> {
        self.search_from(query, 0, limit).await
    }

    /// The next results of a search: `limit` after the first `offset`.
    pub async fn search_from(
        &self,
        query: &str,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<ChatMessage>> {
        let (me, q) = (self.shared.user_id, query.to_owned());
        self.shared
            .cache
            .call(move |txn| views::search(txn, me, &q, offset, limit))
            .await
    }

    /// Mark everything up to `seq` read (locally at once; on the relay when connected).
    pub async fn mark_read(&self, conv: ConversationId, seq: Seq) -> Result<()> {
        let me = self.shared.user_id;
        let moved = self
            .shared
            .cache
            .call(move |txn| convs::mark_read(txn, me, conv, seq))
            .await?;
        // The relay does not echo a marker to the connection that moved it: this device says
        // so itself, at once. The marker is in the cache, so if the link is down (the command
        // is dropped), the next connection's flush sends it.
        if let Some(receipt) = moved {
            self.shared.emit(Event::Receipt { receipt });
            self.shared.ask(
                &self.cmds,
                Cmd::Read {
                    conversation_id: conv,
                    seq: receipt.read_seq,
                },
            );
        }
        Ok(())
    }

    /// Tell the conversation the user is (not) typing. Dropped when offline.
    pub async fn typing(&self, conv: ConversationId, active: bool) {
        let _ = self.cmds.try_send(Cmd::Fire(Box::new(move |id| {
            ClientFrame::Typing(tern_proto::SetTyping {
                id,
                conversation_id: conv,
                active,
            })
        })));
    }

    pub(crate) async fn request(
        &self,
        build: impl FnOnce(RequestId) -> ClientFrame + Send + 'static,
    ) -> Result<ServerFrame> {
        let (reply, rx) = oneshot::channel();
        self.cmds
            .send(Cmd::Request {
                build: Box::new(build),
                reply,
            })
            .await
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    async fn conversation_request(
        &self,
        build: impl FnOnce(RequestId) -> ClientFrame + Send + 'static,
    ) -> Result<ConversationInfo> {
        match self.request(build).await? {
            ServerFrame::Conversation { conversation, .. } => Ok(conversation),
            other => Err(Error::Internal(format!("unexpected reply {other:?}"))),
        }
    }

    /// Start (or find) the direct conversation with a user.
    pub async fn start_direct(&self, username: &str) -> Result<ConversationInfo> {
        let username = username.to_owned();
        self.conversation_request(move |id| {
            ClientFrame::StartDirect(tern_proto::StartDirect { id, username })
        })
        .await
    }

    /// Create a group with the user as admin.
    pub async fn create_group(&self, name: &str, members: &[&str]) -> Result<ConversationInfo> {
        let (name, members) = (
            name.to_owned(),
            members.iter().map(|m| m.to_string()).collect(),
        );
        self.conversation_request(move |id| {
            ClientFrame::CreateGroup(tern_proto::CreateGroup { id, name, members })
        })
        .await
    }

    /// Rename a group.
    pub async fn rename_group(&self, conv: ConversationId, name: &str) -> Result<ConversationInfo> {
        let name = name.to_owned();
        self.conversation_request(move |id| {
            ClientFrame::RenameGroup(tern_proto::RenameGroup {
                id,
                conversation_id: conv,
                name,
            })
        })
        .await
    }

    /// Add members to a group (admins).
    pub async fn add_members(
        &self,
        conv: ConversationId,
        usernames: &[&str],
    ) -> Result<ConversationInfo> {
        let usernames = usernames.iter().map(|u| u.to_string()).collect();
        self.conversation_request(move |id| {
            ClientFrame::AddMembers(tern_proto::AddMembers {
                id,
                conversation_id: conv,
                usernames,
            })
        })
        .await
    }

    /// Remove a member from a group (admins).
    pub async fn remove_member(
        &self,
        conv: ConversationId,
        username: &str,
    ) -> Result<ConversationInfo> {
        let username = username.to_owned();
        self.conversation_request(move |id| {
            ClientFrame::RemoveMember(tern_proto::RemoveMember {
                id,
                conversation_id: conv,
                username,
            })
        })
        .await
    }

    /// Leave a group.
    pub async fn leave_group(&self, conv: ConversationId) -> Result<()> {
        self.request(move |id| {
            ClientFrame::LeaveGroup(tern_proto::LeaveGroup {
                id,
                conversation_id: conv,
            })
        })
        .await?;
        // The relay's push of the removal may have come first (then it told the UI).
        let was_active = self
            .shared
            .cache
            .call(move |txn| convs::deactivate(txn, conv))
            .await?;
        if was_active {
            self.shared.emit(Event::ConversationRemoved {
                conversation_id: conv,
            });
        }
        Ok(())
    }

    /// Stop waiting for the next reconnect attempt and try now.
    pub fn retry_now(&self) {
        let _ = self.cmds.try_send(Cmd::RetryNow);
    }

    /// Tell the engine the device's network changed (an interface came or went, an address
    /// changed): offline, it tries at once; online, it pings the relay and replaces the link
    /// if no answer comes within a few seconds, instead of trusting a link that may have died
    /// with the old network until the heartbeat timeout.
    pub fn network_changed(&self) {
        let _ = self.cmds.try_send(Cmd::Probe);
    }

    /// Messages written here that the relay has not stored yet.
    pub async fn unsent(&self) -> Result<usize> {
        self.shared
            .cache
            .call(|txn| Ok(outbox::queued(txn)?.len()))
            .await
    }

    /// Client ids of the messages still queued, oldest first.
    pub async fn unsent_ids(&self) -> Result<Vec<String>> {
        self.shared
            .cache
            .call(|txn| {
                Ok(outbox::queued(txn)?
                    .into_iter()
                    .map(|i| i.client_id)
                    .collect())
            })
            .await
    }

    /// Log out: stop, delete the token from the keychain, then revoke it on the relay
    /// (everywhere if `all`). The cache stays for the next sign-in.
    ///
    /// This device is signed out whatever the relay does: what happens here comes first,
    /// and the relay is waited for at most [`LOGOUT_WAIT`]. A relay that does not answer in
    /// time gets [`Error::Offline`]; the token, gone from this device, then ends when it
    /// expires or is revoked from another device.
    pub async fn logout(self, all: bool) -> Result<()> {
        self.shutdown().await;
        let shared = &self.shared;
        let forgotten =
            keychain::off_loop(&shared.config.relay, &shared.username, keychain::delete).await;
        let revoked = tokio::time::timeout(
            LOGOUT_WAIT,
            http::logout(&shared.config, &shared.token, all),
        )
        .await
        .unwrap_or(Err(Error::Offline));
        forgotten.and(revoked)
    }

    /// Close the connection and stop the engine. Unsent messages stay in the outbox.
    pub async fn shutdown(&self) {
        self.shared.close();
        let uploader = self.uploader.0.lock().unwrap().take();
        if let Some(uploader) = uploader {
            uploader.abort();
            let _ = uploader.await;
        }
        let (done, rx) = oneshot::channel();
        if self.cmds.send(Cmd::Shutdown(done)).await.is_ok() {
            let _ = rx.await;
        }
        let task = self.task.lock().unwrap().take();
        if let Some(task) = task {
            let _ = task.await;
        }
        // Other handles may live on (a command in flight, a notification's reply): the file
        // is let go of now all the same.
        self.shared.cache.close().await;
    }
}
