// Engine events applied as deltas: each changes the store through a pure function of store.js
// and redraws only the rows it touched. Where an event lacks what a row shows, only that
// conversation is read back (refresh.js); the whole list is read only when a sync finishes.
// Transfer progress is kept apart from the messages (state.transfers) and redraws only the
// bar of its row (and the image viewer's, if it shows that file). Privacy settings and the
// block list are replaced whole by their event (privacy.js redraws what shows them).
//
// The open chat is windowed (refresh.js WINDOW): while it does not hold its newest messages
// (`state.hasNewer`: the user scrolled back through a long chat), a new message is not added
// behind what is held (that would leave a gap); the conversation counts it, the jump-to-bottom
// button says so, and scrolling down (or the button) reads it back. Changes to held messages
// apply as ever.

import { state, placement, withMessage, withStatus, withReceipt, withInfo, withPresence, withChanged, sameMessage,
  chatWithStatus, chatWithTicks, chatWithUploaded, withTransfer, withoutTransfer, trimOldest, trimNewest, noTransfers } from "./store.js";
import { refreshAll, refreshOne, loadChat, loadNewer, applyChat, chatEvent, touched, forgetReading, refreshLimits, WINDOW } from "./refresh.js";
import { closeSearch } from "./views/search.js";
import { drawList } from "./views/list.js";
import { drawHead, drawMessages, drawTyping, drawProgress, showsNewest, atWindowEnd, recheckReading } from "./views/chat.js";
import { drawViewer } from "./views/viewer.js";
import { showConnection } from "./views/banner.js";
import { showSignin } from "./views/signin.js";
import { closeConversation, openConversation } from "./conversation.js";
import { composeSaw, forgetDraft, giveBackEdit } from "./composer.js";
import { setPrivacy, resetPrivacy } from "./privacy.js";
import { toast } from "./views/toast.js";
import { refusedText } from "./errors.js";
import { drawPhotos } from "./photos.js";
import { previewText } from "./attachments.js";
import { isNotice, namesIn } from "./notices.js";
import { speakerPrefix } from "./views/message.js";
import { $, attending } from "./dom.js";
import { call } from "./api.js";

/** Replace one conversation's entry if `change` returned a new one; redraw its row. */
function update(id, change) {
  const c = state.conversations.get(id);
  if (!c) return false;
  const next = change(c);
  if (next !== c) {
    touched(id);
    state.conversations.set(id, next);
    drawList();
    if (id === state.open) drawHead();
  }
  return true;
}

/**
 * Whether the user will see a message arriving in conversation `id` now (it will then be marked
 * read, so it does not count as unread): it is open at its bottom in a focused, shown window,
 * with no dialog over it.
 * Scrolled up, it stays unread until its row is scrolled into view.
 */
const seeing = (id) => id === state.open && attending() && showsNewest();

function onMessage(m) {
  const id = m.conversation_id;
  const known = state.conversations.get(id);
  // Not heard of before (an event may repeat one, after a resync): said once, below.
  const fresh = !!known && m.seq != null && m.seq > (known.last_seq || 0);
  if (!update(id, (c) => withMessage(c, m, seeing(id)))) refreshOne(id);
  if (id !== state.open) return;
  const loading = chatEvent({ event: "message", message: m });
  // The chat shows a gap-free run of stored messages. Events can trail the cache (a burst is
  // stored faster than the window hears of it): one older than the run is left for scrolling
  // back to; one past it with a gap means reading the newest page again. While the newest
  // messages are not held (hasNewer), a new one comes after them: it waits for scrolling down
  // (the jump button counts it), unless it is the user's own just written here (unsent): they
  // want to see it, and the newest page ends with it.
  const where = loading && !state.hasNewer ? null : placement(state.chat, m, state.hasNewer);
  if (where === "older") { state.hasOlder = true; return; }
  if (where === "newer") {
    if (!loading && (!state.hasNewer || m.seq == null)) loadChat();
    else if (!loading && atWindowEnd()) loadNewer();
    if (state.hasNewer) recheckReading();
    return;
  }
  state.chat = applyChat(state.chat, { event: "message", message: m });
  // Past the window: following the newest (at the bottom, or the user's own message), the
  // oldest go; scrolled up, the newest go again (hasNewer) and what shows stays.
  if (state.chat.length > WINDOW) {
    const following = m.seq == null || showsNewest();
    const kept = following ? trimOldest(state.chat, WINDOW) : trimNewest(state.chat, WINDOW);
    if (kept.trimmed) {
      state.chat = kept.list;
      if (following) state.hasOlder = true; else state.hasNewer = true;
    }
  }
  // Marked read only once its row shows (drawMessages measures what is seen).
  drawMessages();
  if (fresh) announce(m);
}

/**
 * Say a new message of someone else's in the open chat to a screen reader, once: the list of
 * messages is not a live region (its rows are drawn again when they change), so this is the
 * only place a new message is spoken.
 */
function announce(m) {
  if (m.mine || m.seq == null) return;
  const c = state.conversations.get(m.conversation_id);
  const text = previewText(m, namesIn(c, state.userId), state.userId);
  const who = isNotice(m) ? "" : speakerPrefix(m);
  const a = $("announcer");
  const said = `${who}${text}`;
  // The same words again ("ok", then "ok"): a screen reader says a live region's text only when
  // it changed, so the repeat differs by an invisible trailing space.
  a.textContent = a.textContent === said ? `${said}\u00A0` : said;
}

function onStatus(ev) {
  // A failed upload starts again from what the relay has when retried; a sent one is done.
  if (ev.status !== "queued") state.transfers = withoutTransfer(state.transfers, true, ev.client_id);
  // Stored now: the event carries the relay's time, which the row then shows.
  update(ev.conversation_id, (c) => withStatus(c, ev));
  if (ev.conversation_id !== state.open) return;
  const loading = chatEvent(ev);
  const next = chatWithStatus(state.chat, ev);
  // A status for a message not shown: read the page again rather than guess where it goes
  // (unless a page is loading: the status is replayed onto it; or the newest messages are not
  // held: it is one of them, read back with them).
  if (next === null) { if (!loading && !state.hasNewer) loadChat(); return; }
  state.chat = next;
  drawMessages();
}

function onDeleted(ev) {
  state.transfers = withoutTransfer(state.transfers, true, ev.client_id);
  const c = state.conversations.get(ev.conversation_id);
  // The preview showed the deleted message: what it shows now is only in the cache.
  if (c && c.last_message && c.last_message.client_id === ev.client_id) refreshOne(ev.conversation_id);
  if (ev.conversation_id !== state.open) return;
  chatEvent(ev);
  state.chat = applyChat(state.chat, ev);
  drawMessages();
}

/** A stored message was edited, deleted or reacted to (or hidden: deleted for this user). */
function onChanged(ev) {
  const m = ev.message, id = m.conversation_id;
  const c = state.conversations.get(id);
  if (c && sameMessage(c.last_message, m)) {
    // Hidden: what the preview shows instead is only in the cache.
    if (ev.hidden) refreshOne(id); else update(id, (x) => withChanged(x, m));
  }
  composeSaw(m, ev.hidden);
  if (id !== state.open) return;
  chatEvent(ev);
  const next = applyChat(state.chat, ev);
  if (next !== state.chat) { state.chat = next; drawMessages(); }
}

/** An attachment moved: its progress; a finished upload gives its message the blob id. */
function onTransfer(ev) {
  state.transfers = withTransfer(state.transfers, ev);
  drawViewer();
  if (ev.conversation_id !== state.open) return;
  if (ev.upload && ev.blob_id && ev.done >= ev.total) {
    chatEvent(ev);
    const next = chatWithUploaded(state.chat, ev);
    if (next !== state.chat) { state.chat = next; drawMessages(); return; }
  }
  drawProgress(ev);
}

function onReceipt(r) {
  const id = r.conversation_id;
  // The user's own read marker moving (read on another device) changes the unread count,
  // which only the cache can count. The echo of a marker set here is already known.
  if (r.user_id === state.userId) {
    const c = state.conversations.get(id);
    const me = c && c.members.find((m) => m.user_id === state.userId);
    if (!me || r.read_seq > me.read_seq) refreshOne(id);
    return;
  }
  if (!update(id, (c) => withReceipt(c, r))) return;
  if (id === state.open) retick();
}

/** Recompute the open chat's ticks from its members' markers; redraw the rows that changed. */
function retick() {
  const next = chatWithTicks(state.chat, state.conversations.get(state.open).members, state.userId);
  if (next !== state.chat) { state.chat = next; drawMessages(); }
}

function onConversation(info) {
  const id = info.conversation_id;
  if (!update(id, (c) => withInfo(c, info, state.userId))) { refreshOne(id); return; }
  // A picture may have changed (the user's own, or the group's): the dialogs showing it.
  drawPhotos();
  if (id !== state.open) return;
  drawTyping();
  retick();
  // A member's picture or name may have changed: the avatars beside their messages.
  const c = state.conversations.get(id);
  if (c && c.kind === "group") drawMessages();
}

/** An edit, delete or reaction refused for good: said, and a refused edit's text given back. */
function onRefused(ev) {
  const back = ev.kind === "edit" ? giveBackEdit(ev.conversation_id, ev.seq, ev.body) : null;
  const where = { box: " What you wrote is back in the box.", draft: " What you wrote is kept as the chat's draft." };
  toast(`${refusedText(ev.reason)}${where[back] || ""}`);
}

function onRemoved(id) {
  if (id === state.open) closeConversation({ gone: true });
  else forgetDraft(id);
  if (state.conversations.delete(id)) drawList();
  touched(id);
}

/** The session ended (signed out here, or the relay no longer accepts this device). */
export function signedOut() {
  // Still the last open chat of that account: it opens again at its next sign-in.
  if (state.open !== null) closeConversation({ remember: true });
  // Nothing of this account's may show, or count, for the next one.
  closeSearch();
  forgetReading();
  state.typing.clear();
  state.transfers = noTransfers();
  state.conversations.clear();
  drawList();
  resetPrivacy();
  // Who was signed in is not kept: the next one types their name.
  showSignin({ username: "" });
  // The relay's address too: an app that started signed in never filled the form, and a
  // sign-out the relay made (the password changed elsewhere) shows the form only once.
  call("app_state")
    .then((s) => showSignin({ relay: s.relay, allow_insecure_relay: s.allow_insecure_relay }))
    .catch((e) => console.error(e));
}

/** Apply one engine event. `loadSettings` reads the shell's settings again. */
export function onEvent(ev, loadSettings) {
  switch (ev.event) {
    case "connection":
      state.connectionEvents++;
      showConnection(ev.state, signedOut);
      // Connected: the relay's welcome said what it takes now.
      if (ev.state && ev.state.state === "online") refreshLimits();
      break;
    case "message": onMessage(ev.message); break;
    case "status": onStatus(ev); break;
    case "deleted": onDeleted(ev); break;
    case "message_changed": onChanged(ev); break;
    case "transfer": onTransfer(ev); break;
    // The message itself was already restored by a message_changed event.
    case "action_refused": onRefused(ev); break;
    case "receipt": onReceipt(ev.receipt); break;
    case "typing": {
      const key = `${ev.conversation_id}:${ev.user_id}`;
      if (ev.active) state.typing.set(key, Date.now() + 6000); else state.typing.delete(key);
      drawTyping();
      break;
    }
    // The dot and the "last seen" line of the direct conversation with that user.
    case "presence":
      for (const id of state.conversations.keys()) update(id, (c) => withPresence(c, ev.presence, state.userId));
      break;
    case "conversation": onConversation(ev.conversation); break;
    case "conversation_removed": onRemoved(ev.conversation_id); break;
    case "sync_progress": if (ev.done) resync(); break;
    case "settings": loadSettings(); break;
    // A chat muted or pinned on another device (or here): the shell's copy is already new.
    case "chat_prefs": loadSettings(); break;
    case "privacy": setPrivacy(ev.privacy); break;
    // A notification was clicked: the shell raised the window; show that conversation.
    case "open_conversation": openConversation(ev.conversation_id); break;
  }
}

/** Read everything shown again (a sync finished, or events were missed). */
export function resync() {
  refreshAll();
  loadChat();
}
