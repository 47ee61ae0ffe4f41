// What the user does with a conversation: open or close it, retry, delete or edit a
// failed message (a failed file is uploaded again; editing puts the text back in the composer
// and deletes the failed copy). Writing and sending are the composer's (composer.js,
// attach.js); results come back as engine events (events.js). The open chat is remembered per
// account and opened again after start-up or sign-in (last-open.js). A search result opens its
// conversation at its message (openAt), as a clicked reply quote shows the quoted one.

import { call } from "./api.js";
import { $, attending } from "./dom.js";
import { errorText } from "./errors.js";
import { state } from "./store.js";
import { readMarker } from "./reading.js";
import { loadLastOpen, saveLastOpen, restoreDecision } from "./last-open.js";
import { loadChat, revealUnread, reveal } from "./refresh.js";
import { closeDraft, switchDraft, putBack } from "./composer.js";
import { closeMentions } from "./mentions.js";
import { closePicker } from "./views/picker.js";
import { closeMenu } from "./views/context-menu.js";
import { closeViewer } from "./views/viewer.js";
import { drawList } from "./views/list.js";
import { drawHead, drawTyping, showChat, clearMessages, beginOpen, endOpen, flashRow } from "./views/chat.js";
import { focusCompose } from "./views/bars.js";
import { toast } from "./views/toast.js";
import { setUnreadMark } from "./unread-marks.js";

/** Opens so far: an open that was overtaken by another leaves the view to it. */
let opens = 0;
/** The last open: `{ id, token, done }` (`done` settles once it has opened), or null. */
let lastOpen = null;
/** The chat to open again once the list is loaded (start-up, sign-in), or null. */
let restoring = null;

/**
 * Open a conversation: its header at once, its newest page when loaded (and older pages back
 * to its first unread message, shown under a "New messages" divider near the top; the bottom
 * when nothing is unread); then focus the composer (or the bar standing in for it: a message
 * request's, a blocked person's). Nothing is marked read until it has opened, and then only
 * what shows (views/chat.js).
 */
/** A chat opened while the window was not looked at (its unread mark waits for that). */
let openedUnseen = null;

/** The window is looked at (it got the focus, a dialog over it closed): a chat opened behind
 *  it loses its unread mark now. A mark set on the open chat afterwards stays (the user just
 *  set it). */
export function windowSeen() {
  if (!attending()) return;
  if (openedUnseen !== null && openedUnseen === state.open) setUnreadMark(openedUnseen, false);
  openedUnseen = null;
}

export function openConversation(id) {
  const done = doOpen(id);
  lastOpen = { id, token: opens, done };
  return done;
}

async function doOpen(id) {
  const token = ++opens;
  // The user (or a notification) chose: nothing is restored over it.
  restoring = null;
  if (state.open !== id) {
    clearMessages(); state.chat = []; state.hasOlder = false; state.hasNewer = false;
    switchDraft(state.open, id); closeMentions(); closePicker(); closeMenu(); closeViewer();
  }
  state.open = id;
  saveLastOpen(state.account, id);
  // Opened in front of the user, it is read as far as their own mark goes; a chat opened
  // behind another window (reopened at launch) or a dialog keeps it until it is looked at.
  openedUnseen = null;
  if (attending()) setUnreadMark(id, false);
  else openedUnseen = id;
  const c = state.conversations.get(id);
  // The read marker as known when it opens: the divider goes before the first message after it.
  const marker = c ? readMarker(c, state.userId, state.lastRead.get(id)) : null;
  beginOpen(marker);
  showChat(true);
  call("set_open_conversation", { conversationId: id }).catch(console.error);
  drawList();
  drawHead();
  drawTyping();
  try {
    await loadChat();
    if (token === opens && marker !== null && c.unread > 0) await revealUnread(marker);
  } finally {
    if (token === opens && state.open === id) endOpen();
  }
  focusCompose();
}

/** Jumps to a message so far: one overtaken by another (or by opening a chat) stops. */
let jumps = 0;

/**
 * Open conversation `id` at the message at `seq` (a search result was chosen): the chat opens
 * (unless it is open already), older pages load until that message shows (refresh.js reveal),
 * and it is scrolled to the middle, focused and highlighted briefly (views/chat.js flashRow, as
 * for a clicked reply quote). A message no longer there is said in a toast.
 */
export async function openAt(id, seq) {
  const token = ++jumps;
  // Opened already, perhaps still loading: its pages are waited for.
  if (state.open !== id || !lastOpen || lastOpen.id !== id) openConversation(id);
  const open = lastOpen;
  await open.done;
  if (token !== jumps || open.token !== opens || state.open !== id) return;
  const shown = await reveal(seq);
  if (token !== jumps || state.open !== id) return;
  if (shown) flashRow(seq, { unfold: true });
  else toast("That message is no longer available");
}

/**
 * Close the open conversation (the user went back to the list, or it was left or removed). It
 * is forgotten as the last open chat unless `remember` (signing out: it opens again at the
 * next sign-in). What was being written stays with it (composer.js closeDraft) unless it is
 * `gone`.
 */
export function closeConversation({ remember = false, gone = false } = {}) {
  restoring = null;
  if (!remember) saveLastOpen(state.account, null);
  const closing = state.open;
  state.open = null;
  state.chat = [];
  state.hasNewer = false;
  closeDraft(closing, { gone }); closeMentions(); closePicker(); closeMenu(); closeViewer();
  showChat(false);
  call("set_open_conversation", { conversationId: null }).catch(console.error);
  drawList();
}

/** Retry a failed message (a `status` event follows). */
export const retry = (clientId) => call("retry", { clientId }).catch((e) => toast(errorText(e)));

/** Delete a failed message (a `deleted` event follows). */
export const removeFailed = (clientId) => call("delete_failed", { clientId }).catch((e) => toast(errorText(e)));

/**
 * Edit a failed message: its text goes back into the composer and the failed copy is deleted
 * (a `deleted` event follows), so the fixed text is sent as a new message.
 */
export function editFailed(clientId) {
  const m = state.chat.find((x) => x.client_id === clientId);
  if (!m || m.status !== "failed") return;
  putBack(m);
  removeFailed(clientId);
}

/** After start-up or sign-in (`state.account` set): open the user's last chat once listed. */
export function beginRestore() {
  restoring = loadLastOpen(state.account);
}

/**
 * The list was loaded: open the chat being restored if it is listed (and not a request); keep
 * waiting while the list is empty (a first sync may bring it); otherwise give up.
 */
export function restoreLastOpen() {
  if (restoring === null) return;
  if (state.open !== null) { restoring = null; return; }
  const decision = restoreDecision(restoring, state.conversations);
  if (decision === "wait") return;
  const id = restoring;
  restoring = null;
  if (decision === "open") openConversation(id);
  else saveLastOpen(state.account, null);
}

