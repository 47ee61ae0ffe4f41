// What can be done with one message, and how each action is named: the glyphs of a row's
// action bar (views/message.js), and the items of its context menu (right-click, the
// ContextMenu key or Shift+F10 on a row: views/context-menu.js), which offer the same actions
// plus copying the text, forwarding it to another chat, and a failed message's Retry / Edit /
// Delete. Which actions a stored
// message allows is store.js's `actionsFor`; what each does is actions.js's. Pure (tested in node).

import { failureOf } from "./errors.js";

/** Each row action's glyph and label (the action bar's buttons, in this order). */
export const ACTIONS = {
  reply: ["↩\uFE0E", "Reply"],
  react: ["☺\uFE0E", "React"],
  edit: ["✎", "Edit"],
  "delete-everyone": ["🗑\uFE0E", "Delete for everyone"],
  "delete-me": ["✕", "Delete for me"],
};

/** Labels of the menu's own items. */
const MENU_LABELS = {
  "copy-selection": "Copy",
  "copy-link": "Copy link address",
  copy: "Copy text",
  forward: "Forward…",
  react: "React…",
  retry: "Retry",
  "edit-failed": "Edit and send again",
  "delete-failed": "Delete",
};

/** Items that remove something (shown in the danger colour). */
const DANGER = new Set(["delete-everyone", "delete-me", "delete-failed"]);

/** The label of `action` in a menu. */
export const menuLabel = (action) => MENU_LABELS[action] || (ACTIONS[action] ? ACTIONS[action][1] : action);

/**
 * The context menu of message `m` (`actions`: what its row offers, store.js actionsFor), as
 * `[{ action, label, danger }]`: copy what is selected in it (`selection`) and the link
 * right-clicked (`link`) first, then the whole text when it has some, then the row's actions; a
 * failed message offers retry (when it may succeed), edit (a text message: put it back in the
 * composer) and delete instead. A group notice has no menu (no items).
 */
export function menuItems(m, actions, { selection = "", link = "" } = {}) {
  if (m.notice) return [];
  const out = [];
  if (!m.deleted && selection.trim()) out.push("copy-selection");
  if (!m.deleted && link) out.push("copy-link");
  if (!m.deleted && m.body) out.push("copy");
  // A stored message that shows (text or a file) can go to another chat.
  if (m.seq != null && m.status !== "failed" && !m.deleted && !m.withheld && (m.body || m.attachment)) out.push("forward");
  if (m.status === "failed") {
    const f = failureOf(m.reason, { text: !m.attachment });
    if (f.retry) out.push("retry");
    if (f.edit) out.push("edit-failed");
    out.push("delete-failed");
  } else {
    out.push(...actions);
  }
  return out.map((action) => ({ action, label: menuLabel(action), danger: DANGER.has(action) }));
}
