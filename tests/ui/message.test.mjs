// Unit tests of one message row (ui/js/views/message.js) on a minimal stand-in for the DOM:
// the classes and data attributes the app and its WebDriver tests select on, quotes, reactions,
// the "edited" mark, tombstones, action buttons, roving focus of a row's controls, and
// attachments (pictures, file chips, progress bars).

import test from "node:test";
import assert from "node:assert/strict";

class Text {
  constructor(data) { this.nodeType = 3; this.data = data; this.parent = null; }
  get textContent() { return this.data; }
}
class Element {
  constructor(tag) {
    this.nodeType = 1; this.tagName = tag.toUpperCase(); this.childNodes = []; this.className = "";
    this.dataset = {}; this.attrs = {}; this.parent = null; this.listeners = {};
  }
  get classList() { return { contains: (c) => this.className.split(" ").includes(c) }; }
  get children() { return this.childNodes.filter((n) => n.nodeType === 1); }
  append(...nodes) {
    for (const n of nodes) {
      const node = typeof n === "string" ? new Text(n) : n;
      node.parent = this;
      this.childNodes.push(node);
    }
  }
  appendChild(n) { this.append(n); return n; }
  replaceChildren(...nodes) { this.childNodes = []; this.append(...nodes); }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  getAttribute(k) { return this.attrs[k] ?? null; }
  removeAttribute(k) { delete this.attrs[k]; if (k === "value") delete this.value; }
  addEventListener(type, fn) { (this.listeners[type] ||= []).push(fn); }
  get textContent() { return this.childNodes.map((n) => n.textContent).join(""); }
  set textContent(t) { this.childNodes = []; this.append(String(t)); }
  /** Descendant elements, depth first. */
  all() { return this.children.flatMap((c) => [c, ...c.all()]); }
  /** Enough of CSS: comma lists, descendant combinators, tag, .class, [attr] and [attr=value]. */
  querySelectorAll(selector) {
    const parts = selector.split(",").map((p) => p.trim().split(/\s+/).map(compound));
    return this.all().filter((e) => parts.some((chain) => matchChain(e, chain, this)));
  }
  querySelector(selector) { return this.querySelectorAll(selector)[0] || null; }
}
function compound(s) {
  const tag = /^[a-z]+/i.exec(s);
  const classes = [...s.matchAll(/\.([\w-]+)/g)].map((m) => m[1]);
  const attrs = [...s.matchAll(/\[([\w-]+)(?:=["']?([^\]"']*)["']?)?\]/g)].map((m) => [m[1], m[2]]);
  return (e) => (!tag || e.tagName === tag[0].toUpperCase())
    && classes.every((c) => e.classList.contains(c))
    && attrs.every(([k, v]) => {
      const key = k.startsWith("data-") ? k.slice(5).replace(/-(\w)/g, (_, c) => c.toUpperCase()) : null;
      const have = key ? e.dataset[key] : e.getAttribute(k);
      return have != null && (v === undefined || String(have) === v);
    });
}
function matchChain(e, chain, root) {
  if (!chain[chain.length - 1](e)) return false;
  let i = chain.length - 2;
  for (let p = e.parent; i >= 0 && p && p !== root.parent; p = p.parent) if (chain[i](p)) i--;
  return i < 0;
}
globalThis.document = { createElement: (t) => new Element(t), createTextNode: (t) => new Text(t) };
const { fillMessage, speakerPrefix } = await import("../../ui/js/views/message.js");
const { actionsFor } = await import("../../ui/js/store.js");

const ME = 1;
const group = { conversation_id: 3, kind: "group", members: [{ user_id: 1, username: "alice", role: "member" }, { user_id: 2, username: "bob", role: "member" }] };
const msg = (extra) => ({
  conversation_id: 3, seq: 7, client_id: "c7", sender_id: 2, sender: "bob", body: "hi @alice, see https://example.com",
  sent_at: 1700000000000, mine: false, status: "received", reply_to: null, edited: false, deleted: false,
  reactions: [], mentions_me: true, ...extra,
});
function row(m, { tabbable = false, progress = null, expanded = false } = {}) {
  const li = new Element("li");
  fillMessage(li, m, { group: true, me: "alice", openLink: () => {}, tabbable, actions: actionsFor(m, group, ME), progress, expanded });
  return li;
}
const actions = (li) => li.querySelectorAll(".msg-actions button[data-action]").map((b) => b.dataset.action);

test("a stored message carries its seq and client id, its classes and a formatted body", () => {
  const li = row(msg());
  assert.equal(li.className, "msg mentions-me");
  assert.equal(li.dataset.seq, 7);
  assert.equal(li.dataset.clientId, "c7");
  assert.equal(li.querySelector(".sender").textContent, "bob");
  assert.equal(li.querySelector(".body").textContent, "hi @alice, see https://example.com");
  assert.equal(li.querySelector(".body span.mention-me").textContent, "@alice");
  assert.equal(li.querySelector(".body a.link").title, "https://example.com/");
  assert.deepEqual(actions(li), ["reply", "react", "delete-me"]);
});

test("the user's own message: ticks, edited mark, edit and delete for everyone", () => {
  const li = row(msg({ mine: true, sender_id: 1, sender: "alice", status: "read", edited: true, mentions_me: false }));
  assert.equal(li.className, "msg mine");
  assert.equal(li.querySelector(".ticks").dataset.status, "read");
  assert.equal(li.querySelector(".meta .edited").textContent, "edited");
  assert.deepEqual(actions(li), ["reply", "react", "edit", "delete-everyone", "delete-me"]);
  assert.equal(li.querySelector(".sender"), null);
});

test("an unsent message has no seq and no actions", () => {
  const li = row(msg({ seq: null, mine: true, status: "queued", mentions_me: false }));
  assert.equal(li.dataset.seq, undefined);
  assert.equal(li.querySelector(".msg-actions"), null);
  assert.equal(li.querySelector(".ticks").dataset.status, "queued");
});

test("a message's time: the relay's once stored, queued while waiting, when written if it failed; the full date as its title", () => {
  const hm = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const full = (ms) => new Date(ms).toLocaleString([], { dateStyle: "full", timeStyle: "short" });
  const stored = row(msg()).querySelector(".meta time.msg-time");
  assert.equal(stored.textContent, hm(1700000000000));
  assert.equal(stored.title, full(1700000000000));
  assert.equal(stored.getAttribute("datetime"), new Date(1700000000000).toISOString());
  const own = { seq: null, mine: true, sender_id: 1, sender: "alice", mentions_me: false };
  const queued = row(msg({ ...own, status: "queued" }));
  const t = queued.querySelector(".meta time.msg-time");
  assert.equal(t.textContent, "queued");
  assert.equal(t.className, "msg-time queued");
  assert.equal(t.title, `Written ${full(1700000000000)}, waiting to be sent`);
  assert.equal(queued.querySelector(".ticks").getAttribute("aria-hidden"), "true", "said once");
  const failed = row(msg({ ...own, status: "failed", reason: "x" })).querySelector(".meta time.msg-time");
  assert.equal(failed.textContent, hm(1700000000000));
  assert.equal(failed.title, `Written ${full(1700000000000)}, not sent`);
  const sent = row(msg({ ...own, seq: 8, status: "sent" }));
  assert.equal(sent.querySelector(".meta time.msg-time").textContent, hm(1700000000000));
  assert.equal(sent.querySelector(".ticks").getAttribute("aria-hidden"), null);
});

test("a reply shows its quote, or why it cannot", () => {
  const q = { seq: 3, sender: "alice", snippet: "the  original", deleted: false, known: true };
  let quote = row(msg({ reply_to: q })).querySelector(".quote[data-seq]");
  assert.equal(quote.dataset.seq, 3);
  assert.equal(quote.querySelector(".quote-sender").textContent, "You");
  assert.equal(quote.querySelector(".quote-text").textContent, "the original");
  quote = row(msg({ reply_to: { ...q, snippet: "", deleted: true } })).querySelector(".quote");
  assert.equal(quote.querySelector(".quote-text").textContent, "Original message deleted");
  quote = row(msg({ reply_to: { seq: 3, sender: "", snippet: "", deleted: false, known: false } })).querySelector(".quote");
  assert.equal(quote.textContent, "Original message not loaded");
});

test("reactions are chips with a count, the user's marked, who reacted in the title", () => {
  const li = row(msg({ reactions: [{ emoji: "👍", count: 2, mine: true, users: ["alice", "bob"] }, { emoji: "😂", count: 1, mine: false, users: ["bob"] }] }));
  const chips = li.querySelectorAll(".reactions .reaction[data-emoji]");
  assert.deepEqual(chips.map((c) => c.dataset.emoji), ["👍", "😂"]);
  assert.equal(chips[0].className, "reaction mine");
  assert.equal(chips[0].querySelector(".count").textContent, "2");
  assert.equal(chips[0].title, "alice, bob");
  assert.equal(chips[1].className, "reaction");
});

test("a message deleted for everyone is a tombstone that can only be deleted for me", () => {
  const li = row(msg({ body: "", deleted: true, mentions_me: false, reactions: [], reply_to: { seq: 3, sender: "x", snippet: "y", deleted: false, known: true } }));
  assert.equal(li.className, "msg deleted");
  assert.equal(li.querySelector(".body").textContent, "This message was deleted");
  assert.equal(li.querySelector(".quote"), null);
  assert.deepEqual(actions(li), ["delete-me"]);
});

test("a row's controls are out of the tab order unless the row has focus", () => {
  const m = msg({ reactions: [{ emoji: "👍", count: 1, mine: false, users: ["bob"] }], reply_to: { seq: 3, sender: "a", snippet: "b", deleted: false, known: true } });
  const controls = (li) => li.querySelectorAll(".msg-actions button, .reaction, .quote, a.link");
  const idle = row(m);
  assert.equal(controls(idle).length, 6);
  assert.ok(controls(idle).every((c) => c.tabIndex === -1));
  assert.equal(idle.tabIndex, -1);
  assert.ok(controls(row(m, { tabbable: true })).every((c) => c.tabIndex !== -1));
});

test("a failed message says why in words; too long: Edit instead of Retry", () => {
  const own = { seq: null, mine: true, sender_id: 1, sender: "alice", mentions_me: false };
  const tooLong = row(msg({ ...own, status: "failed", reason: "message too long (message_too_long)" }));
  assert.equal(tooLong.className, "msg mine failed");
  assert.equal(tooLong.querySelector(".actions .failure").textContent, "Not sent. The message is too long to send. Shorten it, or send it as a file.");
  assert.equal(tooLong.querySelector(".actions button.retry"), null);
  assert.equal(tooLong.querySelector(".actions button.edit-failed").textContent, "Edit");
  assert.ok(tooLong.querySelector(".actions button.delete"));
  const other = row(msg({ ...own, status: "failed", reason: "not a member (not_member)" }));
  assert.deepEqual(other.querySelectorAll(".actions button").map((b) => b.className), ["secondary retry", "secondary edit-failed", "secondary delete"]);
  assert.doesNotMatch(other.textContent, /not_member/);
});

test("a long body is folded behind Read more; unfolded it offers Show less", () => {
  const long = "line\n".repeat(40);
  const folded = row(msg({ body: long, mentions_me: false }));
  assert.equal(folded.querySelector(".body").className, "body folded");
  const more = folded.querySelector("button.read-more");
  assert.equal(more.textContent, "Read more");
  assert.equal(more.getAttribute("aria-expanded"), "false");
  assert.equal(more.tabIndex, -1, "in the row's roving focus");
  const open = row(msg({ body: long, mentions_me: false }), { expanded: true });
  assert.equal(open.querySelector(".body").className, "body");
  assert.equal(open.querySelector("button.read-more").textContent, "Show less");
  assert.equal(open.querySelector("button.read-more").getAttribute("aria-expanded"), "true");
  assert.equal(row(msg({ body: "short" })).querySelector(".read-more"), null);
});

// ---------- attachments ----------

const photo = { blob_id: "b1", name: "cat.jpg", content_type: "image/jpeg", size: 2_000_000, sha256: "x", width: 4000, height: 3000, thumbnail: "QUJD" };
const pdf = { blob_id: "b2", name: "report.pdf", content_type: "application/pdf", size: 1.2 * 1024 * 1024, sha256: "y" };
const withFile = (attachment, extra) => msg({ body: "", mentions_me: false, attachment, local_file: null, ...extra });
const buttons = (li) => li.querySelectorAll(".attachment button").map((b) => [b.className, b.textContent, b.dataset.action]);

test("a picture is its thumbnail at its final size; a click on it views it; no empty caption", () => {
  const li = row(withFile(photo));
  assert.equal(li.className, "msg has-attachment");
  const img = li.querySelector(".attachment button.attachment-view img.attachment-thumb");
  assert.equal(img.src, "data:image/jpeg;base64,QUJD");
  assert.equal([img.width, img.height].join("x"), "320x240");
  assert.equal(img.alt, "cat.jpg");
  assert.equal(li.querySelector(".attachment-view").dataset.action, "view-image");
  assert.equal(li.querySelector(".attachment").dataset.blobId, "b1");
  assert.equal(li.querySelector(".body"), null);
  assert.equal(li.querySelector(".attachment-progress"), null);
  assert.equal(li.querySelector(".attachment-view .attachment-badge").textContent, "1.9 MB");
  assert.equal(row(withFile(photo, { local_file: "/x" })).querySelector(".attachment-badge"), null);
  const captioned = row(withFile(photo, { body: "look *here*" }));
  assert.equal(captioned.querySelector(".body").textContent, "look here");
  assert.equal(captioned.querySelector(".body strong").textContent, "here");
});

test("a file not here yet: icon, name, human size and Download", () => {
  const li = row(withFile(pdf));
  assert.equal(li.querySelector(".attachment-file .attachment-name").textContent, "report.pdf");
  assert.equal(li.querySelector(".attachment-size").textContent, "1.2 MB");
  assert.deepEqual(buttons(li), [["attachment-action", "Download", "download"]]);
  assert.equal(li.querySelector(".attachment-thumb"), null);
  // An image without a thumbnail is a file chip too.
  assert.ok(row(withFile({ ...photo, thumbnail: undefined })).querySelector(".attachment-file"));
});

test("a downloaded file opens and saves; one downloading shows its progress", () => {
  const here = row(withFile(pdf, { local_file: "/data/downloads/b2-report.pdf" }));
  assert.deepEqual(buttons(here), [["attachment-action", "Open", "open-file"], ["attachment-save secondary", "Save as…", "save-file"]]);
  const moving = row(withFile(pdf), { progress: { done: 512 * 1024, total: pdf.size } });
  const bar = moving.querySelector(".attachment progress.attachment-progress");
  assert.equal(bar.value, 512 * 1024);
  assert.equal(bar.max, pdf.size);
  assert.equal(moving.querySelector(".attachment-size").textContent, "512 KB / 1.2 MB");
  const b = moving.querySelector(".attachment-action");
  assert.equal(b.textContent, "Downloading…");
  assert.equal(b.disabled, true);
});

test("the user's file going up: a bar (waiting until progress is known); failed: retry", () => {
  const own = { seq: null, mine: true, sender_id: 1, sender: "alice", status: "queued", local_file: "/data/outgoing/c7/report.pdf" };
  const waiting = row(withFile({ ...pdf, blob_id: "" }, own), { progress: { done: 0, total: 0 } });
  const bar = waiting.querySelector(".attachment-progress");
  assert.ok(bar);
  assert.equal(bar.value, undefined);
  assert.equal(bar.getAttribute("aria-label"), "Sending report.pdf");
  assert.equal(waiting.querySelector(".attachment").dataset.blobId, undefined);
  assert.deepEqual(buttons(waiting).map((x) => x[2]), ["open-file", "save-file", undefined], "the user's own file is here");
  const cancel = waiting.querySelector(".attachment-cancel");
  assert.equal(cancel.textContent, "Cancel");
  assert.ok(cancel.className.split(" ").includes("delete"), "handled like deleting an unsent message");
  const failed = row(withFile({ ...pdf, blob_id: "" }, { ...own, status: "failed", reason: "too large" }));
  assert.equal(failed.className, "msg mine failed has-attachment");
  assert.equal(failed.querySelector(".attachment-progress"), null);
  assert.ok(failed.querySelector(".actions button.retry"));
});

test("attachment buttons take part in the row's roving focus", () => {
  const idle = row(withFile(pdf, { local_file: "/x" }));
  const controls = (li) => li.querySelectorAll(".attachment button");
  assert.equal(controls(idle).length, 2);
  assert.ok(controls(idle).every((c) => c.tabIndex === -1));
  assert.ok(controls(row(withFile(photo), { tabbable: true })).every((c) => c.tabIndex !== -1));
});

test("a screen reader hears who wrote each message and when, before its text", () => {
  const t = new Date(1700000000000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  // A direct chat shows no sender: the hidden prefix says it.
  const li = new Element("li");
  const theirs = msg({ sender_name: "Bob B" });
  fillMessage(li, theirs, { group: false, me: "alice", openLink: () => {}, tabbable: false, actions: [], progress: null, expanded: false });
  const speaker = li.children[0];
  assert.ok(speaker.classList.contains("sr-only") && speaker.classList.contains("msg-speaker"));
  assert.equal(speaker.textContent, `Bob B, ${t}: `);
  assert.equal(li.querySelector(".meta time.msg-time").getAttribute("aria-hidden"), "true");
  assert.equal(speakerPrefix(msg({ mine: true, sender: "alice" })), `You, ${t}: `);
  assert.equal(speakerPrefix(msg({ mine: true, status: "queued", sent_at: undefined })), "You, queued: ");
  assert.equal(speakerPrefix(msg({ deleted: true })), `bob, ${t}: `);
  // In a group the visible sender is not said twice.
  const g = row(msg());
  assert.equal(g.querySelector(".msg-speaker").textContent, `bob, ${t}: `);
  assert.equal(g.querySelector(".sender").getAttribute("aria-hidden"), "true");
});
