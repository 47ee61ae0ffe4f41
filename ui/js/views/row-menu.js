// A conversation row's own menu (the app's menu, context-menu.js), opened by a right-click on
// the row or, with the row focused, the ContextMenu key or Shift+F10: Open, Mark as read (when
// something is unread: up to its newest message, without opening it; it also takes away a
// mark the user set) or Mark as unread (unread-marks.js), Pin to top / Unpin
// (pins.js, at most five; not for an archived chat), Mute… (the mute choices, mute-menu.js) or
// Unmute, Archive (out of the list, to "Archived chats"; unpinned) or Unarchive. All of these
// are the account's on all its devices. Message requests have no such menu: they are
// answered in their chat.

import { call } from "../api.js";
import { errorText } from "../errors.js";
import { state, listed } from "../store.js";
import { isMuted, muteItems, UNMUTE } from "../mute.js";
import { MAX_PINNED, repin } from "../pins.js";
import { isMenuKey, keyMenuJustOpened, openMenu } from "./context-menu.js";
import { drawList } from "./list.js";
import { chooseMute } from "./mute-menu.js";
import { toast } from "./toast.js";
import { setUnreadMark } from "../unread-marks.js";

/** Pin or unpin conversation `id`: shown at once, taken back if the shell refuses. */
function setPinned(id, pin) {
  const before = state.pinned;
  const listedIds = new Set(listed(state.conversations, [], state.archived).main.map((c) => c.conversation_id));
  const next = repin(before, id, pin, listedIds);
  if (next === null) {
    toast(`You can pin up to ${MAX_PINNED} chats. Unpin one first.`);
    return;
  }
  state.pinned = next;
  drawList();
  call("set_pin", { conversationId: id, on: pin }).catch((err) => {
    // Unless another change came meanwhile (it carries this one's order forward).
    if (state.pinned === next) { state.pinned = before; drawList(); }
    toast(errorText(err));
  });
}

/** Archive conversation `id` (`on`) or bring it back: shown at once, taken back if the shell
 *  refuses. Archiving unpins it. */
function setArchived(id, on) {
  const before = { archived: state.archived, pinned: state.pinned };
  const archived = new Set(state.archived);
  if (on) archived.add(id); else archived.delete(id);
  state.archived = archived;
  if (on) state.pinned = state.pinned.filter((p) => p !== id);
  drawList();
  call("set_archived", { conversationId: id, on }).catch((err) => {
    // Unless another change came meanwhile.
    if (state.archived === archived) { state.archived = before.archived; state.pinned = before.pinned; drawList(); }
    toast(errorText(err));
  });
}

/** Mark conversation `id` read up to its newest message, and take its unread mark away; the
 *  list follows the engine's event. */
function markRead(id) {
  setUnreadMark(id, false);
  const c = state.conversations.get(id);
  if (!c || !Number.isFinite(c.last_seq) || !(c.unread > 0)) return;
  call("mark_read", { conversationId: id, seq: c.last_seq }).catch((err) => toast(errorText(err)));
}

/** Open the menu of the row `li` (conversation `id`) at `at` (the pointer) or beside the row. */
function openRowMenu(id, li, at, open) {
  const c = state.conversations.get(id);
  if (!c || c.request) return;
  const pinned = state.pinned.includes(id);
  const archived = state.archived.has(id);
  const muted = isMuted(state.muted, id, Date.now());
  const unread = c.unread > 0 || state.unreadMarks.has(id);
  const items = [
    { action: "open", label: "Open" },
    unread ? { action: "read", label: "Mark as read" } : { action: "unread", label: "Mark as unread" },
    // An archived chat is not pinned (archiving unpins), but another client may have: Unpin.
    ...(archived && !pinned ? [] : [{ action: pinned ? "unpin" : "pin", label: pinned ? "Unpin" : "Pin to top" }]),
    muted ? { action: UNMUTE, label: "Unmute" } : { action: "mute", label: "Mute…" },
    archived ? { action: "unarchive", label: "Unarchive" } : { action: "archive", label: "Archive" },
  ];
  openMenu(items, {
    at, anchor: li, label: `${c.title}: chat actions`,
    pick: (action) => {
      if (action === "open") open(id);
      else if (action === "read") markRead(id);
      else if (action === "unread") setUnreadMark(id, true);
      else if (action === "archive" || action === "unarchive") setArchived(id, action === "archive");
      else if (action === "pin" || action === "unpin") setPinned(id, action === "pin");
      else if (action === UNMUTE) chooseMute(id, UNMUTE);
      else if (action === "mute") {
        openMenu(muteItems(false), { at, anchor: li, label: `Mute ${c.title}`, pick: (value) => chooseMute(id, value) });
      }
    },
  });
}

/** Answer right-clicks and the menu keys on the rows of the conversation list and of the
 *  archived chats; `open(id)` opens one. */
export function wireRowMenu(open) {
  const rowOf = (e) => e.target.closest("li.conv");
  for (const ul of [document.getElementById("conversations"), document.getElementById("archived")]) {
    ul.addEventListener("contextmenu", (e) => {
      const li = rowOf(e);
      if (!li) return;
      e.preventDefault();
      if (keyMenuJustOpened()) return;
      openRowMenu(Number(li.dataset.id), li, { x: e.clientX, y: e.clientY }, open);
    });
    ul.addEventListener("keydown", (e) => {
      const li = rowOf(e);
      if (!li || !isMenuKey(e)) return;
      e.preventDefault();
      openRowMenu(Number(li.dataset.id), li, null, open);
    });
  }
}
