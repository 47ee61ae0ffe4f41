// What stands in for the open chat's composer, and the header's Block button: a message
// request shows its bar (accept, delete, block), a direct chat with a blocked person shows
// theirs (unblock), any other chat the composer (security.js decides which). Drawn from the
// store whenever the open entry or the block list changes; the buttons' actions are in
// requests.js. Focus inside a part that goes away moves to the part that takes its place.

import { $ } from "../dom.js";
import { state } from "../store.js";
import { chatBar, requestText, blockedText, isBlocked, nameOf } from "../security.js";

/** The part shown under the messages for each bar (its first control gets focus). */
const PARTS = { composer: ["composer-form", "composer"], request: ["request-bar", "request-accept"], blocked: ["blocked-bar", "unblock-button"] };

/** Set a node's text only when it differs (no needless DOM writes). */
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** Which bar shows now (null: no chat open). */
function shownBar() {
  for (const [bar, [id]] of Object.entries(PARTS)) if (!$(id).hidden) return bar;
  return null;
}

/** Focus what the user types or clicks in first: the composer, else the bar's first button. */
export function focusCompose() {
  const bar = shownBar();
  if (bar) $(PARTS[bar][1]).focus();
}

/** Bring the composer, the request and blocked bars and the Block button in line with the store. */
export function drawBars() {
  const c = state.open === null ? undefined : state.conversations.get(state.open);
  const { bar, who } = state.open === null ? { bar: null } : chatBar(c, state.privacy, state.userId);
  const before = shownBar();
  const hadFocus = before !== null && $(PARTS[before][0]).contains(document.activeElement);
  for (const [name, [id]] of Object.entries(PARTS)) $(id).hidden = name !== bar;
  if (bar === "request") {
    setText($("request-text"), requestText(c));
    $("request-block").hidden = !who;
  }
  if (bar === "blocked") setText($("blocked-text"), blockedText(nameOf(who)));
  // Direct chats only: a group has no one person to block.
  const button = $("block-button");
  button.hidden = !who;
  if (who) {
    const verb = isBlocked(state.privacy, who.user_id) ? "Unblock" : "Block";
    setText(button, verb);
    button.setAttribute("aria-label", `${verb} ${nameOf(who)}`);
  }
  if (hadFocus && bar !== before && bar !== null) focusCompose();
}
