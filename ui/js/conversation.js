// What the user does in a chat: open or close a conversation, write (typing notices), send,
// retry or delete a failed message. Results come back as engine events (events.js).

import { call } from "./api.js";
import { $, errText } from "./dom.js";
import { state } from "./store.js";
import { loadChat } from "./refresh.js";
import { drawList } from "./views/list.js";
import { drawHead, drawTyping, showChat, clearMessages, stickToBottom } from "./views/chat.js";

/** Open a conversation: its header at once, its newest page when loaded. */
export async function openConversation(id) {
  if (state.open !== id) { clearMessages(); state.chat = []; state.hasOlder = false; }
  state.open = id;
  stickToBottom();
  showChat(true);
  call("set_open_conversation", { conversationId: id }).catch(console.error);
  drawList();
  drawHead();
  drawTyping();
  await loadChat();
  $("composer").focus();
}

/** Close the open conversation (it was left or removed). */
export function closeConversation() {
  state.open = null;
  state.chat = [];
  showChat(false);
  call("set_open_conversation", { conversationId: null }).catch(console.error);
  drawList();
}

// Typing: tell the relay at most every 3 s while typing; stop after 4 s idle or on send.
let typingSent = 0, typingStop = null;

function onComposerInput() {
  if (state.open === null) return;
  const conv = state.open;
  if (Date.now() - typingSent > 3000) { typingSent = Date.now(); call("typing", { conversationId: conv, active: true }); }
  clearTimeout(typingStop);
  typingStop = setTimeout(() => { typingSent = 0; call("typing", { conversationId: conv, active: false }); }, 4000);
}

async function sendCurrent() {
  const text = $("composer").value;
  if (!text.trim() || state.open === null) return;
  $("composer").value = "";
  clearTimeout(typingStop);
  typingSent = 0;
  call("typing", { conversationId: state.open, active: false });
  stickToBottom();
  // The local echo arrives as a `message` event.
  try { await call("send", { conversationId: state.open, body: text }); } catch (e) { $("composer").value = text; alert(errText(e)); }
}

/** Retry a failed message (a `status` event follows). */
export const retry = (clientId) => call("retry", { clientId }).catch(console.error);

/** Delete a failed message (a `deleted` event follows). */
export const removeFailed = (clientId) => call("delete_failed", { clientId }).catch(console.error);

/** Composer: Enter sends, Shift+Enter breaks the line, typing notices while writing. */
export function wireComposer() {
  $("composer-form").addEventListener("submit", (e) => { e.preventDefault(); sendCurrent(); });
  $("composer").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendCurrent(); }
  });
  $("composer").addEventListener("input", onComposerInput);
  $("mute").addEventListener("change", (e) => {
    if (state.open === null) return;
    const [id, muted] = [state.open, e.target.checked];
    call("set_muted", { conversationId: id, muted })
      .then(() => { if (muted) state.muted.add(id); else state.muted.delete(id); })
      .catch(console.error);
  });
}
