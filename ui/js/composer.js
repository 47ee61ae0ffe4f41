// The composer: writing (typing notices, the box grows with its text), sending — as a reply
// when one is chosen (#reply-banner) — and editing one of the user's messages (#edit-banner:
// the box holds its text, Enter saves, Escape cancels; ArrowUp in an empty box edits the
// user's last message). `@` names are completed by mentions.js. Files sent from here (attach.js)
// take the box's text as their caption and the reply target. Results come back as engine
// events (events.js); a refused command shows as a toast.

import { call } from "./api.js";
import { $, errText } from "./dom.js";
import { state, lastEditable, sameMessage } from "./store.js";
import { previewText } from "./attachments.js";
import { mentionKey, closeMentions, wireMentions } from "./mentions.js";
import { stickToBottom } from "./views/chat.js";
import { toast } from "./views/toast.js";
import { loadDraft, saveDraft } from "./drafts.js";

/** `{ kind: "reply" | "edit", message, draft }` (draft: the text the edit put aside), or null. */
let mode = null;
let saving = false;

const box = () => $("composer");

/** One line of a message for a banner. */
const line = previewText;

/** Let the box grow with its text (up to its CSS max height). */
function fit() {
  const b = box();
  b.style.height = "";
  if (b.value && b.scrollHeight > b.clientHeight) b.style.height = `${b.scrollHeight + 2}px`;
}

function drawBanners() {
  const reply = mode && mode.kind === "reply" ? mode.message : null;
  const edit = mode && mode.kind === "edit" ? mode.message : null;
  $("reply-banner").hidden = !reply;
  $("edit-banner").hidden = !edit;
  if (reply) {
    $("reply-banner-title").textContent = `Replying to ${reply.mine ? "yourself" : (reply.sender_name || reply.sender)}`;
    $("reply-banner-text").textContent = line(reply);
  }
  if (edit) $("edit-banner-text").textContent = line(edit);
  $("send").textContent = edit ? "Save" : "Send";
  box().setAttribute("aria-label", edit ? "Edit message" : reply ? `Reply to ${reply.sender_name || reply.sender}` : "Message");
}

function caretToEnd() {
  const b = box();
  b.focus();
  b.setSelectionRange(b.value.length, b.value.length);
  fit();
}

/** Reply to `m` with the next message sent. */
export function startReply(m) {
  if (mode && mode.kind === "edit") box().value = mode.draft;
  mode = { kind: "reply", message: m };
  drawBanners();
  caretToEnd();
}

/** Edit `m` (one of the user's stored messages) in the composer. */
export function startEdit(m) {
  const draft = mode && mode.kind === "edit" ? mode.draft : box().value;
  mode = { kind: "edit", message: m, draft };
  box().value = m.body;
  closeMentions();
  drawBanners();
  caretToEnd();
}

/** Leave reply or edit mode (an edit gives back the text it put aside). */
/**
 * The open conversation changes from `from` to `to`: keep what was written for `from` (an edit
 * in progress gives back the text it put aside) and show `to`'s draft.
 */
export function switchDraft(from, to) {
  cancelCompose();
  if (from !== null && from !== undefined) saveDraft(state.userId, from, box().value);
  box().value = loadDraft(state.userId, to);
  fit();
}

export function cancelCompose() {
  if (!mode) return;
  if (mode.kind === "edit") { box().value = mode.draft; fit(); }
  mode = null;
  drawBanners();
}

/**
 * A message changed (message_changed): a reply or edit of it follows. Deleted (for everyone,
 * or hidden here) ends the reply or edit; otherwise the banner shows its new text.
 */
export function composeSaw(m, hidden) {
  if (!mode || !sameMessage(mode.message, m)) return;
  if (hidden || m.deleted) {
    const what = mode.kind === "edit" ? "The message being edited" : "The message being replied to";
    cancelCompose();
    toast(`${what} was deleted`);
    return;
  }
  mode.message = m;
  drawBanners();
}

// Typing: tell the relay at most every 3 s while typing; stop after 4 s idle or on send.
let typingSent = 0, typingStop = null;

function onInput() {
  fit();
  if (state.open === null || (mode && mode.kind === "edit")) return;
  const conv = state.open;
  saveDraft(state.userId, conv, box().value);
  if (Date.now() - typingSent > 3000) { typingSent = Date.now(); call("typing", { conversationId: conv, active: true }); }
  clearTimeout(typingStop);
  typingStop = setTimeout(() => { typingSent = 0; call("typing", { conversationId: conv, active: false }); }, 4000);
}

function stopTyping(conv) {
  clearTimeout(typingStop);
  typingSent = 0;
  call("typing", { conversationId: conv, active: false });
}

async function sendCurrent() {
  const text = box().value;
  const conv = state.open;
  if (!text.trim() || conv === null) return;
  const reply = mode && mode.kind === "reply" ? mode : null;
  box().value = "";
  saveDraft(state.userId, conv, "");
  fit();
  if (reply) { mode = null; drawBanners(); }
  stopTyping(conv);
  stickToBottom();
  // The local echo arrives as a `message` event.
  try {
    await call("send", { conversationId: conv, body: text, replyTo: reply ? reply.message.seq : null });
  } catch (e) {
    if (state.open === conv && !box().value && !mode) {
      box().value = text;
      saveDraft(state.userId, conv, text);
      mode = reply;
      drawBanners();
      fit();
    }
    toast(errText(e));
  }
}

/**
 * What files about to be sent take from the composer: its text as the caption (the box is
 * emptied) and the message being replied to (reply mode ends). Nothing while editing: the box
 * then holds the edit.
 */
export function takeForAttachment() {
  if (mode && mode.kind === "edit") return { caption: "", reply: null };
  const text = box().value.trim() ? box().value : "";
  const reply = mode && mode.kind === "reply" ? mode : null;
  if (text) {
    box().value = "";
    fit();
    if (state.open !== null) {
      saveDraft(state.userId, state.open, "");
      stopTyping(state.open);
    }
  }
  if (reply) { mode = null; drawBanners(); }
  return { caption: text, reply };
}

/** A file could not be sent: its caption and reply go back if the composer is still empty. */
export function giveBack(conv, { caption, reply }) {
  if (state.open !== conv || box().value || mode || (!caption && !reply)) return;
  box().value = caption;
  saveDraft(state.userId, conv, caption);
  mode = reply;
  drawBanners();
  fit();
}

async function saveEdit() {
  const m = mode.message;
  const text = box().value;
  if (text === m.body) { cancelCompose(); return; }
  if (!text.trim()) { toast("A message cannot be empty: delete it instead"); return; }
  if (saving) return;
  saving = true;
  // The edited message arrives as a `message_changed` event.
  try {
    await call("edit_message", { conversationId: m.conversation_id, seq: m.seq, body: text });
    if (mode && mode.kind === "edit" && sameMessage(mode.message, m)) cancelCompose();
  } catch (e) {
    toast(errText(e));
  } finally {
    saving = false;
  }
}

function submit() {
  if (mode && mode.kind === "edit") saveEdit(); else sendCurrent();
}

function onKey(e) {
  if (mentionKey(e)) return;
  if (e.isComposing) return;
  if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); submit(); return; }
  if (e.key === "Escape" && mode) { e.preventDefault(); e.stopPropagation(); cancelCompose(); return; }
  if (e.key === "ArrowUp" && !box().value && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey) {
    const m = lastEditable(state.chat);
    if (m) { e.preventDefault(); startEdit(m); }
  }
}

/** Composer: Enter sends (or saves an edit), Shift+Enter breaks the line, Escape cancels. */
export function wireComposer() {
  $("composer-form").addEventListener("submit", (e) => { e.preventDefault(); submit(); });
  box().addEventListener("keydown", onKey);
  box().addEventListener("input", onInput);
  $("reply-cancel").addEventListener("click", () => { cancelCompose(); box().focus(); });
  $("edit-cancel").addEventListener("click", () => { cancelCompose(); box().focus(); });
  wireMentions();
}
