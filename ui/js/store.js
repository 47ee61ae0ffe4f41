// The UI's state and the pure functions that apply engine events to it as deltas.
// Nothing here touches the DOM or calls the shell; every function returns a new value (or the
// same one when nothing changed), so the views can tell changed rows by identity.
//
// Conversations are the engine's ConversationView objects (info flattened in: kind, name,
// members with receipt markers, last_seq, created_at; plus title, last_message, unread,
// online). Chat messages are ChatMessage objects (client_id, seq, status, reason, ...).

/** Everything the views draw. Mutated only by events.js, refresh.js and the actions. */
export const state = {
  me: null,
  userId: null,
  /** Conversation id → listed conversation. */
  conversations: new Map(),
  /** The conversation on screen, or null. */
  open: null,
  /** Messages of the open conversation, oldest first (stored by seq, then unsent as written). */
  chat: [],
  /** Whether older messages may exist before the first one shown. */
  hasOlder: false,
  /** `${conversation}:${user}` → when the typing indication lapses (ms). */
  typing: new Map(),
  /** Conversation id → highest seq already marked read from here. */
  lastRead: new Map(),
  muted: new Set(),
};

// ---------- conversation list ----------

/** When a conversation last saw activity, as the engine orders the list. */
export const activity = (c) => Math.max(c.created_at || 0, c.last_message ? c.last_message.sent_at : 0);

/** Conversations most recent first (ties: higher id first), as the engine lists them. */
export const ordered = (map) =>
  [...map.values()].sort((a, b) => activity(b) - activity(a) || b.conversation_id - a.conversation_id);

/** The other member of a direct conversation. */
const other = (c, me) => (c.kind === "direct" ? c.members.find((m) => m.user_id !== me) : undefined);

/** The display title, as the engine computes it. */
export function titleOf(info, me) {
  if (info.name != null) return info.name;
  const o = other(info, me);
  return o ? o.username : `conversation ${info.conversation_id}`;
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
 * last seq is not counted twice.
 */
export function withMessage(c, m, seen) {
  const fresh = m.seq != null && m.seq > (c.last_seq || 0);
  const counts = fresh && !m.mine && !seen;
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
 * the relay's figure may run ahead of the messages a sync has delivered so far.
 */
export function withInfo(c, info, me) {
  const before = new Map(c.members.map((m) => [m.user_id, m]));
  const members = info.members.map((m) => {
    const b = before.get(m.user_id);
    return b ? { ...m, delivered_seq: Math.max(m.delivered_seq, b.delivered_seq), read_seq: Math.max(m.read_seq, b.read_seq) } : m;
  });
  const next = { ...c, ...info, members, last_seq: c.last_seq };
  next.title = titleOf(next, me);
  return next;
}

/** A user's presence changed: the dot of a direct conversation with them. */
export function withPresence(c, p, me) {
  const o = other(c, me);
  if (!o || o.user_id !== p.user_id || c.online === p.online) return c;
  return { ...c, online: p.online };
}

// ---------- the open chat ----------

/** A message with a new status (and seq once stored). */
function restatus(m, ev) {
  const next = { ...m, status: ev.status, seq: ev.seq != null ? ev.seq : m.seq };
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
  return byPosition([...page.filter((m) => !have.has(m.client_id)), ...list]);
}

/**
 * Ticks of the user's stored messages from the other members' lowest markers, as the engine
 * computes them: read once every other member read it, delivered once stored on a device of
 * every other member, else sent. Queued and failed messages are left alone.
 */
export function chatWithTicks(list, members, me) {
  const others = members.filter((m) => m.user_id !== me);
  if (!others.length) return list;
  const read = Math.min(...others.map((m) => m.read_seq));
  const delivered = Math.min(...others.map((m) => m.delivered_seq));
  let changed = false;
  const next = list.map((m) => {
    if (!m.mine || m.seq == null || !["sent", "delivered", "read"].includes(m.status)) return m;
    const status = read >= m.seq ? "read" : delivered >= m.seq ? "delivered" : "sent";
    if (status === m.status) return m;
    changed = true;
    return { ...m, status };
  });
  return changed ? next : list;
}

/** The highest stored seq shown. */
export const maxSeq = (list) => list.reduce((a, m) => (m.seq && m.seq > a ? m.seq : a), 0);

/** The lowest stored seq shown, or null. */
export function minSeq(list) {
  const seqs = list.filter((m) => m.seq != null).map((m) => m.seq);
  return seqs.length ? Math.min(...seqs) : null;
}
