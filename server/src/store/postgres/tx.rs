//! [`ReadTx`] and [`Tx`] over PostgreSQL: each method is the query function of the same name
//! in [`super::accounts`], [`super::conversations`] or [`super::messages`]. The blocking
//! client needs `&mut` for every query; the store's threads are the only users of their
//! connection, so a `RefCell` gives the traits' `&self` methods that access.

use std::cell::{Cell, RefCell, RefMut};

use postgres::{Client, Row, Transaction};
use tern_proto::{
    ChatPrefs, ConversationId, ConversationInfo, ConversationKind, ConversationSummary, MemberRole,
    MessageRecord, Person, Picture, PresenceVisibility, ReceiptState, Seq, SessionId, SessionInfo,
    Timestamp, UserId,
};

use super::sql::{Params, Sql};
use super::{accounts, conversations as convs, messages, prefs, privacy, uploads};
use crate::error::Result;
use crate::limits::Rate;
use crate::store::tx::{
    AuthSession, Changes, NewEntry, PrefEdits, PrivacyRow, ReadTx, Roster, Target, Tx, Undo,
    UploadRow, UserRow,
};

/// The read connection, for one read job.
pub struct PgRead<'a>(RefCell<&'a mut Client>);

impl<'a> PgRead<'a> {
    /// Wrap the read connection.
    pub fn new(client: &'a mut Client) -> Self {
        PgRead(RefCell::new(client))
    }

    fn c(&self) -> RefMut<'_, Client> {
        RefMut::map(self.0.borrow_mut(), |c| &mut **c)
    }
}

/// The writer's open transaction, for the jobs of one batch.
pub struct PgTx<'a> {
    txn: RefCell<Transaction<'a>>,
    watch: Watch,
    /// The last job's savepoint, kept until the next job's begins: one round trip releases
    /// the one and opens the other (the commit releases the last).
    unreleased: Cell<bool>,
}

/// What the batch's statements did: how a job run without a savepoint tells whether its
/// failure left the transaction as it found it.
#[derive(Debug, Default)]
struct Watch {
    /// Rows written (a data-modifying `WITH` counts one whatever it returns).
    writes: Cell<u64>,
    /// A statement failed and no rollback to a savepoint has undone it since. PostgreSQL
    /// then refuses everything until such a rollback, and turns `COMMIT` into a rollback
    /// without an error, so the batch must not be reported committed.
    aborted: Cell<bool>,
}

impl<'a> PgTx<'a> {
    /// Wrap a transaction just begun.
    pub fn new(txn: Transaction<'a>) -> Self {
        PgTx {
            txn: RefCell::new(txn),
            watch: Watch::default(),
            unreleased: Cell::new(false),
        }
    }

    /// The transaction, watched: what the query functions run on.
    fn c(&self) -> Watched<'_, 'a> {
        Watched {
            txn: self.txn.borrow_mut(),
            watch: &self.watch,
        }
    }

    /// Run savepoint commands (several in one round trip).
    fn command(&self, sql: &str) -> Result<()> {
        let done = self.txn.borrow_mut().batch_execute(sql);
        if done.is_err() {
            self.watch.aborted.set(true);
        }
        Ok(done?)
    }

    /// Commit the batch, unless a failed statement was never rolled back (PostgreSQL would
    /// roll the whole transaction back while answering `COMMIT` without an error).
    pub fn commit(self) -> Result<()> {
        self.commit_batch().map_err(|f| match f {
            super::Failed::Before(e) | super::Failed::AtCommit(e, _) => e,
        })
    }

    /// [`PgTx::commit`], telling how it failed: a `COMMIT` the server answered with an error
    /// was rolled back; one whose answer never came (the connection broke) may have been
    /// stored ([`super::Failed::AtCommit`]).
    pub(super) fn commit_batch(self) -> std::result::Result<(), super::Failed> {
        if self.watch.aborted.get() {
            return Err(super::Failed::Before(crate::error::Error::Internal(
                "a failed statement left the batch's transaction aborted".into(),
            )));
        }
        self.txn.into_inner().commit().map_err(|e| {
            if e.as_db_error().is_some() {
                super::Failed::Before(e.into())
            } else {
                super::Failed::AtCommit(e.into(), None)
            }
        })
    }
}

/// The writer's transaction as the query functions see it: counts what they write and
/// notes what fails ([`Watch`]).
struct Watched<'r, 'a> {
    txn: RefMut<'r, Transaction<'a>>,
    watch: &'r Watch,
}

impl Watched<'_, '_> {
    fn note<T>(
        &self,
        sql: &str,
        outcome: &std::result::Result<T, postgres::Error>,
        rows: impl FnOnce(&T) -> u64,
    ) {
        match outcome {
            Ok(done) => {
                let writes = &self.watch.writes;
                writes.set(writes.get() + written(sql, rows(done)));
            }
            Err(_) => self.watch.aborted.set(true),
        }
    }
}

/// Rows a statement wrote, from its text and the rows it returned or changed: none for a
/// `SELECT` (a `FOR UPDATE` lock is not a write), one at least for a `WITH` (so a read that
/// runs in a job without a savepoint is written as a plain `SELECT`).
fn written(sql: &str, rows: u64) -> u64 {
    let first = sql.split_whitespace().next().unwrap_or("");
    if first.eq_ignore_ascii_case("select") {
        0
    } else if first.eq_ignore_ascii_case("with") {
        rows.max(1)
    } else {
        rows
    }
}

impl Sql for Watched<'_, '_> {
    fn query(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> std::result::Result<Vec<Row>, postgres::Error> {
        let out = Sql::query(&mut *self.txn, sql, params);
        self.note(sql, &out, |rows| rows.len() as u64);
        out
    }
    fn query_one(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> std::result::Result<Row, postgres::Error> {
        let out = Sql::query_one(&mut *self.txn, sql, params);
        self.note(sql, &out, |_| 1);
        out
    }
    fn query_opt(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> std::result::Result<Option<Row>, postgres::Error> {
        let out = Sql::query_opt(&mut *self.txn, sql, params);
        self.note(sql, &out, |row| row.is_some() as u64);
        out
    }
    fn execute(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> std::result::Result<u64, postgres::Error> {
        let out = Sql::execute(&mut *self.txn, sql, params);
        self.note(sql, &out, |n| *n);
        out
    }
}

/// The read methods over any client: the read connection or the writer's transaction.
macro_rules! read_tx {
    ($ty:ty, $c:ident => $get:expr) => {
        impl ReadTx for $ty {
            fn find_people(&self, me: UserId, query: &str) -> Result<Vec<Person>> {
                let $c = self;
                accounts::find_people($get, me, query)
            }
            fn list(&self, me: UserId) -> Result<Vec<ConversationSummary>> {
                let $c = self;
                convs::list($get, me)
            }
            fn find_user(&self, username: &str) -> Result<Option<UserRow>> {
                let $c = self;
                accounts::find_user($get, username)
            }
            fn username_exists(&self, username: &str) -> Result<bool> {
                let $c = self;
                accounts::username_exists($get, username)
            }
            fn device_credential_valid(
                &self,
                user: UserId,
                credential_hash: &[u8],
            ) -> Result<bool> {
                let $c = self;
                accounts::device_credential_valid($get, user, credential_hash)
            }
            fn invite_usable(&self, code_hash: &[u8]) -> Result<bool> {
                let $c = self;
                accounts::invite_usable($get, code_hash)
            }
            fn authenticate(&self, token_hash: &[u8], now: Timestamp) -> Result<AuthSession> {
                let $c = self;
                accounts::authenticate($get, token_hash, now)
            }
            fn session_active(&self, session: SessionId, now: Timestamp) -> Result<bool> {
                let $c = self;
                accounts::session_active($get, session, now)
            }
            fn current_version(&self) -> Result<u64> {
                let $c = self;
                super::current_version($get)
            }
            fn info(&self, conv: ConversationId) -> Result<ConversationInfo> {
                let $c = self;
                convs::info($get, conv)
            }
            fn upload(&self, id: &str) -> Result<Option<UploadRow>> {
                let $c = self;
                uploads::upload($get, id)
            }
            fn uploads_among(&self, ids: &[String]) -> Result<Vec<(String, u64, bool)>> {
                let $c = self;
                uploads::uploads_among($get, ids)
            }
            fn sessions(&self, user: UserId, now: Timestamp) -> Result<Vec<SessionInfo>> {
                let $c = self;
                privacy::sessions($get, user, now)
            }
            fn blob_readable(&self, user: UserId, id: &str) -> Result<bool> {
                let $c = self;
                uploads::blob_readable($get, user, id)
            }
            fn contacts(&self, user: UserId) -> Result<Vec<(UserId, Option<Timestamp>)>> {
                let $c = self;
                accounts::contacts($get, user)
            }
            fn last_seen(&self, users: &[UserId]) -> Result<Vec<(UserId, Option<Timestamp>)>> {
                let $c = self;
                accounts::last_seen($get, users)
            }
            fn privacy(&self, users: &[UserId]) -> Result<Vec<(UserId, PrivacyRow)>> {
                let $c = self;
                privacy::privacy($get, users)
            }
            fn blocked_by(&self, user: UserId) -> Result<Vec<Person>> {
                let $c = self;
                privacy::blocked_by($get, user)
            }
            fn chat_prefs(&self, user: UserId) -> Result<Vec<ChatPrefs>> {
                let $c = self;
                prefs::chat_prefs($get, user)
            }
            fn blocks_of(&self, user: UserId) -> Result<Vec<(UserId, UserId)>> {
                let $c = self;
                privacy::blocks_of($get, user)
            }
            fn roster(&self, conv: ConversationId) -> Result<Roster> {
                let $c = self;
                convs::roster($get, conv)
            }
            fn changes_since(&self, me: UserId, since: u64) -> Result<Changes> {
                let $c = self;
                convs::changes_since($get, me, since)
            }
            fn range(
                &self,
                conv: ConversationId,
                after: Seq,
                upto: Seq,
                limit: usize,
            ) -> Result<Vec<MessageRecord>> {
                let $c = self;
                messages::range($get, conv, after, upto, limit)
            }
            fn page_before(
                &self,
                conv: ConversationId,
                before: Seq,
                limit: usize,
            ) -> Result<(Vec<MessageRecord>, bool)> {
                let $c = self;
                messages::page_before($get, conv, before, limit)
            }
        }
    };
}

read_tx!(PgRead<'_>, s => &mut *s.c());
read_tx!(PgTx<'_>, s => &mut s.c());

impl Tx for PgTx<'_> {
    /// A job that makes its refusals before it writes runs without a savepoint, told apart
    /// by the rows written (`Watch`); any other job gets a savepoint, opened in the same
    /// round trip that releases the previous job's.
    fn begin_job(&self, checks_first: bool) -> Result<Undo> {
        if checks_first {
            return Ok(Undo::Unwritten(self.watch.writes.get()));
        }
        if self.unreleased.replace(false) {
            self.command("RELEASE SAVEPOINT job; SAVEPOINT job")?;
        } else {
            self.command("SAVEPOINT job")?;
        }
        Ok(Undo::Savepoint)
    }
    fn end_job(&self, undo: Undo) -> Result<()> {
        if self.watch.aborted.get() {
            return Err(crate::error::Error::Internal(
                "a job succeeded over a failed statement".into(),
            ));
        }
        if undo == Undo::Savepoint {
            self.unreleased.set(true);
        }
        Ok(())
    }
    fn rollback_job(&self, undo: Undo) -> Result<()> {
        match undo {
            Undo::Savepoint => {
                self.command("ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job")?;
                // The rollback undid whatever failed inside the job.
                self.watch.aborted.set(false);
                Ok(())
            }
            Undo::Unwritten(writes) => {
                if self.watch.aborted.get() || self.watch.writes.get() != writes {
                    return Err(crate::error::Error::Internal(
                        "a job without a savepoint failed after writing".into(),
                    ));
                }
                Ok(())
            }
        }
    }

    fn create_user(&self, username: &str, hash: &str, now: Timestamp) -> Result<UserId> {
        accounts::create_user(&mut self.c(), username, hash, now)
    }
    fn create_invite(&self, code_hash: &[u8], uses: u32, now: Timestamp) -> Result<()> {
        accounts::create_invite(&mut self.c(), code_hash, uses, now)
    }
    fn use_invite(&self, code_hash: &[u8]) -> Result<()> {
        accounts::use_invite(&mut self.c(), code_hash)
    }
    fn resolve_usernames(&self, names: &[String]) -> Result<Vec<(UserId, String)>> {
        accounts::resolve_usernames(&mut self.c(), names)
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
            &mut self.c(),
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
            &mut self.c(),
            user,
            credential_hash,
            replaces,
            now,
            max_per_user,
        )
    }
    fn revoke_session(&self, session: SessionId, now: Timestamp) -> Result<()> {
        accounts::revoke_session(&mut self.c(), session, now)
    }
    fn set_last_seen(&self, user: UserId, at: Timestamp) -> Result<()> {
        accounts::set_last_seen(&mut self.c(), user, at)
    }
    fn set_display_name(&self, user: UserId, name: Option<&str>) -> Result<Vec<ConversationId>> {
        accounts::set_display_name(&mut self.c(), user, name)
    }
    fn set_user_avatar(
        &self,
        user: UserId,
        avatar: Option<&Picture>,
    ) -> Result<Vec<ConversationId>> {
        accounts::set_avatar(&mut self.c(), user, avatar)
    }
    fn set_group_avatar(&self, conv: ConversationId, avatar: Option<&Picture>) -> Result<()> {
        convs::set_avatar(&mut self.c(), conv, avatar)
    }
    fn set_password_hash(&self, user: UserId, hash: &str, replacing: Option<&str>) -> Result<bool> {
        privacy::set_password_hash(&mut self.c(), user, hash, replacing)
    }
    fn revoke_others(
        &self,
        user: UserId,
        keep: Option<SessionId>,
        now: Timestamp,
    ) -> Result<Vec<SessionId>> {
        privacy::revoke_others(&mut self.c(), user, keep, now)
    }
    fn revoke_own_session(&self, user: UserId, session: SessionId, now: Timestamp) -> Result<bool> {
        privacy::revoke_own_session(&mut self.c(), user, session, now)
    }
    fn touch_session(&self, session: SessionId, at: Timestamp) -> Result<()> {
        privacy::touch_session(&mut self.c(), session, at)
    }
    fn delete_account(
        &self,
        user: UserId,
        now: Timestamp,
    ) -> Result<(Vec<SessionId>, Vec<ConversationId>)> {
        privacy::delete_account(&mut self.c(), user, now)
    }
    fn release_deleted_names(&self, before: Timestamp) -> Result<usize> {
        privacy::release_deleted_names(&mut self.c(), before)
    }
    fn set_privacy(
        &self,
        user: UserId,
        presence: Option<PresenceVisibility>,
        read_receipts: Option<bool>,
    ) -> Result<()> {
        privacy::set_privacy(&mut self.c(), user, presence, read_receipts)
    }
    fn chat_prefs_in(&self, user: UserId, conv: ConversationId) -> Result<Option<ChatPrefs>> {
        prefs::chat_prefs_in(&mut self.c(), user, conv)
    }
    fn set_chat_prefs(&self, user: UserId, p: &ChatPrefs, now: Timestamp) -> Result<ChatPrefs> {
        prefs::set_chat_prefs(&mut self.c(), user, p, now)
    }
    fn pref_edits(&self, user: UserId, conv: ConversationId) -> Result<PrefEdits> {
        prefs::pref_edits(&mut self.c(), user, conv)
    }
    fn set_pref_edits(&self, user: UserId, conv: ConversationId, e: &PrefEdits) -> Result<()> {
        prefs::set_pref_edits(&mut self.c(), user, conv, e)
    }
    fn pinned_elsewhere(&self, user: UserId, except: ConversationId) -> Result<usize> {
        prefs::pinned_elsewhere(&mut self.c(), user, except)
    }
    fn block(&self, blocker: UserId, blocked: UserId, now: Timestamp) -> Result<()> {
        privacy::block(&mut self.c(), blocker, blocked, now)
    }
    fn unblock(&self, blocker: UserId, blocked: UserId) -> Result<()> {
        privacy::unblock(&mut self.c(), blocker, blocked)
    }
    fn shares_accepted(&self, a: UserId, b: UserId, except: ConversationId) -> Result<bool> {
        privacy::shares_accepted(&mut self.c(), a, b, except)
    }
    fn set_accepted(&self, conv: ConversationId, user: UserId, accepted: bool) -> Result<()> {
        convs::set_accepted(&mut self.c(), conv, user, accepted)
    }

    fn create_upload(&self, upload: &UploadRow, quota: u64) -> Result<()> {
        uploads::create_upload(&mut self.c(), upload, quota)
    }
    fn complete_upload(&self, id: &str) -> Result<bool> {
        uploads::complete_upload(&mut self.c(), id)
    }
    fn link_blob(&self, id: &str, conv: ConversationId, seq: Seq) -> Result<()> {
        uploads::link_blob(&mut self.c(), id, conv, seq)
    }
    fn sweep_uploads(&self, before: Timestamp) -> Result<Vec<String>> {
        uploads::sweep_uploads(&mut self.c(), before)
    }
    fn drop_upload(&self, user: UserId, id: &str) -> Result<bool> {
        uploads::drop_upload(&mut self.c(), user, id)
    }

    fn require_member(&self, conv: ConversationId, user: UserId) -> Result<MemberRole> {
        convs::require_member(&mut self.c(), conv, user)
    }
    fn member_ids(&self, conv: ConversationId) -> Result<Vec<UserId>> {
        convs::member_ids(&mut self.c(), conv)
    }
    fn kind(&self, conv: ConversationId) -> Result<ConversationKind> {
        convs::kind(&mut self.c(), conv)
    }
    fn direct_between(
        &self,
        low: UserId,
        high: UserId,
        now: Timestamp,
    ) -> Result<(ConversationId, bool)> {
        convs::direct_between(&mut self.c(), low, high, now)
    }
    fn insert_group(
        &self,
        name: &str,
        members: &[(UserId, MemberRole)],
        now: Timestamp,
    ) -> Result<ConversationId> {
        convs::insert_group(&mut self.c(), name, members, now)
    }
    fn set_group_name(&self, conv: ConversationId, name: &str) -> Result<()> {
        convs::set_name(&mut self.c(), conv, name)
    }
    fn insert_members(&self, conv: ConversationId, users: &[UserId], now: Timestamp) -> Result<()> {
        convs::insert_members(&mut self.c(), conv, users, now)
    }
    fn deactivate(&self, conv: ConversationId, user: UserId) -> Result<()> {
        convs::deactivate(&mut self.c(), conv, user)
    }
    fn advance_receipt(
        &self,
        conv: ConversationId,
        user: UserId,
        delivered: Seq,
        read: Seq,
    ) -> Result<Option<ReceiptState>> {
        convs::advance_receipt(&mut self.c(), conv, user, delivered, read)
    }

    fn take_send_token(&self, user: UserId, now: Timestamp, rate: Rate) -> Result<bool> {
        messages::take_send_token(&mut self.c(), user, now, rate)
    }
    fn find_by_client_id(&self, sender: UserId, client_id: &str) -> Result<Option<MessageRecord>> {
        messages::find_by_client_id(&mut self.c(), sender, client_id)
    }
    fn client_id_stored(&self, sender: UserId, client_id: &str) -> Result<bool> {
        messages::client_id_stored(&mut self.c(), sender, client_id)
    }
    fn insert_new(&self, entry: &NewEntry<'_>) -> Result<Option<MessageRecord>> {
        messages::insert_new(&mut self.c(), entry)
    }
    fn target(&self, conv: ConversationId, seq: Seq) -> Result<Option<Target>> {
        messages::target(&mut self.c(), conv, seq)
    }
    fn reaction_count(&self, conv: ConversationId, seq: Seq, user: UserId) -> Result<usize> {
        messages::reaction_count(&mut self.c(), conv, seq, user)
    }
    fn fold(&self, event: &MessageRecord) -> Result<()> {
        messages::fold(&mut self.c(), event)
    }
}
