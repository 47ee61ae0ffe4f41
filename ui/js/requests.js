// What the user does about who may reach them, from the open chat: a message request's bar
// (#request-bar: Accept, Delete, Block), the header's Block / Unblock button (blocking asks
// first in #block-dialog: window.confirm may not exist in the webview) and the blocked bar's
// Unblock. What shows when is views/bars.js's. A result is applied at once and confirmed by
// the engine's `conversation` and `privacy` events; a refused command shows as a toast.

import { call } from "./api.js";
import { $ } from "./dom.js";
import { errorText } from "./errors.js";
import { state, withInfo, withAccepted, otherMember } from "./store.js";
import { nameOf, isBlocked, blockPrompt } from "./security.js";
import { block, unblock } from "./privacy.js";
import { touched } from "./refresh.js";
import { closeConversation } from "./conversation.js";
import { forgetDraft } from "./composer.js";
import { drawList } from "./views/list.js";
import { drawHead } from "./views/chat.js";
import { focusCompose } from "./views/bars.js";
import { toast } from "./views/toast.js";
import { ask } from "./views/ask.js";

/** The open conversation's entry and, for a direct chat, its other member. */
function openChat() {
  const c = state.conversations.get(state.open);
  return { id: state.open, c, who: c ? otherMember(c, state.userId) : undefined };
}

/** Run `work` with `buttons` disabled (no second click while it is under way); errors become a toast. */
async function busy(buttons, work) {
  for (const b of buttons) b.disabled = true;
  try {
    await work();
  } catch (e) {
    toast(errorText(e));
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}

const barButtons = () => ["request-accept", "request-delete", "request-block"].map((id) => $(id));

/** Accept the open request: it joins the main list and the composer shows. */
async function accept() {
  const { id } = openChat();
  const info = await call("accept_request", { conversationId: id });
  const c = state.conversations.get(id);
  if (!c) return;
  const shaped = info && info.conversation_id === id ? withInfo(c, info, state.userId) : c;
  const next = withAccepted(shaped, state.userId);
  touched(id);
  state.conversations.set(id, next);
  drawList();
  if (id !== state.open) return;
  drawHead();
  focusCompose();
}

/** Focus the first conversation listed (requests first), else the search box. */
function focusList() {
  const row = document.querySelector("#requests li.conv, #conversations li.conv");
  (row && row.offsetParent !== null ? row : $("search")).focus();
}

/** Delete conversation `id` on this device (a declined request: its messages too) and close it. */
async function hide(id) {
  await call("delete_chat", { conversationId: id });
  touched(id);
  if (id === state.open) closeConversation({ gone: true });
  else forgetDraft(id);
  if (state.conversations.delete(id)) drawList();
  focusList();
}

/** Block the sender of the open (direct) request, then hide it. */
async function blockRequest() {
  const { id, who } = openChat();
  if (!who) return;
  await block(who);
  await hide(id);
}

/** Ask before blocking `name`; resolves to whether the user confirmed. */
function confirmBlock(name) {
  $("block-text").textContent = blockPrompt(name);
  return ask("block-dialog", "block-confirm");
}

/** The header's button: unblock the other member of the open direct chat, or block them (asked first). */
async function toggleBlock() {
  const { id, who } = openChat();
  if (!who) return;
  const button = $("block-button");
  if (isBlocked(state.privacy, who.user_id)) { await busy([button], () => unblock(who.username)); return; }
  if (!(await confirmBlock(nameOf(who))) || state.open !== id) return;
  await busy([button], () => block(who));
}

/** Wire the request bar, the Block button and the blocked bar. */
export function wireRequests() {
  $("request-accept").addEventListener("click", () => busy(barButtons(), accept));
  $("request-delete").addEventListener("click", () => busy(barButtons(), () => hide(openChat().id)));
  $("request-block").addEventListener("click", () => busy(barButtons(), blockRequest));
  $("block-button").addEventListener("click", toggleBlock);
  $("unblock-button").addEventListener("click", () => {
    const { who } = openChat();
    if (who) busy([$("unblock-button")], () => unblock(who.username));
  });
}
