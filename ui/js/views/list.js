// The conversation list: one row per conversation, keyed by its id, ordered by last activity;
// the preview sums up the last message in a line ("🖼 Photo", "📎 name" for a bare file).
// Only rows whose conversation (or active state) changed are redrawn. Clicks are delegated to
// the list, so rows carry no listeners of their own.

import { $, el, time } from "../dom.js";
import { state, ordered } from "../store.js";
import { previewText } from "../attachments.js";
import { reconcile } from "./keyed.js";

const rows = new Map();

function preview(m) {
  if (!m) return "No messages yet";
  return (m.mine ? "You: " : "") + previewText(m);
}

/** A row's parts, made once per row: updates change their text, never replace them, so a
 *  click that starts while messages stream in (the row redrawn between press and release)
 *  still lands on the row. */
function parts(li) {
  if (!li._parts) {
    const p = {
      dot: el("span", "dot"), title: el("span", "title"), time: el("span", "time"),
      gap: el("span", ""), preview: el("span", "preview"), badge: el("span", "badge"),
    };
    li.replaceChildren(p.dot, p.title, p.time, p.gap, p.preview, p.badge);
    li._parts = p;
  }
  return li._parts;
}

function fill(li, { c, active }) {
  li.className = "conv" + (active ? " active" : "");
  li.dataset.id = c.conversation_id;
  li.tabIndex = 0;
  li.setAttribute("role", "button");
  const p = parts(li);
  p.dot.className = "dot " + (c.online === true ? "online" : c.online === false ? "offline" : "");
  p.dot.setAttribute("aria-label", c.online ? "online" : c.online === false ? "offline" : "group");
  p.title.textContent = c.title;
  p.time.textContent = c.last_message ? time(c.last_message.sent_at) : "";
  p.preview.textContent = preview(c.last_message);
  p.badge.hidden = !(c.unread > 0);
  p.badge.textContent = c.unread > 0 ? String(c.unread) : "";
  p.badge.setAttribute("aria-label", `${c.unread} unread`);
  li.setAttribute("aria-label", `${c.title}${c.unread ? `, ${c.unread} unread` : ""}`);
}

/** Bring the list in line with the store. */
export function drawList() {
  const items = ordered(state.conversations).map((c) => ({
    key: c.conversation_id,
    data: { c, active: c.conversation_id === state.open },
  }));
  reconcile($("conversations"), items, rows, fill, (a, b) => a.c === b.c && a.active === b.active);
}

/** Call `open(id)` when a row is clicked or Enter is pressed on it. */
export function wireList(open) {
  const ul = $("conversations");
  const target = (e) => e.target.closest("li.conv");
  ul.addEventListener("click", (e) => { const li = target(e); if (li) open(Number(li.dataset.id)); });
  ul.addEventListener("keydown", (e) => { const li = target(e); if (li && e.key === "Enter") open(Number(li.dataset.id)); });
}
