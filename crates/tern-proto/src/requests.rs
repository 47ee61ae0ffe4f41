//! The requests a client sends, one struct per kind: [`crate::ClientFrame`] tags each with its
//! `type`, and the relay's operations take them whole, so adding a field is one edit here.

use serde::{Deserialize, Serialize};

use crate::{
    Attachment, ConversationId, MessageKind, PresenceVisibility, RequestId, Seq, SyncCursors,
};

/// Application-level ping; answered with [`crate::ServerFrame::Pong`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ping {
    /// Request id.
    pub id: RequestId,
}

/// Ask for everything missed since the given cursors; answered with zero or more
/// [`crate::ServerFrame::SyncPage`] and one [`crate::ServerFrame::SyncDone`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// Request id.
    pub id: RequestId,
    /// Highest sequence held per conversation; absent conversations start at 0.
    #[serde(default)]
    pub cursors: SyncCursors,
    /// `changes_version` from the previous [`crate::ServerFrame::SyncDone`], or 0.
    #[serde(default)]
    pub changes_since: u64,
}

/// Send a message or an event about one (edit, delete, reaction); answered with
/// [`crate::ServerFrame::Ack`] once stored. Every kind is appended to the conversation's log
/// with its own `seq` and deduplicated by `client_id`, so an edit or a reaction made offline
/// is simply resent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendMessage {
    /// Request id.
    pub id: RequestId,
    /// Target conversation.
    pub conversation_id: ConversationId,
    /// Client-chosen id, unique per sender; resending it never stores a second copy.
    pub client_id: crate::ClientId,
    /// Text (`text`, `edit`), emoji (`react`, `unreact`), or empty (`delete`).
    #[serde(default)]
    pub body: String,
    /// What is sent; `text` when absent.
    #[serde(default, skip_serializing_if = "MessageKind::is_text")]
    pub kind: MessageKind,
    /// For events: the text message they change (required for every kind but `text`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_seq: Option<Seq>,
    /// For text: the earlier message this one replies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<Seq>,
    /// For text: an uploaded file (then `body` is an optional caption and may be empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Attachment>,
    /// The client id of the sender's message in this conversation that comes before this one
    /// and was not yet acknowledged when this one was sent: this one is stored only once that
    /// one is (`out_of_order` otherwise, to retry after it). Pipelined sends keep their order
    /// so even when one of them is refused for a moment (a rate limit, a failed commit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<crate::ClientId>,
    /// For text written while the device could not send it (offline, the relay down): when
    /// the user wrote it, on the relay's clock as far as the device knows it (ms). The relay
    /// keeps it as the author says (never later than `sent_at`) and passes it on; it orders
    /// nothing. Recipients show it beside the time the relay stored the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_at: Option<crate::Timestamp>,
}

/// Start (or find) the direct conversation with a user; answered with
/// [`crate::ServerFrame::Conversation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartDirect {
    /// Request id.
    pub id: RequestId,
    /// The other user's username.
    pub username: String,
}

/// Create a group with the caller as admin; answered with [`crate::ServerFrame::Conversation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateGroup {
    /// Request id.
    pub id: RequestId,
    /// Group name.
    pub name: String,
    /// Usernames of the other members.
    #[serde(default)]
    pub members: Vec<String>,
}

/// Rename a group (any member); answered with [`crate::ServerFrame::Conversation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenameGroup {
    /// Request id.
    pub id: RequestId,
    /// The group.
    pub conversation_id: ConversationId,
    /// New name.
    pub name: String,
}

/// Add members to a group (admins only); answered with [`crate::ServerFrame::Conversation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddMembers {
    /// Request id.
    pub id: RequestId,
    /// The group.
    pub conversation_id: ConversationId,
    /// Usernames to add.
    pub usernames: Vec<String>,
}

/// Remove a member from a group (admins only); answered with [`crate::ServerFrame::Conversation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveMember {
    /// Request id.
    pub id: RequestId,
    /// The group.
    pub conversation_id: ConversationId,
    /// Username to remove.
    pub username: String,
}

/// Leave a group; answered with [`crate::ServerFrame::Ok`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaveGroup {
    /// Request id.
    pub id: RequestId,
    /// The group.
    pub conversation_id: ConversationId,
}

/// List the caller's conversations; answered with [`crate::ServerFrame::Conversations`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListConversations {
    /// Request id.
    pub id: RequestId,
}

/// Page older messages; answered with [`crate::ServerFrame::History`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRequest {
    /// Request id.
    pub id: RequestId,
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Return messages strictly before this sequence; `None` means the newest.
    #[serde(default)]
    pub before_seq: Option<Seq>,
    /// At most this many messages (capped by the relay at 200).
    #[serde(default = "default_history_limit")]
    pub limit: u32,
}

/// Report that this device stored every message up to `seq`. No reply on success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkDelivered {
    /// Request id.
    pub id: RequestId,
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Cumulative: everything up to and including this sequence.
    pub seq: Seq,
}

/// Mark everything up to `seq` read; answered with [`crate::ServerFrame::Ok`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkRead {
    /// Request id.
    pub id: RequestId,
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Cumulative: everything up to and including this sequence.
    pub seq: Seq,
}

/// Typing started (`active: true`) or stopped. Never stored. No reply on success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetTyping {
    /// Request id.
    pub id: RequestId,
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Whether the user is typing.
    pub active: bool,
}

fn default_history_limit() -> u32 {
    50
}

/// Set (or with `None` or blank, clear) the caller's display name; answered with
/// [`crate::ServerFrame::Ok`]. Every conversation the caller is in changes shape (its members
/// carry display names), so members learn the new name by push and by sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetProfile {
    /// Request id.
    pub id: RequestId,
    /// The name shown instead of the username.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// Set (or with `None`, remove) the caller's profile picture, or with `conversation_id` a
/// group's (any member may, as with renaming); answered with [`crate::ServerFrame::Ok`]. The
/// picture must be a complete upload of the caller's (or one they can read), an image of at
/// most [`MAX_PICTURE_BYTES`]. Every conversation that shows it changes shape, so members
/// learn of it by push and by sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetAvatar {
    /// Request id.
    pub id: RequestId,
    /// The group whose picture this is; absent for the caller's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<ConversationId>,
    /// The new picture, or `None` to remove it.
    #[serde(default)]
    pub avatar: Option<crate::Picture>,
}

/// Largest profile or group picture (bytes). Clients resize before uploading.
pub const MAX_PICTURE_BYTES: u64 = 1024 * 1024;

/// Find people to start a chat with; answered with [`crate::ServerFrame::People`]. Matches
/// username prefixes and display names among people the caller shares a conversation with,
/// and an exact username for everyone else (no directory to scrape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindPeople {
    /// Request id.
    pub id: RequestId,
    /// What was typed.
    pub query: String,
}

/// Block a user: they can no longer message you directly, add you to groups or see your
/// presence, and they are not told. Answered with [`crate::ServerFrame::Ok`]; every device of
/// the caller gets [`crate::ServerFrame::Privacy`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// Request id.
    pub id: RequestId,
    /// Whom to block.
    pub username: String,
}

/// Lift a block; answered like [`Block`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unblock {
    /// Request id.
    pub id: RequestId,
    /// Whom to unblock.
    pub username: String,
}

/// Change privacy settings (absent fields stay as they are); answered like [`Block`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetPrivacy {
    /// Request id.
    pub id: RequestId,
    /// Who sees the caller's online state and last-seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<PresenceVisibility>,
    /// Whether the caller sends (and sees) read receipts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_receipts: Option<bool>,
}

/// Change how one of the caller's conversations behaves on their devices (muted, pinned,
/// marked unread, archived): the fields the change names, on top of the row as the relay has
/// it when the change arrives, so changes of different fields from two devices both hold.
/// Answered with [`crate::ServerFrame::Ok`]; every device of the caller gets the whole row in
/// [`crate::ServerFrame::ChatPrefs`]. At most [`MAX_PINNED`] conversations are pinned at once.
///
/// The first form of this request, `{id, prefs: {conversation_id, muted, …}}` (the whole row,
/// every field set), is still read, as a change of every field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SetChatPrefsForms")]
pub struct SetChatPrefs {
    /// Request id.
    pub id: RequestId,
    /// Which conversation.
    pub conversation_id: crate::ConversationId,
    /// What to change.
    pub change: crate::ChatPrefsChange,
    /// When the user made this change, on the device's clock (ms). Of two changes of one
    /// setting, the later edit holds, whatever order they reach the relay in (a device that
    /// was offline, an answer lost with a link): an earlier one is refused `superseded`.
    /// Absent (older clients): the relay's time of arrival.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<crate::Timestamp>,
}

/// Either form of [`SetChatPrefs`] as it arrives.
#[derive(Deserialize)]
struct SetChatPrefsForms {
    id: RequestId,
    #[serde(default)]
    conversation_id: Option<crate::ConversationId>,
    #[serde(default)]
    change: Option<crate::ChatPrefsChange>,
    #[serde(default)]
    prefs: Option<crate::ChatPrefs>,
    #[serde(default)]
    edited_at: Option<crate::Timestamp>,
}

impl TryFrom<SetChatPrefsForms> for SetChatPrefs {
    type Error = &'static str;

    fn try_from(f: SetChatPrefsForms) -> Result<Self, Self::Error> {
        match (f.conversation_id, f.change, f.prefs) {
            (Some(conversation_id), Some(change), None) => Ok(SetChatPrefs {
                id: f.id,
                conversation_id,
                change,
                edited_at: f.edited_at,
            }),
            (None, None, Some(p)) => Ok(SetChatPrefs {
                id: f.id,
                conversation_id: p.conversation_id,
                change: crate::ChatPrefsChange {
                    mute: Some(crate::Mute {
                        muted: p.muted,
                        until: p.muted_until,
                    }),
                    pin: Some(crate::Pin { at: p.pinned_at }),
                    marked_unread: Some(p.marked_unread),
                    archived: Some(p.archived),
                },
                edited_at: f.edited_at,
            }),
            _ => Err("set_chat_prefs takes conversation_id and change"),
        }
    }
}

/// Most conversations one user has pinned at once (as Telegram allows).
pub const MAX_PINNED: usize = 5;

/// Accept a message request; answered with [`crate::ServerFrame::Conversation`]. Replying in
/// the conversation accepts it too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptRequest {
    /// Request id.
    pub id: RequestId,
    /// The conversation.
    pub conversation_id: ConversationId,
}
