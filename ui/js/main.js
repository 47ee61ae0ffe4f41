// Tern UI entry point: wires the views to the user's actions and the engine's events, then
// draws the first screen. All behaviour (connection, outbox, cache, sync) lives in Rust; the UI
// draws state and forwards actions as commands. Module map:
//   api.js          shell commands and event names      store.js   state + pure event deltas
//   events.js       engine events → store → views       refresh.js reading back from the cache
//   conversation.js open, close, failed messages         dialogs.js new chat/group, members, profile, confirm
//   last-open.js    the last open chat, reopened (pure)  when.js    "last seen …", a message's time (pure)
//   dates.js        date and time formatters, made once (pure)
//   search-text.js  a search's matches, snippets (pure)  search-pages.js  search results by page (pure)
//   composer.js     write, send, reply, edit             mentions.js `@` autocompletion
//   limits.js       the message size limit (pure)        fold.js    long messages folded (pure)
//   actions.js      a message's actions (react, delete…) format.js  message text → DOM (links, *bold*…)
//   message-actions.js  the actions' names and a message's context-menu items (pure);
//   message-menu.js     that menu opened on a row         clipboard.js  copying text
//   errors.js       every error in plain words (pure)    unread.js  badges, the window title (pure)
//   reading.js      what was seen and is read, what waits below, the "New messages" divider (pure)
//   signout.js      sign out, asked first                webview.js no browser menu, no reload
//   attach.js       send files: button, paste, drop      files.js   download, open, save a file
//   attachments.js  sizes, thumbnail boxes, previews (pure)
//   notices.js      group notices ("alice added bob") in words (pure)
//   mute.js         mute choices (an hour … for good), their ends (pure)
//   pins.js         pinned chats first, at most five (pure)
//   unread-marks.js chats the user marked unread, on all their devices
//   drafts.js       drafts per chat, read once (pure but for storage)   device-data.js  forgetting them
//   dom.js          element helpers, a message's time
//   people.js       people found for a new chat: ranking, labels; the user's display name
//   avatars.js      avatars: initials, colours, pictures read once (span.avatar)
//   photos.js       setting the user's and a group's picture (Profile, Members dialogs)
//   privacy.js      privacy settings, block list, the Privacy dialog (account.js: devices, password;
//                   delete-account.js: deleting the account)
//   requests.js     a message request's bar, blocking from a chat   security.js their pure parts
//   views/          list (and requests), chat, message row, bars standing in for the composer,
//                   banner, sign-in, search, emoji picker, toasts, image viewer, context menu,
//                   questions before acting (ask.js), the mute menu, a chat row's menu; keyed.js reconciles keyed rows

import { wireDeleteAccount } from "./delete-account.js";
import * as api from "./api.js";
import { $ } from "./dom.js";
import { state } from "./store.js";
import { onEvent, resync, signedOut } from "./events.js";
import { refreshAll, loadOlder, loadNewer, loadChat, markReadIfVisible, onListLoaded, refreshLimits } from "./refresh.js";
import {
  openConversation, openAt, closeConversation, retry, removeFailed, editFailed, beginRestore, restoreLastOpen,
  windowSeen,
} from "./conversation.js";
import { wireComposer } from "./composer.js";
import { wireAttach } from "./attach.js";
import { act } from "./actions.js";
import { wireDialogs } from "./dialogs.js";
import { wireForward } from "./views/forward.js";
import { loadPrivacy, wirePrivacy } from "./privacy.js";
import { wireRequests } from "./requests.js";
import { showConnection, wireBanner } from "./views/banner.js";
import { drawHead, drawSubtitle, drawTyping, wireMessages, recheckReading } from "./views/chat.js";
import { drawList, onUnreadTotal, wireList } from "./views/list.js";
import { wireSearch, focusResults } from "./views/search.js";
import { wireViewer } from "./views/viewer.js";
import { showSignin, wireSignin } from "./views/signin.js";
import { wireMenu } from "./views/context-menu.js";
import { openMessageMenu } from "./message-menu.js";
import { wireSignOut } from "./signout.js";
import { adoptUnkeyed } from "./device-data.js";
import { scheduleMuteEnds, wireMute } from "./views/mute-menu.js";
import { wireRowMenu } from "./views/row-menu.js";
import { wireWebview } from "./webview.js";

/** Read the shell's settings (do-not-disturb, muted and pinned conversations, who is signed in). */
async function loadSettings() {
  const s = await api.call("app_state");
  $("dnd").checked = s.do_not_disturb;
  // Not in app_state yet: the box then keeps what the user set here (unchecked at start).
  if (typeof s.mute_mentions === "boolean") $("mute-mentions").checked = s.mute_mentions;
  // Each muted conversation with the end of its mute (null: until unmuted).
  state.muted = new Map((s.muted || []).map((m) => [m.conversation_id, m.until ?? null]));
  state.pinned = Array.isArray(s.pinned) ? s.pinned : [];
  state.unreadMarks = new Set(Array.isArray(s.marked_unread) ? s.marked_unread : []);
  state.archived = new Set(Array.isArray(s.archived) ? s.archived : []);
  scheduleMuteEnds();
  // Muted rows are marked in the list; the open chat's mute menu follows.
  drawList();
  if (state.open !== null) drawHead();
  return s;
}

/** First screen: sign-in, or the main screen with the whole list read once. */
async function boot() {
  const events = state.connectionEvents;
  const s = await loadSettings();
  if (!s.signed_in) { showSignin(s); return; }
  state.me = s.username;
  state.userId = s.user_id;
  state.account = s.account;
  adoptUnkeyed(s.user_id, s.account);
  $("me").textContent = s.username;
  $("signin").hidden = true;
  $("app").hidden = false;
  // Persistent while signed in: clear text to another machine is never "fine".
  $("insecure-warning").hidden = !s.unencrypted;
  // The engine may have connected while the snapshot was on its way: its event then showed a
  // newer state than the snapshot holds.
  if (state.connectionEvents === events) showConnection(s.connection, signedOut);
  loadPrivacy();
  refreshLimits();
  // The chat open when the app was last closed (or the user signed out) opens once listed.
  beginRestore();
  await refreshAll();
}

/** When the minute last changed (the 1 s timer's cheap check: "last seen" is in minutes). */
let minute = 0;

/** Each second: lapsed typing indications go; each new minute, the "last seen" line ages. */
function tick() {
  drawTyping();
  const now = Math.floor(Date.now() / 60000);
  if (now === minute) return;
  minute = now;
  if (state.open !== null && !document.hidden) drawSubtitle();
}

/**
 * The narrow layout's back button: close the chat and show the list, its row focused (or the
 * search results, the chosen one focused, when the chat was opened from them).
 */
function backToList() {
  const id = state.open;
  closeConversation();
  if (focusResults()) return;
  const row = document.querySelector(`#conversations li.conv[data-id="${id}"], #requests li.conv[data-id="${id}"], #archived li.conv[data-id="${id}"]`);
  // A row in a folded list (the archived chats) cannot take the focus.
  if (row && row.offsetParent !== null) row.focus(); else $("search").focus();
}

function wire() {
  wireSignin(boot);
  wireList(openConversation);
  wireRowMenu(openConversation);
  wireSearch(openAt);
  wireComposer();
  wireAttach();
  wireViewer();
  wireMute();
  wireDialogs();
  wireForward();
  wirePrivacy();
  wireRequests();
  wireDeleteAccount(() => { signedOut(); boot(); });
  wireMessages({ retry, remove: removeFailed, editFailed, nearTop: () => loadOlder(), nearEnd: () => loadNewer(), newest: loadChat, act, menu: openMessageMenu, read: markReadIfVisible });
  wireMenu();
  wireWebview();
  wireBanner();
  $("retry-now").addEventListener("click", () => api.call("retry_now"));
  wireSignOut(() => { signedOut(); return boot(); });
  $("back-to-list").addEventListener("click", backToList);
  $("dnd").addEventListener("change", (e) => api.call("set_do_not_disturb", { on: e.target.checked }));
  // Only what shows while the window has focus and is not hidden is marked read.
  window.addEventListener("focus", recheckReading);
  // A chat opened behind the window, looked at now, loses its unread mark (unread-marks.js).
  window.addEventListener("focus", windowSeen);
  document.addEventListener("visibilitychange", recheckReading);
  // A dialog over the chat (the picture viewer, a question) closed: what shows is seen again.
  // (`close` does not bubble: caught on its way down.)
  document.addEventListener("close", (e) => { if (e.target instanceof HTMLDialogElement) { recheckReading(); windowSeen(); } }, true);
  setInterval(tick, 1000);
  onListLoaded(restoreLastOpen);
  // Shown again after a while: the "last seen" line may have aged.
  document.addEventListener("visibilitychange", () => { if (!document.hidden) drawSubtitle(); });
  api.on(api.EVENT, (ev) => onEvent(ev, loadSettings));
  api.on(api.RESYNC, resync);
  // The tray shows the title's count: the list's own total, kept by the events above, so the
  // two always agree and counting costs no trip to the cache.
  onUnreadTotal((total) => api.call("set_unread_total", { total }).catch(() => {}));
}

wire();
boot();
