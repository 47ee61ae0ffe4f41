// Transient notices ("toasts"): a refused edit, a failed command. They never block: each
// shows for a few seconds at the bottom of the window (a click dismisses it), at most three at
// once, and screen readers hear them through the container's live region. While a modal
// dialog is open the container moves into it: the page behind the dialog's backdrop (the top
// layer) would hide it.

import { $, el } from "../dom.js";

const SHOWN_MS = 5000;
const MAX = 3;

/** Show `text` briefly. */
export function toast(text) {
  const box = $("toasts");
  if (!box) return;
  const dialogs = document.querySelectorAll("dialog[open]");
  const host = dialogs.length ? dialogs[dialogs.length - 1] : document.body;
  if (box.parentNode !== host) host.append(box);
  const t = el("div", "toast", text);
  const dismiss = () => t.remove();
  t.addEventListener("click", dismiss);
  box.append(t);
  while (box.children.length > MAX) box.firstElementChild.remove();
  setTimeout(dismiss, SHOWN_MS);
}
