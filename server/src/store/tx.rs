//! The storage interface the relay's operations are written against.
//!
//! An operation runs as a job inside the store's group commit (see [`super::Store`]); the job
//! gets a [`Tx`], the open transaction, and calls these methods. Nothing above this module
//! names a database: SQLite implements them in [`super::sqlite`], and a second backend (the
//! PostgreSQL store of the scale-out plan) implements the same two traits and reuses every
//! operation unchanged. Each method's contract — including which refusals it returns — is
//! stated here once; the relay's integration tests are the conformance suite for a backend.
//!
//! Reads that need no write transaction (token checks, login lookups, health, a sync) take a
//! [`ReadTx`]: the store answers them from its read-only connections.

use tern_proto::{
    ChatPrefs, ChatPrefsChange, ConversationId, ConversationInfo, ConversationKind,
    ConversationSummary, MemberRole, MessageKind, MessageRecord, Person, Picture,
    PresenceVisibility, ReceiptState, Seq, SessionId, SessionInfo, Timestamp, UserId,
    DELETED_ACCOUNT,
};

use crate::error::Result;
use crate::limits::Rate;

/// How a picture is stored: its descriptor as JSON, and its blob id apart (who may read the
/// blob, and the sweeper keeping it, are decided on that column).
pub fn picture_columns(p: Option<&Picture>) -> (Option<String>, Option<String>) {
    (
        p.map(|p| serde_json::to_string(p).expect("a picture serializes")),
        p.map(|p| p.blob_id.clone()),
    )
}

/// A stored picture descriptor; one that does not parse is treated as none.
pub fn picture_from(json: Option<String>) -> Option<Picture> {
    json.and_then(|j| serde_json::from_str(&j).ok())
}

/// `text` in lower case for a search without case, by Unicode's rules, with the final sigma
/// folded into the plain one ("ΟΔΥΣ" and "Οδυς" both find "Οδυσσέας"). Both stores fold a
/// people search's query and the names it is compared with alike (SQLite's `tern_lower`,
/// PostgreSQL's statement).
pub fn fold_case(text: &str) -> String {
    text.to_lowercase().replace('ς', "σ")
}

/// A message's sender as history shows it: the username, or [`DELETED_ACCOUNT`] when the
/// stores' queries found none (the account was deleted).
pub fn sender_name(username: Option<String>) -> String {
    username.unwrap_or_else(|| DELETED_ACCOUNT.to_owned())
}

/// A user's credentials row.
#[derive(Debug, Clone)]
pub struct UserRow {
    /// Id.
    pub id: UserId,
    /// Username as registered.
    pub username: String,
    /// PHC-format argon2id hash.
    pub password_hash: String,
}

/// Who a valid token belongs to.
#[derive(Debug, Clone)]
pub struct AuthSession {
    /// Login session id.
    pub session_id: SessionId,
    /// The user.
    pub user_id: UserId,
    /// Their username.
    pub username: String,
    /// When the session's token expires (the connection is closed then).
    pub expires_at: Timestamp,
}

/// An attachment upload: reserved, filled, then complete.
#[derive(Debug, Clone)]
pub struct UploadRow {
    /// Random id (also the blob's file name).
    pub id: String,
    /// Who uploads it.
    pub user_id: UserId,
    /// Declared size in bytes.
    pub size: u64,
    /// Declared SHA-256, lowercase hex.
    pub sha256: String,
    /// Declared media type.
    pub content_type: String,
    /// Every byte arrived and matched the hash.
    pub complete: bool,
    /// When it was reserved.
    pub created_at: Timestamp,
}

/// A log entry about to be stored.
#[derive(Debug, Clone, Copy)]
pub struct NewEntry<'a> {
    /// Conversation.
    pub conv: ConversationId,
    /// Author.
    pub sender: UserId,
    /// Author's username (copied into the returned record).
    pub sender_name: &'a str,
    /// The author's dedup key.
    pub client_id: &'a str,
    /// Text, emoji or empty, by kind.
    pub body: &'a str,
    /// What it is.
    pub kind: MessageKind,
    /// For events: the text message changed.
    pub target_seq: Option<Seq>,
    /// For text: the message replied to.
    pub reply_to: Option<Seq>,
    /// For text: an attached, uploaded file.
    pub attachment: Option<&'a tern_proto::Attachment>,
    /// The member it is withheld from (they blocked the sender; see
    /// [`MessageRecord::view_for`]).
    pub withheld_from: Option<UserId>,
    /// For text: when its author says they wrote it ([`tern_proto::SendMessage::written_at`]).
    pub written_at: Option<Timestamp>,
    /// Relay time.
    pub now: Timestamp,
}

#[cfg(test)]
impl<'a> NewEntry<'a> {
    /// A plain text message: no reply, attachment or withholding.
    pub fn text(
        conv: ConversationId,
        sender: (UserId, &'a str),
        client_id: &'a str,
        body: &'a str,
        now: Timestamp,
    ) -> Self {
        NewEntry {
            conv,
            sender: sender.0,
            sender_name: sender.1,
            client_id,
            body,
            kind: MessageKind::Text,
            target_seq: None,
            reply_to: None,
            attachment: None,
            withheld_from: None,
            written_at: None,
            now,
        }
    }
}

/// A conversation's kind and its active members, each with whether they accepted it.
#[derive(Debug, Clone)]
pub struct Roster {
    /// Direct or group.
    pub kind: ConversationKind,
    /// Active members and their `accepted` flag.
    pub members: Vec<(UserId, bool)>,
}

impl Roster {
    /// The members' ids.
    pub fn ids(&self) -> Vec<UserId> {
        self.members.iter().map(|m| m.0).collect()
    }

    /// Whether `user` is an active member.
    pub fn contains(&self, user: UserId) -> bool {
        self.members.iter().any(|m| m.0 == user)
    }

    /// Whether `user` is an active member who accepted the conversation.
    pub fn accepted(&self, user: UserId) -> bool {
        self.members.iter().any(|m| m.0 == user && m.1)
    }
}

/// When each of a user's settings of one conversation was last changed (ms, on the relay's
/// clock as the editing device knows it, never ahead of the relay's own): of two changes of one
/// setting the later edit holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrefEdits {
    /// Muted or not.
    pub mute: Option<Timestamp>,
    /// Pinned or not.
    pub pin: Option<Timestamp>,
    /// Marked unread or not.
    pub marked_unread: Option<Timestamp>,
    /// Archived or not.
    pub archived: Option<Timestamp>,
}

impl PrefEdits {
    /// The edit times of the fields `change` sets.
    fn of(&self, change: &ChatPrefsChange) -> [Option<Timestamp>; 4] {
        [
            self.mute.filter(|_| change.mute.is_some()),
            self.pin.filter(|_| change.pin.is_some()),
            self.marked_unread
                .filter(|_| change.marked_unread.is_some()),
            self.archived.filter(|_| change.archived.is_some()),
        ]
    }

    /// Whether a field `change` sets was changed by an edit later than `at`.
    pub fn newer_than(&self, change: &ChatPrefsChange, at: Timestamp) -> bool {
        self.of(change).into_iter().flatten().any(|t| t > at)
    }

    /// These edits, with the fields `change` sets edited at `at`.
    pub fn stamped(self, change: &ChatPrefsChange, at: Timestamp) -> PrefEdits {
        let at_if = |set: bool, was: Option<Timestamp>| if set { Some(at) } else { was };
        PrefEdits {
            mute: at_if(change.mute.is_some(), self.mute),
            pin: at_if(change.pin.is_some(), self.pin),
            marked_unread: at_if(change.marked_unread.is_some(), self.marked_unread),
            archived: at_if(change.archived.is_some(), self.archived),
        }
    }
}

/// One user's privacy settings as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrivacyRow {
    /// Who sees their presence.
    pub presence: PresenceVisibility,
    /// Whether they send and see read receipts.
    pub read_receipts: bool,
}

/// What decides whether an entry may refer to an earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Its author.
    pub sender_id: UserId,
    /// Its kind (only text messages can be replied to, edited, deleted or reacted to).
    pub kind: MessageKind,
    /// Deleted for everyone.
    pub deleted: bool,
    /// When it was stored.
    pub sent_at: Timestamp,
}

/// What a syncing user must learn about shapes and receipts since `since`.
#[derive(Debug, Default)]
pub struct Changes {
    /// Conversations created or changed (current shape).
    pub conversations: Vec<ConversationInfo>,
    /// Conversations the user is no longer in.
    pub removed: Vec<ConversationId>,
    /// Receipt markers that moved.
    pub receipts: Vec<ReceiptState>,
    /// Every active conversation with its newest sequence at this moment.
    pub heads: Vec<(ConversationId, Seq)>,
}

/// Message text per history page or sync chunk beyond which the page ends early (the
/// client asks again from where it stopped).
pub const MAX_PAGE_BYTES: usize = 256 * 1024;

/// What an entry weighs against [`MAX_PAGE_BYTES`]: about what it takes in a frame, as
/// JSON. Its text is counted as JSON writes it: a control character takes six bytes there
/// (`\u0001`), so text counted by its own length would let a page of such messages grow six
/// times past the bound.
pub fn page_weight(m: &MessageRecord) -> usize {
    /// The fields every entry has, their names and numbers.
    const FIXED: usize = 192;
    let attachment = m.attachment.as_ref().map_or(0, |a| {
        160 + json_len(&a.name)
            + json_len(&a.content_type)
            + a.thumbnail.as_deref().map_or(0, json_len)
    });
    FIXED
        + json_len(&m.sender)
        + json_len(m.client_id.as_str())
        + json_len(&m.body)
        + m.reactions
            .iter()
            .map(|r| 32 + json_len(&r.emoji))
            .sum::<usize>()
        + attachment
}

/// How many bytes `text` takes as a JSON string's contents.
pub fn json_len(text: &str) -> usize {
    text.bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum()
}

/// Shorten `rows` (newest first, as a history query reads them) to about [`MAX_PAGE_BYTES`],
/// keeping at least one; whether anything was cut.
pub fn cut_to_page(rows: &mut Vec<MessageRecord>) -> bool {
    let mut bytes = 0;
    let cut = rows.iter().position(|m| {
        bytes += page_weight(m);
        bytes > MAX_PAGE_BYTES
    });
    if let Some(cut) = cut {
        rows.truncate(cut.max(1));
    }
    cut.is_some()
}

/// Reads: on a read connection (token checks, health, and a sync's reads, which
/// [`super::Store::snapshot`] runs in one read-only snapshot) or inside a writer's job.
pub trait ReadTx {
    /// A user by username, in any letter case.
    fn find_user(&self, username: &str) -> Result<Option<UserRow>>;
    /// Whether a username exists in any letter case.
    fn username_exists(&self, username: &str) -> Result<bool>;
    /// Whether `credential_hash` is a device credential of `user`.
    fn device_credential_valid(&self, user: UserId, credential_hash: &[u8]) -> Result<bool>;
    /// Whether an invite code (its hash) has uses left.
    fn invite_usable(&self, code_hash: &[u8]) -> Result<bool>;
    /// The session a token hash belongs to; `invalid_token`, `token_revoked` or
    /// `token_expired` otherwise.
    fn authenticate(&self, token_hash: &[u8], now: Timestamp) -> Result<AuthSession>;
    /// Whether a session is still usable (not revoked, not expired).
    fn session_active(&self, session: SessionId, now: Timestamp) -> Result<bool>;
    /// The relay-wide change counter that versions conversations, memberships and receipts.
    fn current_version(&self) -> Result<u64>;
    /// A conversation's current shape with its active members; `not_found` if none.
    fn info(&self, conv: ConversationId) -> Result<ConversationInfo>;
    /// An attachment upload by id.
    fn upload(&self, id: &str) -> Result<Option<UploadRow>>;
    /// A user's active sessions, newest first (`current` is left false).
    fn sessions(&self, user: UserId, now: Timestamp) -> Result<Vec<SessionInfo>>;
    /// Contacts by username prefix or display name, anyone by exact username; never `me`.
    fn find_people(&self, me: UserId, query: &str) -> Result<Vec<Person>>;
    /// The user's conversations with newest text message and unread count, most recent first.
    fn list(&self, me: UserId) -> Result<Vec<ConversationSummary>>;
    /// Of the uploads `ids`, those that exist: each id with its declared size and whether it
    /// is complete.
    fn uploads_among(&self, ids: &[String]) -> Result<Vec<(String, u64, bool)>>;
    /// Whether `user` may download blob `id`: its uploader, or a current member of a
    /// conversation where a message refers to it.
    fn blob_readable(&self, user: UserId, id: &str) -> Result<bool>;

    // What a sync reads (from one snapshot: see [`super::Store::snapshot`]).
    /// Everyone sharing a conversation with `user` that both accepted, with their last-seen
    /// time.
    fn contacts(&self, user: UserId) -> Result<Vec<(UserId, Option<Timestamp>)>>;
    /// Last-seen times of the given users.
    fn last_seen(&self, users: &[UserId]) -> Result<Vec<(UserId, Option<Timestamp>)>>;
    /// Settings of the given users (every user has a row; unknown ids are left out).
    fn privacy(&self, users: &[UserId]) -> Result<Vec<(UserId, PrivacyRow)>>;
    /// The users `user` blocks, by name.
    fn blocked_by(&self, user: UserId) -> Result<Vec<Person>>;
    /// Every conversation `user` is in and muted, pinned or marked unread (what is kept for a
    /// conversation they left stays out of sight, and back if they rejoin).
    fn chat_prefs(&self, user: UserId) -> Result<Vec<ChatPrefs>>;
    /// Every (blocker, blocked) pair that involves `user` on either side.
    fn blocks_of(&self, user: UserId) -> Result<Vec<(UserId, UserId)>>;
    /// Kind and active members with their `accepted` flags; `not_member` if none.
    fn roster(&self, conv: ConversationId) -> Result<Roster>;
    /// What a syncing user must learn since `since`.
    fn changes_since(&self, me: UserId, since: u64) -> Result<Changes>;
    /// Up to `limit` entries with `after < seq <= upto`, ascending, text folded.
    fn range(
        &self,
        conv: ConversationId,
        after: Seq,
        upto: Seq,
        limit: usize,
    ) -> Result<Vec<MessageRecord>>;
    /// Up to `limit` entries before `before`, ascending, and whether older ones exist; at most
    /// about [`MAX_PAGE_BYTES`] of text.
    fn page_before(
        &self,
        conv: ConversationId,
        before: Seq,
        limit: usize,
    ) -> Result<(Vec<MessageRecord>, bool)>;
}

/// How a running job's writes can be undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undo {
    /// The job runs in a savepoint.
    Savepoint,
    /// No savepoint: the job checks before it writes, and the transaction had written this
    /// many rows when it started, so a failed job that wrote nothing needs no undoing (and
    /// one that did cannot be undone alone).
    Unwritten(u64),
}

/// One storage transaction: everything a relay operation reads or writes.
pub trait Tx: ReadTx {
    /// Start a job: if it fails, [`Tx::rollback_job`] undoes its writes without undoing the
    /// other jobs of the same group commit. A job that `checks_first` (makes every refusal
    /// before its first write) may run without a savepoint where the backend can tell that
    /// it wrote nothing ([`Undo::Unwritten`]).
    fn begin_job(&self, checks_first: bool) -> Result<Undo>;
    /// Keep the job's writes (they commit with the group).
    fn end_job(&self, undo: Undo) -> Result<()>;
    /// Undo the failed job's writes. An error means they could not be undone: the whole
    /// group must not commit.
    fn rollback_job(&self, undo: Undo) -> Result<()>;

    // Accounts.
    /// Insert a user; `username_taken` if the name exists in any letter case.
    fn create_user(&self, username: &str, hash: &str, now: Timestamp) -> Result<UserId>;
    /// Record an invite code (its hash) good for `uses` registrations.
    fn create_invite(&self, code_hash: &[u8], uses: u32, now: Timestamp) -> Result<()>;
    /// Spend one use of an invite code; `invalid_invite` if it has none left.
    fn use_invite(&self, code_hash: &[u8]) -> Result<()>;
    /// Ids of the given usernames, in order, each user once however often (in whatever
    /// case) they are named; `not_found` naming the first unknown one.
    fn resolve_usernames(&self, names: &[String]) -> Result<Vec<(UserId, String)>>;
    /// A login session, unless the user has `max_active` live ones (`session_limit`), or the
    /// account is gone or its password hash is no longer `password_hash`, the one the login
    /// checked the password against (`invalid_credentials`: a password change or a deletion
    /// committed while the password was being checked).
    #[allow(clippy::too_many_arguments)]
    fn create_session(
        &self,
        user: UserId,
        password_hash: &str,
        token_hash: &[u8],
        device_name: &str,
        now: Timestamp,
        expires_at: Timestamp,
        max_active: usize,
    ) -> Result<SessionId>;
    /// Store a device credential, dropping the one it replaces and the least recently used
    /// beyond `max_per_user`.
    fn issue_device_credential(
        &self,
        user: UserId,
        credential_hash: &[u8],
        replaces: Option<&[u8]>,
        now: Timestamp,
        max_per_user: usize,
    ) -> Result<()>;
    /// Revoke one session.
    fn revoke_session(&self, session: SessionId, now: Timestamp) -> Result<()>;
    /// Revoke every session of a user and forget every device credential; the sessions revoked.
    fn revoke_all(&self, user: UserId, now: Timestamp) -> Result<Vec<SessionId>> {
        self.revoke_others(user, None, now)
    }
    /// Record when a user's last device disconnected.
    fn set_last_seen(&self, user: UserId, at: Timestamp) -> Result<()>;
    /// Set or clear a display name; each of the user's conversations gets a new version.
    /// Returns those conversations.
    fn set_display_name(&self, user: UserId, name: Option<&str>) -> Result<Vec<ConversationId>>;
    /// Set or clear a user's picture; each of the user's conversations gets a new version.
    /// Returns those conversations.
    fn set_user_avatar(
        &self,
        user: UserId,
        avatar: Option<&Picture>,
    ) -> Result<Vec<ConversationId>>;
    /// Set or clear a group's picture; the group gets a new version.
    fn set_group_avatar(&self, conv: ConversationId, avatar: Option<&Picture>) -> Result<()>;
    /// Replace a user's password hash; with `replacing`, only if it still is that one (a
    /// rehash after a login must not undo a password change made meanwhile). Whether it was
    /// replaced.
    fn set_password_hash(&self, user: UserId, hash: &str, replacing: Option<&str>) -> Result<bool>;
    /// Revoke every session of a user but `keep` (all with `None`) and forget every device
    /// credential; the sessions revoked.
    fn revoke_others(
        &self,
        user: UserId,
        keep: Option<SessionId>,
        now: Timestamp,
    ) -> Result<Vec<SessionId>>;
    /// Revoke one of `user`'s sessions; whether it was theirs and active.
    fn revoke_own_session(&self, user: UserId, session: SessionId, now: Timestamp) -> Result<bool>;
    /// Record that a session was connected at `at` (callers round it).
    fn touch_session(&self, session: SessionId, at: Timestamp) -> Result<()>;

    /// Delete an account: mark it deleted (its username stays taken until
    /// [`Tx::release_deleted_names`]), forget its display name, last-seen, blocks, sessions and
    /// device credentials, and take it out of every conversation; the sessions revoked and the
    /// conversations left. Its messages stay, their sender shown as "Deleted account".
    fn delete_account(
        &self,
        user: UserId,
        now: Timestamp,
    ) -> Result<(Vec<SessionId>, Vec<ConversationId>)>;
    /// Free the usernames of accounts deleted before `before`; how many.
    fn release_deleted_names(&self, before: Timestamp) -> Result<usize>;

    // Privacy.
    /// Change a user's settings; `None` leaves a field as it is.
    fn set_privacy(
        &self,
        user: UserId,
        presence: Option<PresenceVisibility>,
        read_receipts: Option<bool>,
    ) -> Result<()>;
    /// What `user` set for one conversation, in it or not (`None`: nothing).
    fn chat_prefs_in(&self, user: UserId, conv: ConversationId) -> Result<Option<ChatPrefs>>;
    /// Replace what `user` set for one conversation (muted, pinned, marked unread, archived;
    /// nothing set removes it); what is stored, `archived_at` stamped with `now` when it
    /// becomes archived.
    fn set_chat_prefs(&self, user: UserId, prefs: &ChatPrefs, now: Timestamp) -> Result<ChatPrefs>;
    /// When `user` last changed each setting of one conversation.
    fn pref_edits(&self, user: UserId, conv: ConversationId) -> Result<PrefEdits>;
    /// Record when `user` last changed each setting of one conversation.
    fn set_pref_edits(&self, user: UserId, conv: ConversationId, edits: &PrefEdits) -> Result<()>;
    /// How many conversations other than `except` `user` has pinned among those they are
    /// still in.
    fn pinned_elsewhere(&self, user: UserId, except: ConversationId) -> Result<usize>;
    /// Record that `blocker` blocks `blocked` (again is a no-op).
    fn block(&self, blocker: UserId, blocked: UserId, now: Timestamp) -> Result<()>;
    /// Lift a block (none is a no-op).
    fn unblock(&self, blocker: UserId, blocked: UserId) -> Result<()>;
    /// Whether `a` and `b` are both accepted members of some conversation other than
    /// `except` (then neither is a stranger to the other).
    fn shares_accepted(&self, a: UserId, b: UserId, except: ConversationId) -> Result<bool>;

    // Attachments.
    /// Reserve an upload unless the user's uploads would pass `quota` bytes (`quota_exceeded`).
    fn create_upload(&self, upload: &UploadRow, quota: u64) -> Result<()>;
    /// Mark an upload complete; false when it is gone (swept while its last bytes came).
    fn complete_upload(&self, id: &str) -> Result<bool>;
    /// Record that the message at (`conv`, `seq`) refers to blob `id`.
    fn link_blob(&self, id: &str, conv: ConversationId, seq: Seq) -> Result<()>;
    /// Remove uploads created before `before` that no message refers to and that are no
    /// user's or group's picture; their ids (their bytes are to be removed too).
    fn sweep_uploads(&self, before: Timestamp) -> Result<Vec<String>>;
    /// Remove `user`'s upload `id` if nothing refers to it (no message, no picture): whether
    /// it was removed (its bytes are to be removed too).
    fn drop_upload(&self, user: UserId, id: &str) -> Result<bool>;

    // Conversations.
    /// The caller's role; `not_member` (also for conversations that do not exist).
    fn require_member(&self, conv: ConversationId, user: UserId) -> Result<MemberRole>;
    /// Ids of the active members.
    fn member_ids(&self, conv: ConversationId) -> Result<Vec<UserId>>;
    /// Mark a membership accepted (or a message request); the conversation and the member
    /// row get a new version so it syncs.
    fn set_accepted(&self, conv: ConversationId, user: UserId, accepted: bool) -> Result<()>;
    // Membership statements; the rules about who may run them are in `ops::membership`.
    /// The conversation's kind; `not_found` if there is none.
    fn kind(&self, conv: ConversationId) -> Result<ConversationKind>;
    /// The direct conversation of `low` and `high` (`low < high`), created with both as
    /// members if there is none yet; whether it was created. Safe when two writers race.
    fn direct_between(
        &self,
        low: UserId,
        high: UserId,
        now: Timestamp,
    ) -> Result<(ConversationId, bool)>;
    /// A new group with these members and roles.
    fn insert_group(
        &self,
        name: &str,
        members: &[(UserId, MemberRole)],
        now: Timestamp,
    ) -> Result<ConversationId>;
    /// Set a group's name.
    fn set_group_name(&self, conv: ConversationId, name: &str) -> Result<()>;
    /// Make `users` active members (role member) of `conv`.
    fn insert_members(&self, conv: ConversationId, users: &[UserId], now: Timestamp) -> Result<()>;
    /// Take a member out of a conversation; a group left without an admin gets its
    /// longest-standing member as admin.
    fn deactivate(&self, conv: ConversationId, user: UserId) -> Result<()>;
    /// Move a member's markers forward (never past the newest entry); the new state if it moved.
    fn advance_receipt(
        &self,
        conv: ConversationId,
        user: UserId,
        delivered: Seq,
        read: Seq,
    ) -> Result<Option<ReceiptState>>;

    // The log.
    /// Take one send from `user`'s bucket shared by every relay on this store; false when it
    /// is empty, and then nothing was written and the send must be refused. The send takes
    /// it after its other checks, so an attempt refused for any reason takes nothing. A store
    /// no other relay shares leaves the limit to the relay's memory
    /// ([`crate::limits::KeyedLimiter`]) and always says yes.
    fn take_send_token(&self, _user: UserId, _now: Timestamp, _rate: Rate) -> Result<bool> {
        Ok(true)
    }
    /// The entry this sender stored under `client_id`, if any.
    fn find_by_client_id(&self, sender: UserId, client_id: &str) -> Result<Option<MessageRecord>>;
    /// Whether `sender` stored an entry with `client_id` (in this transaction too).
    fn client_id_stored(&self, sender: UserId, client_id: &str) -> Result<bool>;
    /// Store an entry at the next sequence number, or `None` if the sender already stored one
    /// under its client id.
    fn insert_new(&self, entry: &NewEntry<'_>) -> Result<Option<MessageRecord>>;
    /// The entry at `seq`, as far as a reference to it needs.
    fn target(&self, conv: ConversationId, seq: Seq) -> Result<Option<Target>>;
    /// How many different reactions `user` has on the message at (`conv`, `seq`).
    fn reaction_count(&self, conv: ConversationId, seq: Seq, user: UserId) -> Result<usize>;
    /// Fold a just-stored event into its target (edit, erase, reactions; `state_seq`); a
    /// delete also drops the target's attachment and its reference to the blob.
    fn fold(&self, event: &MessageRecord) -> Result<()>;
}
