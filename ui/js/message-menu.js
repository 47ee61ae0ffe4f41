// A message's context menu (right-click on a row; the ContextMenu key or Shift+F10 on a focused
// row): the items message-actions.js lists for it, each doing what the row's buttons do
// (actions.js; a failed message's Retry / Edit / Delete: conversation.js). A group notice has
// none: its right-click opens nothing.

import { state, actionsFor } from "./store.js";
import { menuItems } from "./message-actions.js";
import { act, copyAndSay } from "./actions.js";
import { retry, removeFailed, editFailed } from "./conversation.js";
import { current } from "./views/chat.js";
import { openMenu } from "./views/context-menu.js";
import { isNotice } from "./notices.js";

/** Do `action` from the menu of message `m`, shown in row `li` (`extras`: what was selected in
 *  it, the link right-clicked). */
function run(action, m, li, extras) {
  switch (action) {
    case "copy-selection": copyAndSay(extras.selection); break;
    case "copy-link": copyAndSay(extras.link); break;
    case "retry": retry(m.client_id); break;
    case "delete-failed": removeFailed(m.client_id); break;
    case "edit-failed": editFailed(m.client_id); break;
    // The picker opens by the row's React button (shown while the row has focus), else the row.
    case "react": act("react", m, li.querySelector('[data-action="react"]') || li); break;
    default: act(action, m, li);
  }
}

/**
 * Open the menu of message `m` (row `li`) at the pointer `at`, or beside the row (keyboard).
 * `target`: what was right-clicked, for the link under the pointer; text selected inside the
 * row can be copied on its own.
 */
export function openMessageMenu(m, li, at, target = null) {
  if (isNotice(m)) return;
  const extras = { selection: selectedIn(li), link: target?.closest?.("a.link")?.href || "" };
  const items = menuItems(m, actionsFor(m, current(), state.userId, state.limits), extras);
  openMenu(items, { at, anchor: li, label: "Message actions", pick: (action) => run(action, m, li, extras) });
}

/** The text selected inside row `li`'s message body, or "". */
function selectedIn(li) {
  const sel = globalThis.getSelection ? getSelection() : null;
  if (!sel || sel.isCollapsed || sel.rangeCount === 0) return "";
  const body = li.querySelector(".body");
  const range = sel.getRangeAt(0);
  return body && body.contains(range.commonAncestorContainer) ? sel.toString() : "";
}
