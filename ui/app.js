// Tern UI: renders what the Rust engine reports. All behaviour (connection, outbox, cache,
// sync) lives in Rust; this file only draws state and forwards user actions as commands.
// User-provided text is only ever set through textContent, never parsed as HTML.
"use strict";

const { invoke } = window.__TAURI__.core;
const { listen } = window.__TAURI__.event;
const EVENT = "tern://event"; // src-tauri/src/event_names.rs
const RESYNC = "tern://resync";

const $ = (id) => document.getElementById(id);
const state = {
  me: null, userId: null, open: null, limit: 50, conversations: [], typing: new Map(),
  lastRead: new Map(), muted: new Set(), retryAt: null,
};

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function time(ms) { return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }); }
function day(ms) { return new Date(ms).toLocaleDateString([], { weekday: "long", year: "numeric", month: "long", day: "numeric" }); }
function errText(e) { return (e && e.message) ? e.message : String(e); }

// Debounce so bursts of events cause one redraw.
function debounce(fn, ms) {
  let t = null;
  return () => { clearTimeout(t); t = setTimeout(fn, ms); };
}

// ---------- connection banner ----------
let bannerTimer = null;
function showConnection(c) {
  const banner = $("banner"), text = $("banner-text"), retry = $("retry-now");
  clearInterval(bannerTimer);
  banner.hidden = false;
  banner.className = "";
  retry.hidden = true;
  if (!c) { banner.hidden = true; return; }
  switch (c.state) {
    case "connecting": text.textContent = "Connecting…"; break;
    case "syncing": text.textContent = "Connected — catching up…"; break;
    case "online": banner.className = "online"; text.textContent = "Online"; setTimeout(() => { if (banner.className === "online") banner.hidden = true; }, 1500); break;
    case "offline": {
      banner.className = "offline"; retry.hidden = false; state.retryAt = c.retry_at;
      const tick = () => {
        const s = Math.max(0, Math.ceil((state.retryAt - Date.now()) / 1000));
        text.textContent = `Offline — reconnecting in ${s} s (${c.reason})`;
      };
      tick(); bannerTimer = setInterval(tick, 500);
      break;
    }
    case "signed_out": banner.className = "offline"; text.textContent = `Signed out: ${c.reason}`; showSignin(); break;
  }
  banner.dataset.state = c.state;
}

// ---------- sign in ----------
async function showSignin(prefill) {
  $("app").hidden = true; $("signin").hidden = false; $("insecure-warning").hidden = true;
  if (prefill) { $("relay").value = prefill.relay || ""; $("username").value = prefill.username || ""; $("allow-insecure").checked = !!prefill.allow_insecure_relay; }
  $("username").focus();
}

async function submitSignin(register) {
  const form = $("signin-form");
  if (!form.reportValidity()) return;
  $("signin-error").textContent = "";
  $("signin-button").disabled = $("register-button").disabled = true;
  try {
    await invoke("sign_in", { relay: $("relay").value, username: $("username").value, password: $("password").value, register, allowInsecureRelay: $("allow-insecure").checked });
    $("password").value = "";
    await boot();
  } catch (e) {
    $("signin-error").textContent = errText(e);
  } finally {
    $("signin-button").disabled = $("register-button").disabled = false;
  }
}

// ---------- conversation list ----------
function previewText(m) {
  if (!m) return "No messages yet";
  return (m.mine ? "You: " : "") + m.body.replace(/\s+/g, " ");
}

function renderList() {
  const ul = $("conversations");
  ul.replaceChildren();
  for (const c of state.conversations) {
    const li = el("li", "conv" + (c.conversation_id === state.open ? " active" : ""));
    li.dataset.id = c.conversation_id;
    li.tabIndex = 0;
    li.setAttribute("role", "button");
    const dot = el("span", "dot " + (c.online === true ? "online" : c.online === false ? "offline" : ""));
    dot.setAttribute("aria-label", c.online ? "online" : c.online === false ? "offline" : "group");
    li.append(dot, el("span", "title", c.title), el("span", "time", c.last_message ? time(c.last_message.sent_at) : ""));
    li.append(el("span", ""), el("span", "preview", previewText(c.last_message)));
    if (c.unread > 0) {
      const b = el("span", "badge", String(c.unread));
      b.setAttribute("aria-label", `${c.unread} unread`);
      li.append(b);
    }
    li.setAttribute("aria-label", `${c.title}${c.unread ? `, ${c.unread} unread` : ""}`);
    li.addEventListener("click", () => openConversation(c.conversation_id));
    li.addEventListener("keydown", (e) => { if (e.key === "Enter") openConversation(c.conversation_id); });
    ul.append(li);
  }
}

async function refreshList() {
  try { state.conversations = await invoke("conversations"); } catch (e) { return; }
  renderList();
  if (state.open !== null) renderHead();
}
const refreshListSoon = debounce(refreshList, 60);

// ---------- chat ----------
function current() { return state.conversations.find((c) => c.conversation_id === state.open); }

function renderHead() {
  const c = current();
  if (!c) return;
  $("chat-title").textContent = c.title;
  const names = c.members.map((m) => m.username).join(", ");
  $("chat-sub").textContent = c.kind === "group" ? names : (c.online ? "online" : "offline");
  $("members-button").hidden = c.kind !== "group";
  $("mute").checked = state.muted.has(c.conversation_id);
}

const TICKS = { queued: ["○", "queued"], sent: ["✓", "sent"], delivered: ["✓✓", "delivered"], read: ["✓✓", "read"], failed: ["!", "failed"] };

function renderMessages(list) {
  const ol = $("messages");
  const atBottom = ol.scrollHeight - ol.scrollTop - ol.clientHeight < 40;
  const c = current();
  ol.replaceChildren();
  let lastDay = null;
  for (const m of list) {
    const d = day(m.sent_at);
    if (d !== lastDay) { ol.append(el("li", "day", d)); lastDay = d; }
    const li = el("li", "msg" + (m.mine ? " mine" : "") + (m.status === "failed" ? " failed" : ""));
    li.dataset.clientId = m.client_id;
    if (!m.mine && c && c.kind === "group") li.append(el("div", "sender", m.sender));
    li.append(el("div", "body", m.body));
    const meta = el("div", "meta", time(m.sent_at));
    if (m.mine) {
      const [glyph, label] = TICKS[m.status] || ["", m.status];
      const t = el("span", "ticks", " " + glyph);
      t.dataset.status = m.status;
      t.setAttribute("aria-label", label);
      t.title = label;
      meta.append(t);
    }
    li.append(meta);
    if (m.status === "failed") {
      const actions = el("div", "actions");
      actions.append(el("span", "", m.reason || "not sent"));
      const retry = el("button", "secondary retry", "Retry");
      retry.addEventListener("click", () => invoke("retry", { clientId: m.client_id }).catch(console.error));
      const del = el("button", "secondary delete", "Delete");
      del.addEventListener("click", () => invoke("delete_failed", { clientId: m.client_id }).then(refreshChatSoon).catch(console.error));
      actions.append(retry, del);
      li.append(actions);
    }
    ol.append(li);
  }
  if (atBottom || state.stickBottom) { ol.scrollTop = ol.scrollHeight; state.stickBottom = false; }
  markReadIfVisible(list);
}

function markReadIfVisible(list) {
  if (state.open === null || !document.hasFocus() || document.hidden) return;
  const maxSeq = list.reduce((a, m) => (m.seq && m.seq > a ? m.seq : a), 0);
  if (maxSeq > (state.lastRead.get(state.open) || 0)) {
    state.lastRead.set(state.open, maxSeq);
    invoke("mark_read", { conversationId: state.open, seq: maxSeq }).then(refreshListSoon).catch(console.error);
  }
}

async function refreshChat() {
  if (state.open === null) return;
  const id = state.open;
  try {
    const list = await invoke("messages", { conversationId: id, beforeSeq: null, limit: state.limit });
    if (state.open === id) { state.lastList = list; renderMessages(list); }
  } catch (e) { console.error(e); }
}
const refreshChatSoon = debounce(refreshChat, 40);

async function openConversation(id) {
  state.open = id;
  state.limit = 50;
  state.stickBottom = true;
  $("empty-chat").hidden = true;
  $("chat-head").hidden = false;
  $("composer-form").hidden = false;
  invoke("set_open_conversation", { conversationId: id });
  renderList();
  renderHead();
  renderTyping();
  await refreshChat();
  $("composer").focus();
}

function renderTyping() {
  const now = Date.now();
  const names = [];
  const c = current();
  for (const [key, until] of state.typing) {
    const [conv, user] = key.split(":").map(Number);
    if (until < now) { state.typing.delete(key); continue; }
    if (conv === state.open && c) {
      const m = c.members.find((x) => x.user_id === user);
      names.push(m ? m.username : "someone");
    }
  }
  $("typing").textContent = names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "";
}
setInterval(renderTyping, 1000);

// Typing: tell the relay at most every 3 s while typing; stop after 4 s idle or on send.
let typingSent = 0, typingStop = null;
function onComposerInput() {
  if (state.open === null) return;
  const conv = state.open;
  if (Date.now() - typingSent > 3000) { typingSent = Date.now(); invoke("typing", { conversationId: conv, active: true }); }
  clearTimeout(typingStop);
  typingStop = setTimeout(() => { typingSent = 0; invoke("typing", { conversationId: conv, active: false }); }, 4000);
}

async function sendCurrent() {
  const text = $("composer").value;
  if (!text.trim() || state.open === null) return;
  $("composer").value = "";
  clearTimeout(typingStop);
  typingSent = 0;
  invoke("typing", { conversationId: state.open, active: false });
  state.stickBottom = true;
  try { await invoke("send", { conversationId: state.open, body: text }); } catch (e) { $("composer").value = text; alert(errText(e)); }
  refreshChatSoon();
  refreshListSoon();
}

// ---------- search ----------
const runSearch = debounce(async () => {
  const q = $("search").value.trim();
  const ul = $("search-results");
  if (!q) { ul.hidden = true; $("conversations").hidden = false; return; }
  const results = await invoke("search", { query: q }).catch(() => []);
  ul.replaceChildren();
  if (!results.length) ul.append(el("li", "muted", "No messages found"));
  for (const m of results) {
    const li = el("li", "conv");
    li.tabIndex = 0;
    const conv = state.conversations.find((c) => c.conversation_id === m.conversation_id);
    li.append(el("span", ""), el("span", "title", conv ? conv.title : m.sender), el("span", "time", time(m.sent_at)));
    li.append(el("span", ""), el("span", "preview", `${m.sender}: ${m.body}`));
    li.addEventListener("click", () => { closeSearch(); openConversation(m.conversation_id); });
    li.addEventListener("keydown", (e) => { if (e.key === "Enter") { closeSearch(); openConversation(m.conversation_id); } });
    ul.append(li);
  }
  ul.hidden = false;
  $("conversations").hidden = true;
}, 150);

function closeSearch() { $("search").value = ""; $("search-results").hidden = true; $("conversations").hidden = false; }

// ---------- dialogs ----------
function openDialog(id) { const d = $(id); d.querySelectorAll(".error").forEach((e) => (e.textContent = "")); d.showModal(); }

async function newChat(e) {
  e.preventDefault();
  try {
    const c = await invoke("start_direct", { username: $("new-chat-user").value });
    $("new-chat-dialog").close(); $("new-chat-user").value = "";
    await refreshList(); openConversation(c.conversation_id);
  } catch (err) { $("new-chat-error").textContent = errText(err); }
}

async function newGroup(e) {
  e.preventDefault();
  try {
    const members = $("new-group-members").value.split(",").map((s) => s.trim()).filter(Boolean);
    const c = await invoke("create_group", { name: $("new-group-name").value, members });
    $("new-group-dialog").close(); $("new-group-name").value = ""; $("new-group-members").value = "";
    await refreshList(); openConversation(c.conversation_id);
  } catch (err) { $("new-group-error").textContent = errText(err); }
}

function renderMembers() {
  const c = current(); if (!c) return;
  $("group-name").value = c.title;
  const me = c.members.find((m) => m.user_id === state.userId);
  const admin = me && me.role === "admin";
  const ul = $("member-list"); ul.replaceChildren();
  for (const m of c.members) {
    const li = el("li");
    li.append(el("span", "", m.username + (m.role === "admin" ? " (admin)" : "")));
    if (admin && m.user_id !== state.userId) {
      const rm = el("button", "secondary", "Remove");
      rm.setAttribute("aria-label", `Remove ${m.username}`);
      rm.addEventListener("click", () => memberAction("remove_member", { conversationId: c.conversation_id, username: m.username }));
      li.append(rm);
    }
    ul.append(li);
  }
}

async function memberAction(cmd, args) {
  try { await invoke(cmd, args); await refreshList(); renderMembers(); } catch (err) { $("members-error").textContent = errText(err); }
}

// ---------- events ----------
function onEvent(ev) {
  switch (ev.event) {
    case "connection": showConnection(ev.state); break;
    case "message":
      if (ev.message.conversation_id === state.open) refreshChatSoon();
      refreshListSoon();
      break;
    case "status": case "deleted":
      if (ev.conversation_id === state.open) refreshChatSoon();
      refreshListSoon();
      break;
    case "receipt":
      if (ev.receipt.conversation_id === state.open) refreshChatSoon();
      refreshListSoon();
      break;
    case "typing": {
      const key = `${ev.conversation_id}:${ev.user_id}`;
      if (ev.active) state.typing.set(key, Date.now() + 6000); else state.typing.delete(key);
      renderTyping();
      break;
    }
    case "sync_progress": if (ev.done) { refreshListSoon(); refreshChatSoon(); } break;
    case "presence": case "conversation": refreshListSoon(); break;
    case "conversation_removed":
      if (ev.conversation_id === state.open) { state.open = null; $("chat-head").hidden = true; $("composer-form").hidden = true; $("messages").replaceChildren(); $("empty-chat").hidden = false; }
      refreshListSoon();
      break;
    case "settings": loadSettings(); break;
  }
}

async function loadSettings() {
  const s = await invoke("app_state");
  $("dnd").checked = s.do_not_disturb;
  state.muted = new Set(s.muted);
  return s;
}

async function boot() {
  const s = await loadSettings();
  if (!s.signed_in) { showSignin(s); return; }
  state.me = s.username; state.userId = s.user_id;
  $("me").textContent = s.username;
  $("signin").hidden = true; $("app").hidden = false;
  // Persistent while signed in: clear text to another machine is never "fine".
  $("insecure-warning").hidden = !s.unencrypted;
  showConnection(s.connection);
  await refreshList();
}

function wire() {
  $("signin-form").addEventListener("submit", (e) => { e.preventDefault(); submitSignin(false); });
  $("register-button").addEventListener("click", () => submitSignin(true));
  $("retry-now").addEventListener("click", () => invoke("retry_now"));
  $("signout").addEventListener("click", async () => { await invoke("sign_out", { everywhere: false }).catch(console.error); state.open = null; boot(); });
  $("dnd").addEventListener("change", (e) => invoke("set_do_not_disturb", { on: e.target.checked }));
  $("mute").addEventListener("change", (e) => { if (state.open === null) return; invoke("set_muted", { conversationId: state.open, muted: e.target.checked }).then(loadSettings); });
  $("composer-form").addEventListener("submit", (e) => { e.preventDefault(); sendCurrent(); });
  $("composer").addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendCurrent(); } });
  $("composer").addEventListener("input", onComposerInput);
  $("search").addEventListener("input", runSearch);
  $("new-chat").addEventListener("click", () => openDialog("new-chat-dialog"));
  $("new-group").addEventListener("click", () => openDialog("new-group-dialog"));
  $("members-button").addEventListener("click", () => { renderMembers(); openDialog("members-dialog"); });
  $("new-chat-form").addEventListener("submit", newChat);
  $("new-group-form").addEventListener("submit", newGroup);
  $("rename-button").addEventListener("click", () => memberAction("rename_group", { conversationId: state.open, name: $("group-name").value }));
  $("add-button").addEventListener("click", () => { const names = $("add-members").value.split(",").map((s) => s.trim()).filter(Boolean); $("add-members").value = ""; memberAction("add_members", { conversationId: state.open, usernames: names }); });
  $("leave-button").addEventListener("click", async () => { await memberAction("leave_group", { conversationId: state.open }); $("members-dialog").close(); });
  document.querySelectorAll("[data-close]").forEach((b) => b.addEventListener("click", () => b.closest("dialog").close()));
  $("messages").addEventListener("scroll", () => {
    const ol = $("messages");
    if (ol.scrollTop < 30 && state.lastList && state.lastList.length >= state.limit) {
      const before = ol.scrollHeight;
      state.limit += 50;
      refreshChat().then(() => { ol.scrollTop = ol.scrollHeight - before; });
    }
  });
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "k") { e.preventDefault(); $("search").focus(); $("search").select(); }
    if (e.key === "Escape" && !document.querySelector("dialog[open]")) { closeSearch(); }
  });
  window.addEventListener("focus", () => { if (state.lastList) markReadIfVisible(state.lastList); });
  listen(EVENT, (e) => onEvent(e.payload));
  listen(RESYNC, () => { refreshList(); refreshChat(); });
}

wire();
boot();
