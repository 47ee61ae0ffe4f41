//! How the user's conversations behave on their devices (muted, pinned, marked unread,
//! archived): the relay's word, and this device's change on top of it until the relay has it.
//!
//! Each row holds what the relay last said and, in `mine`, what this device changed and the
//! relay has not yet said back: only the fields the user changed ([`ChatPrefsChange`]), each
//! with the number of its edit ([`Mine`]). What a row shows is the relay's word with the
//! change on top; what is sent is the change alone, which the relay applies to its row as it
//! stands then, so a change made here (offline or at the same moment as another device's)
//! never writes an old copy of the other fields over what the account's other devices
//! changed. It is sent by the connection's flush (at once when online, after the next sync
//! otherwise), like a read marker, each field once per edit. A field has landed once the
//! relay said it stored that edit (`ok`) and the relay's word has it (its echo, which every
//! device of the user gets in the order the relay stored the changes), or once a sync has it;
//! it then leaves `mine`. The fields of a request the relay refuses go, unless edited again
//! since, and the relay's word shows again there.

use rusqlite::{params, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use tern_proto::{ChatPrefs, ChatPrefsChange, ConversationId, Timestamp};

use crate::error::Result;

/// The four fields a change may hold, each sent and settled on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Mute,
    Pin,
    MarkedUnread,
    Archived,
}

impl Field {
    pub(crate) const ALL: [Field; 4] = [
        Field::Mute,
        Field::Pin,
        Field::MarkedUnread,
        Field::Archived,
    ];

    /// Whether `c` changes this field.
    pub(crate) fn in_change(self, c: &ChatPrefsChange) -> bool {
        match self {
            Field::Mute => c.mute.is_some(),
            Field::Pin => c.pin.is_some(),
            Field::MarkedUnread => c.marked_unread.is_some(),
            Field::Archived => c.archived.is_some(),
        }
    }

    /// The fields of `c` that `keep` keeps.
    pub(crate) fn select(c: &ChatPrefsChange, keep: impl Fn(Field) -> bool) -> ChatPrefsChange {
        Field::ALL
            .into_iter()
            .filter(|&f| f.in_change(c) && keep(f))
            .fold(ChatPrefsChange::default(), |kept, f| kept.then(f.alone(c)))
    }

    /// `c` with this field alone.
    pub(crate) fn alone(self, c: &ChatPrefsChange) -> ChatPrefsChange {
        let none = ChatPrefsChange::default();
        match self {
            Field::Mute => ChatPrefsChange {
                mute: c.mute,
                ..none
            },
            Field::Pin => ChatPrefsChange { pin: c.pin, ..none },
            Field::MarkedUnread => ChatPrefsChange {
                marked_unread: c.marked_unread,
                ..none
            },
            Field::Archived => ChatPrefsChange {
                archived: c.archived,
                ..none
            },
        }
    }
}

/// One value per field a change may hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerField<T> {
    // (Private: read with `get`.)
    #[serde(default)]
    mute: T,
    #[serde(default)]
    pin: T,
    #[serde(default)]
    marked_unread: T,
    #[serde(default)]
    archived: T,
}

impl<T: Copy + Default> PerField<T> {
    pub(crate) fn get(&self, f: Field) -> T {
        match f {
            Field::Mute => self.mute,
            Field::Pin => self.pin,
            Field::MarkedUnread => self.marked_unread,
            Field::Archived => self.archived,
        }
    }

    /// `value` for field `f`, the default for the others.
    #[cfg(test)]
    pub(crate) fn only(f: Field, value: T) -> Self {
        let mut g = Self::default();
        g.set(f, value);
        g
    }

    fn set(&mut self, f: Field, value: T) {
        let slot = match f {
            Field::Mute => &mut self.mute,
            Field::Pin => &mut self.pin,
            Field::MarkedUnread => &mut self.marked_unread,
            Field::Archived => &mut self.archived,
        };
        *slot = value;
    }
}

/// A number per field: which of this device's edits of it a change holds.
pub type Gens = PerField<u64>;

/// When the user made this device's latest edit of each field (ms, on the relay's clock as
/// this device knows it: [`relay_now`]): sent with the change, so that of two devices' changes
/// of one setting the later edit holds whichever reaches the relay last. (A change kept from
/// before edits were timed has none, and the relay takes its time of arrival.)
pub type EditTimes = PerField<Option<Timestamp>>;

/// What this device changed in one conversation and the relay has not yet said back, as
/// kept in `mine`: the fields changed, which edit each is, and the latest edit of each the
/// relay said it stored (`ok`). A field goes once its latest edit was stored and the relay's
/// word has it: the relay's own echo, which it sends after storing. Until then it shows on
/// top of the relay's word, whatever that word says; so an undo made before the echo of
/// what it undoes (mute, unmute, mute again) is not taken for landed because the relay's
/// older word happens to match it. (A change kept from before edits were numbered has them
/// at 0: it is sent, and goes as soon as the relay's word has it, as it did then.)
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Mine {
    #[serde(flatten)]
    change: ChatPrefsChange,
    #[serde(default)]
    gens: Gens,
    #[serde(default)]
    stored: Gens,
    #[serde(default)]
    at: EditTimes,
}

impl Mine {
    /// Whether the relay said it stored field `f` at its latest edit. A change kept from
    /// before edits were numbered (edit 0) never is: it is sent until the relay's word has it.
    fn is_stored(&self, f: Field) -> bool {
        let gen = self.gens.get(f);
        gen > 0 && gen <= self.stored.get(f)
    }

    /// Less the fields for which `gone` holds.
    fn less(self, gone: impl Fn(Field) -> bool) -> Mine {
        Mine {
            change: Field::select(&self.change, |f| !gone(f)),
            ..self
        }
    }

    /// Less the fields that landed: the relay stored their latest edit and its word `relay`
    /// has them (a change from before edits were numbered: as soon as the word has it).
    fn settle(self, relay: &ChatPrefs) -> Mine {
        let pending = self.change.beyond(relay);
        self.less(|f| !f.in_change(&pending) && (self.is_stored(f) || self.gens.get(f) == 0))
    }

    /// After a sync's word `relay`: the fields the relay stored go (its word is the latest,
    /// whatever came after them), and so do untimed ones it has (a change from before edits
    /// were timed); the rest is still to send. A timed edit the relay's word happens to match
    /// is sent all the same: its time may outrank another device's edit still on its way
    /// (unmute here, mute again here, while another device's unmute waits to be sent).
    fn synced(self, relay: &ChatPrefs) -> Mine {
        let pending = self.change.beyond(relay);
        self.less(|f| self.is_stored(f) || (!f.in_change(&pending) && self.at.get(f).is_none()))
    }

    /// The fields still to send: those whose latest edit the relay has not said it stored.
    fn unsent(&self) -> ChatPrefsChange {
        Field::select(&self.change, |f| !self.is_stored(f))
    }
}

/// A change of this device's to send: its conversation, fields and their edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outgoing {
    /// Its conversation.
    pub conversation_id: ConversationId,
    /// The fields to set.
    pub change: ChatPrefsChange,
    /// Which edit each field is.
    pub gens: Gens,
    /// When the user made each field's edit.
    pub at: EditTimes,
}

fn encode(m: &Mine) -> String {
    serde_json::to_string(m).expect("a change serializes")
}

fn decode(text: &str) -> Option<Mine> {
    serde_json::from_str(text).ok()
}

/// What a row shows: the relay's word with this device's change on top.
fn shown(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChatPrefs> {
    let relay = ChatPrefs::from_row(r)?;
    let mine: Option<String> = r.get(7)?;
    Ok(match mine.as_deref().and_then(decode) {
        Some(m) => m.change.on(&relay),
        None => relay,
    })
}

/// The relay's word on `conv` and this device's change, if the row exists.
fn layers(
    txn: &Transaction<'_>,
    conv: ConversationId,
) -> Result<Option<(ChatPrefs, Option<Mine>)>> {
    Ok(txn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM chat_prefs WHERE conversation_id = ?1"
        ))?
        .query_row([conv], |r| {
            let mine: Option<String> = r.get(7)?;
            Ok((ChatPrefs::from_row(r)?, mine.as_deref().and_then(decode)))
        })
        .optional()?)
}

/// Keep `mine` as this device's change on `conv` (no field left: nothing is kept).
fn put_mine(txn: &Transaction<'_>, conv: ConversationId, mine: Option<Mine>) -> Result<()> {
    let mine = mine.filter(|m| !m.change.is_empty()).map(|m| encode(&m));
    txn.prepare_cached(
        "INSERT INTO chat_prefs (conversation_id, mine) VALUES (?1, ?2)
         ON CONFLICT (conversation_id) DO UPDATE SET mine = excluded.mine",
    )?
    .execute(params![conv, mine])?;
    Ok(())
}

/// The next edit's number (it only grows, across conversations and restarts).
fn next_gen(txn: &Transaction<'_>) -> Result<u64> {
    let last: Option<String> = txn
        .prepare_cached("SELECT value FROM meta WHERE key = 'prefs_gen'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    let next = last.and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) + 1;
    txn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES ('prefs_gen', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute([next.to_string()])?;
    Ok(next)
}

const COLUMNS: &str =
    "conversation_id, muted, muted_until, pinned_at, marked_unread, archived, archived_at, mine";

/// Every conversation muted, pinned or marked unread, this device's changes included.
pub fn all(txn: &Transaction<'_>) -> Result<Vec<ChatPrefs>> {
    let rows = txn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM chat_prefs ORDER BY conversation_id"
        ))?
        .query_map([], shown)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows.into_iter().filter(|p| !p.is_empty()).collect())
}

/// What one conversation shows now.
pub fn one(txn: &Transaction<'_>, conv: ConversationId) -> Result<ChatPrefs> {
    Ok(txn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM chat_prefs WHERE conversation_id = ?1"
        ))?
        .query_row([conv], shown)
        .optional()?
        .unwrap_or(ChatPrefs::none(conv)))
}

/// How many conversations other than `except` are pinned among those the user is still in,
/// this device's changes included (as each row shows: [`shown`]).
pub fn pinned_elsewhere(txn: &Transaction<'_>, except: ConversationId) -> Result<usize> {
    let rows = txn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM chat_prefs JOIN conversations c ON c.id = conversation_id
             WHERE conversation_id <> ?1 AND c.active = 1"
        ))?
        .query_map([except], shown)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows.iter().filter(|p| p.pinned_at.is_some()).count())
}

/// The `meta` key of how far the relay's clock is ahead of this device's (ms; negative:
/// behind), as its last welcome said.
pub const CLOCK_OFFSET_KEY: &str = "relay_clock_offset_ms";

/// The `meta` keys of the relay's limits, as its last welcome said (absent until one did).
pub const MAX_MESSAGE_BYTES_KEY: &str = "relay_max_message_bytes";
/// See [`MAX_MESSAGE_BYTES_KEY`].
pub const EDIT_WINDOW_KEY: &str = "relay_edit_window_ms";
/// See [`MAX_MESSAGE_BYTES_KEY`].
pub const MAX_ATTACHMENT_BYTES_KEY: &str = "relay_max_attachment_bytes";

/// What the relay takes, as its last welcome said, for an app to say so before sending: the
/// longest message body, how long a message stays editable, and how far its clock is ahead of
/// this device's (to compare its times with now). `None`: not known yet (never connected, or a
/// relay that does not say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RelayLimits {
    /// Longest message body (bytes of UTF-8).
    pub max_message_bytes: Option<u64>,
    /// How long after sending its author may edit a message (ms).
    pub edit_window_ms: Option<u64>,
    /// Largest attachment (bytes).
    pub max_attachment_bytes: Option<u64>,
    /// The relay's clock minus this device's (ms).
    pub clock_offset_ms: i64,
}

/// Keep what a welcome said of the relay's limits and clock.
pub fn note_welcome(
    txn: &Transaction<'_>,
    max_message_bytes: usize,
    edit_window_ms: Option<u64>,
    max_attachment_bytes: Option<u64>,
    clock_offset_ms: i64,
) -> Result<()> {
    crate::cache::meta_set(txn, CLOCK_OFFSET_KEY, &clock_offset_ms.to_string())?;
    crate::cache::meta_set(txn, MAX_MESSAGE_BYTES_KEY, &max_message_bytes.to_string())?;
    for (key, value) in [
        (EDIT_WINDOW_KEY, edit_window_ms),
        (MAX_ATTACHMENT_BYTES_KEY, max_attachment_bytes),
    ] {
        match value {
            Some(v) => crate::cache::meta_set(txn, key, &v.to_string())?,
            None => {
                txn.prepare_cached("DELETE FROM meta WHERE key = ?1")?
                    .execute([key])?;
            }
        }
    }
    Ok(())
}

/// The relay's limits as last known ([`note_welcome`]).
pub fn relay_limits(txn: &Transaction<'_>) -> Result<RelayLimits> {
    let number = |key| -> Result<Option<i64>> {
        Ok(crate::cache::meta_get(txn, key)?.and_then(|v| v.parse::<i64>().ok()))
    };
    let unsigned = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok());
    Ok(RelayLimits {
        max_message_bytes: unsigned(number(MAX_MESSAGE_BYTES_KEY)?),
        edit_window_ms: unsigned(number(EDIT_WINDOW_KEY)?),
        max_attachment_bytes: unsigned(number(MAX_ATTACHMENT_BYTES_KEY)?),
        clock_offset_ms: number(CLOCK_OFFSET_KEY)?.unwrap_or(0),
    })
}

/// Now on the relay's clock, as far as this device knows it: edit times are compared with
/// other devices' and with the relay's own, so a device clock set wrong must not make its
/// edits outrank later ones, or lose to earlier ones.
fn relay_now(txn: &Transaction<'_>) -> Result<Timestamp> {
    let offset = crate::cache::meta_get(txn, CLOCK_OFFSET_KEY)?
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    Ok(tern_proto::now_ms().saturating_add(offset))
}

/// This device's change: the conversation is to show `p`. Kept as the fields in which `p`
/// differs from what it shows now, each a new edit, on top of any earlier change not yet
/// landed; shown at once, and marked for the relay.
pub fn set_here(txn: &Transaction<'_>, p: &ChatPrefs) -> Result<()> {
    let conv = p.conversation_id;
    let (relay, earlier) = layers(txn, conv)?.unwrap_or((ChatPrefs::none(conv), None));
    let mut mine = earlier.unwrap_or_default();
    let delta = ChatPrefsChange::between(&mine.change.on(&relay), p);
    if delta.is_empty() {
        return Ok(());
    }
    let gen = next_gen(txn)?;
    let now = relay_now(txn)?;
    mine.change = mine.change.then(delta);
    for f in Field::ALL.into_iter().filter(|f| f.in_change(&delta)) {
        mine.gens.set(f, gen);
        mine.at.set(f, Some(now));
    }
    put_mine(txn, conv, Some(mine))?;
    sweep(txn)
}

/// Write the relay's word on one conversation under whatever this device changed, and let
/// go the fields of the change that landed (`settle`: all the relay has, with `sync`: no
/// request of this device's is unanswered then).
fn put_relay(txn: &Transaction<'_>, p: &ChatPrefs, sync: bool) -> Result<()> {
    txn.prepare_cached(
        "INSERT INTO chat_prefs (conversation_id, muted, muted_until, pinned_at, marked_unread,
                                 archived, archived_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (conversation_id) DO UPDATE SET muted = excluded.muted,
             muted_until = excluded.muted_until, pinned_at = excluded.pinned_at,
             marked_unread = excluded.marked_unread, archived = excluded.archived,
             archived_at = excluded.archived_at",
    )?
    .execute(params![
        p.conversation_id,
        p.muted,
        p.muted_until,
        p.pinned_at,
        p.marked_unread,
        p.archived,
        p.archived_at
    ])?;
    if let Some((relay, Some(mine))) = layers(txn, p.conversation_id)? {
        let settled = if sync {
            mine.synced(&relay)
        } else {
            mine.settle(&relay)
        };
        if settled != mine {
            put_mine(txn, p.conversation_id, Some(settled))?;
        }
    }
    Ok(())
}

/// Rows with nothing set and no change of this device's on its way are not kept.
fn sweep(txn: &Transaction<'_>) -> Result<()> {
    txn.prepare_cached(
        "DELETE FROM chat_prefs WHERE mine IS NULL AND muted = 0 AND pinned_at IS NULL
             AND marked_unread = 0 AND archived = 0",
    )?
    .execute([])?;
    Ok(())
}

/// The relay's word on one conversation (a push); whether what it shows changed.
pub fn apply(txn: &Transaction<'_>, p: &ChatPrefs) -> Result<bool> {
    let before = one(txn, p.conversation_id)?;
    put_relay(txn, p, false)?;
    sweep(txn)?;
    Ok(one(txn, p.conversation_id)? != before)
}

/// The relay's whole list: the relay's copy of every row becomes it (a conversation not in it
/// has nothing set).
///
/// With `sync` (the list a sync ends with), every field of this device's that the list has
/// landed, stored answer or not: a sync runs before this connection sends any change, and one
/// sent before the link dropped may have been stored without its answer arriving. Without it
/// (a list sent mid-session, after the relay's link to the other relays was away), changes of
/// this device's may be on their way or not yet sent, and the list may predate them: only the
/// fields whose latest edit the relay said it stored go, as with a single push.
pub fn replace(txn: &Transaction<'_>, list: &[ChatPrefs], sync: bool) -> Result<()> {
    let known: Vec<ConversationId> = txn
        .prepare_cached("SELECT conversation_id FROM chat_prefs")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for conv in known {
        if !list.iter().any(|p| p.conversation_id == conv) {
            put_relay(txn, &ChatPrefs::none(conv), sync)?;
        }
    }
    for p in list {
        put_relay(txn, p, sync)?;
    }
    sweep(txn)
}

/// How many chats have a change of this device's the relay has not settled yet.
pub fn unsettled(txn: &Transaction<'_>) -> Result<usize> {
    Ok(txn
        .prepare_cached("SELECT count(*) FROM chat_prefs WHERE mine IS NOT NULL")?
        .query_row([], |r| r.get::<_, i64>(0))? as usize)
}

/// Changes of this device's the relay has not stored yet: each field with its edit.
pub fn to_send(txn: &Transaction<'_>) -> Result<Vec<Outgoing>> {
    Ok(txn
        .prepare_cached(
            "SELECT conversation_id, mine FROM chat_prefs WHERE mine IS NOT NULL
             ORDER BY conversation_id",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<(ConversationId, String)>>>()?
        .into_iter()
        .filter_map(|(conv, mine)| {
            let m = decode(&mine)?;
            let change = m.unsent();
            (!change.is_empty()).then_some(Outgoing {
                conversation_id: conv,
                change,
                gens: m.gens,
                at: m.at,
            })
        })
        .collect())
}

/// The relay stored `sent` (its `ok`): each of its fields still at the edit it carried is
/// stored, and goes once the relay's word has it (its echo may have come first: then now).
pub fn stored(txn: &Transaction<'_>, sent: &Outgoing) -> Result<()> {
    let conv = sent.conversation_id;
    if let Some((relay, Some(mut mine))) = layers(txn, conv)? {
        for f in Field::ALL.into_iter().filter(|f| f.in_change(&sent.change)) {
            let gen = sent.gens.get(f);
            if mine.stored.get(f) < gen {
                mine.stored.set(f, gen);
            }
        }
        put_mine(txn, conv, Some(mine.settle(&relay)))?;
    }
    sweep(txn)
}

/// A message from someone else arrived in each of `spoken` (its conversation, and when the
/// relay stored the latest): an archived one comes back to the list, as this device's
/// change, if the message came after it was archived and it was not muted then. Whether any
/// did. Called with the relay's word in the cache (live, or after a sync's `sync_done`), so
/// the change carries the account's other choices as they are now.
pub fn bring_back(txn: &Transaction<'_>, spoken: &[(ConversationId, Timestamp)]) -> Result<bool> {
    let mut any = false;
    for &(conv, sent_at) in spoken {
        let mut p = one(txn, conv)?;
        let after = p.archived_at.is_some_and(|at| sent_at > at);
        if p.archived && after && !p.muted_at(sent_at) {
            p.archived = false;
            p.archived_at = None;
            set_here(txn, &p)?;
            any = true;
        }
    }
    Ok(any)
}

/// Note that messages from others arrived in a sync (each conversation with the latest
/// one's time): [`bring_back_noted`] judges them once the sync's `sync_done` brought the
/// relay's word. Kept in the cache, so a sync cut short judges them at the next one's end.
pub fn note_spoken(txn: &Transaction<'_>, spoken: &[(ConversationId, Timestamp)]) -> Result<()> {
    let mut stmt = txn.prepare_cached(
        "INSERT INTO spoken (conversation_id, sent_at) VALUES (?1, ?2)
         ON CONFLICT (conversation_id) DO UPDATE SET sent_at = max(sent_at, excluded.sent_at)",
    )?;
    for (conv, at) in spoken {
        stmt.execute(params![conv, at])?;
    }
    Ok(())
}

/// [`bring_back`] what [`note_spoken`] noted, and forget it; whether any chat came back.
pub fn bring_back_noted(txn: &Transaction<'_>) -> Result<bool> {
    let spoken: Vec<(ConversationId, Timestamp)> = txn
        .prepare_cached("SELECT conversation_id, sent_at FROM spoken")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    txn.prepare_cached("DELETE FROM spoken")?.execute([])?;
    bring_back(txn, &spoken)
}

/// The relay refused `sent` for good: each of its fields still at the edit it carried goes,
/// and the relay's word shows again there (a field changed again since stays, to be sent).
pub fn refused(txn: &Transaction<'_>, sent: &Outgoing) -> Result<()> {
    let conv = sent.conversation_id;
    if let Some((_, Some(mine))) = layers(txn, conv)? {
        let refused = |f: Field| f.in_change(&sent.change) && mine.gens.get(f) == sent.gens.get(f);
        put_mine(txn, conv, Some(mine.less(refused)))?;
    }
    sweep(txn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> rusqlite::Connection {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        conn
    }

    fn muted(conv: i64) -> ChatPrefs {
        ChatPrefs {
            muted: true,
            ..ChatPrefs::none(ConversationId(conv))
        }
    }

    fn pin(at: Option<i64>) -> ChatPrefsChange {
        ChatPrefsChange {
            pin: Some(tern_proto::Pin { at }),
            ..ChatPrefsChange::default()
        }
    }

    fn mute(muted: bool) -> ChatPrefsChange {
        ChatPrefsChange {
            mute: Some(tern_proto::Mute { muted, until: None }),
            ..ChatPrefsChange::default()
        }
    }

    fn pinned(conv: i64, at: i64) -> ChatPrefs {
        ChatPrefs {
            pinned_at: Some(at),
            ..ChatPrefs::none(ConversationId(conv))
        }
    }

    /// What would be sent now, as (conversation, fields).
    fn sent(txn: &Transaction<'_>) -> Vec<(ConversationId, ChatPrefsChange)> {
        to_send(txn)
            .unwrap()
            .into_iter()
            .map(|o| (o.conversation_id, o.change))
            .collect()
    }

    /// The relay answers `ok` to everything there is to send.
    fn all_stored(txn: &Transaction<'_>) {
        for out in to_send(txn).unwrap() {
            stored(txn, &out).unwrap();
        }
    }

    #[test]
    fn a_change_shows_at_once_and_goes_once_the_relay_stored_it_and_says_it() {
        let mut conn = db();
        let txn = conn.transaction().unwrap();
        let c = ConversationId(1);
        replace(&txn, &[muted(1)], true).unwrap();
        set_here(&txn, &ChatPrefs::none(c)).unwrap();
        assert!(all(&txn).unwrap().is_empty(), "unmuted at once");
        assert_eq!(sent(&txn), vec![(c, mute(false))]);
        // An older word (another device's, stored before) changes nothing shown.
        assert!(!apply(&txn, &muted(1)).unwrap());
        assert!(all(&txn).unwrap().is_empty());
        // Stored, not yet echoed: nothing more to send, still shown as changed here.
        all_stored(&txn);
        assert!(sent(&txn).is_empty());
        assert!(all(&txn).unwrap().is_empty());
        // Its echo: landed; the relay's later word (another device mutes) then shows.
        assert!(!apply(&txn, &ChatPrefs::none(c)).unwrap());
        assert!(apply(&txn, &muted(1)).unwrap());
        assert_eq!(all(&txn).unwrap(), vec![muted(1)]);
        let rows: i64 = txn
            .query_row(
                "SELECT count(*) FROM chat_prefs WHERE mine IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(rows, 0);
    }

    /// A whole list sent mid-session (after a bus outage) may predate a change of this
    /// device's that is on its way or not yet sent: the change stays, as with a single push.
    /// A sync's list (no request unanswered then) lands it.
    #[test]
    fn a_list_sent_mid_session_does_not_take_a_change_on_its_way_for_landed() {
        let mut conn = db();
        let txn = conn.transaction().unwrap();
        let c = ConversationId(1);
        replace(&txn, &[], true).unwrap();
        // Muted, sent; unmuted before the answer (not sent yet).
        set_here(&txn, &muted(1)).unwrap();
        let muting = to_send(&txn).unwrap()[0];
        set_here(&txn, &ChatPrefs::none(c)).unwrap();
        // A list from before the mute arrives: the unmute is still to send, and shows.
        replace(&txn, &[], false).unwrap();
        assert!(all(&txn).unwrap().is_empty(), "still unmuted here");
        assert_eq!(sent(&txn), vec![(c, mute(false))]);
        // The mute lands; the unmute goes out and lands after it.
        stored(&txn, &muting).unwrap();
        apply(&txn, &muted(1)).unwrap();
        assert!(all(&txn).unwrap().is_empty());
        all_stored(&txn);
        apply(&txn, &ChatPrefs::none(c)).unwrap();
        assert!(sent(&txn).is_empty());
        assert!(all(&txn).unwrap().is_empty());
    }

    #[test]
    fn an_undo_made_before_the_echo_of_what_it_undoes_is_sent_and_kept() {
        let mut conn = db();
        let txn = conn.transaction().unwrap();
        let c = ConversationId(1);
        replace(&txn, &[muted(1)], true).unwrap();
        // Unmuted, sent; muted again before the relay answers.
        set_here(&txn, &ChatPrefs::none(c)).unwrap();
        let unmute = to_send(&txn).unwrap()[0];
        set_here(&txn, &muted(1)).unwrap();
        // The relay still says muted, yet the mute is a change to send: the unmute before it
        // will land first.
        assert_eq!(sent(&txn), vec![(c, mute(true))]);
        let again = to_send(&txn).unwrap()[0];
        // The unmute lands (answer, echo): the second mute still shows.
        stored(&txn, &unmute).unwrap();
        apply(&txn, &ChatPrefs::none(c)).unwrap();
        assert_eq!(all(&txn).unwrap(), vec![muted(1)]);
        // The mute lands.
        stored(&txn, &again).unwrap();
        apply(&txn, &muted(1)).unwrap();
        assert!(sent(&txn).is_empty());
        assert_eq!(all(&txn).unwrap(), vec![muted(1)]);
    }

    #[test]
    fn a_refusal_takes_back_only_the_fields_it_refused_at_their_edit() {
        let mut conn = db();
        let txn = conn.transaction().unwrap();
        let c = ConversationId(8);
        let both = ChatPrefs {
            pinned_at: Some(10),
            ..muted(8)
        };
        set_here(&txn, &both).unwrap();
        let out = to_send(&txn).unwrap()[0];
        assert_eq!(out.change, mute(true).then(pin(Some(10))));
        // The pin went on its own (the connection sends a new pin apart) and was refused.
        let pin_alone = Outgoing {
            change: Field::Pin.alone(&out.change),
            ..out
        };
        refused(&txn, &pin_alone).unwrap();
        assert_eq!(all(&txn).unwrap(), vec![muted(8)]);
        assert_eq!(sent(&txn), vec![(c, mute(true))]);
        // A refusal of an older edit leaves a newer one alone.
        set_here(
            &txn,
            &ChatPrefs {
                pinned_at: Some(20),
                ..muted(8)
            },
        )
        .unwrap();
        refused(&txn, &pin_alone).unwrap();
        assert_eq!(sent(&txn), vec![(c, mute(true).then(pin(Some(20))))]);
    }

    #[test]
    fn a_sync_settles_what_was_stored_and_keeps_what_was_not_sent() {
        let mut conn = db();
        let txn = conn.transaction().unwrap();
        let c = ConversationId(7);
        // Pinned here and stored, but the link dropped before its echo; meanwhile another
        // device unpinned it and muted it. Archived here offline, not sent yet.
        set_here(&txn, &pinned(7, 10)).unwrap();
        all_stored(&txn);
        set_here(
            &txn,
            &ChatPrefs {
                archived: true,
                ..pinned(7, 10)
            },
        )
        .unwrap();
        replace(&txn, &[muted(7)], true).unwrap();
        // The relay's word wins for what it stored; the archive still goes, on top of it.
        let shown = all(&txn).unwrap();
        assert_eq!(
            shown,
            vec![ChatPrefs {
                archived: true,
                ..muted(7)
            }]
        );
        assert_eq!(
            sent(&txn),
            vec![(
                c,
                ChatPrefsChange {
                    archived: Some(true),
                    ..ChatPrefsChange::default()
                }
            )]
        );
        // A change made offline that the sync's list happens to match (another device made
        // the same) is still sent, with its edit time: another device's change of the same
        // setting may be on its way, and only the relay can tell which edit came last. Its
        // answer settles it.
        set_here(
            &txn,
            &ChatPrefs {
                marked_unread: true,
                archived: true,
                ..muted(7)
            },
        )
        .unwrap();
        replace(
            &txn,
            &[ChatPrefs {
                marked_unread: true,
                archived: true,
                ..muted(7)
            }],
            true,
        )
        .unwrap();
        let fields =
            |c: ChatPrefsChange| Field::ALL.into_iter().filter(|f| f.in_change(&c)).count();
        let still: usize = sent(&txn).into_iter().map(|(_, c)| fields(c)).sum();
        assert_eq!(still, 2, "the mark and the archive, each with its time");
        assert!(to_send(&txn).unwrap().iter().all(|o| Field::ALL
            .into_iter()
            .filter(|f| f.in_change(&o.change))
            .all(|f| o.at.get(f).is_some())));
        all_stored(&txn);
        assert!(sent(&txn).is_empty(), "settled by the relay's answers");
        assert_eq!(
            all(&txn).unwrap(),
            vec![ChatPrefs {
                marked_unread: true,
                archived: true,
                ..muted(7)
            }]
        );
    }

    /// Edit times are on the relay's clock, as its last welcome gave it: a device clock set
    /// an hour behind stamps its edits an hour later than it reads.
    #[test]
    fn edit_times_are_on_the_relays_clock() {
        let mut conn = db();
        let txn = conn.transaction().unwrap();
        replace(&txn, &[], true).unwrap();
        crate::cache::meta_set(&txn, CLOCK_OFFSET_KEY, "3600000").unwrap();
        let before = tern_proto::now_ms();
        set_here(&txn, &muted(2)).unwrap();
        let at = to_send(&txn).unwrap()[0].at.get(Field::Mute).unwrap();
        assert!(at >= before + 3_600_000 && at <= tern_proto::now_ms() + 3_600_000);
    }

    #[test]
    fn a_change_kept_before_edits_were_numbered_is_sent_and_settles_on_the_relays_word() {
        let mut conn = db();
        let txn = conn.transaction().unwrap();
        let c = ConversationId(3);
        txn.execute(
            "INSERT INTO chat_prefs (conversation_id, mine) VALUES (3, ?1)",
            [r#"{"pin":{"at":10}}"#],
        )
        .unwrap();
        assert_eq!(all(&txn).unwrap(), vec![pinned(3, 10)]);
        assert_eq!(sent(&txn), vec![(c, pin(Some(10)))]);
        replace(&txn, &[], true).unwrap();
        assert_eq!(
            sent(&txn),
            vec![(c, pin(Some(10)))],
            "the sync lacks it: still to send"
        );
        assert!(!apply(&txn, &pinned(3, 10)).unwrap());
        assert!(sent(&txn).is_empty());
    }

    #[test]
    fn a_message_brings_back_a_chat_archived_before_it_unless_muted_then() {
        let mut conn = db();
        let txn = conn.transaction().unwrap();
        let c = ConversationId;
        let archived = |conv: i64, at: i64| ChatPrefs {
            archived: true,
            archived_at: Some(at),
            ..ChatPrefs::none(c(conv))
        };
        let quiet_until = |conv: i64, at: i64, end: i64| ChatPrefs {
            muted: true,
            muted_until: Some(end),
            ..archived(conv, at)
        };
        replace(
            &txn,
            &[
                archived(1, 100),
                archived(2, 100),
                quiet_until(3, 100, 500),
                quiet_until(4, 100, 500),
            ],
            true,
        )
        .unwrap();
        // 1: a message from before it was archived; 2: one after; 3: one while muted;
        // 4: one after its mute ended.
        let spoken = [(c(1), 90), (c(2), 110), (c(3), 400), (c(4), 600)];
        assert!(bring_back(&txn, &spoken).unwrap());
        let shown: Vec<_> = all(&txn)
            .unwrap()
            .into_iter()
            .map(|p| (p.conversation_id.0, p.archived))
            .collect();
        // 2 has nothing set any more, so it is not listed.
        assert_eq!(shown, vec![(1, true), (3, true), (4, false)]);
        // Brought back here, sent as this device's change: only `archived`.
        let back = ChatPrefsChange {
            archived: Some(false),
            ..ChatPrefsChange::default()
        };
        assert_eq!(sent(&txn), vec![(c(2), back), (c(4), back)]);
        assert!(
            !bring_back(&txn, &spoken).unwrap(),
            "nothing more to bring back"
        );
        // A sync's messages are noted (kept until judged, even across a cut-short sync), then
        // judged at its end, once.
        replace(&txn, &[archived(5, 100)], true).unwrap();
        note_spoken(&txn, &[(c(5), 150)]).unwrap();
        note_spoken(&txn, &[(c(5), 120)]).unwrap();
        assert!(bring_back_noted(&txn).unwrap());
        assert!(all(&txn).unwrap().iter().all(|p| p.conversation_id != c(5)));
        assert!(!bring_back_noted(&txn).unwrap(), "judged once");
    }

    #[test]
    fn a_change_made_offline_shows_on_top_of_what_other_devices_changed_and_sends_only_itself() {
        let mut conn = db();
        let txn = conn.transaction().unwrap();
        let c = ConversationId(7);
        // Here, offline: pinned. Meanwhile another device muted it, and the sync says so.
        set_here(&txn, &pinned(7, 10)).unwrap();
        replace(&txn, &[muted(7)], true).unwrap();
        let both = ChatPrefs {
            muted: true,
            pinned_at: Some(10),
            ..ChatPrefs::none(c)
        };
        assert_eq!(all(&txn).unwrap(), vec![both]);
        assert_eq!(
            sent(&txn),
            vec![(c, pin(Some(10)))],
            "only the pin: the relay's mute stays as the relay has it"
        );
        // Stored, and its echo has both: landed.
        all_stored(&txn);
        assert!(!apply(&txn, &both).unwrap());
        assert!(sent(&txn).is_empty());
        assert_eq!(all(&txn).unwrap(), vec![both]);
    }

    #[test]
    fn pins_are_counted_as_they_show_in_the_chats_the_user_is_in() {
        let mut conn = db();
        let txn = conn.transaction().unwrap();
        for id in 1..=4 {
            txn.execute(
                "INSERT INTO conversations (id, kind, active, created_at) VALUES (?1, 'group', ?2, 0)",
                params![id, id != 4],
            )
            .unwrap();
        }
        // 1 pinned by the relay, 2 pinned here (not sent yet), 3 unpinned here, 4 left.
        replace(&txn, &[pinned(1, 10), pinned(3, 30), pinned(4, 40)], true).unwrap();
        set_here(&txn, &pinned(2, 20)).unwrap();
        set_here(&txn, &ChatPrefs::none(ConversationId(3))).unwrap();
        assert_eq!(pinned_elsewhere(&txn, ConversationId(9)).unwrap(), 2);
        assert_eq!(pinned_elsewhere(&txn, ConversationId(2)).unwrap(), 1);
    }
}
