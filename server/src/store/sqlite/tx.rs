//! [`ReadTx`] for a SQLite connection and [`Tx`] for a SQLite transaction ([`SqliteTx`]): each
//! method is the query function of the same name in [`super::accounts`],
//! [`super::conversations`] or [`super::messages`]. A job is a savepoint inside the group's
//! transaction, or, if it makes its refusals before it writes, no savepoint and a count of
//! written rows ([`Undo`]). In the relay's writer the transaction carries the writer's cache
//! ([`Hot`]): rosters, blocks and sequence numbers come from memory once read, and the
//! conversations' heads that the batch's messages move are written once per conversation
//! ([`Head`]) instead of once per message.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::ops::Deref;

use rusqlite::{Connection, Transaction};
use tern_proto::{
    ChatPrefs, ConversationId, ConversationInfo, ConversationKind, ConversationSummary, MemberRole,
    MessageRecord, Person, Picture, PresenceVisibility, ReceiptState, Seq, SessionId, SessionInfo,
    Timestamp, UserId,
};

use super::hot::Hot;
use super::{accounts, conversations as convs, messages, prefs, privacy, uploads};
use crate::error::Result;
use crate::store::tx::{
    AuthSession, Changes, NewEntry, PrefEdits, PrivacyRow, ReadTx, Roster, Target, Tx, Undo,
    UploadRow, UserRow,
};

impl ReadTx for Connection {
    fn find_people(&self, me: UserId, query: &str) -> Result<Vec<Person>> {
        accounts::find_people(self, me, query)
    }
    fn list(&self, me: UserId) -> Result<Vec<ConversationSummary>> {
        convs::list(self, me)
    }
    fn find_user(&self, username: &str) -> Result<Option<UserRow>> {
        accounts::find_user(self, username)
    }
    fn username_exists(&self, username: &str) -> Result<bool> {
        accounts::username_exists(self, username)
    }
    fn device_credential_valid(&self, user: UserId, credential_hash: &[u8]) -> Result<bool> {
        accounts::device_credential_valid(self, user, credential_hash)
    }
    fn invite_usable(&self, code_hash: &[u8]) -> Result<bool> {
        accounts::invite_usable(self, code_hash)
    }
    fn authenticate(&self, token_hash: &[u8], now: Timestamp) -> Result<AuthSession> {
        accounts::authenticate(self, token_hash, now)
    }
    fn session_active(&self, session: SessionId, now: Timestamp) -> Result<bool> {
        accounts::session_active(self, session, now)
    }
    fn current_version(&self) -> Result<u64> {
        super::current_version(self)
    }
    fn info(&self, conv: ConversationId) -> Result<ConversationInfo> {
        convs::info(self, conv)
    }
    fn upload(&self, id: &str) -> Result<Option<UploadRow>> {
        uploads::upload(self, id)
    }
    fn uploads_among(&self, ids: &[String]) -> Result<Vec<(String, u64, bool)>> {
        uploads::uploads_among(self, ids)
    }
    fn sessions(&self, user: UserId, now: Timestamp) -> Result<Vec<SessionInfo>> {
        privacy::sessions(self, user, now)
    }
    fn blob_readable(&self, user: UserId, id: &str) -> Result<bool> {
        uploads::blob_readable(self, user, id)
    }
    fn contacts(&self, user: UserId) -> Result<Vec<(UserId, Option<Timestamp>)>> {
        accounts::contacts(self, user)
    }
    fn last_seen(&self, users: &[UserId]) -> Result<Vec<(UserId, Option<Timestamp>)>> {
        accounts::last_seen(self, users)
    }
    fn privacy(&self, users: &[UserId]) -> Result<Vec<(UserId, PrivacyRow)>> {
        privacy::privacy(self, users)
    }
    fn blocked_by(&self, user: UserId) -> Result<Vec<Person>> {
        privacy::blocked_by(self, user)
    }
    fn chat_prefs(&self, user: UserId) -> Result<Vec<ChatPrefs>> {
        prefs::chat_prefs(self, user)
    }
    fn blocks_of(&self, user: UserId) -> Result<Vec<(UserId, UserId)>> {
        privacy::blocks_of(self, user)
    }
    fn roster(&self, conv: ConversationId) -> Result<Roster> {
        convs::roster(self, conv)
    }
    fn changes_since(&self, me: UserId, since: u64) -> Result<Changes> {
        convs::changes_since(self, me, since)
    }
    fn range(
        &self,
        conv: ConversationId,
        after: Seq,
        upto: Seq,
        limit: usize,
    ) -> Result<Vec<MessageRecord>> {
        messages::range(self, conv, after, upto, limit)
    }
    fn page_before(
        &self,
        conv: ConversationId,
        before: Seq,
        limit: usize,
    ) -> Result<(Vec<MessageRecord>, bool)> {
        messages::page_before(self, conv, before, limit)
    }
}

/// A transaction on the relay's database, with the writer's cache when it runs in the writer.
pub struct SqliteTx<'c> {
    txn: Transaction<'c>,
    hot: Option<Hot>,
    /// Conversations whose head this transaction's messages moved and that are not written
    /// yet (only with `hot`, whose sequence numbers tell the writer where a head is).
    heads: RefCell<BTreeMap<ConversationId, Head>>,
    /// Rows written by [`SqliteTx::write_heads`]: not the running job's, whoever triggered it.
    heads_written: Cell<u64>,
    /// Writing a head failed: what the batch stored is not consistent, so it must not commit.
    broken: Cell<bool>,
}

/// Where a conversation's head goes when it is written: from the sequence number the
/// database holds to the last one stored, with the time of the last text if any.
#[derive(Debug, Clone, Copy)]
struct Head {
    from: Seq,
    to: Seq,
    activity: Option<Timestamp>,
}

impl<'c> SqliteTx<'c> {
    /// `txn`, reading through `hot` when given (only the writer, which sees every change, may).
    pub fn new(txn: Transaction<'c>, hot: Option<Hot>) -> Self {
        SqliteTx {
            txn,
            hot,
            heads: RefCell::default(),
            heads_written: Cell::new(0),
            broken: Cell::new(false),
        }
    }

    /// Write the moved heads, then commit. Refuses (and so rolls back) when writing a head
    /// failed, now or earlier.
    pub fn commit(self) -> Result<()> {
        self.write_heads()?;
        Ok(self.txn.commit()?)
    }

    /// Write every head the batch's messages moved since the last call: one `UPDATE` per
    /// conversation, checked against where the head was ([`messages::move_head`]). A failure
    /// breaks the transaction for good.
    fn write_heads(&self) -> Result<()> {
        // A head written after SQLite gave the transaction up would be kept without the
        // messages it points past.
        self.still_open()?;
        if self.broken.get() {
            return Err(crate::error::Error::Internal(
                "a conversation's head could not be written".into(),
            ));
        }
        if self.heads.borrow().is_empty() {
            return Ok(());
        }
        let heads = std::mem::take(&mut *self.heads.borrow_mut());
        for (conv, head) in heads {
            if let Err(e) = messages::move_head(&self.txn, conv, head.from, head.to, head.activity)
            {
                self.broken.set(true);
                self.hot.iter().for_each(|h| h.forget_seq(conv));
                return Err(e);
            }
            self.heads_written.set(self.heads_written.get() + 1);
        }
        Ok(())
    }

    /// The transaction, with every moved head written: what any statement that might read a
    /// conversation's head (`last_seq`, `last_activity`) runs on. Only the message path's own
    /// statements, which read neither, use `self.txn` directly.
    fn w(&self) -> Result<&Transaction<'c>> {
        self.write_heads()?;
        Ok(&self.txn)
    }

    /// Fails, and breaks the batch for good, once SQLite has rolled the transaction back on
    /// its own (it does after some errors: a full disk, an I/O error, no memory) and gone on
    /// in autocommit mode, where every statement would commit by itself.
    fn still_open(&self) -> Result<()> {
        if self.txn.is_autocommit() {
            self.broken.set(true);
            return Err(crate::error::Error::Internal(
                "the batch's transaction was rolled back".into(),
            ));
        }
        Ok(())
    }

    /// Rows the jobs wrote (SQLite's count, less the heads written on their behalf).
    fn job_rows(&self) -> u64 {
        self.txn.total_changes() - self.heads_written.get()
    }
}

impl<'c> Deref for SqliteTx<'c> {
    type Target = Transaction<'c>;
    fn deref(&self) -> &Transaction<'c> {
        &self.txn
    }
}

impl ReadTx for SqliteTx<'_> {
    fn find_people(&self, me: UserId, query: &str) -> Result<Vec<Person>> {
        accounts::find_people(self.w()?, me, query)
    }
    fn list(&self, me: UserId) -> Result<Vec<ConversationSummary>> {
        convs::list(self.w()?, me)
    }
    fn find_user(&self, username: &str) -> Result<Option<UserRow>> {
        self.w()?.find_user(username)
    }
    fn username_exists(&self, username: &str) -> Result<bool> {
        self.w()?.username_exists(username)
    }
    fn device_credential_valid(&self, user: UserId, credential_hash: &[u8]) -> Result<bool> {
        self.w()?.device_credential_valid(user, credential_hash)
    }
    fn invite_usable(&self, code_hash: &[u8]) -> Result<bool> {
        self.w()?.invite_usable(code_hash)
    }
    fn authenticate(&self, token_hash: &[u8], now: Timestamp) -> Result<AuthSession> {
        self.w()?.authenticate(token_hash, now)
    }
    fn session_active(&self, session: SessionId, now: Timestamp) -> Result<bool> {
        self.w()?.session_active(session, now)
    }
    fn current_version(&self) -> Result<u64> {
        self.w()?.current_version()
    }
    fn info(&self, conv: ConversationId) -> Result<ConversationInfo> {
        convs::info(self.w()?, conv)
    }
    fn upload(&self, id: &str) -> Result<Option<UploadRow>> {
        self.w()?.upload(id)
    }
    fn uploads_among(&self, ids: &[String]) -> Result<Vec<(String, u64, bool)>> {
        self.w()?.uploads_among(ids)
    }
    fn sessions(&self, user: UserId, now: Timestamp) -> Result<Vec<SessionInfo>> {
        ReadTx::sessions(&**self.w()?, user, now)
    }
    fn blob_readable(&self, user: UserId, id: &str) -> Result<bool> {
        self.w()?.blob_readable(user, id)
    }
    fn contacts(&self, user: UserId) -> Result<Vec<(UserId, Option<Timestamp>)>> {
        self.w()?.contacts(user)
    }
    fn last_seen(&self, users: &[UserId]) -> Result<Vec<(UserId, Option<Timestamp>)>> {
        self.w()?.last_seen(users)
    }
    fn privacy(&self, users: &[UserId]) -> Result<Vec<(UserId, PrivacyRow)>> {
        // Users' settings, not conversations: read on the message path without writing heads.
        (*self.txn).privacy(users)
    }
    fn blocked_by(&self, user: UserId) -> Result<Vec<Person>> {
        self.w()?.blocked_by(user)
    }
    fn chat_prefs(&self, user: UserId) -> Result<Vec<ChatPrefs>> {
        prefs::chat_prefs(self.w()?, user)
    }
    fn blocks_of(&self, user: UserId) -> Result<Vec<(UserId, UserId)>> {
        if let Some(pairs) = self.hot.as_ref().and_then(|h| h.blocks(user)) {
            return Ok(pairs);
        }
        let pairs = privacy::blocks_of(&self.txn, user)?;
        self.hot.iter().for_each(|h| h.keep_blocks(user, &pairs));
        Ok(pairs)
    }
    fn roster(&self, conv: ConversationId) -> Result<Roster> {
        if let Some(roster) = self.hot.as_ref().and_then(|h| h.roster(conv)) {
            return Ok(roster);
        }
        let roster = convs::roster(&self.txn, conv)?;
        self.hot.iter().for_each(|h| h.keep_roster(conv, &roster));
        Ok(roster)
    }
    fn changes_since(&self, me: UserId, since: u64) -> Result<Changes> {
        self.w()?.changes_since(me, since)
    }
    fn range(
        &self,
        conv: ConversationId,
        after: Seq,
        upto: Seq,
        limit: usize,
    ) -> Result<Vec<MessageRecord>> {
        self.w()?.range(conv, after, upto, limit)
    }
    fn page_before(
        &self,
        conv: ConversationId,
        before: Seq,
        limit: usize,
    ) -> Result<(Vec<MessageRecord>, bool)> {
        self.w()?.page_before(conv, before, limit)
    }
}

/// Run one fixed statement (savepoint commands).
fn exec(txn: &Transaction<'_>, sql: &str) -> Result<()> {
    txn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

impl Tx for SqliteTx<'_> {
    fn begin_job(&self, checks_first: bool) -> Result<Undo> {
        self.hot.iter().for_each(Hot::settle);
        // After SQLite gave the transaction up, a job's statements would each commit on their
        // own, a message without its head among them.
        self.still_open()?;
        // A savepoint copies every page the job touches into its journal; a job that makes
        // its refusals before it writes does without, and its failures are told apart by
        // SQLite's count of written rows.
        if checks_first {
            return Ok(Undo::Unwritten(self.job_rows()));
        }
        // A job in a savepoint starts with every head written, so that the heads still to
        // write after a rollback to it are none: its own went with it.
        self.write_heads()?;
        exec(&self.txn, "SAVEPOINT job")?;
        Ok(Undo::Savepoint)
    }
    fn end_job(&self, undo: Undo) -> Result<()> {
        self.still_open()?;
        if undo == Undo::Savepoint {
            exec(&self.txn, "RELEASE job")?;
        }
        self.hot.iter().for_each(Hot::settle);
        Ok(())
    }
    fn rollback_job(&self, undo: Undo) -> Result<()> {
        // The cache follows the rollback even if it fails: the batch then does not commit
        // and the writer forgets everything anyway.
        self.hot.iter().for_each(Hot::undo_job);
        match undo {
            Undo::Savepoint => {
                self.heads.borrow_mut().clear();
                exec(&self.txn, "ROLLBACK TO job")?;
                exec(&self.txn, "RELEASE job")
            }
            // Nothing of the job was written, so no head it moved is waiting either; unless
            // SQLite gave up the whole transaction, which no count of rows shows.
            Undo::Unwritten(rows) => {
                self.still_open()?;
                if rows == self.job_rows() {
                    Ok(())
                } else {
                    Err(crate::error::Error::Internal(
                        "a job without a savepoint failed after writing".into(),
                    ))
                }
            }
        }
    }

    fn create_user(&self, username: &str, hash: &str, now: Timestamp) -> Result<UserId> {
        accounts::create_user(self.w()?, username, hash, now)
    }
    fn create_invite(&self, code_hash: &[u8], uses: u32, now: Timestamp) -> Result<()> {
        accounts::create_invite(self.w()?, code_hash, uses, now)
    }
    fn use_invite(&self, code_hash: &[u8]) -> Result<()> {
        accounts::use_invite(self.w()?, code_hash)
    }
    fn resolve_usernames(&self, names: &[String]) -> Result<Vec<(UserId, String)>> {
        accounts::resolve_usernames(self.w()?, names)
    }
    fn create_session(
        &self,
        user: UserId,
        password_hash: &str,
        token_hash: &[u8],
        device_name: &str,
        now: Timestamp,
        expires_at: Timestamp,
        max_active: usize,
    ) -> Result<SessionId> {
        accounts::create_session(
            self.w()?,
            user,
            password_hash,
            token_hash,
            device_name,
            now,
            expires_at,
            max_active,
        )
    }
    fn issue_device_credential(
        &self,
        user: UserId,
        credential_hash: &[u8],
        replaces: Option<&[u8]>,
        now: Timestamp,
        max_per_user: usize,
    ) -> Result<()> {
        accounts::issue_device_credential(
            self.w()?,
            user,
            credential_hash,
            replaces,
            now,
            max_per_user,
        )
    }
    fn revoke_session(&self, session: SessionId, now: Timestamp) -> Result<()> {
        accounts::revoke_session(self.w()?, session, now)
    }
    fn set_last_seen(&self, user: UserId, at: Timestamp) -> Result<()> {
        accounts::set_last_seen(self.w()?, user, at)
    }
    fn set_display_name(&self, user: UserId, name: Option<&str>) -> Result<Vec<ConversationId>> {
        accounts::set_display_name(self.w()?, user, name)
    }
    fn set_user_avatar(
        &self,
        user: UserId,
        avatar: Option<&Picture>,
    ) -> Result<Vec<ConversationId>> {
        accounts::set_avatar(self.w()?, user, avatar)
    }
    fn set_group_avatar(&self, conv: ConversationId, avatar: Option<&Picture>) -> Result<()> {
        convs::set_avatar(self.w()?, conv, avatar)
    }
    fn set_password_hash(&self, user: UserId, hash: &str, replacing: Option<&str>) -> Result<bool> {
        privacy::set_password_hash(self.w()?, user, hash, replacing)
    }
    fn revoke_others(
        &self,
        user: UserId,
        keep: Option<SessionId>,
        now: Timestamp,
    ) -> Result<Vec<SessionId>> {
        privacy::revoke_others(self.w()?, user, keep, now)
    }
    fn revoke_own_session(&self, user: UserId, session: SessionId, now: Timestamp) -> Result<bool> {
        privacy::revoke_own_session(self.w()?, user, session, now)
    }
    fn touch_session(&self, session: SessionId, at: Timestamp) -> Result<()> {
        privacy::touch_session(self.w()?, session, at)
    }
    fn delete_account(
        &self,
        user: UserId,
        now: Timestamp,
    ) -> Result<(Vec<SessionId>, Vec<ConversationId>)> {
        privacy::delete_account(self.w()?, user, now)
    }
    fn release_deleted_names(&self, before: Timestamp) -> Result<usize> {
        privacy::release_deleted_names(self.w()?, before)
    }
    fn set_privacy(
        &self,
        user: UserId,
        presence: Option<PresenceVisibility>,
        read_receipts: Option<bool>,
    ) -> Result<()> {
        privacy::set_privacy(self.w()?, user, presence, read_receipts)
    }
    fn chat_prefs_in(&self, user: UserId, conv: ConversationId) -> Result<Option<ChatPrefs>> {
        prefs::chat_prefs_in(self.w()?, user, conv)
    }
    fn set_chat_prefs(&self, user: UserId, p: &ChatPrefs, now: Timestamp) -> Result<ChatPrefs> {
        prefs::set_chat_prefs(self.w()?, user, p, now)
    }
    fn pref_edits(&self, user: UserId, conv: ConversationId) -> Result<PrefEdits> {
        prefs::pref_edits(self.w()?, user, conv)
    }
    fn set_pref_edits(&self, user: UserId, conv: ConversationId, e: &PrefEdits) -> Result<()> {
        prefs::set_pref_edits(self.w()?, user, conv, e)
    }
    fn pinned_elsewhere(&self, user: UserId, except: ConversationId) -> Result<usize> {
        prefs::pinned_elsewhere(self.w()?, user, except)
    }
    fn block(&self, blocker: UserId, blocked: UserId, now: Timestamp) -> Result<()> {
        privacy::block(self.w()?, blocker, blocked, now)
    }
    fn unblock(&self, blocker: UserId, blocked: UserId) -> Result<()> {
        privacy::unblock(self.w()?, blocker, blocked)
    }
    fn shares_accepted(&self, a: UserId, b: UserId, except: ConversationId) -> Result<bool> {
        privacy::shares_accepted(self.w()?, a, b, except)
    }
    fn set_accepted(&self, conv: ConversationId, user: UserId, accepted: bool) -> Result<()> {
        convs::set_accepted(self.w()?, conv, user, accepted)
    }

    fn create_upload(&self, upload: &UploadRow, quota: u64) -> Result<()> {
        uploads::create_upload(self.w()?, upload, quota)
    }
    fn complete_upload(&self, id: &str) -> Result<bool> {
        uploads::complete_upload(self.w()?, id)
    }
    fn link_blob(&self, id: &str, conv: ConversationId, seq: Seq) -> Result<()> {
        uploads::link_blob(self, id, conv, seq)
    }
    fn sweep_uploads(&self, before: Timestamp) -> Result<Vec<String>> {
        uploads::sweep_uploads(self.w()?, before)
    }
    fn drop_upload(&self, user: UserId, id: &str) -> Result<bool> {
        uploads::drop_upload(self.w()?, user, id)
    }

    fn require_member(&self, conv: ConversationId, user: UserId) -> Result<MemberRole> {
        convs::require_member(self, conv, user)
    }
    fn member_ids(&self, conv: ConversationId) -> Result<Vec<UserId>> {
        convs::member_ids(self.w()?, conv)
    }
    fn kind(&self, conv: ConversationId) -> Result<ConversationKind> {
        convs::kind(self, conv)
    }
    fn direct_between(
        &self,
        low: UserId,
        high: UserId,
        now: Timestamp,
    ) -> Result<(ConversationId, bool)> {
        convs::direct_between(self.w()?, low, high, now)
    }
    fn insert_group(
        &self,
        name: &str,
        members: &[(UserId, MemberRole)],
        now: Timestamp,
    ) -> Result<ConversationId> {
        convs::insert_group(self.w()?, name, members, now)
    }
    fn set_group_name(&self, conv: ConversationId, name: &str) -> Result<()> {
        convs::set_name(self.w()?, conv, name)
    }
    fn insert_members(&self, conv: ConversationId, users: &[UserId], now: Timestamp) -> Result<()> {
        convs::insert_members(self.w()?, conv, users, now)
    }
    fn deactivate(&self, conv: ConversationId, user: UserId) -> Result<()> {
        convs::deactivate(self.w()?, conv, user)
    }
    fn advance_receipt(
        &self,
        conv: ConversationId,
        user: UserId,
        delivered: Seq,
        read: Seq,
    ) -> Result<Option<ReceiptState>> {
        convs::advance_receipt(self.w()?, conv, user, delivered, read)
    }

    fn find_by_client_id(&self, sender: UserId, client_id: &str) -> Result<Option<MessageRecord>> {
        messages::find_by_client_id(self, sender, client_id)
    }
    fn client_id_stored(&self, sender: UserId, client_id: &str) -> Result<bool> {
        messages::client_id_stored(self, sender, client_id)
    }
    fn insert_new(&self, entry: &NewEntry<'_>) -> Result<Option<MessageRecord>> {
        let Some(hot) = &self.hot else {
            let last = messages::last_seq(self, entry.conv)?;
            return messages::insert_new(self, entry, last);
        };
        // Where the head is: moved by this batch, else as cached, else as stored.
        let waiting = self.heads.borrow().get(&entry.conv).map(|h| h.to);
        let last = match waiting.or_else(|| hot.last_seq(entry.conv)) {
            Some(seq) => seq,
            None => {
                let seq = messages::last_seq(&self.txn, entry.conv)?;
                hot.set_last_seq(entry.conv, seq, false);
                seq
            }
        };
        let record = messages::insert_entry(&self.txn, entry, last).inspect_err(|_| {
            // Whatever went wrong, the next store in this conversation reads the number anew.
            hot.forget_seq(entry.conv);
        })?;
        if let Some(r) = &record {
            hot.set_last_seq(entry.conv, r.seq, true);
            let mut heads = self.heads.borrow_mut();
            let head = heads.entry(entry.conv).or_insert(Head {
                from: last,
                to: last,
                activity: None,
            });
            head.to = r.seq;
            if entry.kind.is_text() {
                head.activity = Some(entry.now);
            }
        }
        Ok(record)
    }
    fn target(&self, conv: ConversationId, seq: Seq) -> Result<Option<Target>> {
        messages::target(self, conv, seq)
    }
    fn reaction_count(&self, conv: ConversationId, seq: Seq, user: UserId) -> Result<usize> {
        messages::reaction_count(self, conv, seq, user)
    }
    fn fold(&self, event: &MessageRecord) -> Result<()> {
        messages::fold(self, event)
    }
}
