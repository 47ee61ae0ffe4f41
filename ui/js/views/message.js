// One message row of the open chat: sender (groups), the quote of the message it replies to,
// its attachment (a picture drawn from its thumbnail at its final size, or a file chip with
// Download / Open / Save as…, and a progress bar while it moves), the formatted body (format.js;
// an attachment's optional caption; folded with "Read more" when long: fold.js) or a tombstone,
// reaction chips, time (time.msg-time: "queued" while it waits in the outbox, the relay's time
// once stored, when it was written if it failed; the full date and time as its tooltip: when.js)
// with an "edited" mark and ticks, a failed message's reason in plain words
// with Retry (when it may still succeed), Edit (put its text back in the composer) and Delete,
// and the per-message action buttons, shown on hover or keyboard focus. Rows carry
// data-client-id, and data-seq once stored. Each row starts with a visually hidden prefix
// (span.sr-only.msg-speaker: "bob, 14:03: ", "You, 14:05: ") so a screen reader says who wrote
// it and when, which sighted users tell by side and colour; the visible sender and time, said
// there already, are hidden from screen readers. In a group, messages from others keep room
// for their sender's avatar on the left (li.with-avatar); the first of a run shows it
// (span.avatar.msg-avatar, aria-hidden: the sender is said already).
//
// A group notice ("alice added bob": notices.js) is a row of its own, li.msg.notice: its
// sentence alone (span.notice-text, centred, small and muted; read as it is by screen readers),
// the full date and time as the row's tooltip; no bubble, sender, avatar, ticks or actions, and
// not focusable (no tabindex: the arrow keys pass over it). It keeps data-client-id and data-seq.

import { el } from "../dom.js";
import { messageTime } from "../when.js";
import { formatText } from "../format.js";
import { humanSize, progressText, thumbBox, showsPicture, fileIcon } from "../attachments.js";
import { failureOf } from "../errors.js";
import { isLong } from "../fold.js";
import { ACTIONS } from "../message-actions.js";
import { avatarNode, fillAvatar } from "../avatars.js";
import { isNotice, noticeText } from "../notices.js";

const TICKS = { queued: ["○", "queued"], sent: ["✓", "sent"], delivered: ["✓✓", "delivered"], read: ["✓✓", "read"], failed: ["!", "failed"] };

/** Controls inside a row that leave the tab order unless the row has focus (roving focus). */
export const CONTROLS = ".msg-actions button, .reaction, .quote, a.link, .attachment button, .read-more";

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

function button(cls, text, action, label) {
  const b = el("button", cls, text);
  b.type = "button";
  if (action) b.dataset.action = action;
  if (label) { b.title = label; b.setAttribute("aria-label", label); }
  return b;
}

/** Show transfer progress `p` on a `<progress>` (no `value`: waiting, indeterminate). */
export function setProgress(bar, p) {
  if (p && p.total > 0) {
    bar.max = p.total;
    bar.value = p.done;
    bar.setAttribute("aria-valuetext", progressText(p));
  } else {
    bar.removeAttribute("value");
    bar.setAttribute("aria-valuetext", "waiting");
  }
}

/**
 * The attachment's picture (the thumbnail, sized before it loads; a click opens the viewer),
 * with its size (or how much of it came) on it while the full picture is not on this device.
 */
function picture(m, progress) {
  const a = m.attachment;
  const view = button("attachment-view", undefined, "view-image", `View ${a.name} (${humanSize(a.size)})`);
  const img = el("img", "attachment-thumb");
  const box = thumbBox(a.width, a.height);
  if (box) { img.width = box.width; img.height = box.height; }
  img.alt = a.name;
  img.draggable = false;
  img.src = `data:image/jpeg;base64,${a.thumbnail}`;
  view.append(img);
  if (!m.local_file) view.append(el("span", "attachment-badge attachment-size", progressText(progress, a.size)));
  return view;
}

/** A file chip: icon, name, size (or progress), and what can be done with it here. */
function fileChip(m, progress) {
  const a = m.attachment;
  const chip = el("div", "attachment-file");
  const icon = el("span", "attachment-icon", fileIcon(a.content_type));
  icon.setAttribute("aria-hidden", "true");
  chip.append(icon);
  const info = el("div", "attachment-info");
  const name = el("span", "attachment-name", a.name);
  name.title = a.name;
  info.append(name, el("span", "attachment-size", progressText(progress, a.size)));
  chip.append(info);
  if (m.local_file) {
    chip.append(button("attachment-action", "Open", "open-file", `Open ${a.name}`),
      button("attachment-save secondary", "Save as…", "save-file", `Save ${a.name} as…`));
  } else if (a.blob_id && m.seq != null) {
    const b = button("attachment-action", progress ? "Downloading…" : "Download", "download", `Download ${a.name} (${humanSize(a.size)})`);
    b.disabled = !!progress;
    chip.append(b);
  }
  return chip;
}

/** The attachment block of message `m`; `progress` while its file moves (progressOf). */
function attachment(m, progress) {
  const a = m.attachment;
  const pic = showsPicture(a);
  const box = el("div", "attachment" + (pic ? " attachment-image" : ""));
  if (a.blob_id) box.dataset.blobId = a.blob_id;
  box.append(pic ? picture(m, progress) : fileChip(m, progress));
  if (progress) {
    const bar = el("progress", "attachment-progress");
    bar.setAttribute("aria-label", m.mine && !a.blob_id ? `Sending ${a.name}` : `Downloading ${a.name}`);
    setProgress(bar, progress);
    box.append(bar);
  }
  // The user's own file still on its way up (not sent yet): it can be cancelled.
  if (m.mine && !a.blob_id && m.seq == null) {
    const cancel = el("button", "secondary delete attachment-cancel", "Cancel");
    cancel.type = "button";
    cancel.setAttribute("aria-label", `Cancel sending ${a.name}`);
    box.append(cancel);
  }
  return box;
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

/** What a screen reader hears before message `m`: who wrote it ("You" or their display name)
 *  and when, e.g. "bob, 14:03: ". */
export function speakerPrefix(m) {
  const who = m.mine ? "You" : (m.sender_name || m.sender || "Someone");
  const { text } = messageTime(m);
  return text ? `${who}, ${text}: ` : `${who}: `;
}

/** The message's time: a `<time>` with the full date and time as its tooltip. */
function timeOf(m) {
  const { text, title, iso } = messageTime(m);
  const t = el("time", m.status === "queued" ? "msg-time queued" : "msg-time", text);
  // Said first, with the sender (speakerPrefix).
  t.setAttribute("aria-hidden", "true");
  if (iso) t.setAttribute("datetime", iso);
  if (title) t.title = title;
  return t;
}

/**
 * Draw group notice `m` into row `li`: its sentence `text` (notices.js noticeText; by default
 * with the names the notice gives), the full date and time as the row's tooltip.
 */
export function fillNotice(li, m, text = noticeText(m)) {
  li.className = "msg notice";
  li.dataset.clientId = m.client_id;
  if (m.seq != null) li.dataset.seq = m.seq; else delete li.dataset.seq;
  // Nothing to do with it: not a stop of the list's roving focus.
  li.removeAttribute("tabindex");
  li._face = null;
  const { title } = messageTime(m);
  if (title) li.title = title; else li.removeAttribute("title");
  li.replaceChildren(el("span", "notice-text", text));
}

/**
 * Draw message `m` into row `li` (a group notice: fillNotice, with `ctx.notice` its sentence).
 * `ctx`: `group` (show senders), `me` (the user's name),
 * `actions` (actionsFor), `openLink(url)`, `tabbable` (the row has focus: its controls are in
 * the tab order), `progress` (its attachment's transfer: progressOf, or null), `expanded` (a
 * long body the user unfolded), `face` (in a group, a message from someone else: `{ first }`,
 * and when it starts a run the sender's `picture`, `name` and colour `key`; null: no avatar).
 */
export function fillMessage(li, m, ctx) {
  if (isNotice(m)) { fillNotice(li, m, ctx.notice || noticeText(m)); return; }
  li.className = "msg" + (m.mine ? " mine" : "") + (m.status === "failed" ? " failed" : "")
    + (m.deleted ? " deleted" : "") + (m.mentions_me ? " mentions-me" : "") + (m.attachment && !m.deleted ? " has-attachment" : "")
    + (ctx.face ? " with-avatar" : "");
  li.dataset.clientId = m.client_id;
  if (m.seq != null) li.dataset.seq = m.seq; else delete li.dataset.seq;
  li.tabIndex = -1;
  li.replaceChildren(el("span", "sr-only msg-speaker", speakerPrefix(m)));
  const face = ctx.face;
  if (face && face.first) {
    // The same node across redraws: a loaded picture does not blink.
    if (li._face) fillAvatar(li._face, face.picture, face.name, face.key, "avatar-msg msg-avatar");
    else li._face = avatarNode(face.picture, face.name, face.key, "avatar-msg msg-avatar");
    li.append(li._face);
  }
  if (!m.mine && ctx.group) {
    const who = el("div", "sender", m.sender_name || m.sender);
    who.title = `@${m.sender}`;
    who.setAttribute("aria-hidden", "true");
    li.append(who);
  }
  if (m.deleted) {
    li.append(el("div", "body tombstone", "This message was deleted"));
  } else {
    if (m.reply_to) li.append(quote(m.reply_to, ctx.me));
    if (m.attachment) li.append(attachment(m, ctx.progress || null));
    // With an attachment the text is an optional caption.
    if (!m.attachment || m.body) {
      // Long by its length, but found to fit its first lines where it is drawn (`fits`): whole,
      // without a button that would reveal nothing.
      const long = isLong(m.body) && !ctx.fits;
      const folded = long && !ctx.expanded;
      const body = el("div", folded ? "body folded" : "body");
      body.append(...formatText(m.body, { me: ctx.me, openLink: ctx.openLink }));
      li.append(body);
      if (long) {
        const more = button("read-more", folded ? "Read more" : "Show less");
        more.setAttribute("aria-expanded", String(!folded));
        li.append(more);
      }
    }
    if (m.reactions && m.reactions.length) li.append(reactions(m.reactions));
  }
  const meta = el("div", "meta");
  if (m.edited && !m.deleted) meta.append(el("span", "edited", "edited"), " ");
  meta.append(timeOf(m));
  if (m.mine) {
    const [glyph, label] = TICKS[m.status] || ["", m.status];
    const t = el("span", "ticks", " " + glyph);
    t.dataset.status = m.status;
    t.setAttribute("aria-label", label);
    t.title = label;
    // The time already says "queued": read once.
    if (m.status === "queued") t.setAttribute("aria-hidden", "true");
    meta.append(t);
  }
  li.append(meta);
  if (m.status === "failed") {
    const f = failureOf(m.reason, { text: !m.attachment });
    const actions = el("div", "actions");
    actions.append(el("span", "failure", f.text));
    if (f.retry) actions.append(button("secondary retry", "Retry"));
    if (f.edit) actions.append(button("secondary edit-failed", "Edit", null, "Edit and send again"));
    actions.append(button("secondary delete", "Delete"));
    li.append(actions);
  }
  if (ctx.actions.length) li.append(actionBar(ctx.actions));
  if (!ctx.tabbable) for (const c of li.querySelectorAll(CONTROLS)) c.tabIndex = -1;
}
