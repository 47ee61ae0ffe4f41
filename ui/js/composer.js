// The composer: writing (typing notices, the box grows with its text up to its CSS max height,
// then scrolls, and shrinks back once sent), sending — as a reply when one is chosen
// (#reply-banner) — and editing one of the user's messages (#edit-banner: the box holds its
// text, Enter saves, Escape cancels; ArrowUp in an empty box edits the user's last message).
// Near the relay's size limit #composer-count says what is left; past it, Send is disabled and
// Enter refused with a hint (limits.js). A failed message's "Edit" puts its text back here
// (putBack). `@` names are completed by mentions.js. Files sent from here (attach.js) take the
// box's text as their caption and the reply target. Results come back as engine events
// (events.js); a refused command shows as a toast.

import { call } from "./api.js";
import { $ } from "./dom.js";
import { errorText } from "./errors.js";
import { composerState, MAX_BODY_BYTES } from "./limits.js";
import { takeOfflineNotice } from "./views/banner.js";
import { state, lastEditable, sameMessage, withinEditWindow } from "./store.js";
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

/**
 * The box follows its text (call after every change of its value): its height grows with the
 * lines (the CSS max height caps it; past that it scrolls) and shrinks back when emptied, and
 * the size counter and Send follow the limit.
 */
function fit() {
  const b = box();
  drawLimit();
  b.style.height = "";
  // Not shown (no chat open, a request's bar instead): measured when it shows (wireComposer).
  if (!b.value || !b.getClientRects().length) return;
  b.style.height = "auto";
  // Border-box sizing: the content's height plus the borders.
  b.style.height = `${b.scrollHeight + b.offsetHeight - b.clientHeight}px`;
}

/** The counter near the limit, and Send disabled past it. */
function drawLimit() {
  const { over, count, hint } = composerState(box().value, maxBody());
  const counter = $("composer-count");
  const text = over ? `${count} — ${hint}` : count;
  if (counter.textContent !== text) counter.textContent = text;
  counter.hidden = !count;
  counter.className = over ? "composer-count over" : "composer-count";
  $("send").disabled = over;
  $("send").title = hint;
  box().setAttribute("aria-invalid", String(over));
}

/** Whether the box's text is past the limit (then it is not sent: the hint says why). */
function refuseOverLimit() {
  const { over, hint } = composerState(box().value, maxBody());
  if (over) toast(hint);
  return over;
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

/** The longest body the relay takes: as it said, else the usual limit. */
const maxBody = () => (state.limits && state.limits.max_message_bytes) || MAX_BODY_BYTES;

/** Edit `m` (one of the user's stored messages) in the composer; said to be too late when the
 *  relay's edit window passed since the row offered it. */
export function startEdit(m) {
  if (!withinEditWindow(m, state.limits)) { toast(errorText({ code: "edit_window_closed" })); return; }
  const draft = mode && mode.kind === "edit" ? mode.draft : box().value;
  mode = { kind: "edit", message: m, draft };
  box().value = m.body;
  closeMentions();
  drawBanners();
  caretToEnd();
}

/**
 * Replies begun and not sent, per account and conversation (account and conversation → the message
 * replied to), while this window runs: switching chats and back keeps a reply, as it keeps
 * the draft. An edit is not kept (it gives back the text it put aside).
 */
const pendingReplies = new Map();
const replyKey = (conv) => `${encodeURIComponent(String(state.account))}/${conv}`;

/**
 * The open conversation changes from `from` to `to`: keep what was written for `from` (a reply
 * begun stays with it; an edit in progress gives back the text it put aside) and show `to`'s
 * draft and reply.
 */
export function switchDraft(from, to) {
  const reply = mode && mode.kind === "reply" ? mode.message : null;
  cancelCompose();
  if (from !== null && from !== undefined) {
    if (reply) pendingReplies.set(replyKey(from), reply);
    else pendingReplies.delete(replyKey(from));
    saveDraft(state.account, from, box().value);
  }
  box().value = loadDraft(state.account, to);
  const kept = pendingReplies.get(replyKey(to));
  if (kept) { mode = { kind: "reply", message: kept }; drawBanners(); }
  fit();
}

/**
 * The open conversation `conv` closes (the user went back to the list, or signed out): what was
 * written for it is kept, a reply begun too, as when switching chats. `gone`: the conversation
 * itself is gone (left, removed from it, a request deleted): its draft and reply are forgotten,
 * so they do not come back if the user is added again.
 */
export function closeDraft(conv, { gone = false } = {}) {
  if (conv === null || conv === undefined) { cancelCompose(); return; }
  if (gone) { cancelCompose(); forgetDraft(conv); box().value = ""; fit(); return; }
  switchDraft(conv, null);
}

/** Forget the draft and reply begun for `conv` (it is gone; it may not be open). */
export function forgetDraft(conv) {
  pendingReplies.delete(replyKey(conv));
  saveDraft(state.account, conv, "");
}

/** Forget the replies begun for `account`'s conversations (its device data is removed). */
export function forgetReplies(account) {
  const prefix = `${encodeURIComponent(String(account))}/`;
  for (const key of [...pendingReplies.keys()]) if (key.startsWith(prefix)) pendingReplies.delete(key);
}

/** Leave reply or edit mode (an edit gives back the text it put aside). */
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
  // A reply kept for another chat goes with the message it answered.
  if (hidden || m.deleted) {
    for (const [key, kept] of pendingReplies) if (sameMessage(kept, m)) pendingReplies.delete(key);
  }
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
  saveDraft(state.account, conv, box().value);
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
  if (!text.trim() || conv === null || refuseOverLimit()) return;
  const reply = mode && mode.kind === "reply" ? mode : null;
  box().value = "";
  saveDraft(state.account, conv, "");
  fit();
  if (reply) { mode = null; drawBanners(); }
  stopTyping(conv);
  stickToBottom();
  // The local echo arrives as a `message` event.
  try {
    await call("send", { account: state.account, conversationId: conv, body: text, replyTo: reply ? reply.message.seq : null });
    if (takeOfflineNotice()) toast(errorText({ code: "offline" }, { queued: true }));
  } catch (e) {
    if (state.open === conv && !box().value && !mode) {
      box().value = text;
      saveDraft(state.account, conv, text);
      mode = reply;
      drawBanners();
      fit();
    }
    toast(errorText(e));
  }
}

/**
 * What files about to be sent take from the composer: its text as the caption (the box is
 * emptied) and the message being replied to (reply mode ends). Nothing while editing: the box
 * then holds the edit.
 */
export function takeForAttachment() {
  if (mode && mode.kind === "edit") return { caption: "", reply: null };
  // Text past the limit cannot be a caption: it stays in the box to be shortened.
  const text = box().value.trim() && !composerState(box().value, maxBody()).over ? box().value : "";
  const reply = mode && mode.kind === "reply" ? mode : null;
  if (text) {
    box().value = "";
    fit();
    if (state.open !== null) {
      saveDraft(state.account, state.open, "");
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
  saveDraft(state.account, conv, caption);
  mode = reply;
  drawBanners();
  fit();
}

/** `text` after what was written (`before`) on a line of its own; alone if nothing was. */
const after = (before, text) => (before.trim() ? `${before}\n${text}` : text);

/**
 * A failed message's "Edit": its text comes back into the box (after what is already written,
 * if anything), as a reply again when the message it answered is shown, for the user to fix
 * and send again.
 */
export function putBack(m) {
  if (state.open !== m.conversation_id) return;
  cancelCompose();
  const b = box();
  b.value = after(b.value, m.body);
  saveDraft(state.account, state.open, b.value);
  const quoted = m.reply_to && state.chat.find((x) => x.seq === m.reply_to.seq && !x.deleted);
  if (quoted) { mode = { kind: "reply", message: quoted }; drawBanners(); }
  caretToEnd();
}

/**
 * An edit of message `seq` in `conv` was refused for good (too late to edit): what the user
 * wrote is never dropped. Where it goes: that chat's composer when it is open (after what is
 * there; an edit of another message in progress gets it in the draft it gives back), else that
 * chat's kept draft. An edit of this very message still open in the composer (its answer may
 * come after the refusal) ends first. Returns "box" or "draft", or null for no text.
 */
export function giveBackEdit(conv, seq, text) {
  if (!text) return null;
  if (mode && mode.kind === "edit" && mode.message.conversation_id === conv && mode.message.seq === seq) cancelCompose();
  if (state.open !== conv) {
    saveDraft(state.account, conv, after(loadDraft(state.account, conv), text));
    return "draft";
  }
  if (mode && mode.kind === "edit") {
    mode.draft = after(mode.draft, text);
    return "draft";
  }
  const b = box();
  b.value = after(b.value, text);
  saveDraft(state.account, conv, b.value);
  fit();
  caretToEnd();
  return "box";
}

async function saveEdit() {
  const m = mode.message;
  const text = box().value;
  if (text === m.body) { cancelCompose(); return; }
  if (!text.trim()) { toast("A message cannot be empty: delete it instead"); return; }
  if (saving || refuseOverLimit()) return;
  saving = true;
  // The edited message arrives as a `message_changed` event.
  try {
    await call("edit_message", { conversationId: m.conversation_id, seq: m.seq, body: text });
    if (mode && mode.kind === "edit" && sameMessage(mode.message, m)) cancelCompose();
  } catch (e) {
    toast(errorText(e));
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
    const m = lastEditable(state.chat, state.limits);
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
  // The box's width changes when it shows (a chat opens with a draft) or the window is
  // resized: its text wraps anew. (Its height changes are fit's own: not observed.)
  let width = -1;
  new ResizeObserver(([entry]) => {
    const w = Math.round(entry.contentRect.width);
    if (w !== width) { width = w; fit(); }
  }).observe(box());
  wireMentions();
}
