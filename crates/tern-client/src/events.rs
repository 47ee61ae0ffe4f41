//! What the engine tells its users: a typed event stream and the view types it carries.

use std::time::SystemTime;

use serde::Serialize;
use tern_proto::{
    ChatPrefs, ConversationId, ConversationInfo, Presence, Privacy, ReceiptState, Seq, Timestamp,
    UserId,
};

/// The state of the link to the relay, as the UI should show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConnectionState {
    /// A connection attempt is under way.
    Connecting,
    /// Connected; catching up on what was missed.
    Syncing,
    /// Connected and up to date.
    Online,
    /// Not connected; the next attempt is at `retry_at` (ms since the epoch).
    Offline {
        /// When the next attempt starts.
        retry_at: Timestamp,
        /// Why the last connection ended or failed.
        reason: String,
    },
    /// The relay no longer accepts this device's token (logged out, expired, revoked).
    SignedOut {
        /// Why.
        reason: String,
    },
}

/// Where one of the user's messages stands, or that a message is someone else's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum MessageStatus {
    /// Written, waiting in the outbox.
    Queued,
    /// Stored by the relay.
    Sent,
    /// Stored on a device of every other member.
    Delivered,
    /// Read by every other member.
    Read,
    /// Refused permanently; can be retried or deleted.
    Failed {
        /// The relay's reason.
        reason: String,
    },
    /// Someone else's message.
    #[default]
    Received,
}

/// The message a reply quotes, as the chat shows it above the reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Quote {
    /// The quoted message's sequence (to jump to it).
    pub seq: Seq,
    /// Its author's username; empty when the message is not in the cache yet.
    pub sender: String,
    /// Its author's display name where known, else the username.
    pub sender_name: String,
    /// The start of its current text; empty when deleted or not cached.
    pub snippet: String,
    /// The original was deleted for everyone.
    pub deleted: bool,
    /// The original is in the cache (otherwise the UI loads older history to show it).
    pub known: bool,
}

impl Quote {
    /// A quote of `seq` whose content is looked up when the view is built.
    pub fn pending(seq: Seq) -> Quote {
        Quote {
            seq,
            ..Quote::default()
        }
    }
}

/// One emoji under a message: how many reacted with it, whether the user did, and who.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReactionView {
    /// The emoji.
    pub emoji: String,
    /// How many members reacted with it.
    pub count: usize,
    /// The signed-in user is one of them.
    pub mine: bool,
    /// Their display names (usernames where none is set).
    pub users: Vec<String>,
}

/// A message as shown in a chat: stored or still in the outbox, with the edits, deletion and
/// reactions known so far (the user's own still-unsent ones included).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    /// Conversation.
    pub conversation_id: ConversationId,
    /// Sequence once stored by the relay.
    pub seq: Option<Seq>,
    /// The sender's id for it.
    pub client_id: String,
    /// Author id.
    pub sender_id: UserId,
    /// Author's username.
    pub sender: String,
    /// Author's display name where known, else the username: what the chat shows.
    pub sender_name: String,
    /// Text.
    pub body: String,
    /// Relay time when stored, or local time when queued.
    pub sent_at: Timestamp,
    /// When the user wrote it, for a message of this device's that reached the relay a minute
    /// or more later (written offline); otherwise none.
    pub written_at: Option<Timestamp>,
    /// Written by the signed-in user.
    pub mine: bool,
    /// Ticks.
    #[serde(flatten)]
    pub status: MessageStatus,
    /// The message this one replies to.
    pub reply_to: Option<Quote>,
    /// Edited since it was sent.
    pub edited: bool,
    /// Deleted for everyone: only a tombstone remains (`body` is empty).
    pub deleted: bool,
    /// Reactions, one entry per emoji.
    pub reactions: Vec<ReactionView>,
    /// Someone else's message that mentions the signed-in user (`@username`).
    pub mentions_me: bool,
    /// An attached file.
    pub attachment: Option<tern_proto::Attachment>,
    /// Where the attached file is on this device, when it is (sent from here, or downloaded).
    pub local_file: Option<String>,
    /// A group notice (created, someone added, removed or left, renamed, picture changed; the
    /// sender did it): shown as a line of its own, never notified or counted as unread.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<tern_proto::Notice>,
    /// An entry of a kind this version does not know (a newer relay's): shown as a line
    /// saying it needs a newer version, never notified or counted as unread.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unsupported: bool,
}

/// A conversation as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConversationView {
    /// Shape and members.
    #[serde(flatten)]
    pub info: ConversationInfo,
    /// Display title: the group name, or the other member's display name (else username).
    pub title: String,
    /// The picture to show: the group's, or the other member's (members carry their own).
    pub picture: Option<tern_proto::Picture>,
    /// Newest message (outbox included).
    pub last_message: Option<ChatMessage>,
    /// Messages from others after the user's read marker.
    pub unread: u64,
    /// For direct conversations, whether the other member is online.
    pub online: Option<bool>,
    /// For direct conversations, when the other member was last seen (if they show it).
    pub last_seen: Option<Timestamp>,
    /// A message request: someone the user shares no accepted conversation with started it
    /// or added them. It is listed apart, notifies quietly, and shares no presence, typing or
    /// read receipts until accepted (or replied to).
    pub request: bool,
}

/// Something that happened.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The link state changed.
    Connection {
        /// New state.
        state: ConnectionState,
    },
    /// Sync made progress (`done` once caught up).
    SyncProgress {
        /// Messages received so far in this sync.
        messages: usize,
        /// Whether the sync finished.
        done: bool,
    },
    /// A message appeared: received, sent from another device, or written here.
    Message {
        /// The message.
        message: ChatMessage,
    },
    /// One of the user's messages changed status.
    Status {
        /// Conversation.
        conversation_id: ConversationId,
        /// The message's client id.
        client_id: String,
        /// Sequence if stored.
        seq: Option<Seq>,
        /// The relay's time, when this status is the relay storing it (what the message then
        /// shows instead of the time it was written).
        #[serde(skip_serializing_if = "Option::is_none")]
        sent_at: Option<Timestamp>,
        /// When the user wrote it, when the relay stored it a minute or more later
        /// ([`ChatMessage::written_at`]).
        #[serde(skip_serializing_if = "Option::is_none")]
        written_at: Option<Timestamp>,
        /// New status.
        #[serde(flatten)]
        status: MessageStatus,
    },
    /// A stored message changed: edited, deleted (for everyone, or for this user), or its
    /// reactions did. Carries the message as it now shows; a message deleted for this user
    /// only comes with `hidden` set and should disappear.
    MessageChanged {
        /// The message now.
        message: ChatMessage,
        /// Deleted for this user: remove it from the view.
        hidden: bool,
    },
    /// An edit, delete or reaction of the user's was refused for good (e.g. the edit window
    /// closed); it has been dropped and the message shows as before.
    ActionRefused {
        /// Conversation.
        conversation_id: ConversationId,
        /// The message it was about.
        seq: Seq,
        /// What was refused: an edit, a delete, a reaction or its removal.
        kind: tern_proto::MessageKind,
        /// What it said: an edit's new text (given back, so what the user wrote is not lost),
        /// a reaction's emoji; empty for a delete.
        body: String,
        /// The relay's reason.
        reason: String,
    },
    /// An attachment moved: `done` of `total` bytes uploaded (the user's message with
    /// `client_id`) or downloaded (`blob_id`).
    Transfer {
        /// Conversation.
        conversation_id: ConversationId,
        /// The uploading message's client id; empty for a download.
        client_id: String,
        /// The blob; empty until the upload has one.
        blob_id: String,
        /// Bytes moved so far.
        done: u64,
        /// Bytes in all.
        total: u64,
        /// `true` for an upload.
        upload: bool,
    },
    /// A message was deleted from the outbox.
    Deleted {
        /// Conversation.
        conversation_id: ConversationId,
        /// The message's client id.
        client_id: String,
    },
    /// A member's receipt markers moved (ticks may have changed).
    Receipt {
        /// New markers.
        receipt: ReceiptState,
    },
    /// Someone started or stopped typing (stops are also synthesized on expiry).
    Typing {
        /// Conversation.
        conversation_id: ConversationId,
        /// Who.
        user_id: UserId,
        /// Typing or not.
        active: bool,
    },
    /// How the user's conversations behave on their devices (muted, pinned) changed, here or
    /// on another device: every conversation muted or pinned now.
    ChatPrefs {
        /// Every conversation muted or pinned, this device's changes on their way included.
        all: Vec<ChatPrefs>,
    },
    /// The user's privacy settings or block list changed (here or on another device).
    Privacy {
        /// The settings now.
        privacy: Privacy,
    },
    /// A contact's presence changed.
    Presence {
        /// New presence.
        presence: Presence,
    },
    /// A conversation was created or changed.
    Conversation {
        /// Current shape.
        conversation: ConversationInfo,
    },
    /// The user left or was removed from a conversation.
    ConversationRemoved {
        /// Which.
        conversation_id: ConversationId,
    },
}

/// Milliseconds since the epoch for a [`SystemTime`].
pub fn to_ms(t: SystemTime) -> Timestamp {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as Timestamp)
        .unwrap_or(0)
}
