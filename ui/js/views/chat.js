// The open chat: header, messages (rows keyed by client id, with a separator per day; each
// row drawn by message.js) and the typing line. A status, receipt or change redraws only the
// rows it touched; a transfer's progress only the bar (and size) of its row. The view sticks to
// the bottom when the user was at the bottom (or just sent something); otherwise new messages
// leave it where it is.
//
// Reading (reading.js): a chat opens at its first unread message, under a "New messages"
// divider (li.new-divider; at the bottom when there is none, or when all of them fit), and the
// divider stays until the chat closes or the user sends something. What the user has seen —
// the highest seq whose row's bottom edge shows in the list — is measured here (seenSeq) once
// per frame after a scroll, a draw, a resize, the window's focus or visibility changing
// (recheckReading); the `reading` callback then moves the read marker (refresh.js). Messages
// that come while the user looks elsewhere (the window unfocused or hidden) get the divider
// too, and the view follows them only until it reaches the top: the user comes back to the
// first of them, and what did not fit waits below, unread. The
// jump-to-bottom button (#jump-to-bottom) shows while the list is not at its bottom, with the
// number of unread messages below the view (#jump-count).
//
// A long chat is windowed (refresh.js WINDOW): only a bounded run of its messages is held and
// drawn. Scrolling to within a screen of the top asks for older ones (`nearTop`), to within a
// screen of the end of what is held while newer ones are not (`state.hasNewer`) for those
// (`nearEnd`). Rows coming in at one end and going at the other keep what shows in place: the
// first message row in view is measured before the draw and put back where it was after
// (drawMessages `hold`). While newer messages are not held, the jump button shows (the bottom
// of the list is not the newest), counts at least the conversation's unread messages, and reads
// the newest page (`newest`) before going to the bottom.
//
// Keyboard: the message list is one tab stop (the focused row, else the newest); arrow keys,
// Home and End move between rows; Tab goes into the focused row's quote, links, reactions and
// actions (the other rows' controls stay out of the tab order); Escape goes back to the composer;
// the ContextMenu key or Shift+F10 opens the row's menu (as a right-click does).
//
// Long bodies are folded (fold.js); the messages the user unfolded stay unfolded while the chat
// is open, however often their rows are drawn again.
//
// Avatars (avatars.js): the header shows the conversation's (#chat-avatar). In a group, the
// first message of each run by someone else (avatars.js showsAvatar: a new sender, or after a
// day separator or the "New messages" divider) shows its sender's avatar (span.msg-avatar, the
// member's picture), and the rest of the run keeps its place (li.with-avatar). A row is drawn
// again when what its avatar shows changes (starting a run or not, the picture's sha256, the name).
//
// Group notices (notices.js: "alice added bob") are rows of their own (li.msg.notice), named
// with the open conversation's members (their display names; the user is "You") and drawn again
// when their sentence changes. They end a run (the next message shows its avatar again), are
// never unread (no divider before them, not counted by the jump button), offer no menu and take
// no focus: the arrow keys pass over them.

import { call } from "../api.js";
import { $, day, attending } from "../dom.js";
import { errorText } from "../errors.js";
import { state, actionsFor, progressOf } from "../store.js";
import { progressText } from "../attachments.js";
import { readUpTo, readMarker, firstUnread, firstUnreadIn, unreadBelow, openScrollTop, jumpLabel } from "../reading.js";
import { badgeText } from "../unread.js";
import { chatSubtitle } from "../when.js";
import { reconcile, clear } from "./keyed.js";
import { fillMessage, setProgress, CONTROLS } from "./message.js";
import { closePicker } from "./picker.js";
import { drawBars, focusCompose } from "./bars.js";
import { toast } from "./toast.js";
import { drawMute } from "./mute-menu.js";
import { isMenuKey, keyMenuJustOpened } from "./context-menu.js";
import { fillAvatar, conversationKey, userKey, showsAvatar } from "../avatars.js";
import { isNotice, noticeText, namesIn } from "../notices.js";

const rows = new Map();
let shownKind = null;
let shownAdmin = false;
let stick = false;
/** The row whose controls are in the tab order (it has focus), and the list's tab stop. */
let activeRow = null;
let tabStop = null;
/** Client ids of the long messages the user unfolded (forgotten when another chat opens). */
const expanded = new Set();
/** Client ids of long messages found to fit their first lines (unfoldWhatFits). */
const fits = new Set();
/** Folded bodies already measured. */
let measured = new WeakSet();

/** The "New messages" divider row: its key and data (one per chat). */
const DIVIDER_KEY = "new-divider";
const DIVIDER = Object.freeze({ divider: true });
/** The read marker the divider follows (it goes before the first message unread after it), or
 *  null: no divider. Set when a chat opens with unread messages. */
let dividerAt = null;
/** The read marker the divider was placed at for messages that came while the user looked
 *  elsewhere (null: it was not). */
let awayAt = null;
/** A chat is opening (beginOpen … endOpen): each draw shows its first unread message, and
 *  nothing is taken as seen. `openMarker`: the marker it opened with (null: go to the bottom). */
let opening = false;
let openMarker = null;
/** What is seen is measured again at the next frame; `reading()` then moves the read marker. */
let readingDue = false;
let reading = () => {};
/** How close to the bottom (px) counts as at the bottom: new messages then stick. */
const NEAR_BOTTOM = 40;
/** Whether the list was at its bottom when last scrolled or drawn: a list that shrinks (the
 *  composer grew, a reply banner showed) stays at its bottom then. */
let wasAtBottom = true;
/** The list's height when `wasAtBottom` was last measured (0: not yet). */
let bottomHeight = 0;

/** Whether the user is looking elsewhere: the window lacks focus or is hidden, or a dialog
 *  covers the chat (dom.js attending). */
const unattended = () => !attending();

/** Client id → what the message's avatar shows in this draw (faceOf), and as its row was drawn
 *  (faceKey): a row whose avatar changed is drawn again though its message did not. */
let faces = new Map();
const drawnFaces = new Map();

/**
 * What the avatar beside message `m` of a group shows: null (the user's own message), or
 * `{ first, picture, name, key }` (`first`: it starts a run and shows the avatar; otherwise a
 * space of its width). `prev`: the message before it; `brk`: a separator lies between them.
 */
function faceOf(prev, m, brk, members) {
  if (m.mine) return null;
  if (!showsAvatar(prev, m, brk)) return { first: false };
  const member = members.get(m.sender_id);
  return { first: true, picture: (member && member.avatar) || null, name: m.sender_name || m.sender, key: userKey(m.sender_id ?? m.sender) };
}

/** A face as a string, to tell whether a row's avatar changed (a notice's: its sentence). */
const faceKey = (f) => (!f ? "" : f.notice !== undefined ? `notice\n${f.notice}` : !f.first ? "run" : `${f.key}\n${f.name}\n${f.picture ? f.picture.sha256 : ""}`);

/** Whether a row drawn with `a` shows `b` alike (messages: also their avatar). */
function sameRow(a, b) {
  if (a !== b) return false;
  if (!b || typeof b !== "object" || b === DIVIDER) return true;
  return drawnFaces.get(b.client_id) === faceKey(faces.get(b.client_id));
}

/** The row marked as the list's first message (style.css: its action bar), or null. */
let firstMessage = null;

/** Mark the first message row among `items` (and unmark the one before). */
function markFirstMessage(items) {
  const first = items.find((i) => i.key.startsWith("msg:"));
  const node = first ? rows.get(first.key).node : null;
  if (firstMessage && firstMessage !== node) firstMessage.classList.remove("first-msg");
  // Drawing a row again sets its classes anew: marked again. Only when missing: adding a class
  // the row has still sets its attribute again, a DOM mutation of its own.
  if (node && !node.classList.contains("first-msg")) node.classList.add("first-msg");
  firstMessage = node;
}

/** Day labels by message (formatting dates is slow; a changed message is a new object). */
const days = new WeakMap();
function dayOf(m) {
  let d = days.get(m);
  if (d === undefined) { d = day(m.sent_at); days.set(m, d); }
  return d;
}

/** The open conversation's list entry. */
export const current = () => state.conversations.get(state.open);

/** Links open in the system browser, never in the window. */
const openLink = (url) => call("open_link", { url }).catch((e) => toast(errorText(e)));

/** Which control of a row has focus, to find its successor after the row is redrawn. */
function focusKey(node) {
  // Attachment buttons change their action (Download becomes Open): found by their class.
  for (const c of ["attachment-view", "attachment-action", "attachment-save", "read-more"]) if (node.classList.contains(c)) return `.${c}`;
  if (node.dataset.action) return `[data-action="${node.dataset.action}"]`;
  if (node.classList.contains("quote")) return ".quote";
  return null;
}

function fill(li, data) {
  if (typeof data === "string") { li.className = "day"; li.textContent = data; return; }
  if (data === DIVIDER) { li.className = "new-divider"; li.textContent = "New messages"; return; }
  const focused = document.activeElement;
  const inside = focused && focused !== li && li.contains(focused) ? focused : null;
  const emoji = inside && inside.classList.contains("reaction") ? inside.dataset.emoji : null;
  const key = inside && focusKey(inside);
  const got = faces.get(data.client_id) || null;
  drawnFaces.set(data.client_id, faceKey(got));
  // A notice's entry is its sentence, not an avatar.
  const notice = got && got.notice !== undefined ? got.notice : undefined;
  const face = notice === undefined ? got : null;
  fillMessage(li, data, {
    face, notice,
    group: shownKind === "group", me: state.me, openLink, tabbable: li === activeRow,
    actions: actionsFor(data, current(), state.userId, state.limits), progress: progressOf(state.transfers, data),
    expanded: expanded.has(data.client_id),
    fits: fits.has(data.client_id),
  });
  if (!inside) return;
  const next = (key && li.querySelector(key))
    || (emoji && [...li.querySelectorAll(".reaction")].find((b) => b.dataset.emoji === emoji));
  (next || li).focus({ preventScroll: true });
}

/** The row of the message at `seq`, if shown. */
function rowOf(seq) {
  const m = state.chat.find((x) => x.seq === seq);
  const row = m && rows.get(`msg:${m.client_id}`);
  return row ? row.node : null;
}

/** Put `li`'s controls in the tab order (or take them out). */
function setControls(li, on) {
  if (li) for (const c of li.querySelectorAll(CONTROLS)) c.tabIndex = on ? 0 : -1;
}

/** Keep one row as the list's tab stop: the focused one, else the newest. */
function syncTabStop() {
  if (activeRow && !activeRow.isConnected) activeRow = null;
  let stop = activeRow || (tabStop && tabStop.isConnected ? tabStop : null);
  if (!stop) {
    // The newest message someone wrote: a notice takes no focus.
    let last = null;
    for (let i = state.chat.length - 1; i >= 0 && !last; i--) if (!isNotice(state.chat[i])) last = state.chat[i];
    const row = last && rows.get(`msg:${last.client_id}`);
    stop = row ? row.node : null;
  }
  if (tabStop && tabStop !== stop && tabStop.isConnected) tabStop.tabIndex = -1;
  tabStop = stop;
  if (stop) stop.tabIndex = 0;
}

/**
 * Scroll to the message at `seq`, focus it and highlight it briefly (a quote was clicked, a
 * search result chosen). `unfold`: a long message shows whole (a search match may be past its
 * first lines).
 */
export function flashRow(seq, { unfold = false } = {}) {
  const li = rowOf(seq);
  if (!li) return;
  const id = li.dataset.clientId;
  if (unfold && id && !expanded.has(id) && li.querySelector(".read-more")) toggleFold(li);
  stick = false;
  li.scrollIntoView({ block: "center", behavior: "smooth" });
  li.focus({ preventScroll: true });
  li.classList.remove("flash");
  void li.offsetWidth; // restart the animation
  li.classList.add("flash");
  setTimeout(() => li.classList.remove("flash"), 2000);
}

/**
 * While the user looks elsewhere the view follows new messages down only as far as keeps the
 * "New messages" divider in view: what comes after waits below, unread, until they are back.
 */
function keepDividerInView(ol) {
  const row = rows.get(DIVIDER_KEY);
  if (!row) return;
  const over = ol.getBoundingClientRect().top + ol.clientTop - row.node.getBoundingClientRect().top;
  if (over > 0) ol.scrollTop -= over;
}

/** The user sent something: stick to the bottom on the next draw; the divider goes. */
export function stickToBottom() {
  stick = true;
  dividerAt = awayAt = null;
  const row = rows.get(DIVIDER_KEY);
  if (row) { row.node.remove(); rows.delete(DIVIDER_KEY); }
}

/** Whether list `ol` is scrolled to within `px` of its end. */
const withinEnd = (ol, px) => ol.scrollHeight - ol.scrollTop - ol.clientHeight < px;

/** Whether list `ol` is scrolled to its bottom (or near it). */
const nearBottom = (ol) => withinEnd(ol, NEAR_BOTTOM);

/**
 * Whether list `ol` is at its bottom as the user left it: near it, or it was there and has
 * since only shrunk (the composer grew, a banner showed) without a scroll of the user's.
 * The resize observer that takes such a list back down runs at the next rendering update;
 * a message drawn before it (a busy machine) would otherwise land below the view, never be
 * seen, and never be marked read.
 */
function atBottomAsLeft(ol) {
  if (nearBottom(ol)) return true;
  const shrunk = bottomHeight - ol.clientHeight;
  return wasAtBottom && !opening && shrunk > 0 && withinEnd(ol, NEAR_BOTTOM + shrunk);
}

/** Note whether `ol` is at its bottom now, and at which height. */
function noteBottom(ol) {
  wasAtBottom = nearBottom(ol);
  bottomHeight = ol.clientHeight;
}

/**
 * Whether a message arriving now will show: a chat is open (not opening) at its bottom, and that
 * bottom is the newest (not the end of a window that let newer messages go).
 */
export const showsNewest = () => state.open !== null && !opening && !state.hasNewer && atBottomAsLeft($("messages"));

/**
 * Whether the user is at the bottom of what is held while newer messages are not
 * (`hasNewer`): a message arriving then should be read in (the held window may already end
 * at what was the newest, when its last page happened to be full).
 */
export const atWindowEnd = () => state.open !== null && !opening && state.hasNewer && atBottomAsLeft($("messages"));

/**
 * A chat starts opening (the list is empty, or shows it already: opened again). `marker`: the
 * user's read marker as known now (reading.js readMarker), or null when unknown. Until endOpen,
 * each draw shows the first message unread after it near the top, and the divider (opened
 * afresh, or again with unread messages) goes before it.
 */
export function beginOpen(marker) {
  opening = true;
  openMarker = marker;
  stick = false;
  awayAt = null;
  if (marker !== null && (dividerAt === null || firstUnreadIn(state.chat, marker))) dividerAt = marker;
  drawJump();
}

/** The chat has opened (its pages are loaded): what shows now is what the user sees. */
export function endOpen() {
  if (!opening) return;
  showFirstUnread($("messages"));
  opening = false;
  // Opened with nothing unread: messages that come later get no divider.
  if (dividerAt !== null && dividerAt === openMarker && !firstUnreadIn(state.chat, dividerAt)) dividerAt = null;
  openMarker = null;
  recheckReading();
}

/** While a chat opens: scroll its first unread message (its divider) near the top, else to the bottom. */
function showFirstUnread(ol) {
  const m = openMarker === null ? null : firstUnreadIn(state.chat, openMarker);
  const row = m && rows.get(`msg:${m.client_id}`);
  if (!row) { ol.scrollTop = ol.scrollHeight; return; }
  // Its divider, and the day it starts when that comes right before.
  const divider = rows.get(DIVIDER_KEY);
  let target = divider && divider.node.nextElementSibling === row.node ? divider.node : row.node;
  const before = target.previousElementSibling;
  if (before && before.classList.contains("day")) target = before;
  const top = target.getBoundingClientRect().top - ol.getBoundingClientRect().top - ol.clientTop + ol.scrollTop;
  ol.scrollTop = openScrollTop(top, ol.scrollHeight, ol.clientHeight);
}

/**
 * The first message row showing at the top of list `ol`, and its top edge (window coordinates):
 * `{ node, top }`, or null when none shows. The rows go down the list in order (a binary search).
 */
function anchorRow(ol) {
  const kids = ol.children;
  const top = ol.getBoundingClientRect().top + ol.clientTop;
  let lo = 0, hi = kids.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (kids[mid].getBoundingClientRect().bottom > top) hi = mid; else lo = mid + 1;
  }
  for (let i = lo; i < kids.length; i++) {
    if (kids[i].classList.contains("msg")) return { node: kids[i], top: kids[i].getBoundingClientRect().top };
  }
  return null;
}

/**
 * Bring the messages in line with the store. `hold`: rows came in or went at either end (a page
 * was loaded, the window let some go): what shows stays where it is. `toBottom`: go to the
 * newest (the list was read again from the newest after showing an older part).
 */
export function drawMessages({ hold = false, toBottom = false } = {}) {
  // A bench (tests/tests/desktop_bench.rs) sets this array to have each draw timed, in ms:
  // `measure` (where the view is), `list` (what to draw), `reconcile` (the rows), `rest`, all of
  // them `rows`; then `layout` (putting the view back, which lays the list out).
  const times = globalThis.__ternDrawTimes;
  const t0 = times ? performance.now() : 0;
  const ol = $("messages");
  const c = current();
  const kind = c ? c.kind : null;
  // Senders show in groups only, and what the user may delete depends on being an admin.
  const admin = !!c && c.members.some((m) => m.user_id === state.userId && m.role === "admin");
  if (kind !== shownKind || admin !== shownAdmin) { clear(ol, rows); drawnFaces.clear(); shownKind = kind; shownAdmin = admin; }
  const atBottom = atBottomAsLeft(ol);
  const fromBottom = ol.scrollHeight - ol.scrollTop;
  // Rows may change height above the view (a reaction, an edit, a picture): unless the list
  // follows its bottom, the first row in view stays where it is (WebKit does not anchor
  // scrolling by itself).
  const anchor = (hold || !atBottom) && !opening ? anchorRow(ol) : null;
  const tA = times ? performance.now() : 0;
  // Messages coming while the user looks elsewhere get the divider a chat opens with, before
  // the first of them (it moves down from where the chat opened, if that was read since);
  // the view follows them down only until it reaches the top (below).
  let away = false;
  if (c && !opening && unattended()) {
    const marker = readMarker(c, state.userId, state.lastRead.get(state.open));
    away = !!firstUnreadIn(state.chat, marker);
    if (away && (dividerAt === null || dividerAt < marker)) dividerAt = awayAt = marker;
  }
  const newFrom = dividerAt === null ? null : firstUnread(state.chat, dividerAt, state.hasOlder);
  const items = [];
  // Group senders' avatars: members by id, to find each sender's picture.
  const members = kind === "group" ? new Map(c.members.map((x) => [x.user_id, x])) : null;
  // How notices name people: the members' display names, the user "You".
  const names = namesIn(c, state.userId);
  faces = new Map();
  let lastDay = null;
  let prev = null;
  for (const m of state.chat) {
    const d = dayOf(m);
    let brk = false;
    if (d !== lastDay) { items.push({ key: `day:${m.client_id}`, data: d }); lastDay = d; brk = true; }
    if (m.client_id === newFrom) { items.push({ key: DIVIDER_KEY, data: DIVIDER }); brk = true; }
    if (isNotice(m)) faces.set(m.client_id, { notice: noticeText(m, names, state.userId) });
    else if (members) faces.set(m.client_id, faceOf(prev, m, brk, members));
    items.push({ key: `msg:${m.client_id}`, data: m });
    prev = m;
  }
  for (const id of drawnFaces.keys()) if (!rows.has(`msg:${id}`)) drawnFaces.delete(id);
  const tB = times ? performance.now() : 0;
  reconcile(ol, items, rows, fill, sameRow);
  unfoldWhatFits(ol);
  const tC = times ? performance.now() : 0;
  markFirstMessage(items);
  syncTabStop();
  const t1 = times ? performance.now() : 0;
  if (opening) showFirstUnread(ol);
  else if (hold) {
    // The row that showed first goes back where it was; without one, what was at the bottom.
    if (anchor && anchor.node.isConnected) ol.scrollTop += anchor.node.getBoundingClientRect().top - anchor.top;
    else ol.scrollTop = ol.scrollHeight - fromBottom;
  } else if (toBottom || atBottom || stick) {
    ol.scrollTop = ol.scrollHeight;
    // Only a divider placed for what came while away, with some of it still unread: one left
    // from opening the chat, read since, must not pull the view back up.
    if (!toBottom && !stick && away && dividerAt === awayAt) keepDividerInView(ol);
    stick = false;
  } else if (anchor && anchor.node.isConnected) {
    const moved = anchor.node.getBoundingClientRect().top - anchor.top;
    if (moved) ol.scrollTop += moved;
  }
  noteBottom(ol);
  if (times) times.push({ hold, items: items.length, rows: t1 - t0, layout: performance.now() - t1, measure: tA - t0, list: tB - tA, reconcile: tC - tB, rest: t1 - tC });
  // Messages came, went or changed size: what is seen (and what waits below) may have changed.
  recheckReading();
}

/**
 * The highest seq whose row's bottom edge shows in the message list (reading.js readUpTo); 0
 * while a chat opens, or when none shows. Whether the window has focus is the caller's concern.
 */
export function seenSeq() {
  if (state.open === null || opening) return 0;
  const ol = $("messages");
  const box = ol.getBoundingClientRect();
  if (!box.height) return 0;
  const top = box.top + ol.clientTop, bottom = top + ol.clientHeight;
  // From the newest back, until a row ends above the view: the rest cannot show.
  const seen = [];
  for (let i = state.chat.length - 1; i >= 0; i--) {
    const m = state.chat[i];
    const row = m.seq == null ? null : rows.get(`msg:${m.client_id}`);
    if (!row) continue;
    const r = row.node.getBoundingClientRect();
    seen.push({ seq: m.seq, top: r.top, bottom: r.bottom });
    if (r.bottom <= top) break;
  }
  return readUpTo(seen, top, bottom);
}

/**
 * Measure what is seen again at the next frame (a scroll, a draw, a resize, the window's focus
 * or visibility changed), once however many asked: the read marker may move (`reading`), and
 * the jump button follows. A short timer stands in for a frame that does not come (the webview
 * pauses frames in some states); a hidden window marks nothing anyway.
 */
export function recheckReading() {
  if (readingDue) return;
  readingDue = true;
  const run = () => {
    if (!readingDue) return;
    readingDue = false;
    reading();
    drawJump();
  };
  requestAnimationFrame(run);
  setTimeout(run, 120);
}

/**
 * The jump-to-bottom button: shown while the list is not at its bottom, or its bottom is not the
 * newest (`hasNewer`), with the unread below (reading.js unreadBelow).
 */
function drawJump() {
  const b = $("jump-to-bottom"), count = $("jump-count");
  const ol = $("messages");
  const c = current();
  const show = !!c && !opening && (state.hasNewer || !nearBottom(ol));
  const after = show ? Math.max(readMarker(c, state.userId, state.lastRead.get(state.open)), seenSeq()) : 0;
  const n = show ? unreadBelow(state.chat, after, state.hasNewer, c.unread) : 0;
  if (b.hidden === show) b.hidden = !show;
  const text = n > 0 ? badgeText(n) : "";
  if (count.textContent !== text) count.textContent = text;
  count.hidden = n === 0;
  const label = jumpLabel(n);
  if (b.getAttribute("aria-label") !== label) { b.setAttribute("aria-label", label); b.title = label; }
}

/**
 * A transfer moved (`transfer` event, or a download started or ended here): the rows of its
 * message(s) show the progress from the store. Only the bar and size change while a bar is
 * shown; a row whose bar comes or goes is drawn again.
 */
export function drawProgress({ upload, client_id, blob_id }) {
  const ol = $("messages");
  const atBottom = atBottomAsLeft(ol);
  for (const m of state.chat) {
    const a = m.attachment;
    if (!a || (upload ? m.client_id !== client_id : a.blob_id !== blob_id)) continue;
    const row = rows.get(`msg:${m.client_id}`);
    if (!row) continue;
    const p = progressOf(state.transfers, m);
    const bar = row.node.querySelector(".attachment-progress");
    if (bar && p) {
      setProgress(bar, p);
      const size = row.node.querySelector(".attachment-size");
      if (size) size.textContent = progressText(p, a.size);
    } else if (!!bar !== !!p) {
      row.data = m;
      fill(row.node, m);
    }
  }
  if (atBottom) ol.scrollTop = ol.scrollHeight;
}

/** Empty the messages (another chat opens, or none); the divider goes with them. */
export function clearMessages() {
  clear($("messages"), rows);
  faces = new Map();
  drawnFaces.clear();
  shownKind = null;
  activeRow = tabStop = null;
  expanded.clear();
  fits.clear();
  measured = new WeakSet();
  dividerAt = openMarker = awayAt = null;
  opening = stick = false;
  wasAtBottom = true;
  bottomHeight = 0;
  drawJump();
}

/**
 * A message is folded by its length (fold.js), but a long paragraph in a wide window may fit its
 * first lines all the same: "Read more" would then reveal nothing. Each folded body is measured
 * once drawn; one that fits is drawn whole, without the button, from then on.
 */
function unfoldWhatFits(ol) {
  for (const body of ol.querySelectorAll(".body.folded")) {
    // Not laid out (the chat is hidden, as in the one-column layout's list): measured later.
    if (measured.has(body) || body.clientHeight === 0) continue;
    measured.add(body);
    if (body.scrollHeight > body.clientHeight + 1) continue;
    const row = rows.get(`msg:${body.closest("li.msg")?.dataset.clientId}`);
    if (!row) continue;
    fits.add(row.data.client_id);
    fill(row.node, row.data);
  }
}

/** Fold or unfold the long body of the row `li` (its "Read more" / "Show less" was pressed). */
function toggleFold(li) {
  const id = li.dataset.clientId;
  if (expanded.has(id)) expanded.delete(id); else expanded.add(id);
  const row = rows.get(`msg:${id}`);
  if (!row) return;
  const folding = !expanded.has(id);
  fill(row.node, row.data);
  // Folding a long message the user scrolled through: keep its start in view.
  if (folding) row.node.scrollIntoView({ block: "nearest" });
}

/** The message shown in row `li`. */
const messageOf = (li) => state.chat.find((x) => x.client_id === li.dataset.clientId);

/**
 * The line under the open chat's title (#chat-sub): a group's members; for a direct chat
 * "online", "last seen …" (the full date and time in its tooltip) or nothing when unknown or
 * hidden (when.js). Drawn with the head, and again each minute while shown (main.js), as
 * "5 minutes ago" ages.
 */
export function drawSubtitle() {
  const c = current();
  if (!c) return;
  const { text, title } = chatSubtitle(c, Date.now());
  const sub = $("chat-sub");
  if (sub.textContent !== text) sub.textContent = text;
  if (title) sub.title = title; else sub.removeAttribute("title");
}

/**
 * Title, subtitle, members button and mute menu of the open conversation, and what stands in
 * for its composer (bars.js: a message request, a blocked person).
 */
export function drawHead() {
  const c = current();
  if (!c) return;
  $("chat-title").textContent = c.title;
  fillAvatar($("chat-avatar"), c.picture || null, c.title, conversationKey(c, state.userId), "avatar-head");
  drawSubtitle();
  $("members-button").hidden = c.kind !== "group";
  drawMute();
  drawBars();
}

/** Who is typing in the open conversation; lapsed indications are dropped. */
export function drawTyping() {
  const now = Date.now();
  const names = [];
  const c = current();
  for (const [key, until] of state.typing) {
    const [conv, user] = key.split(":").map(Number);
    if (until < now) { state.typing.delete(key); continue; }
    if (conv === state.open && c) {
      const m = c.members.find((x) => x.user_id === user);
      names.push(m ? m.username : "someone");
    }
  }
  const text = names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "";
  // Drawn every second: written only when it changes, or a screen reader would say it again.
  if ($("typing").textContent !== text) $("typing").textContent = text;
}

/** Show the chat panes (true) or the "choose a conversation" note (false); `state.open` is set first. */
export function showChat(open) {
  // The narrow layout shows the list or the open chat, not both (style.css).
  $("app").classList.toggle("chat-open", open);
  $("empty-chat").hidden = open;
  $("chat-head").hidden = !open;
  drawBars();
  if (!open) clearMessages();
}

/** Move focus among the rows with the arrow keys, Home and End; Escape goes to the composer. */
function onKey(e, nearTop, nearEnd, menu) {
  const li = e.target.closest && e.target.closest("li.msg");
  if (!li) return;
  if (isMenuKey(e)) {
    const m = messageOf(li);
    e.preventDefault();
    if (m) menu(m, li, null);
    return;
  }
  if (e.key === "Escape") {
    e.preventDefault();
    if (e.target === li) $("composer").focus(); else li.focus();
    return;
  }
  if (e.target !== li) return;
  // Notices take no focus: the keys pass over them.
  const all = [...$("messages").querySelectorAll("li.msg:not(.notice)")];
  const i = all.indexOf(li);
  const to = { ArrowUp: i - 1, ArrowDown: i + 1, Home: 0, End: all.length - 1, PageUp: i - 10, PageDown: i + 10 }[e.key];
  if (to === undefined) return;
  e.preventDefault();
  if (to < 0) nearTop();
  if (to >= all.length) nearEnd();
  const next = all[Math.max(0, Math.min(all.length - 1, to))];
  next.focus({ preventScroll: true });
  next.scrollIntoView({ block: "nearest" });
}

/**
 * Wire the message list: `retry(clientId)` / `remove(clientId)` / `editFailed(clientId)` from a
 * failed message's buttons, `act(action, message, control)` from a row's actions, reaction chips
 * and quote, `menu(message, row, point)` for a row's context menu (right-click at `point`
 * `{ x, y }`, or the keyboard: `point` null), `nearTop()` when scrolled (or moved) to the top,
 * `nearEnd()` when scrolled (or moved) to the end while newer messages are not held,
 * `newest()` (a promise) to read the newest page again before the jump button goes to it,
 * `read()` when what the user sees may have changed (it marks read what seenSeq gives).
 */
export function wireMessages({ retry, remove, editFailed, nearTop, nearEnd, newest, act, menu, read }) {
  const ol = $("messages");
  reading = read;
  ol.addEventListener("click", (e) => {
    const control = e.target.closest("button");
    const li = control && control.closest("li.msg");
    if (!li) return;
    if (control.classList.contains("retry")) { retry(li.dataset.clientId); return; }
    if (control.classList.contains("delete")) { remove(li.dataset.clientId); return; }
    if (control.classList.contains("edit-failed")) { editFailed(li.dataset.clientId); return; }
    if (control.classList.contains("read-more")) { toggleFold(li); return; }
    const m = messageOf(li);
    if (!m) return;
    if (control.dataset.action) act(control.dataset.action, m, control);
    else if (control.classList.contains("reaction")) act("toggle-reaction", m, control);
    else if (control.classList.contains("quote")) act("quote", m, control);
  });
  ol.addEventListener("contextmenu", (e) => {
    const li = e.target.closest("li.msg");
    const m = li && messageOf(li);
    // A notice has no menu (and the webview's stays away: webview.js).
    if (!m || isNotice(m)) return;
    // A link keeps nothing of the webview's menu either: the row's menu stands for both.
    e.preventDefault();
    if (keyMenuJustOpened()) return;
    menu(m, li, { x: e.clientX, y: e.clientY }, e.target);
  });
  ol.addEventListener("keydown", (e) => onKey(e, nearTop, nearEnd, menu));
  ol.addEventListener("focusin", (e) => {
    const li = e.target.closest("li.msg");
    if (!li || li === activeRow) return;
    setControls(activeRow, false);
    activeRow = li;
    setControls(li, true);
    syncTabStop();
  });
  ol.addEventListener("focusout", (e) => {
    if (!activeRow || (e.relatedTarget && activeRow.contains(e.relatedTarget))) return;
    // Focus left the row: its controls leave the tab order; it stays the list's tab stop.
    setControls(activeRow, false);
    tabStop = activeRow;
    activeRow = null;
  });
  // Only the user's own scrolling closes the reaction picker: the list also scrolls by itself
  // when messages arrive at the bottom, which must not close a picker the user just opened.
  ol.addEventListener("wheel", (e) => {
    closePicker();
    // Already at the end, scrolling on moves nothing (no scroll event): ask from here too.
    if (e.deltaY > 0 && state.hasNewer && withinEnd(ol, 30)) nearEnd();
  }, { passive: true });
  ol.addEventListener("touchmove", () => closePicker(), { passive: true });
  ol.addEventListener("scroll", () => {
    // A screen ahead: the next page is in before the user gets there.
    if (ol.scrollTop < ol.clientHeight) nearTop();
    if (state.hasNewer && withinEnd(ol, ol.clientHeight)) nearEnd();
    noteBottom(ol);
    recheckReading();
  });
  // The window or the composer changed size: more (or fewer) rows show. A list that was at
  // its bottom stays there (the composer grew, a reply banner showed): new messages go on
  // showing as they come.
  new ResizeObserver(() => {
    if (state.open === null) return;
    if (wasAtBottom && !opening && !nearBottom(ol)) ol.scrollTop = ol.scrollHeight;
    recheckReading();
  }).observe(ol);
  const jump = $("jump-to-bottom");
  jump.addEventListener("click", async () => {
    const focused = document.activeElement === jump;
    if (state.hasNewer) {
      // The newest messages are not held: read the newest page, then go to its end.
      const id = state.open;
      await newest();
      if (state.open !== id) return;
    }
    ol.scrollTop = ol.scrollHeight;
    // The button hides at the bottom: the keyboard goes on to the composer.
    if (focused) focusCompose();
  });
}
