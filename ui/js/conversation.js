// What the user does with a conversation: open or close it, mute it, retry or delete a failed
// message (a failed file is uploaded again). Writing and sending are the composer's
// (composer.js, attach.js); results come back as engine events (events.js).

import { call } from "./api.js";
import { $ } from "./dom.js";
import { state } from "./store.js";
import { loadChat } from "./refresh.js";
import { cancelCompose, switchDraft } from "./composer.js";
import { closeMentions } from "./mentions.js";
import { closePicker } from "./views/picker.js";
import { closeViewer } from "./views/viewer.js";
import { drawList } from "./views/list.js";
import { drawHead, drawTyping, showChat, clearMessages, stickToBottom } from "./views/chat.js";
import { focusCompose } from "./views/bars.js";

/**
 * Open a conversation: its header at once, its newest page when loaded; then focus the
 * composer (or the bar standing in for it: a message request's, a blocked person's).
 */
export async function openConversation(id) {
  if (state.open !== id) {
    clearMessages(); state.chat = []; state.hasOlder = false;
    switchDraft(state.open, id); closeMentions(); closePicker(); closeViewer();
  }
  state.open = id;
  stickToBottom();
  showChat(true);
  call("set_open_conversation", { conversationId: id }).catch(console.error);
  drawList();
  drawHead();
  drawTyping();
  await loadChat();
  focusCompose();
}

/** Close the open conversation (it was left or removed). */
export function closeConversation() {
  state.open = null;
  state.chat = [];
  cancelCompose(); closeMentions(); closePicker(); closeViewer();
  showChat(false);
  call("set_open_conversation", { conversationId: null }).catch(console.error);
  drawList();
}

/** Retry a failed message (a `status` event follows). */
export const retry = (clientId) => call("retry", { clientId }).catch(console.error);

/** Delete a failed message (a `deleted` event follows). */
export const removeFailed = (clientId) => call("delete_failed", { clientId }).catch(console.error);

/** The mute box of the open conversation. */
export function wireMute() {
  $("mute").addEventListener("change", (e) => {
    if (state.open === null) return;
    const [id, muted] = [state.open, e.target.checked];
    call("set_muted", { conversationId: id, muted })
      .then(() => { if (muted) state.muted.add(id); else state.muted.delete(id); })
      .catch(console.error);
  });
}
