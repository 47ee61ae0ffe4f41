// What the user has read in the open chat, and what still waits for them. Pure (tested in node):
// views/chat.js measures the rows and draws the "New messages" divider and the jump-to-bottom
// button; refresh.js (markReadIfVisible) moves the read marker.
//
// A message counts as read once the bottom edge of its row was inside the message list's
// visible area while the window was focused and not hidden: the marker moves to the highest
// such seq, never beyond what was seen and never backwards. Unread messages are the others'
// stored messages after the user's marker (what the engine counts, minus what it does not show).
// Group notices (notices.js) are never unread: they count for neither the jump button nor the
// "New messages" divider, which goes before the first unread message someone wrote. Their seq
// is marked read like any other once seen (the marker is cumulative). While a long chat's
// window does not hold its newest messages, the jump button falls back on the conversation's
// unread count (unreadBelow).

import { isNotice } from "./notices.js";

/** Pixels a row's bottom edge may pass the viewport's by (sub-pixel layouts round). */
const EDGE = 1;

/**
 * The highest seq among `rows` (`{ seq, top, bottom }`) whose bottom edge lies inside the
 * visible area `viewportTop`..`viewportBottom` (all in one coordinate space: the window's, as
 * getBoundingClientRect gives them); 0 when none does. A row whose bottom edge is at or above
 * the top, or under the bottom, was not seen to its end. Rows without a seq (not stored yet)
 * never count.
 */
export function readUpTo(rows, viewportTop, viewportBottom) {
  let best = 0;
  for (const r of rows) {
    if (r.seq == null || !(r.seq > best)) continue;
    if (r.bottom > viewportTop && r.bottom <= viewportBottom + EDGE) best = r.seq;
  }
  return best;
}

/**
 * The user's read marker in conversation `c` as known here: the engine's (their own member's
 * `read_seq`) or what was marked from this window (`markedHere`), whichever is further.
 */
export function readMarker(c, me, markedHere) {
  const self = c && c.members ? c.members.find((m) => m.user_id === me) : undefined;
  return Math.max(self && self.read_seq ? self.read_seq : 0, markedHere || 0);
}

/** Whether `m` is unread after `marker`: someone else's message (not a notice), stored after it. */
export const isUnread = (m, marker) => !m.mine && !isNotice(m) && m.seq != null && m.seq > marker;

/** The others' stored messages in `list` after `after` (the marker, or what the user sees). */
export const unreadAfter = (list, after) => list.reduce((n, m) => n + (isUnread(m, after) ? 1 : 0), 0);

/**
 * What the jump-to-bottom button counts: the unread messages of `list` after `after` (the marker,
 * or what the user sees). While newer messages are not held (`hasNewer`: a long chat's window
 * let them go) those cannot be counted here: then at least `unread`, the conversation's unread
 * count as the engine keeps it.
 */
export function unreadBelow(list, after, hasNewer, unread) {
  const n = unreadAfter(list, after);
  return hasNewer ? Math.max(n, unread || 0) : n;
}

/** The first message of `list` unread after `marker`, or null. */
export const firstUnreadIn = (list, marker) => list.find((m) => isUnread(m, marker)) || null;

/**
 * The client id of the message the "New messages" divider goes before: the first one unread
 * after `marker`, or null when none is, or when the run shown may not reach back to the marker
 * (`hasOlder` and the oldest shown comes after marker + 1: the first unread may be older).
 */
export function firstUnread(list, marker, hasOlder) {
  const m = firstUnreadIn(list, marker);
  if (!m) return null;
  if (hasOlder) {
    let oldest = Infinity;
    for (const x of list) if (x.seq != null && x.seq < oldest) oldest = x.seq;
    if (oldest > marker + 1) return null;
  }
  return m.client_id;
}

/**
 * Where a chat opens (scrollTop): the row at `targetTop` (from the top of the list's content)
 * `margin` pixels under the top, or as far down as the list goes (the bottom: everything from
 * the target on fits).
 */
export function openScrollTop(targetTop, scrollHeight, clientHeight, margin = 8) {
  const max = Math.max(0, scrollHeight - clientHeight);
  return Math.max(0, Math.min(max, targetTop - margin));
}

/** The jump-to-bottom button's accessible name for `n` unread messages below the view. */
export const jumpLabel = (n) => (n > 0 ? `Jump to the newest message, ${n} unread` : "Jump to the newest message");
