//! Domain records that travel inside frames: messages, conversations, members, receipts.

use serde::{Deserialize, Serialize};

pub use crate::ids::{ConversationId, MessageId, RequestId, Seq, SessionId, UserId};

/// Milliseconds since the Unix epoch, relay clock.
pub type Timestamp = i64;

/// What one entry of a conversation's log is. Text messages are what people read; the other
/// kinds are events about an earlier text message (`target_seq`), each with its own `seq` in the
/// same log, so sync stays "everything after my cursor" and every device folds the same events
/// in the same order. Stored and serialized as the snake-case name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// A message; `body` is its text.
    #[default]
    Text,
    /// Replaces the target's text with `body` (sender only, within the edit window).
    Edit,
    /// Erases the target for everyone (sender, or a group admin); `body` is empty.
    Delete,
    /// Adds the caller's reaction `body` (one emoji) to the target.
    React,
    /// Removes the caller's reaction `body` from the target.
    Unreact,
    /// Something that happened to a group (created, members added or removed, someone left,
    /// renamed, its picture changed), written by the relay into the log where it happened,
    /// so every member sees it in the same place; `body` is a [`Notice`] as JSON and the
    /// sender is who did it. Never sent by clients.
    Notice,
    /// A kind this version does not know, from a newer relay (read as this, so one new kind
    /// cannot make a whole page of history unreadable). Kept in its place in the log, so
    /// the order stays gap-free; shown as needing a newer version if it is not about an
    /// earlier message; never sent, and refused by the relay.
    #[serde(other)]
    Unknown,
}

impl MessageKind {
    /// Every kind this version knows, for tests and exhaustive tables.
    pub const ALL: [MessageKind; 6] = [
        MessageKind::Text,
        MessageKind::Edit,
        MessageKind::Delete,
        MessageKind::React,
        MessageKind::Unreact,
        MessageKind::Notice,
    ];

    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Edit => "edit",
            MessageKind::Delete => "delete",
            MessageKind::React => "react",
            MessageKind::Unreact => "unreact",
            MessageKind::Notice => "notice",
            MessageKind::Unknown => "unknown",
        }
    }

    /// A message people read (counted as unread, notified, shown as a row); the other kinds
    /// change an earlier one.
    pub fn is_text(&self) -> bool {
        *self == MessageKind::Text
    }
}

impl std::str::FromStr for MessageKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MessageKind::ALL
            .into_iter()
            .chain([MessageKind::Unknown])
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown message kind {s:?}"))
    }
}

/// What a [`MessageKind::Notice`] entry says happened to a group; its sender did it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// What happened.
    pub action: NoticeAction,
    /// Who it happened to (added, removed), as named then; empty for the others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<NoticeUser>,
    /// The group's name, for `created` and `renamed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Someone a notice is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeUser {
    /// Their id.
    pub user_id: UserId,
    /// Their username at the time.
    pub username: String,
}

/// The kinds of [`Notice`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeAction {
    /// The sender created the group (`name`).
    Created,
    /// The sender added `users`.
    Added,
    /// The sender removed `users`.
    Removed,
    /// The sender left.
    Left,
    /// The sender renamed the group to `name`.
    Renamed,
    /// The sender set a new group picture.
    PictureChanged,
    /// The sender removed the group picture.
    PictureRemoved,
    /// Something this version does not know how to say (from a newer relay).
    #[serde(other)]
    Other,
}

impl MessageRecord {
    /// The notice this entry carries, if it is one (and its body parses).
    pub fn notice(&self) -> Option<Notice> {
        (self.kind == MessageKind::Notice)
            .then(|| serde_json::from_str(&self.body).ok())
            .flatten()
    }
}

/// A file attached to a message. The bytes are uploaded first (HTTP, resumable); the message
/// then carries this descriptor. The relay checks `blob_id` (that the sender may use it, and
/// from then on that only the conversation's members may download it) and size limits; the
/// other fields are content it stores and forwards, so a later end-to-end encryption can put
/// the key and the real name inside an encrypted descriptor without changing the transfer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The relay's id of the uploaded bytes.
    pub blob_id: String,
    /// File name as the sender chose it (a name only, no folders).
    pub name: String,
    /// Declared media type (`image/png`, …).
    pub content_type: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256 of the bytes, lowercase hex (a download is checked against it).
    pub sha256: String,
    /// Image width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Image height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// A small preview (base64 of a JPEG of at most a few KiB), shown before the download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<String>,
}

/// Whether `id` has the form of a relay's blob id: 32 lowercase hex digits (128 random bits).
/// Ids name files on the relay and on clients, so nothing else is ever accepted as one.
pub fn is_blob_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether `s` has the form of a SHA-256 in hex (64 hex digits, either case).
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A profile or group picture: an uploaded image (see [`Attachment`] for the transfer),
/// referred to by its blob. Readable by everyone who shares a conversation with its user, or by
/// the group's members. As with attachments, only `blob_id`, `size` and `sha256` concern the
/// relay; a later end-to-end encryption can add a key without changing the transfer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Picture {
    /// The uploaded blob.
    pub blob_id: String,
    /// `image/jpeg`, `image/png` or `image/webp`.
    pub content_type: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256 of the bytes, hex (clients check downloads against it).
    pub sha256: String,
}

/// One user's reaction to a message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Reaction {
    /// Who reacted.
    pub user_id: UserId,
    /// The emoji.
    pub emoji: String,
}

fn is_zero(n: &Seq) -> bool {
    *n == Seq::ZERO
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// How the relay names a deleted account as the sender of what it wrote (its username is no
/// longer shown), and how a direct chat with one is titled.
pub const DELETED_ACCOUNT: &str = "Deleted account";

/// One entry of a conversation's log, as the relay pushes it and returns it in sync and
/// history: a text message, or an event (edit, delete, reaction) about an earlier one.
///
/// A text message also carries its *folded* state (current text, `edited_at`, `deleted`,
/// `reactions`) as of `state_seq`, the newest event folded into it, so a page of old history
/// arrives complete. A client applies an event to a message only when the event's `seq` is
/// above the message's `state_seq`, which makes applying the same events again, or in pages
/// that overlap, a no-op. Fields beyond the first eight are omitted when empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    /// Relay-assigned id, unique on the relay.
    pub message_id: MessageId,
    /// Conversation the message belongs to.
    pub conversation_id: ConversationId,
    /// Position in the conversation; the order every member sees.
    pub seq: Seq,
    /// Author.
    pub sender_id: UserId,
    /// Author's username at the time of sending.
    pub sender: String,
    /// The id the sending client chose; unique per sender.
    pub client_id: crate::ClientId,
    /// Text for `text` and `edit`, the emoji for `react`/`unreact`, empty for `delete` and
    /// for a deleted message.
    pub body: String,
    /// When the relay stored it.
    pub sent_at: Timestamp,
    /// What this entry is.
    #[serde(default, skip_serializing_if = "MessageKind::is_text")]
    pub kind: MessageKind,
    /// For events: the text message they change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_seq: Option<Seq>,
    /// For text: the earlier message of the same conversation this one replies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<Seq>,
    /// For text: when it was last edited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<Timestamp>,
    /// For text: deleted for everyone (the body is gone, on the relay too).
    #[serde(default, skip_serializing_if = "is_false")]
    pub deleted: bool,
    /// For text: current reactions, ordered by user then emoji.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// For text: the newest event folded into this record (0 when none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub state_seq: Seq,
    /// For text: an attached file (gone once the message is deleted for everyone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Attachment>,
    /// The sender was blocked by the receiving user when this was sent: the entry keeps its
    /// place in the log (so sequences stay gap-free) but carries nothing, and a client never
    /// shows it, counts it unread or notifies about it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub withheld: bool,
    /// For text: when its author wrote it, if that was well before it reached the relay (it
    /// was written offline); the author's word, never later than `sent_at`. See
    /// [`crate::SendMessage::written_at`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_at: Option<Timestamp>,
    /// Relay-side only: whom the entry is withheld from (never serialized).
    #[serde(skip)]
    pub withheld_from: Option<UserId>,
}

impl MessageRecord {
    /// This entry as `viewer` may receive it: itself, or an empty placeholder at the same
    /// place in the log when it is withheld from them.
    pub fn view_for(self, viewer: UserId) -> MessageRecord {
        if self.withheld_from != Some(viewer) {
            return self;
        }
        MessageRecord {
            message_id: self.message_id,
            conversation_id: self.conversation_id,
            seq: self.seq,
            sender_id: self.sender_id,
            sender: self.sender,
            client_id: self.client_id,
            sent_at: self.sent_at,
            withheld: true,
            withheld_from: self.withheld_from,
            ..MessageRecord::default()
        }
    }
}

/// Direct (two people) or group conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationKind {
    /// Between exactly two users; at most one per pair.
    Direct,
    /// Named, with admins, members added and removed over time.
    Group,
    /// A kind this version does not know (from a newer relay): shown by its name and
    /// members, as a group is.
    #[serde(other)]
    Other,
}

impl ConversationKind {
    /// The stored and serialized name: `direct` or `group`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationKind::Direct => "direct",
            ConversationKind::Group => "group",
            ConversationKind::Other => "other",
        }
    }
}

impl std::str::FromStr for ConversationKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "direct" => Ok(ConversationKind::Direct),
            "group" => Ok(ConversationKind::Group),
            "other" => Ok(ConversationKind::Other),
            other => Err(format!("unknown conversation kind {other:?}")),
        }
    }
}

/// A member's role in a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    /// May add and remove members.
    Admin,
    /// An ordinary member.
    Member,
    /// A role this version does not know (from a newer relay): no admin rights are assumed.
    #[serde(other)]
    Other,
}

impl MemberRole {
    /// The stored and serialized name: `admin` or `member`.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberRole::Admin => "admin",
            MemberRole::Member => "member",
            MemberRole::Other => "other",
        }
    }
}

impl std::str::FromStr for MemberRole {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(MemberRole::Admin),
            "member" => Ok(MemberRole::Member),
            "other" => Ok(MemberRole::Other),
            other => Err(format!("unknown member role {other:?}")),
        }
    }
}

/// A current member of a conversation with their receipt state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The member's user id.
    pub user_id: UserId,
    /// The member's username.
    pub username: String,
    /// The name the member chose to be shown by, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The member's profile picture, if they set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<Picture>,
    /// Admin or member.
    pub role: MemberRole,
    /// Highest sequence one of this member's devices reported as stored.
    pub delivered_seq: Seq,
    /// Highest sequence this member has read.
    pub read_seq: Seq,
    /// False while the conversation is a message request for this member: someone they
    /// share no accepted conversation with started it or added them. They see it under
    /// "Requests"; until they accept (or reply), no presence, typing or receipts pass
    /// between them and the other members.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub accepted: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// Who may see a user's online state and last-seen time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceVisibility {
    /// People the user shares an accepted conversation with (and has not blocked).
    #[default]
    Contacts,
    /// Nobody.
    Nobody,
    /// A setting this version does not know, made on a newer device; never sent by this
    /// version, and refused by a relay that does not know it either.
    #[serde(other)]
    Other,
}

impl PresenceVisibility {
    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            PresenceVisibility::Contacts => "contacts",
            PresenceVisibility::Nobody => "nobody",
            PresenceVisibility::Other => "other",
        }
    }
}

impl std::str::FromStr for PresenceVisibility {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "contacts" => Ok(PresenceVisibility::Contacts),
            "nobody" => Ok(PresenceVisibility::Nobody),
            "other" => Ok(PresenceVisibility::Other),
            other => Err(format!("unknown presence visibility {other:?}")),
        }
    }
}

/// A user's privacy settings and block list, the same on all their devices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Privacy {
    /// Who sees the user's online state and last-seen.
    pub presence: PresenceVisibility,
    /// Whether others see when the user has read their messages. When off, the user does
    /// not see others' read markers either.
    pub read_receipts: bool,
    /// Users this user blocked (they are not told).
    pub blocked: Vec<Person>,
}

/// How one of the user's conversations behaves on their devices: muted (for good or until a
/// time), pinned to the top of the list, marked unread, archived. Kept by the relay for the
/// user alone and the same on all their devices; nobody else learns of it. A conversation
/// with none of these is not listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatPrefs {
    /// The conversation (the user must be a member to set it).
    pub conversation_id: ConversationId,
    /// Whether its messages raise no notification.
    #[serde(default)]
    pub muted: bool,
    /// When a mute ends by itself; absent for a mute until undone (or no mute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted_until: Option<Timestamp>,
    /// When it was pinned, if it is: pinned conversations come first, the latest pin first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_at: Option<Timestamp>,
    /// Marked unread by the user ("Mark as unread"): shown as unread until opened or marked
    /// read, whatever its read marker says.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub marked_unread: bool,
    /// Archived: listed apart, out of the way; clients bring it back when a message from
    /// someone else arrives in it, unless it is muted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub archived: bool,
    /// When the relay stored it as archived (its clock, like a message's `sent_at`; what a
    /// client sends is ignored): only a message sent after it brings the chat back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<Timestamp>,
}

impl ChatPrefs {
    /// Nothing set: neither muted nor pinned.
    pub fn none(conversation_id: ConversationId) -> Self {
        ChatPrefs {
            conversation_id,
            muted: false,
            muted_until: None,
            pinned_at: None,
            marked_unread: false,
            archived: false,
            archived_at: None,
        }
    }

    /// Whether `other` makes the same choices (everything but the relay's `archived_at`).
    pub fn same_choice(&self, other: &ChatPrefs) -> bool {
        ChatPrefs {
            archived_at: None,
            ..*self
        } == ChatPrefs {
            archived_at: None,
            ..*other
        }
    }

    /// Whether nothing is set (the relay keeps no row for it).
    pub fn is_empty(&self) -> bool {
        !self.muted && self.pinned_at.is_none() && !self.marked_unread && !self.archived
    }

    /// Whether it is muted at `now` (a timed mute has not ended).
    pub fn muted_at(&self, now: Timestamp) -> bool {
        self.muted && self.muted_until.is_none_or(|end| now < end)
    }

    /// Read from the first seven columns of `r`, in the order of the fields (the relay's
    /// store and the client's cache keep them alike).
    #[cfg(feature = "rusqlite")]
    pub fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChatPrefs> {
        Ok(ChatPrefs {
            conversation_id: r.get(0)?,
            muted: r.get(1)?,
            muted_until: r.get(2)?,
            pinned_at: r.get(3)?,
            marked_unread: r.get(4)?,
            archived: r.get(5)?,
            archived_at: r.get(6)?,
        })
    }
}

/// A change to some of a conversation's [`ChatPrefs`], field by field: `None` leaves a field
/// as it is. This is what a device sends ([`crate::SetChatPrefs`]), so that two devices
/// changing different fields at once both keep their change: the relay applies each change
/// to the row as it stands when the change arrives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatPrefsChange {
    /// Muted or not, and until when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mute: Option<Mute>,
    /// Pinned (since when) or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<Pin>,
    /// Marked unread or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marked_unread: Option<bool>,
    /// Archived or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
}

/// The mute part of a [`ChatPrefsChange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mute {
    /// Whether the conversation raises no notification.
    pub muted: bool,
    /// When a mute ends by itself; `null` for a mute until undone (ignored when not muted).
    #[serde(default)]
    pub until: Option<Timestamp>,
}

/// The pin part of a [`ChatPrefsChange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    /// When it was pinned (the order of pins); `null` to unpin.
    #[serde(default)]
    pub at: Option<Timestamp>,
}

impl ChatPrefsChange {
    /// The fields in which `after` differs from `before`.
    pub fn between(before: &ChatPrefs, after: &ChatPrefs) -> Self {
        let mute = (before.muted, before.muted_until) != (after.muted, after.muted_until);
        ChatPrefsChange {
            mute: mute.then_some(Mute {
                muted: after.muted,
                until: after.muted_until,
            }),
            pin: (before.pinned_at != after.pinned_at).then_some(Pin {
                at: after.pinned_at,
            }),
            marked_unread: (before.marked_unread != after.marked_unread)
                .then_some(after.marked_unread),
            archived: (before.archived != after.archived).then_some(after.archived),
        }
    }

    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == ChatPrefsChange::default()
    }

    /// `self`, then `later` on top of it.
    pub fn then(self, later: ChatPrefsChange) -> Self {
        ChatPrefsChange {
            mute: later.mute.or(self.mute),
            pin: later.pin.or(self.pin),
            marked_unread: later.marked_unread.or(self.marked_unread),
            archived: later.archived.or(self.archived),
        }
    }

    /// `prefs` with this change on top. A mute's end goes with the mute; a conversation that
    /// becomes archived or unarchived has no archiving time until the relay stamps one.
    pub fn on(&self, prefs: &ChatPrefs) -> ChatPrefs {
        let mut p = *prefs;
        if let Some(m) = self.mute {
            p.muted = m.muted;
            p.muted_until = m.until.filter(|_| m.muted);
        }
        if let Some(pin) = self.pin {
            p.pinned_at = pin.at;
        }
        if let Some(marked) = self.marked_unread {
            p.marked_unread = marked;
        }
        if let Some(archived) = self.archived {
            if archived != prefs.archived {
                p.archived_at = None;
            }
            p.archived = archived;
        }
        p
    }

    /// This change without the fields `prefs` already has: what is still to be said.
    pub fn beyond(&self, prefs: &ChatPrefs) -> Self {
        ChatPrefsChange::between(prefs, &self.on(prefs))
    }
}

/// A conversation's current shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationInfo {
    /// Conversation id.
    pub conversation_id: ConversationId,
    /// Direct or group.
    pub kind: ConversationKind,
    /// Group name; `None` for direct conversations.
    pub name: Option<String>,
    /// The group's picture, if one was set (always `None` for direct conversations: they show
    /// the other member's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<Picture>,
    /// Current members.
    pub members: Vec<Member>,
    /// Sequence number of the newest message (0 when empty).
    pub last_seq: Seq,
    /// When it was created.
    pub created_at: Timestamp,
    /// The relay's change version of this shape: every change to a conversation's shape
    /// (members, name, picture, a member's profile or acceptance) takes a higher one, so of two
    /// copies the higher is the newer. 0 when unknown (a client's own copy).
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub version: u64,
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

/// A conversation as listed for one user: its shape, newest message and unread count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationSummary {
    /// Shape and members.
    #[serde(flatten)]
    pub info: ConversationInfo,
    /// Newest message, if any.
    pub last_message: Option<MessageRecord>,
    /// Messages from others after the caller's read marker.
    pub unread: u64,
}

/// A member's cumulative receipt markers in one conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptState {
    /// Conversation.
    pub conversation_id: ConversationId,
    /// Member whose markers these are.
    pub user_id: UserId,
    /// Every message up to this sequence reached one of the member's devices.
    pub delivered_seq: Seq,
    /// The member has read every message up to this sequence.
    pub read_seq: Seq,
}

/// Someone found by [`crate::requests::FindPeople`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// User id.
    pub user_id: UserId,
    /// Username (what a chat is started with).
    pub username: String,
    /// Display name, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// Whether a user is online, and when they were last seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    /// The user.
    pub user_id: UserId,
    /// True while at least one of the user's devices is connected.
    pub online: bool,
    /// When the user's last device disconnected; `None` if never seen.
    pub last_seen: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_are_the_serialized_names_and_parse_back() {
        for kind in [
            ConversationKind::Direct,
            ConversationKind::Group,
            ConversationKind::Other,
        ] {
            assert_eq!(
                serde_json::to_string(&kind).unwrap(),
                format!("\"{}\"", kind.as_str())
            );
            assert_eq!(kind.as_str().parse::<ConversationKind>(), Ok(kind));
        }
        for role in [MemberRole::Admin, MemberRole::Member, MemberRole::Other] {
            assert_eq!(
                serde_json::to_string(&role).unwrap(),
                format!("\"{}\"", role.as_str())
            );
            assert_eq!(role.as_str().parse::<MemberRole>(), Ok(role));
        }
        assert!(
            "owner".parse::<MemberRole>().is_err(),
            "a stored name this version does not know is an error, not 'member'"
        );
    }

    /// A newer relay's values are read as "something this version does not know", so one new
    /// value cannot make a whole frame (a page of history, the end of a sync) unreadable.
    #[test]
    fn values_from_a_newer_relay_read_as_unknown_instead_of_failing_the_frame() {
        let record: MessageRecord = serde_json::from_str(
            r#"{"message_id":1,"conversation_id":2,"seq":3,"sender_id":4,"sender":"bob",
                "client_id":"c","body":"?","sent_at":5,"kind":"poll"}"#,
        )
        .unwrap();
        assert_eq!(record.kind, MessageKind::Unknown);
        assert_eq!("unknown".parse::<MessageKind>(), Ok(MessageKind::Unknown));
        assert_eq!(
            serde_json::from_str::<ConversationKind>(r#""channel""#).unwrap(),
            ConversationKind::Other
        );
        assert_eq!(
            serde_json::from_str::<MemberRole>(r#""owner""#).unwrap(),
            MemberRole::Other
        );
        assert_eq!(
            serde_json::from_str::<PresenceVisibility>(r#""everyone""#).unwrap(),
            PresenceVisibility::Other
        );
        let notice: Notice = serde_json::from_str(r#"{"action":"pinned"}"#).unwrap();
        assert_eq!(notice.action, NoticeAction::Other);
    }
}
