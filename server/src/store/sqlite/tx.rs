//! [`ReadTx`] for a SQLite connection and [`Tx`] for a SQLite transaction ([`SqliteTx`]): each
//! method is the query function of the same name in [`super::accounts`],
//! [`super::conversations`] or [`super::messages`]. A job is a savepoint inside the group's
//! transaction, or, if it makes its refusals before it writes, no savepoint and a count of
//! written rows ([`Undo`]). In the relay's writer the transaction carries the writer's cache
//! ([`Hot`]): rosters, blocks and sequence numbers come from memory once read.

use std::ops::Deref;

use rusqlite::{Connection, Transaction};
use tern_proto::{
    ConversationId, ConversationInfo, ConversationKind, ConversationSummary, MemberRole,
    MessageRecord, Person, Picture, PresenceVisibility, ReceiptState, Seq, SessionId, SessionInfo,
    Timestamp, UserId,
};

use super::hot::Hot;
use super::{accounts, conversations as convs, messages, privacy, uploads};
use crate::error::Result;
use crate::store::tx::{
    AuthSession, Changes, NewEntry, PrivacyRow, ReadTx, Roster, Target, Tx, Undo, UploadRow,
    UserRow,
};

impl ReadTx for Connection {
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
    fn upload(&self, id: &str) -> Result<Option<UploadRow>> {
        uploads::upload(self, id)
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
}

/// A transaction on the relay's database, with the writer's cache when it runs in the writer.
pub struct SqliteTx<'c> {
    txn: Transaction<'c>,
    hot: Option<Hot>,
}

impl<'c> SqliteTx<'c> {
    /// `txn`, reading through `hot` when given (only the writer, which sees every change, may).
    pub fn new(txn: Transaction<'c>, hot: Option<Hot>) -> Self {
        SqliteTx { txn, hot }
    }

    /// Commit the transaction.
    pub fn commit(self) -> rusqlite::Result<()> {
        self.txn.commit()
    }
}

impl<'c> Deref for SqliteTx<'c> {
    type Target = Transaction<'c>;
    fn deref(&self) -> &Transaction<'c> {
        &self.txn
    }
}

impl ReadTx for SqliteTx<'_> {
    fn find_user(&self, username: &str) -> Result<Option<UserRow>> {
        (*self.txn).find_user(username)
    }
    fn username_exists(&self, username: &str) -> Result<bool> {
        (*self.txn).username_exists(username)
    }
    fn device_credential_valid(&self, user: UserId, credential_hash: &[u8]) -> Result<bool> {
        (*self.txn).device_credential_valid(user, credential_hash)
    }
    fn invite_usable(&self, code_hash: &[u8]) -> Result<bool> {
        (*self.txn).invite_usable(code_hash)
    }
    fn authenticate(&self, token_hash: &[u8], now: Timestamp) -> Result<AuthSession> {
        (*self.txn).authenticate(token_hash, now)
    }
    fn session_active(&self, session: SessionId, now: Timestamp) -> Result<bool> {
        (*self.txn).session_active(session, now)
    }
    fn current_version(&self) -> Result<u64> {
        (*self.txn).current_version()
    }
    fn upload(&self, id: &str) -> Result<Option<UploadRow>> {
        (*self.txn).upload(id)
    }
    fn blob_readable(&self, user: UserId, id: &str) -> Result<bool> {
        (*self.txn).blob_readable(user, id)
    }
    fn contacts(&self, user: UserId) -> Result<Vec<(UserId, Option<Timestamp>)>> {
        (*self.txn).contacts(user)
    }
    fn last_seen(&self, users: &[UserId]) -> Result<Vec<(UserId, Option<Timestamp>)>> {
        (*self.txn).last_seen(users)
    }
    fn privacy(&self, users: &[UserId]) -> Result<Vec<(UserId, PrivacyRow)>> {
        (*self.txn).privacy(users)
    }
    fn blocked_by(&self, user: UserId) -> Result<Vec<Person>> {
        (*self.txn).blocked_by(user)
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
        (*self.txn).changes_since(me, since)
    }
    fn range(
        &self,
        conv: ConversationId,
        after: Seq,
        upto: Seq,
        limit: usize,
    ) -> Result<Vec<MessageRecord>> {
        (*self.txn).range(conv, after, upto, limit)
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
        // A savepoint copies every page the job touches into its journal; a job that makes
        // its refusals before it writes does without, and its failures are told apart by
        // SQLite's count of written rows.
        if checks_first {
            return Ok(Undo::Unwritten(self.txn.total_changes()));
        }
        exec(self, "SAVEPOINT job")?;
        Ok(Undo::Savepoint)
    }
    fn end_job(&self, undo: Undo) -> Result<()> {
        if undo == Undo::Savepoint {
            exec(self, "RELEASE job")?;
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
                exec(self, "ROLLBACK TO job")?;
                exec(self, "RELEASE job")
            }
            Undo::Unwritten(rows) if rows == self.txn.total_changes() => Ok(()),
            Undo::Unwritten(_) => Err(crate::error::Error::Internal(
                "a job without a savepoint failed after writing".into(),
            )),
        }
    }

    fn create_user(&self, username: &str, hash: &str, now: Timestamp) -> Result<UserId> {
        accounts::create_user(self, username, hash, now)
    }
    fn create_invite(&self, code_hash: &[u8], uses: u32, now: Timestamp) -> Result<()> {
        accounts::create_invite(self, code_hash, uses, now)
    }
    fn use_invite(&self, code_hash: &[u8]) -> Result<()> {
        accounts::use_invite(self, code_hash)
    }
    fn resolve_usernames(&self, names: &[String]) -> Result<Vec<(UserId, String)>> {
        accounts::resolve_usernames(self, names)
    }
    fn create_session(
        &self,
        user: UserId,
        token_hash: &[u8],
        device_name: &str,
        now: Timestamp,
        expires_at: Timestamp,
        max_active: usize,
    ) -> Result<SessionId> {
        accounts::create_session(
            self,
            user,
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
        accounts::issue_device_credential(self, user, credential_hash, replaces, now, max_per_user)
    }
    fn revoke_session(&self, session: SessionId, now: Timestamp) -> Result<()> {
        accounts::revoke_session(self, session, now)
    }
    fn set_last_seen(&self, user: UserId, at: Timestamp) -> Result<()> {
        accounts::set_last_seen(self, user, at)
    }
    fn set_display_name(&self, user: UserId, name: Option<&str>) -> Result<Vec<ConversationId>> {
        accounts::set_display_name(self, user, name)
    }
    fn set_user_avatar(
        &self,
        user: UserId,
        avatar: Option<&Picture>,
    ) -> Result<Vec<ConversationId>> {
        accounts::set_avatar(self, user, avatar)
    }
    fn set_group_avatar(&self, conv: ConversationId, avatar: Option<&Picture>) -> Result<()> {
        convs::set_avatar(self, conv, avatar)
    }
    fn find_people(&self, me: UserId, query: &str) -> Result<Vec<Person>> {
        accounts::find_people(self, me, query)
    }
    fn set_password_hash(&self, user: UserId, hash: &str) -> Result<()> {
        privacy::set_password_hash(self, user, hash)
    }
    fn revoke_others(
        &self,
        user: UserId,
        keep: Option<SessionId>,
        now: Timestamp,
    ) -> Result<Vec<SessionId>> {
        privacy::revoke_others(self, user, keep, now)
    }
    fn revoke_own_session(&self, user: UserId, session: SessionId, now: Timestamp) -> Result<bool> {
        privacy::revoke_own_session(self, user, session, now)
    }
    fn sessions(&self, user: UserId, now: Timestamp) -> Result<Vec<SessionInfo>> {
        privacy::sessions(self, user, now)
    }
    fn touch_session(&self, session: SessionId, at: Timestamp) -> Result<()> {
        privacy::touch_session(self, session, at)
    }
    fn delete_account(
        &self,
        user: UserId,
        now: Timestamp,
    ) -> Result<(Vec<SessionId>, Vec<ConversationId>)> {
        privacy::delete_account(self, user, now)
    }
    fn release_deleted_names(&self, before: Timestamp) -> Result<usize> {
        privacy::release_deleted_names(self, before)
    }
    fn set_privacy(
        &self,
        user: UserId,
        presence: Option<PresenceVisibility>,
        read_receipts: Option<bool>,
    ) -> Result<()> {
        privacy::set_privacy(self, user, presence, read_receipts)
    }
    fn block(&self, blocker: UserId, blocked: UserId, now: Timestamp) -> Result<()> {
        privacy::block(self, blocker, blocked, now)
    }
    fn unblock(&self, blocker: UserId, blocked: UserId) -> Result<()> {
        privacy::unblock(self, blocker, blocked)
    }
    fn shares_accepted(&self, a: UserId, b: UserId, except: ConversationId) -> Result<bool> {
        privacy::shares_accepted(self, a, b, except)
    }
    fn set_accepted(&self, conv: ConversationId, user: UserId, accepted: bool) -> Result<()> {
        convs::set_accepted(self, conv, user, accepted)
    }

    fn create_upload(&self, upload: &UploadRow, quota: u64) -> Result<()> {
        uploads::create_upload(self, upload, quota)
    }
    fn complete_upload(&self, id: &str) -> Result<()> {
        uploads::complete_upload(self, id)
    }
    fn link_blob(&self, id: &str, conv: ConversationId, seq: Seq) -> Result<()> {
        uploads::link_blob(self, id, conv, seq)
    }
    fn sweep_uploads(&self, before: Timestamp) -> Result<Vec<String>> {
        uploads::sweep_uploads(self, before)
    }

    fn info(&self, conv: ConversationId) -> Result<ConversationInfo> {
        convs::info(self, conv)
    }
    fn require_member(&self, conv: ConversationId, user: UserId) -> Result<MemberRole> {
        convs::require_member(self, conv, user)
    }
    fn member_ids(&self, conv: ConversationId) -> Result<Vec<UserId>> {
        convs::member_ids(self, conv)
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
        convs::direct_between(self, low, high, now)
    }
    fn insert_group(
        &self,
        name: &str,
        members: &[(UserId, MemberRole)],
        now: Timestamp,
    ) -> Result<ConversationId> {
        convs::insert_group(self, name, members, now)
    }
    fn set_group_name(&self, conv: ConversationId, name: &str) -> Result<()> {
        convs::set_name(self, conv, name)
    }
    fn insert_members(&self, conv: ConversationId, users: &[UserId], now: Timestamp) -> Result<()> {
        convs::insert_members(self, conv, users, now)
    }
    fn deactivate(&self, conv: ConversationId, user: UserId) -> Result<()> {
        convs::deactivate(self, conv, user)
    }
    fn advance_receipt(
        &self,
        conv: ConversationId,
        user: UserId,
        delivered: Seq,
        read: Seq,
    ) -> Result<Option<ReceiptState>> {
        convs::advance_receipt(self, conv, user, delivered, read)
    }
    fn list(&self, me: UserId) -> Result<Vec<ConversationSummary>> {
        convs::list(self, me)
    }

    fn find_by_client_id(&self, sender: UserId, client_id: &str) -> Result<Option<MessageRecord>> {
        messages::find_by_client_id(self, sender, client_id)
    }
    fn insert_new(&self, entry: &NewEntry<'_>) -> Result<Option<MessageRecord>> {
        let Some(hot) = &self.hot else {
            let last = messages::last_seq(self, entry.conv)?;
            return messages::insert_new(self, entry, last);
        };
        let last = match hot.last_seq(entry.conv) {
            Some(seq) => seq,
            None => {
                let seq = messages::last_seq(self, entry.conv)?;
                hot.set_last_seq(entry.conv, seq, false);
                seq
            }
        };
        let record = messages::insert_new(self, entry, last).inspect_err(|_| {
            // Whatever went wrong, the next store in this conversation reads the number anew.
            hot.forget_seq(entry.conv);
        })?;
        if let Some(r) = &record {
            hot.set_last_seq(entry.conv, r.seq, true);
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
    fn page_before(
        &self,
        conv: ConversationId,
        before: Seq,
        limit: usize,
    ) -> Result<(Vec<MessageRecord>, bool)> {
        messages::page_before(self, conv, before, limit)
    }
}
