// Questions asked before doing something that cannot be taken back, as in-app modal dialogs
// (window.confirm is not reliable in the webview). `ask` runs any such dialog: its confirm
// button resolves true; Cancel, Escape or closing resolves false. `confirmAction` fills the one
// generic dialog (#confirm-action-dialog: a title, a sentence, a danger button #confirm-action
// with the action's own label); its `data-action` says which question is on screen
// ("leave-group", "remove-member"). Dialogs with more than a question have their own markup
// (#confirm-dialog: delete for everyone, #block-dialog, #signout-dialog).

import { $ } from "../dom.js";

/** Show modal dialog `dialogId`; resolves to whether its button `okId` was pressed. */
export function ask(dialogId, okId) {
  const d = $(dialogId);
  return new Promise((resolve) => {
    let yes = false;
    const ok = $(okId);
    const onOk = () => { yes = true; d.close(); };
    ok.addEventListener("click", onOk);
    d.addEventListener("close", () => { ok.removeEventListener("click", onOk); resolve(yes); }, { once: true });
    d.showModal();
  });
}

/**
 * Ask the generic question: `action` (a stable name, the dialog's data-action), `title`,
 * `text`, `confirm` (the danger button's label). Resolves to whether the user confirmed.
 */
export function confirmAction({ action, title, text, confirm }) {
  const d = $("confirm-action-dialog");
  d.dataset.action = action;
  $("confirm-action-title").textContent = title;
  $("confirm-action-text").textContent = text;
  $("confirm-action").textContent = confirm;
  return ask("confirm-action-dialog", "confirm-action");
}
