// The open chat: header, messages (rows keyed by client id, with a separator per day) and the
// typing line. A status or receipt change redraws only the rows it touched. The view sticks to
// the bottom when the user was at the bottom (or just opened the chat or sent something).

import { $, el, time, day } from "../dom.js";
import { state } from "../store.js";
import { reconcile, clear } from "./keyed.js";

const rows = new Map();
let shownKind = null;
let stick = false;

/** Day labels by message (formatting dates is slow; a changed message is a new object). */
const days = new WeakMap();
function dayOf(m) {
  let d = days.get(m);
  if (d === undefined) { d = day(m.sent_at); days.set(m, d); }
  return d;
}

const TICKS = { queued: ["○", "queued"], sent: ["✓", "sent"], delivered: ["✓✓", "delivered"], read: ["✓✓", "read"], failed: ["!", "failed"] };

/** The open conversation's list entry. */
export const current = () => state.conversations.get(state.open);

function fillMessage(li, m) {
  li.className = "msg" + (m.mine ? " mine" : "") + (m.status === "failed" ? " failed" : "");
  li.dataset.clientId = m.client_id;
  li.replaceChildren();
  if (!m.mine && shownKind === "group") li.append(el("div", "sender", m.sender));
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
    actions.append(el("span", "", m.reason || "not sent"), el("button", "secondary retry", "Retry"), el("button", "secondary delete", "Delete"));
    li.append(actions);
  }
}

function fill(li, data) {
  if (typeof data === "string") { li.className = "day"; li.textContent = data; } else fillMessage(li, data);
}

/** Stick to the bottom on the next draw (a chat was opened, or the user sent something). */
export function stickToBottom() { stick = true; }

/** Bring the messages in line with the store. `keepFromBottom`: older ones were prepended. */
export function drawMessages({ keepFromBottom = false } = {}) {
  const ol = $("messages");
  const c = current();
  const kind = c ? c.kind : null;
  if (kind !== shownKind) { clear(ol, rows); shownKind = kind; }
  const atBottom = ol.scrollHeight - ol.scrollTop - ol.clientHeight < 40;
  const fromBottom = ol.scrollHeight - ol.scrollTop;
  const items = [];
  let lastDay = null;
  for (const m of state.chat) {
    const d = dayOf(m);
    if (d !== lastDay) { items.push({ key: `day:${m.client_id}`, data: d }); lastDay = d; }
    items.push({ key: `msg:${m.client_id}`, data: m });
  }
  reconcile(ol, items, rows, fill);
  if (keepFromBottom) ol.scrollTop = ol.scrollHeight - fromBottom;
  else if (atBottom || stick) { ol.scrollTop = ol.scrollHeight; stick = false; }
}

/** Empty the messages (another chat opens, or none). */
export function clearMessages() { clear($("messages"), rows); shownKind = null; }

/** Title, subtitle, members button and mute box of the open conversation. */
export function drawHead() {
  const c = current();
  if (!c) return;
  $("chat-title").textContent = c.title;
  const names = c.members.map((m) => m.username).join(", ");
  $("chat-sub").textContent = c.kind === "group" ? names : (c.online ? "online" : "offline");
  $("members-button").hidden = c.kind !== "group";
  $("mute").checked = state.muted.has(c.conversation_id);
}

/** Who is typing in the open conversation; lapsed indications are dropped. */
export function drawTyping() {
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

/** Show the chat panes (true) or the "choose a conversation" note (false). */
export function showChat(open) {
  $("empty-chat").hidden = open;
  $("chat-head").hidden = !open;
  $("composer-form").hidden = !open;
  if (!open) clearMessages();
}

/** Call `retry(clientId)` / `remove(clientId)` from a failed message's buttons. */
export function wireMessages({ retry, remove, nearTop }) {
  const ol = $("messages");
  ol.addEventListener("click", (e) => {
    const button = e.target.closest("button");
    const li = button && button.closest("li.msg");
    if (!li) return;
    if (button.classList.contains("retry")) retry(li.dataset.clientId);
    if (button.classList.contains("delete")) remove(li.dataset.clientId);
  });
  ol.addEventListener("scroll", () => { if (ol.scrollTop < 30) nearTop(); });
}
