// Reading state back from the engine's cache, for the few moments deltas cannot cover:
// the whole list at start-up, after sign-in, on RESYNC and when a sync finishes; one
// conversation when an event lacks what its row shows (a new conversation, the user's own read
// marker); the open chat's page when a chat opens or after a resync (and, as it opens, older
// pages back to its first unread message). The user's read marker moves from here
// (markReadIfVisible) up to what views/chat.js measured as seen.
//
// A long chat is windowed: the open chat holds at most WINDOW messages (and rows) around where
// the user is. Scrolling back (loadOlder, reveal) lets the newest ones go (`state.hasNewer`);
// scrolling down to the end of what is held then reads them back (loadNewer, messages_after)
// and lets the oldest ones go. What is held is always one gap-free run (store.js: trimNewest,
// trimOldest, joinNewer); the jump-to-bottom button reads the newest page again (loadChat).
//
// Races: an event that lands while a read is under way could be overwritten by the (older)
// answer. So conversations touched meanwhile are read again one by one, and chat events that
// arrive while a page loads (the newest, or a newer one) are replayed onto it.

import * as api from "./api.js";
import {
  state, chatWithMessage, chatWithStatus, chatWithout, chatWithTicks, chatWithChanged, chatWithUploaded, minSeq, maxSeq, placement,
  withOlderPage, withNewerPage, trimOldest,
} from "./store.js";
import { attending } from "./dom.js";
import { readMarker } from "./reading.js";
import { drawList } from "./views/list.js";
import { drawHead, drawMessages, drawTyping, seenSeq } from "./views/chat.js";

/** Messages per page a chat opens on (and reads again from its newest). */
export const PAGE = 50;
/**
 * Messages per page read while scrolling, older or newer. A page's rows are built and laid out
 * in one go, between two frames: with 25, the longest frame scrolling back through 10,000
 * messages was 47–50 ms, with 50 up to 65 (docs/benchmarks.md, "A chat of 10,000 messages").
 * views/chat.js asks for the next page a screen ahead, so scrolling does not wait at the end of
 * what is held.
 */
export const SCROLL_PAGE = 25;
/**
 * Most messages the open chat holds (and rows it draws): past it, a page coming in at one end
 * lets as many go at the other. At least two of the largest pages (200), so a page and what
 * shows always fit; 400 holds a chat of a few hundred messages whole. The layout after a page
 * comes in grows with the rows held.
 */
export const WINDOW = 400;
/**
 * Most messages a chat loads as it opens to show its first unread message: under WINDOW, with
 * room for two pages the user may scroll back to meanwhile, so opening never lets the newest go.
 */
export const UNREAD_REACH = WINDOW - 2 * PAGE;

let listLoading = false;
let listToken = 0;
/** Conversations an event touched while the whole list was loading. */
const touchedDuringList = new Set();
/** Conversation id → "read again when this read returns". */
const oneLoading = new Map();
/** Chat events seen while the open chat's page loads (replayed onto it), or null. */
let chatPending = null;
let chatToken = 0;
/** The older page being read (callers share it), or null. */
let olderLoading = null;
/** The newer page being read (callers share it), or null. */
let newerLoading = null;
/** Chat events seen while a newer page loads (replayed onto it once joined), or null. */
let newerPending = null;

/** Called each time a whole-list read lands (main.js: the last open chat is restored then). */
let listLoaded = () => {};
export function onListLoaded(fn) { listLoaded = fn; }

/** An event changed conversation `id` locally: a read under way must not undo it. */
export function touched(id) {
  if (listLoading) touchedDuringList.add(id);
  if (oneLoading.has(id)) oneLoading.set(id, true);
}

/**
 * A chat event for the open conversation: remember it if a page is loading (returns whether the
 * newest page is: it will replace the list). A newer page loading replays it too, once joined.
 */
export function chatEvent(ev) {
  if (chatPending) chatPending.push(ev);
  if (newerPending) newerPending.push(ev);
  return chatPending !== null;
}

/** Redraw what shows the open conversation's entry. */
function drawOpen() {
  if (state.open === null) return;
  drawHead();
  drawTyping();
}

/** Read the whole list (start-up, sign-in, RESYNC, sync done). */
export async function refreshAll() {
  // Reads may overlap (a sync finishing during start-up); only the latest one's answer counts.
  const token = ++listToken;
  listLoading = true;
  touchedDuringList.clear();
  let list;
  try { list = await api.conversations(); } catch { list = null; }
  if (token !== listToken) return;
  listLoading = false;
  if (!list) return;
  state.conversations = new Map(list.map((c) => [c.conversation_id, c]));
  drawList();
  drawOpen();
  listLoaded();
  const again = [...touchedDuringList];
  touchedDuringList.clear();
  for (const id of again) refreshOne(id);
}

/** Read one conversation's entry (added, replaced, or dropped if it is gone). */
export async function refreshOne(id) {
  if (oneLoading.has(id)) { oneLoading.set(id, true); return; }
  oneLoading.set(id, false);
  let c;
  try { c = await api.conversation(id); } catch { c = undefined; }
  const again = oneLoading.get(id);
  oneLoading.delete(id);
  if (c === undefined) return;
  if (c) state.conversations.set(id, c); else state.conversations.delete(id);
  if (listLoading) touchedDuringList.add(id);
  drawList();
  if (id === state.open && c) {
    drawOpen();
    state.chat = chatWithTicks(state.chat, c.members, state.userId);
    drawMessages();
  }
  if (again) refreshOne(id);
}

/**
 * Apply one chat event (message, status, deleted, message_changed, a finished upload's
 * transfer) to a list of messages.
 */
export function applyChat(list, ev) {
  switch (ev.event) {
    case "message": return chatWithMessage(list, ev.message);
    case "status": return chatWithStatus(list, ev) || list;
    case "deleted": return chatWithout(list, ev.client_id);
    case "message_changed": return chatWithChanged(list, ev.message, ev.hidden);
    case "transfer": return chatWithUploaded(list, ev);
    default: return list;
  }
}

/**
 * Load the open chat's newest page (keeping as many messages as are shown, up to 200). A chat
 * that did not hold its newest messages (`hasNewer`) goes to its bottom: what showed is gone.
 */
export async function loadChat() {
  const id = state.open;
  if (id === null) return;
  const token = ++chatToken;
  const shown = state.chat.filter((m) => m.seq != null).length;
  const limit = Math.min(200, Math.max(PAGE, shown));
  chatPending = [];
  let page;
  try { page = await api.messages(id, null, limit); } catch (e) { console.error(e); page = null; }
  if (token !== chatToken) return;
  const replay = chatPending;
  chatPending = null;
  if (!page || state.open !== id) return;
  let list = page;
  // Events heard while the page was read; a message event that does not join the page (it
  // trails or skips ahead of what the cache had) is left out, so no gap is shown.
  for (const ev of replay) {
    const where = ev.event === "message" ? placement(list, ev.message) : null;
    if (where === "older" || where === "newer") continue;
    list = applyChat(list, ev);
  }
  const c = state.conversations.get(id);
  const farBack = state.hasNewer;
  state.chat = c ? chatWithTicks(list, c.members, state.userId) : list;
  state.hasOlder = page.length >= limit;
  state.hasNewer = false;
  // What shows is measured at the next frame (drawMessages): only what is seen is marked read.
  drawMessages({ toBottom: farBack });
}

/**
 * Prepend the page of `limit` messages before the oldest one shown (the user scrolled near the
 * top, or a quoted message is being looked for). A read already under way is shared. Past
 * WINDOW, the newest messages go (`hasNewer`); what shows stays where it is.
 */
export function loadOlder(limit = SCROLL_PAGE) {
  const id = state.open;
  const before = minSeq(state.chat);
  if (olderLoading) return olderLoading;
  if (!state.hasOlder || id === null || before === null) return Promise.resolve();
  olderLoading = (async () => {
    try {
      const page = await api.messages(id, before, limit);
      if (state.open !== id) return;
      // The chat was replaced meanwhile (a resync read the newest page again): this page no
      // longer joins what is shown, and merging it would leave a hole. The next scroll asks
      // again from the new oldest message.
      if (minSeq(state.chat) !== before) return;
      const next = withOlderPage(state.chat, page, limit, WINDOW);
      state.hasOlder = next.hasOlder;
      if (next.trimmed) state.hasNewer = true;
      state.chat = next.list;
      drawMessages({ hold: true });
    } catch (e) {
      console.error(e);
    } finally {
      olderLoading = null;
    }
  })();
  return olderLoading;
}

/**
 * Append the page of `limit` messages after the newest one held (the user scrolled to the end
 * of what is held while newer messages are not: `hasNewer`). A read already under way is
 * shared; none starts while the newest page loads (it replaces the list). Past WINDOW, the
 * oldest messages go (`hasOlder`); what shows stays where it is.
 */
export function loadNewer(limit = SCROLL_PAGE) {
  const id = state.open;
  const after = maxSeq(state.chat);
  if (newerLoading) return newerLoading;
  if (!state.hasNewer || id === null || after === 0 || chatPending !== null) return Promise.resolve();
  const token = chatToken;
  newerPending = [];
  newerLoading = (async () => {
    try {
      const page = await api.messagesAfter(id, after, limit);
      const replay = newerPending;
      newerPending = null;
      // The chat was replaced meanwhile (another chat opened, or the newest page was read
      // again), or its newest end moved: this page may not join what is shown.
      if (state.open !== id || token !== chatToken || !state.hasNewer) return;
      const next = withNewerPage(state.chat, page, after, limit, WINDOW);
      if (!next) return;
      state.hasNewer = next.hasNewer;
      if (next.trimmed) state.hasOlder = true;
      let list = next.list;
      // Events heard while the page was read. A message that does not join (it comes after
      // messages still not held, or trails them) is left out; one past the newest with a gap
      // once the page reached it means reading the newest page again (as events.js does).
      let reread = false;
      for (const ev of replay) {
        const where = ev.event === "message" ? placement(list, ev.message, state.hasNewer) : null;
        if (where === "newer" && !state.hasNewer) reread = true;
        if (where === "older" || where === "newer") continue;
        list = applyChat(list, ev);
      }
      const kept = trimOldest(list, WINDOW);
      if (kept.trimmed) state.hasOlder = true;
      const c = state.conversations.get(id);
      state.chat = c ? chatWithTicks(kept.list, c.members, state.userId) : kept.list;
      drawMessages({ hold: true });
      if (reread) loadChat();
    } catch (e) {
      console.error(e);
    } finally {
      newerPending = null;
      newerLoading = null;
    }
  })();
  return newerLoading;
}

/**
 * Load older pages of the open chat until the message at `seq` is shown (a quote was clicked);
 * whether it now is. Stops when there is nothing older, the chat changed, or a read failed. A
 * message newer than what is held (`hasNewer`) is looked for back from the newest page.
 */
export async function reveal(seq) {
  const id = state.open;
  let reread = false;
  for (;;) {
    if (state.open !== id) return false;
    if (state.chat.some((m) => m.seq === seq)) return true;
    if (state.hasNewer && seq > maxSeq(state.chat)) {
      if (reread) return false;
      reread = true;
      await loadChat();
      continue;
    }
    const oldest = minSeq(state.chat);
    if (!state.hasOlder || oldest === null || oldest < seq) return false;
    // Seqs also count edits and reactions, so the gap bounds the messages in between.
    await loadOlder(Math.min(200, Math.max(PAGE, oldest - seq + 1)));
    if (minSeq(state.chat) === oldest && state.hasOlder) return false;
  }
}

/**
 * A chat is opening with its newest page loaded: load older pages until its first message
 * unread after `marker` shows (so the "New messages" divider can go before it), as long as
 * fewer than UNREAD_REACH messages are shown (no page goes past it: the newest stay held).
 * Stops when there is nothing older, the chat changed, or a read brought nothing.
 */
export async function revealUnread(marker) {
  const id = state.open;
  while (state.open === id && state.hasOlder && state.chat.length < UNREAD_REACH) {
    const oldest = minSeq(state.chat);
    if (oldest === null || oldest <= marker + 1) return;
    // Seqs also count edits and reactions, so the gap bounds the messages in between.
    await loadOlder(Math.min(200, Math.max(PAGE, oldest - marker), UNREAD_REACH - state.chat.length));
    if (minSeq(state.chat) === oldest) return;
  }
}

/** Conversation id → the seq to mark next once the mark under way returns (null: none). */
const marking = new Map();

/**
 * Forget what was read from here (the session ended): the next account's chats may have the
 * same ids, and a marker of this one's must neither hide their unread messages nor be sent
 * for them.
 */
export function forgetReading() {
  state.lastRead.clear();
  for (const id of marking.keys()) marking.set(id, null);
}

/** Tell the engine the user read conversation `id` up to `seq`, one call at a time. */
function sendMark(id, seq) {
  if (marking.has(id)) { marking.set(id, seq); return; }
  marking.set(id, null);
  const next = () => {
    const then = marking.get(id);
    marking.delete(id);
    if (then !== null && then !== undefined) sendMark(id, then);
    // The engine sends no event for the user's own marker set here: read back the unread count.
    else refreshOne(id);
  };
  api.call("mark_read", { conversationId: id, seq }).then(next, (e) => { console.error(e); next(); });
}

/** Read what the relay takes (its last welcome: the longest message, the edit window). */
export function refreshLimits() {
  api.call("relay_limits").then((l) => { state.limits = l; }, console.error);
}

/**
 * Mark the open chat read up to the newest message the user has seen: the highest seq whose
 * row's bottom edge shows in the message list (views/chat.js seenSeq), while the window has
 * focus, is not hidden and no dialog covers the chat (dom.js attending). Never beyond what was seen, never backwards (past the marker known
 * here: the engine's or one set from this window).
 */
export function markReadIfVisible() {
  const id = state.open;
  if (id === null || !attending()) return;
  const seq = seenSeq();
  if (seq <= readMarker(state.conversations.get(id), state.userId, state.lastRead.get(id))) return;
  state.lastRead.set(id, seq);
  sendMark(id, seq);
}
