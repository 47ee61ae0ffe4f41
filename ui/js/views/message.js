// One message row of the open chat: sender (groups), the quote of the message it replies to,
// the formatted body (format.js) or a tombstone, reaction chips, time with an "edited" mark
// and ticks, a failed message's retry/delete, and the per-message action buttons, shown on
// hover or keyboard focus. Rows carry data-client-id, and data-seq once stored.

import { el, time } from "../dom.js";
import { formatText } from "../format.js";

const TICKS = { queued: ["○", "queued"], sent: ["✓", "sent"], delivered: ["✓✓", "delivered"], read: ["✓✓", "read"], failed: ["!", "failed"] };

/** Each action's glyph and label. */
const ACTIONS = {
  reply: ["↩\uFE0E", "Reply"],
  react: ["☺\uFE0E", "React"],
  edit: ["✎", "Edit"],
  "delete-everyone": ["🗑\uFE0E", "Delete for everyone"],
  "delete-me": ["✕", "Delete for me"],
};

/** Controls inside a row that leave the tab order unless the row has focus (roving focus). */
export const CONTROLS = ".msg-actions button, .reaction, .quote, a.link";

function quote(q, me) {
  const b = el("button", "quote");
  b.type = "button";
  b.dataset.seq = q.seq;
  const who = !q.known ? "" : q.sender === me ? "You" : (q.sender_name || q.sender);
  const text = q.deleted ? "Original message deleted" : !q.known ? "Original message not loaded" : q.snippet.replace(/\s+/g, " ");
  if (who) b.append(el("span", "quote-sender", who));
  b.append(el("span", "quote-text" + (q.deleted || !q.known ? " muted" : ""), text));
  b.title = "Show the original message";
  b.setAttribute("aria-label", `In reply to ${who ? `${who}: ` : ""}${text}. Show the original message`);
  return b;
}

function reactions(list) {
  const box = el("div", "reactions");
  for (const r of list) {
    const b = el("button", "reaction" + (r.mine ? " mine" : ""), r.emoji);
    b.type = "button";
    b.dataset.emoji = r.emoji;
    b.append(el("span", "count", String(r.count)));
    b.title = r.users.join(", ");
    b.setAttribute("aria-pressed", String(r.mine));
    b.setAttribute("aria-label", `${r.emoji} ${r.count}: ${r.users.join(", ")}${r.mine ? " (you; press to remove)" : ""}`);
    box.append(b);
  }
  return box;
}

function actionBar(actions) {
  const bar = el("div", "msg-actions");
  bar.setAttribute("role", "toolbar");
  bar.setAttribute("aria-label", "Message actions");
  for (const a of actions) {
    const [glyph, label] = ACTIONS[a];
    const b = el("button", "", glyph);
    b.type = "button";
    b.dataset.action = a;
    b.title = label;
    b.setAttribute("aria-label", label);
    bar.append(b);
  }
  return bar;
}

/**
 * Draw message `m` into row `li`. `ctx`: `group` (show senders), `me` (the user's name),
 * `actions` (actionsFor), `openLink(url)`, `tabbable` (the row has focus: its controls are in
 * the tab order).
 */
export function fillMessage(li, m, ctx) {
  li.className = "msg" + (m.mine ? " mine" : "") + (m.status === "failed" ? " failed" : "")
    + (m.deleted ? " deleted" : "") + (m.mentions_me ? " mentions-me" : "");
  li.dataset.clientId = m.client_id;
  if (m.seq != null) li.dataset.seq = m.seq; else delete li.dataset.seq;
  li.tabIndex = -1;
  li.replaceChildren();
  if (!m.mine && ctx.group) {
    const who = el("div", "sender", m.sender_name || m.sender);
    who.title = `@${m.sender}`;
    li.append(who);
  }
  if (m.deleted) {
    li.append(el("div", "body tombstone", "This message was deleted"));
  } else {
    if (m.reply_to) li.append(quote(m.reply_to, ctx.me));
    const body = el("div", "body");
    body.append(...formatText(m.body, { me: ctx.me, openLink: ctx.openLink }));
    li.append(body);
    if (m.reactions && m.reactions.length) li.append(reactions(m.reactions));
  }
  const meta = el("div", "meta");
  if (m.edited && !m.deleted) meta.append(el("span", "edited", "edited"), " ");
  meta.append(time(m.sent_at));
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
  if (ctx.actions.length) li.append(actionBar(ctx.actions));
  if (!ctx.tabbable) for (const c of li.querySelectorAll(CONTROLS)) c.tabIndex = -1;
}
