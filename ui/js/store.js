// The UI's state and the pure functions that apply engine events to it as deltas.
// Nothing here touches the DOM or calls the shell; every function returns a new value (or the
// same one when nothing changed), so the views can tell changed rows by identity.
//
// Conversations are the engine's ConversationView objects (info flattened in: kind, name,
// avatar (a group's picture), members with receipt markers (and `avatar`, their picture, when
// they have one), last_seq, created_at; plus title, picture (what the conversation shows: the
// group's, or the other member's; null when none), last_message, unread,
// online, last_seen (direct chats: when the other member was last seen, null when unknown or
// hidden), and request: a message request for the user, listed apart). A member carries
// `accepted` only when it is false (they have not accepted the conversation yet). Chat messages
// are ChatMessage objects (client_id, seq, status, reason, reply_to, edited, deleted,
// reactions, mentions_me, attachment, local_file, ...). Transfers in progress are kept apart
// from the messages: uploads by the message's client id, downloads by blob id. A group notice
// (a message with `notice`: notices.js) is listed and previewed like a message, but never
// counts as unread, offers no actions and is never the user's message to edit. A long open chat
// is windowed: only a bounded run of it is held (`hasOlder` / `hasNewer` say what lies beyond;
// trimNewest, trimOldest, joinNewer below).

import { isNotice } from "./notices.js";
import { displayName } from "./people.js";
import { pinnedFirst } from "./pins.js";

/** Everything the views draw. Mutated only by events.js, refresh.js and the actions. */
export const state = {
  me: null,
  userId: null,
  /** The account's key, its user id at its relay (`id@relay`): what is kept on this device
   *  for it (drafts, the last open chat) is kept under it. */
  account: null,
  /**
   * Connection events applied so far: a snapshot of the connection read before the latest of
   * them is older than what the banner shows, and must not replace it.
   */
  connectionEvents: 0,
  /** What the relay takes, as it last said (engine's relay_limits: `max_message_bytes`,
   *  `edit_window_ms`, `clock_offset_ms`; each may be null), or null before it is read. */
  limits: null,
  /** Conversation id → listed conversation. */
  conversations: new Map(),
  /** The conversation on screen, or null. */
  open: null,
  /** Messages of the open conversation, oldest first (stored by seq, then unsent as written). */
  chat: [],
  /** Whether older messages may exist before the first one shown. */
  hasOlder: false,
  /** Whether newer messages exist after the last one shown (the window let them go: a long
   *  chat keeps only part of itself loaded; see trimNewest). The unsent ones then are not shown
   *  either: they come back with the newest page. */
  hasNewer: false,
  /** `${conversation}:${user}` → when the typing indication lapses (ms). */
  typing: new Map(),
  /** Conversation id → highest seq already marked read from here. */
  lastRead: new Map(),
  /** Conversation id → when its mute ends (ms), or null: muted until unmuted (mute.js). */
  muted: new Map(),
  /** Pinned conversation ids, in the order shown at the top of the list (pins.js). */
  pinned: [],
  /** Conversation ids the user marked unread (unread-marks.js). */
  unreadMarks: new Set(),
  /** Conversation ids the user archived (views/list.js lists them apart). */
  archived: new Set(),
  /** Attachments moving: `{ uploads: client id → progress, downloads: blob id → progress }`. */
  transfers: noTransfers(),
  /** The user's privacy settings and block list (the `privacy` command and event). */
  privacy: defaultPrivacy(),
};

/** Privacy as it is until the engine says otherwise (the relay's defaults). */
export function defaultPrivacy() {
  return { presence: "contacts", read_receipts: true, blocked: [] };
}

// ---------- conversation list ----------

/** When a conversation last saw activity, as the engine orders the list. */
export const activity = (c) => Math.max(c.created_at || 0, c.last_message ? c.last_message.sent_at : 0);

/** Conversations most recent first (ties: higher id first), as the engine lists them. */
export const ordered = (map) =>
  [...map.values()].sort((a, b) => activity(b) - activity(a) || b.conversation_id - a.conversation_id);

/**
 * The list split in three, each most recent first: `main`, the conversation list (its badges
 * count unread messages; the `pinned` ones first, in pin order), `requests`, message requests
 * listed apart (quietly), and `archived`, the chats the user archived (ids in `archivedIds`;
 * a message request is never archived), out of the way and out of the unread total.
 */
export function listed(map, pinned = [], archivedIds = new Set()) {
  const main = [], requests = [], archived = [];
  for (const c of ordered(map)) {
    if (c.request) requests.push(c);
    else if (archivedIds.has(c.conversation_id)) archived.push(c);
    else main.push(c);
  }
  return { main: pinnedFirst(main, pinned), requests, archived };
}

/** The other member of a direct conversation. */
export const otherMember = (c, me) => (c.kind === "direct" ? c.members.find((m) => m.user_id !== me) : undefined);

/** Whether `c` is a message request for `me`: their own member has not accepted it. */
const requestFor = (c, me) => {
  const self = c.members.find((m) => m.user_id === me);
  return self ? self.accepted === false : !!c.request;
};

/**
 * The picture a conversation shows, as the engine picks it: a direct chat the other member's
 * (`avatar`, absent when they have none), a group its own (`avatar` of its info); null: none.
 */
export function pictureOf(info, me) {
  const o = otherMember(info, me);
  const p = info.kind === "direct" ? (o ? o.avatar : null) : info.avatar;
  return p || null;
}

/** How a deleted account is named (its messages' sender, a direct chat with it). */
const DELETED_ACCOUNT = "Deleted account";

/**
 * The display title, as the engine computes it (cache/views.rs): the group's name, the other
 * member's display name or else username, "Deleted account" for a direct chat whose other
 * member is gone (only deleting an account takes someone out of one).
 */
export function titleOf(info, me) {
  if (info.name != null) return info.name;
  const o = otherMember(info, me);
  if (o) return displayName(o) || o.username;
  return info.kind === "direct" ? DELETED_ACCOUNT : `conversation ${info.conversation_id}`;
}

/** Whether `m` comes after `last` in a chat (unsent messages come after every stored one). */
function isNewer(m, last) {
  if (!last || last.client_id === m.client_id) return true;
  if (last.seq == null) return false;
  return m.seq == null || m.seq > last.seq;
}

/**
 * A message appeared in conversation `c`. `seen` says the user is looking at it (it will be
 * marked read, so it does not count as unread). Idempotent: a message at or below the known
 * last seq is not counted twice. A group notice never counts (it still becomes the preview).
 */
export function withMessage(c, m, seen) {
  const fresh = m.seq != null && m.seq > (c.last_seq || 0);
  const counts = fresh && !m.mine && !seen && !isNotice(m);
  const last = isNewer(m, c.last_message) ? m : c.last_message;
  if (last === c.last_message && !fresh) return c;
  return {
    ...c,
    last_message: last,
    last_seq: fresh ? m.seq : c.last_seq,
    unread: c.unread + (counts ? 1 : 0),
  };
}

/** One of the user's messages changed status (the preview may be it; an ack brings its seq). */
export function withStatus(c, ev) {
  const last = c.last_message;
  const mine = last && last.client_id === ev.client_id;
  const fresh = ev.seq != null && ev.seq > (c.last_seq || 0);
  if (!mine && !fresh) return c;
  return { ...c, last_message: mine ? restatus(last, ev) : last, last_seq: fresh ? ev.seq : c.last_seq };
}

/** Whether `m` is the same message as `x` (by client id, or by seq once stored). */
export const sameMessage = (x, m) =>
  !!x && !!m && (x.client_id === m.client_id || (m.seq != null && x.seq === m.seq));

/**
 * A stored message changed (edited, deleted for everyone, reacted to): the preview shows it as
 * it now is. A message hidden for the user is not handled here: what the preview shows then is
 * only in the cache.
 */
export function withChanged(c, m) {
  return sameMessage(c.last_message, m) ? { ...c, last_message: m } : c;
}

/** A member's receipt markers moved forward. */
export function withReceipt(c, r) {
  let changed = false;
  const members = c.members.map((m) => {
    if (m.user_id !== r.user_id) return m;
    const delivered_seq = Math.max(m.delivered_seq, r.delivered_seq);
    const read_seq = Math.max(m.read_seq, r.read_seq);
    if (delivered_seq === m.delivered_seq && read_seq === m.read_seq) return m;
    changed = true;
    return { ...m, delivered_seq, read_seq };
  });
  return changed ? { ...c, members } : c;
}

/**
 * The conversation's shape changed (name, members); markers only move forward, as in the cache.
 * `last_seq` is kept: here it counts the messages the entry accounts for (see withMessage), and
 * the relay's figure may run ahead of the messages a sync has delivered so far. Whether it is a
 * message request follows the user's own member (`accepted: false` until they accept).
 */
export function withInfo(c, info, me) {
  const before = new Map(c.members.map((m) => [m.user_id, m]));
  const members = info.members.map((m) => {
    const b = before.get(m.user_id);
    return b ? { ...m, delivered_seq: Math.max(m.delivered_seq, b.delivered_seq), read_seq: Math.max(m.read_seq, b.read_seq) } : m;
  });
  const next = { ...c, ...info, members, last_seq: c.last_seq };
  // Absent from the info: the group has no picture (any more).
  if (info.avatar === undefined) delete next.avatar;
  next.title = titleOf(next, me);
  next.picture = pictureOf(next, me);
  next.request = requestFor(next, me);
  return next;
}

/**
 * The user accepted the request `c` (the relay said yes; its `conversation` event may come
 * later): their member is accepted and the entry joins the main list. `c` itself if it was not
 * a request.
 */
export function withAccepted(c, me) {
  if (!c.request && !c.members.some((m) => m.user_id === me && m.accepted === false)) return c;
  const members = c.members.map((m) => {
    if (m.user_id !== me || m.accepted !== false) return m;
    const { accepted, ...rest } = m; // absent means accepted, as the engine sends it
    return rest;
  });
  return { ...c, members, request: false };
}

/**
 * A user's presence changed: the dot of a direct conversation with them, and when they were
 * last seen (null: hidden by their privacy setting, or never seen; a presence without the field
 * leaves it as it was).
 */
export function withPresence(c, p, me) {
  const o = otherMember(c, me);
  if (!o || o.user_id !== p.user_id) return c;
  const last_seen = p.last_seen !== undefined ? p.last_seen : c.last_seen;
  if (c.online === p.online && (c.last_seen ?? null) === (last_seen ?? null)) return c;
  return { ...c, online: p.online, last_seen: last_seen ?? null };
}

// ---------- the open chat ----------

/** A message with a new status (and seq once stored; and the relay's time if the event has it). */
function restatus(m, ev) {
  const next = { ...m, status: ev.status, seq: ev.seq != null ? ev.seq : m.seq };
  if (ev.sent_at != null) next.sent_at = ev.sent_at;
  if (ev.written_at != null) next.written_at = ev.written_at;
  if (ev.status === "failed") next.reason = ev.reason; else delete next.reason;
  return next;
}

/** Stored messages by seq, unsent ones after them in the order written (the sort is stable). */
const byPosition = (list) =>
  list.slice().sort((a, b) => (a.seq == null ? Infinity : a.seq) - (b.seq == null ? Infinity : b.seq));

/** Insert a message, or replace the one with its client id. */
export function chatWithMessage(list, m) {
  const i = list.findIndex((x) => x.client_id === m.client_id);
  if (i < 0) return byPosition([...list, m]);
  const next = list.slice();
  next[i] = m;
  return list[i].seq === m.seq ? next : byPosition(next);
}

/** Apply a status change; `null` if the message is not in the list. */
export function chatWithStatus(list, ev) {
  const i = list.findIndex((x) => x.client_id === ev.client_id);
  if (i < 0) return null;
  const next = list.slice();
  next[i] = restatus(list[i], ev);
  return list[i].seq === next[i].seq ? next : byPosition(next);
}

/** Remove a message. */
export const chatWithout = (list, clientId) => list.filter((m) => m.client_id !== clientId);

/** Merge an older page in front (a message already present keeps its newer copy). */
export function chatWithOlder(list, page) {
  const have = new Set(list.map((m) => m.client_id));
  return withQuotes(byPosition([...page.filter((m) => !have.has(m.client_id)), ...list]));
}

/** Longest quoted snippet, as the engine cuts it (characters). */
const SNIPPET_CHARS = 200;

/** How a reply quotes `m` (as the engine builds quotes from its cache). */
export const quoteOf = (m) => ({
  seq: m.seq, sender: m.sender, sender_name: m.sender_name || m.sender, snippet: Array.from(m.body).slice(0, SNIPPET_CHARS).join(""),
  deleted: m.deleted, known: true,
});

const sameQuote = (a, b) =>
  a.seq === b.seq && a.sender === b.sender && a.sender_name === b.sender_name && a.snippet === b.snippet && a.deleted === b.deleted && a.known === b.known;

/** `m` with its quote of `target` refreshed, or `m` itself when it does not quote it or is current. */
function requote(m, target) {
  const q = m.reply_to;
  if (!q || q.seq !== target.seq) return m;
  const fresh = quoteOf(target);
  return sameQuote(q, fresh) ? m : { ...m, reply_to: fresh };
}

/**
 * Replies whose quoted message is in `list` show it as it is there (an older page brought a
 * message the engine did not have when it built the quote). Returns `list` itself when nothing
 * changed.
 */
export function withQuotes(list) {
  if (!list.some((m) => m.reply_to && !m.reply_to.known)) return list;
  const bySeq = new Map(list.filter((x) => x.seq != null).map((x) => [x.seq, x]));
  let changed = false;
  const next = list.map((m) => {
    const target = m.reply_to && !m.reply_to.known && bySeq.get(m.reply_to.seq);
    const r = target ? requote(m, target) : m;
    if (r !== m) changed = true;
    return r;
  });
  return changed ? next : list;
}

/**
 * A stored message changed: replace it (found by seq, else by client id), or drop it when it
 * was `hidden` (deleted for this user only). Replies quoting it show its new text. Returns
 * `list` itself when nothing shown changed.
 */
export function chatWithChanged(list, m, hidden) {
  const i = list.findIndex((x) => sameMessage(x, m));
  let next = list;
  if (i >= 0) {
    next = list.slice();
    if (hidden) next.splice(i, 1); else next[i] = m;
  }
  if (hidden || m.seq == null) return next;
  let changed = false;
  const out = next.map((x) => { const r = requote(x, m); if (r !== x) changed = true; return r; });
  return changed ? out : next;
}

/** The user's newest message that can still be edited (stored, not deleted), or null. */
export function lastEditable(list, limits = null, now = Date.now()) {
  for (let i = list.length - 1; i >= 0; i--) {
    const m = list[i];
    if (m.mine && m.seq != null && !m.deleted && !isNotice(m)) return withinEditWindow(m, limits, now) ? m : null;
  }
  return null;
}

/**
 * Whether the user's message `m` may still be edited: sent less than the relay's edit window
 * ago, on the relay's clock (`limits` from the relay's welcome; a window not known yet does
 * not hold an edit back, the relay still decides).
 */
export function withinEditWindow(m, limits, now = Date.now()) {
  if (!limits || limits.edit_window_ms == null || m.sent_at == null) return true;
  return now + (limits.clock_offset_ms || 0) - m.sent_at <= limits.edit_window_ms;
}

/**
 * What the user may do with message `m` of conversation `c`, in the order the row offers it:
 * nothing while unsent, or on a group notice; only delete-for-me on a tombstone; otherwise
 * reply, react, edit (own, within the relay's edit window: `limits`), delete for everyone (own,
 * or anyone's in a group the user administers), delete for me.
 */
export function actionsFor(m, c, me, limits = null, now = Date.now()) {
  if (m.seq == null || isNotice(m)) return [];
  if (m.deleted) return ["delete-me"];
  const self = c && c.members.find((x) => x.user_id === me);
  const admin = !!c && c.kind === "group" && !!self && self.role === "admin";
  const out = ["reply", "react"];
  if (m.mine && withinEditWindow(m, limits, now)) out.push("edit");
  if (m.mine || admin) out.push("delete-everyone");
  out.push("delete-me");
  return out;
}

/**
 * Ticks of the user's stored messages from the other members' lowest markers, as the engine
 * computes them: read once every other member read it, delivered once stored on a device of
 * every other member, else sent. Queued and failed messages, and notices (no ticks), are left
 * alone.
 */
export function chatWithTicks(list, members, me) {
  const others = members.filter((m) => m.user_id !== me);
  if (!others.length) return list;
  const read = Math.min(...others.map((m) => m.read_seq));
  const delivered = Math.min(...others.map((m) => m.delivered_seq));
  let changed = false;
  const next = list.map((m) => {
    if (!m.mine || m.seq == null || isNotice(m) || !["sent", "delivered", "read"].includes(m.status)) return m;
    const status = read >= m.seq ? "read" : delivered >= m.seq ? "delivered" : "sent";
    if (status === m.status) return m;
    changed = true;
    return { ...m, status };
  });
  return changed ? next : list;
}

/**
 * Where stored message `m` falls against the gap-free run of stored messages in `list`:
 * `"joins"` (inside it or right next to either end), `"newer"` (past the newest with a gap:
 * read the newest page again), `"older"` (before the oldest with a gap: scrolling back will
 * bring it), or `null` when it cannot tell (unsent, or nothing stored is shown yet). With
 * `hasNewer` (newer messages exist that `list` does not hold), anything past the newest shown,
 * an unsent message too, is `"newer"`: it comes after messages not loaded, so it never joins.
 */
export function placement(list, m, hasNewer = false) {
  if (hasNewer && (m.seq == null || m.seq > maxSeq(list))) return "newer";
  if (m.seq == null) return null;
  const top = maxSeq(list);
  if (top === 0) return null;
  if (m.seq > top + 1) return "newer";
  if (m.seq < minSeq(list) - 1) return "older";
  return "joins";
}

/** The highest stored seq shown (0: none). */
export const maxSeq = (list) => list.reduce((a, m) => (m.seq && m.seq > a ? m.seq : a), 0);

/** The lowest stored seq shown, or null. */
export function minSeq(list) {
  let low = null;
  for (const m of list) if (m.seq != null && (low === null || m.seq < low)) low = m.seq;
  return low;
}

// ---------- the window: a long chat keeps only part of itself loaded ----------
//
// The open chat holds at most a bounded number of messages (refresh.js WINDOW) around where the
// user is: an older page coming in front lets the newest ones go (`hasNewer`), a newer page
// coming behind lets the oldest ones go (`hasOlder`). What stays is always one unbroken run of
// stored messages (then, only when the run reaches the newest, the unsent ones): trimming takes
// from one end only, and a page joins only right next to the end it was read from.

/**
 * `list` cut to at most `max` messages from its newest end (an older page came in front).
 * Whenever any go, every unsent message goes too (they come after every stored one, so keeping
 * them would leave a gap before them; the newest page brings them back), then the newest
 * stored ones beyond `max`. Returns `{ list, trimmed }` (how many went; `list` itself when none).
 */
export function trimNewest(list, max) {
  if (list.length <= max) return { list, trimmed: 0 };
  const kept = list.filter((m) => m.seq != null).slice(0, Math.max(0, max));
  return { list: kept, trimmed: list.length - kept.length };
}

/**
 * `list` cut to at most `max` messages from its oldest end (a newer page came behind). Only
 * stored messages go, oldest first: the unsent ones are at the newest end, and one stored
 * message always stays (the run older pages are read before). Returns `{ list, trimmed }`.
 */
export function trimOldest(list, max) {
  if (list.length <= max) return { list, trimmed: 0 };
  let stored = 0;
  for (const m of list) if (m.seq != null) stored++;
  const drop = Math.min(list.length - max, Math.max(0, stored - 1));
  if (drop === 0) return { list, trimmed: 0 };
  // Stored messages come first (byPosition), so the first `drop` are the oldest stored ones.
  return { list: list.slice(drop), trimmed: drop };
}

/**
 * Whether `page` (read with messages_after from `after`) joins `list` right after its newest
 * stored message: `list` still ends at `after` (nothing came or went at that end meanwhile), and
 * every stored message of the page comes after it. Otherwise joining could leave a gap.
 */
export const joinsAfter = (list, page, after) =>
  maxSeq(list) === after && page.every((m) => m.seq == null || m.seq > after);

/**
 * A newer page (messages_after `after`, by default the newest stored seq shown) merged behind
 * `list`; a message already present (by client id or seq) keeps its copy in `list`. Returns
 * `list` itself when the page does not join right after it (joinsAfter) or brings nothing new.
 */
export function joinNewer(list, page, after = maxSeq(list)) {
  if (!joinsAfter(list, page, after)) return list;
  const ids = new Set(list.map((m) => m.client_id));
  const seqs = new Set(list.filter((m) => m.seq != null).map((m) => m.seq));
  const fresh = page.filter((m) => !ids.has(m.client_id) && !(m.seq != null && seqs.has(m.seq)));
  if (!fresh.length) return list;
  return withQuotes(byPosition([...list, ...fresh]));
}

/**
 * An older page of `limit` asked for came in front of `list`: `{ list, hasOlder, trimmed }`,
 * the list kept within `max` from its newest end (`trimmed` > 0: newer messages are no longer
 * held, so the chat has newer ones to read back).
 */
export function withOlderPage(list, page, limit, max) {
  const { list: kept, trimmed } = trimNewest(chatWithOlder(list, page), max);
  return { list: kept, hasOlder: page.length >= limit, trimmed };
}

/**
 * A newer page of `limit` asked for (messages_after `after`) came behind `list`: `{ list,
 * hasNewer, trimmed }`, or null when it does not join (joinsAfter: read it again from what is
 * shown now). `hasNewer` stays while the page was full of stored messages; a shorter one reached
 * the newest (the unsent ones follow it). The list is kept within `max` from its oldest end
 * (`trimmed` > 0: older messages are no longer held).
 */
export function withNewerPage(list, page, after, limit, max) {
  if (!joinsAfter(list, page, after)) return null;
  const hasNewer = page.filter((m) => m.seq != null).length >= limit;
  const { list: kept, trimmed } = trimOldest(joinNewer(list, page, after), max);
  return { list: kept, hasNewer, trimmed };
}

// ---------- attachments on the move ----------

/** No transfer under way. Progress is `{ done, total }` (bytes). */
export function noTransfers() {
  return { uploads: new Map(), downloads: new Map() };
}

/**
 * Apply a `transfer` event (or a download started here: `{ upload: false, blob_id, done: 0,
 * total }`): an upload is kept by its message's client id, a download by its blob id; a
 * complete one is dropped. Returns `t` itself when nothing changed.
 */
export function withTransfer(t, ev) {
  const upload = !!ev.upload;
  const key = upload ? ev.client_id : ev.blob_id;
  if (!key) return t;
  const map = upload ? t.uploads : t.downloads;
  const have = map.get(key);
  if (ev.done >= ev.total) return have ? withoutTransfer(t, upload, key) : t;
  if (have && have.done === ev.done && have.total === ev.total) return t;
  const next = new Map(map);
  next.set(key, { done: ev.done, total: ev.total });
  return upload ? { ...t, uploads: next } : { ...t, downloads: next };
}

/** Forget one transfer (an upload failed or its message went, a download ended or failed). */
export function withoutTransfer(t, upload, key) {
  const map = upload ? t.uploads : t.downloads;
  if (!map.has(key)) return t;
  const next = new Map(map);
  next.delete(key);
  return upload ? { ...t, uploads: next } : { ...t, downloads: next };
}

/** Whether `m` is the user's file still going up (no blob yet, waiting to be sent). */
export const uploading = (m) =>
  !!m.attachment && !!m.mine && !m.attachment.blob_id && m.status === "queued" && !m.deleted;

/**
 * What a row shows of its attachment's transfer: the upload's progress (`total` 0 while none
 * is known: waiting), the download's, or null when nothing moves.
 */
export function progressOf(t, m) {
  const a = m.attachment;
  if (!a || m.deleted) return null;
  if (uploading(m)) return t.uploads.get(m.client_id) || { done: 0, total: 0 };
  if (a.blob_id && !m.local_file) return t.downloads.get(a.blob_id) || null;
  return null;
}

/** Replace the messages `change` returns a new object for; `list` itself if none changed. */
function mapChanged(list, change) {
  let changed = false;
  const next = list.map((m) => { const r = change(m); if (r !== m) changed = true; return r; });
  return changed ? next : list;
}

/**
 * An upload finished (a complete upload `transfer` event brings the blob id): the message
 * now has its blob. Returns `list` itself when it is not shown or already knew.
 */
export function chatWithUploaded(list, ev) {
  if (!ev.upload || !ev.blob_id || ev.done < ev.total) return list;
  return mapChanged(list, (m) => (m.client_id === ev.client_id && m.attachment && m.attachment.blob_id !== ev.blob_id
    ? { ...m, attachment: { ...m.attachment, blob_id: ev.blob_id } } : m));
}

/**
 * A download finished at `path`: the messages with that blob that did not know yet (the
 * `message_changed` event may come later) show it is on this device.
 */
export function chatWithLocalFile(list, blobId, path) {
  return mapChanged(list, (m) => (m.attachment && m.attachment.blob_id === blobId && !m.local_file
    ? { ...m, local_file: path } : m));
}
