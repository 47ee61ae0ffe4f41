// The conversation list: one row per conversation, keyed by its id, ordered by last activity;
// the preview sums up the last message in a line ("🖼 Photo", "📎 name" for a bare file), with
// the unread badge beside it in the row's right column ("99+" past 99: unread.js). A chat
// other than the open one with a draft shows it instead ("Draft: …", drafts.js). Pinned chats
// (pins.js) come first, marked (span.pinned-mark); a row's own menu pins and mutes (row-menu.js). The window
// title counts the list's unread messages: "(3) Tern". Message requests are listed apart
// (#requests, under a "Message requests (N)" toggle, hidden when there are none) in the same
// rows, but quiet: no unread badge, not counted in the title. Archived chats are listed at the
// foot (#archived, under an "Archived chats (N)" toggle, folded until unfolded), with their
// badges but not counted in the title either. A muted conversation's row shows
// a muted mark (span.muted-mark) after its title and a subdued badge (.badge.muted), still
// counted. Each row starts with the conversation's avatar (span.avatar.avatar-list: its picture,
// else initials; decoration, aria-hidden), the presence dot on its corner. Only rows whose
// conversation (or active or muted state) changed are redrawn, and their avatar only when its
// picture (sha256), title or colour changed (avatars.js fillAvatar). Clicks
// are delegated to the lists, so rows carry no listeners of their own. Each list is a listbox
// and its rows are options (aria-selected on the open chat), which is what the accessibility
// tree exposes: Enter or Space opens a row, the Up and Down arrows move between rows, and each
// list is one tab stop (the focused row, else the open chat's, else the first: tabStop).

import { $, el, time } from "../dom.js";
import { state, listed } from "../store.js";
import { previewText } from "../attachments.js";
import { isNotice, namesIn } from "../notices.js";
import { badgeText, titleFor, totalUnread } from "../unread.js";
import { reconcile } from "./keyed.js";
import { avatarNode, fillAvatar, conversationKey } from "../avatars.js";
import { isMuted } from "../mute.js";
import { loadDraft, draftLine } from "../drafts.js";

const rows = new Map();
const requestRows = new Map();
const archivedRows = new Map();
/** The user folded the requests away (they stay folded until unfolded). */
let requestsFolded = false;
/** The archived chats stay folded until the user unfolds them. */
let archivedFolded = true;

/** The preview of conversation `c`'s last message `m`: "You: " before the user's own; a group
 *  notice is its sentence alone ("Alice added you", "You renamed the group to “Team”"). */
export function preview(m, c, me) {
  if (!m) return "No messages yet";
  if (isNotice(m)) return previewText(m, namesIn(c, me), me);
  return (m.mine ? "You: " : "") + previewText(m);
}

/** A row's parts, made once per row: updates change their text, never replace them, so a
 *  click that starts while messages stream in (the row redrawn between press and release)
 *  still lands on the row. */
function parts(li) {
  if (!li._parts) {
    const p = {
      avatar: avatarNode(null, "", "", "avatar-list"), dot: el("span", "dot"), name: el("span", "name"), title: el("span", "title"), muted: mark("muted-mark", "🔕", "Muted"), pinned: mark("pinned-mark", "📌", "Pinned"),
      time: el("span", "time"), gap: el("span", "conv-gap"), preview: el("span", "preview"), badge: el("span", "badge"),
    };
    // The title keeps only the title's text (it is cut with an ellipsis, the mark is not).
    p.name.append(p.title, p.muted, p.pinned);
    li.replaceChildren(p.avatar, p.dot, p.name, p.time, p.gap, p.preview, p.badge);
    li._parts = p;
  }
  return li._parts;
}

/** A mark after a row's title, named for screen readers, hidden until it applies: muted (a
 *  bell struck through) or pinned (a pin), each drawn as text (U+FE0E). */
function mark(cls, glyph, name) {
  const m = el("span", cls, `${glyph}\uFE0E`);
  m.title = name;
  m.setAttribute("role", "img");
  m.setAttribute("aria-label", name);
  m.hidden = true;
  return m;
}

function fill(li, { c, active, quiet, muted, draft, pinned, marked }) {
  li.className = "conv" + (active ? " active" : "");
  li.dataset.id = c.conversation_id;
  li.setAttribute("role", "option");
  li.setAttribute("aria-selected", String(!!active));
  const p = parts(li);
  fillAvatar(p.avatar, c.picture || null, c.title, conversationKey(c, state.userId), "avatar-list");
  p.dot.className = "dot " + (c.online === true ? "online" : c.online === false ? "offline" : "");
  // Said in the row's label ("online"); the dot itself is decoration.
  p.dot.setAttribute("aria-hidden", "true");
  p.title.textContent = c.title;
  p.muted.hidden = !muted;
  p.pinned.hidden = !pinned;
  p.time.textContent = c.last_message ? time(c.last_message.sent_at) : "";
  if (draft) {
    // What the user was writing here stands in for the last message, marked as theirs.
    p.preview.replaceChildren(el("span", "draft-mark", "Draft: "), draft);
  } else {
    p.preview.textContent = preview(c.last_message, c, state.userId);
  }
  // A request's count is the header's; its rows stay quiet.
  const unread = quiet ? 0 : c.unread;
  // Marked unread with nothing unread in it: a badge with no number.
  const dot = !(unread > 0) && marked;
  p.badge.hidden = !(unread > 0) && !dot;
  // Muted: still counted, drawn quieter.
  p.badge.className = "badge" + (muted ? " muted" : "") + (dot ? " marked" : "");
  p.badge.textContent = unread > 0 ? badgeText(unread) : "";
  p.badge.setAttribute("aria-label", dot ? "marked unread" : `${unread} unread`);
  const notes = [pinned ? "pinned" : "", c.online === true ? "online" : "", quiet ? "message request" : "", muted ? "muted" : "", draft ? "draft" : "", !quiet && unread ? `${unread} unread` : "", dot ? "marked unread" : ""];
  li.setAttribute("aria-label", [c.title, ...notes.filter(Boolean)].join(", "));
}

/** The draft a row shows: another chat's (the open one's is in the composer), not a request's. */
const draftOf = (c, quiet) =>
  quiet || c.conversation_id === state.open ? "" : draftLine(loadDraft(state.account, c.conversation_id));

const items = (list, quiet) => list.map((c) => ({
  key: c.conversation_id,
  data: {
    c, active: c.conversation_id === state.open, quiet, muted: isMuted(state.muted, c.conversation_id, Date.now()),
    draft: draftOf(c, quiet), pinned: !quiet && state.pinned.includes(c.conversation_id),
    marked: !quiet && state.unreadMarks.has(c.conversation_id),
  },
}));
const same = (a, b) =>
  a.c === b.c && a.active === b.active && a.muted === b.muted && a.draft === b.draft && a.pinned === b.pinned &&
  a.marked === b.marked;

/** The requests' header: their number, folded or not. */
function drawRequestsHead(n) {
  $("requests-section").hidden = n === 0;
  const toggle = $("requests-toggle"), text = `Message requests (${n})`;
  if (toggle.textContent !== text) toggle.textContent = text;
  toggle.setAttribute("aria-expanded", String(!requestsFolded));
  $("requests").hidden = requestsFolded;
}

/** The archived chats' header: their number, folded or not. */
function drawArchivedHead(n) {
  $("archived-section").hidden = n === 0;
  const toggle = $("archived-toggle"), text = `Archived chats (${n})`;
  if (toggle.textContent !== text) toggle.textContent = text;
  toggle.setAttribute("aria-expanded", String(!archivedFolded));
  $("archived").hidden = archivedFolded;
}

/** Told the unread total whenever it changes (main.js passes it to the tray). */
let totalChanged = () => {};
let lastTotal = null;

/** Call `fn(total)` from now on whenever the list's unread total changes. */
export function onUnreadTotal(fn) {
  totalChanged = fn;
  lastTotal = null;
}

/** Bring the lists in line with the store. */
export function drawList() {
  const { main, requests, archived } = listed(state.conversations, state.pinned, state.archived);
  // A focused row that moves (pinned, or new news) is taken out and put back, which blurs it:
  // it gets the focus back, so the keyboard stays where it was. One that moved to another
  // list (archived, or back) is a new row there: the focus follows it if that list shows,
  // else stays at its old place.
  const focused = document.activeElement;
  const row = focused?.closest?.("li.conv") ? focused : null;
  const from = row && { ul: row.parentElement, index: [...row.parentElement.children].indexOf(row), id: String(row.dataset.id) };
  reconcile($("conversations"), items(main, false), rows, fill, same);
  reconcile($("requests"), items(requests, true), requestRows, fill, same);
  reconcile($("archived"), items(archived, false), archivedRows, fill, same);
  drawRequestsHead(requests.length);
  drawArchivedHead(archived.length);
  if (row && row !== document.activeElement) {
    if (row.isConnected) row.focus({ preventScroll: true });
    else focusAfterMove(from);
  }
  tabStop($("conversations"));
  tabStop($("requests"));
  tabStop($("archived"));
  const total = totalUnread(main, state.unreadMarks);
  const title = titleFor(total);
  if (document.title !== title) document.title = title;
  if (total !== lastTotal) {
    lastTotal = total;
    totalChanged(total);
  }
}

/** Whether list `ul` is on screen (its section not folded or hidden). */
const showing = (ul) => !ul.hidden && !ul.closest?.("[hidden]");

/** Focus the row of the conversation a focused row showed (`from`: its list, place and id),
 *  now in another list: there if that list shows, else the row now at its old place. */
function focusAfterMove(from) {
  for (const ul of [$("conversations"), $("requests"), $("archived")]) {
    const again = showing(ul) && [...ul.children].find((li) => String(li.dataset.id) === from.id);
    if (again) { again.focus({ preventScroll: true }); return; }
  }
  const list = [...from.ul.children];
  const near = list[Math.min(from.index, list.length - 1)] || $("conversations").firstElementChild;
  // No row left to stand on (the last chat archived): the search box, not the page.
  if (near) near.focus({ preventScroll: true }); else $("search").focus();
}

/**
 * The listbox's single tab stop among `ul`'s rows: the focused one, else the open chat's, else
 * the first (Tab enters the list there; the arrows move within it).
 */
function tabStop(ul) {
  const list = [...ul.children];
  const focused = document.activeElement;
  const stop = list.find((li) => li === focused) || list.find((li) => li.className.split(" ").includes("active")) || list[0];
  for (const li of list) {
    const t = li === stop ? 0 : -1;
    if (li.tabIndex !== t) li.tabIndex = t;
  }
}

/** Whether key event `e` activates a row: Enter or Space. */
export const activates = (e) => (e.key === "Enter" || e.key === " " || e.key === "Spacebar") && plain(e);

/** No modifier held (Shift aside). */
const plain = (e) => !e.altKey && !e.ctrlKey && !e.metaKey;

/** Call `open(id)` when a row of either list is clicked or Enter or Space is pressed on it
 *  (Space does not scroll the list); the Up and Down arrows move the focus to the row above or
 *  below, Home and End to the first and last row (the list does not scroll by itself). */
export function wireList(open) {
  const target = (e) => e.target.closest("li.conv");
  for (const ul of [$("conversations"), $("requests"), $("archived")]) {
    ul.addEventListener("click", (e) => { const li = target(e); if (li) open(Number(li.dataset.id)); });
    ul.addEventListener("keydown", (e) => {
      const li = target(e);
      if (!li) return;
      const to = plain(e) && {
        ArrowDown: li.nextElementSibling,
        ArrowUp: li.previousElementSibling,
        Home: ul.firstElementChild,
        End: ul.lastElementChild,
      }[e.key];
      if (to !== undefined && to !== false) {
        e.preventDefault();
        to?.focus();
        tabStop(ul);
        return;
      }
      if (!activates(e)) return;
      e.preventDefault();
      open(Number(li.dataset.id));
    });
  }
  $("requests-toggle").addEventListener("click", () => {
    requestsFolded = !requestsFolded;
    drawRequestsHead(requestRows.size);
  });
  $("archived-toggle").addEventListener("click", () => {
    archivedFolded = !archivedFolded;
    drawArchivedHead(archivedRows.size);
  });
}
