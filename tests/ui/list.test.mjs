// Unit tests of the conversation list's rows (ui/js/views/list.js) on a minimal stand-in for the
// DOM: a muted conversation shows its mark after the title and a subdued badge, still counted;
// the row is drawn again when the mute changes.

import test from "node:test";
import assert from "node:assert/strict";

class Text {
  constructor(data) { this.nodeType = 3; this.data = data; this.parent = null; }
  get textContent() { return this.data; }
  remove() { if (this.parent) this.parent.kids.splice(this.parent.kids.indexOf(this), 1); this.parent = null; }
}
class Element {
  constructor(tag) {
    this.nodeType = 1; this.tagName = tag.toUpperCase(); this.kids = []; this.className = "";
    this.dataset = {}; this.attrs = {}; this.parent = null; this.hidden = false; this.fills = 0;
  }
  get firstChild() { return this.kids[0] || null; }
  get nextSibling() { const k = this.parent.kids; return k[k.indexOf(this) + 1] || null; }
  get children() { return this.kids.filter((n) => n.nodeType === 1); }
  append(...nodes) { for (const n of nodes) this.insertBefore(typeof n === "string" ? new Text(n) : n, null); }
  insertBefore(n, ref) {
    if (n.parent) n.remove();
    n.parent = this;
    this.kids.splice(ref ? this.kids.indexOf(ref) : this.kids.length, 0, n);
  }
  remove() { if (this.parent) this.parent.kids.splice(this.parent.kids.indexOf(this), 1); this.parent = null; }
  replaceChildren(...nodes) { this.kids = []; this.append(...nodes); }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  getAttribute(k) { return this.attrs[k] ?? null; }
  get textContent() { return this.kids.map((n) => n.textContent).join(""); }
  set textContent(t) { this.kids = []; this.append(String(t)); }
  all() { return this.children.flatMap((c) => [c, ...c.all()]); }
  addEventListener(type, fn) { ((this.listeners ||= {})[type] ||= []).push(fn); }
  dispatch(type, e) { for (const fn of (this.listeners || {})[type] || []) fn(e); }
  /** `li.conv` only. */
  closest(sel) { for (let n = this; n; n = n.parent) if (n.tagName === "LI" && n.className.split(" ").includes("conv")) return n; return null; }
  /** `.class` selectors only. */
  querySelector(sel) { const cls = sel.slice(1); return this.all().find((e) => e.className.split(" ").includes(cls)) || null; }
}
const ids = {};
for (const id of ["conversations", "requests", "requests-section", "requests-toggle", "archived", "archived-section", "archived-toggle"]) ids[id] = new Element("div");
globalThis.document = { createElement: (t) => new Element(t), getElementById: (id) => ids[id], title: "" };

const { drawList, wireList, activates } = await import("../../ui/js/views/list.js");
const { state } = await import("../../ui/js/store.js");
const { saveDraft } = await import("../../ui/js/drafts.js");
const { MemoryStorage } = await import("./support/storage.mjs");

const conv = (id, unread, title) => ({
  conversation_id: id, kind: "direct", title, members: [], created_at: id, last_message: null, unread, online: false, request: false,
});
const rowOf = (id) => ids.conversations.children.find((li) => li.dataset.id === id);

test("a muted conversation: a mark after its title, a subdued badge still counted", () => {
  state.conversations = new Map([[1, conv(1, 3, "bob")], [2, conv(2, 2, "carol")]]);
  state.muted = new Map([[1, null]]);
  drawList();
  const muted = rowOf(1), plain = rowOf(2);
  assert.equal(muted.querySelector(".title").textContent, "bob", "the title keeps only the title");
  const mark = muted.querySelector(".muted-mark");
  assert.equal(mark.hidden, false);
  assert.equal(mark.getAttribute("aria-label"), "Muted");
  assert.equal(mark.title, "Muted");
  assert.equal(muted.querySelector(".badge").className, "badge muted");
  assert.equal(muted.querySelector(".badge").textContent, "3");
  assert.equal(muted.getAttribute("aria-label"), "bob, muted, 3 unread");
  assert.equal(plain.querySelector(".muted-mark").hidden, true);
  assert.equal(plain.querySelector(".badge").className, "badge");
  assert.equal(document.title, "(5) Tern", "muted messages are still counted");
});

test("the row follows the mute, and a mute that ended is not shown", () => {
  state.conversations = new Map([[1, conv(1, 0, "bob")]]);
  state.muted = new Map();
  drawList();
  assert.equal(rowOf(1).querySelector(".muted-mark").hidden, true);
  state.muted.set(1, null);
  drawList();
  assert.equal(rowOf(1).querySelector(".muted-mark").hidden, false);
  assert.equal(rowOf(1).querySelector(".badge").hidden, true, "nothing unread: no badge");
  assert.equal(rowOf(1).getAttribute("aria-label"), "bob, muted");
  state.muted.delete(1);
  drawList();
  assert.equal(rowOf(1).querySelector(".muted-mark").hidden, true);
  // Muted for a while: marked until its end, not after (even before a timer removed it).
  state.muted.set(1, Date.now() + 60_000);
  drawList();
  assert.equal(rowOf(1).querySelector(".muted-mark").hidden, false);
  state.muted.set(1, Date.now() - 1);
  drawList();
  assert.equal(rowOf(1).querySelector(".muted-mark").hidden, true, "an ended mute is not shown");
  state.muted.delete(1);
});

test("an archived chat is listed apart, folded, and out of the title's count; a mark unread is a badge with no number", () => {
  state.conversations = new Map([[1, conv(1, 3, "bob")], [2, conv(2, 2, "carol")], [3, conv(3, 0, "dan")]]);
  state.muted = new Map();
  state.archived = new Set([2]);
  state.unreadMarks = new Set([3]);
  drawList();
  assert.deepEqual(ids.conversations.children.map((li) => li.dataset.id), [3, 1]);
  assert.deepEqual(ids.archived.children.map((li) => li.dataset.id), [2]);
  assert.equal(ids["archived-section"].hidden, false);
  assert.equal(ids["archived-toggle"].textContent, "Archived chats (1)");
  assert.equal(ids.archived.hidden, true, "folded until unfolded");
  assert.equal(ids.archived.children[0].querySelector(".badge").textContent, "2", "its badge stays");
  const marked = rowOf(3).querySelector(".badge");
  assert.equal(marked.hidden, false);
  assert.equal(marked.textContent, "");
  assert.equal(marked.className, "badge marked");
  assert.equal(rowOf(3).getAttribute("aria-label"), "dan, marked unread");
  assert.equal(document.title, "(4) Tern", "bob's 3 and dan's mark; carol's archived 2 are not counted");
  state.archived = new Set();
  state.unreadMarks = new Set();
  drawList();
  assert.equal(ids["archived-section"].hidden, true, "no archived chats: no section");
  assert.equal(document.title, "(5) Tern");
});

test("a row (an option of the listbox) opens on Enter and on Space, and Space does not scroll the list", () => {
  state.conversations = new Map([[4, conv(4, 0, "dave")]]);
  state.muted = new Map();
  drawList();
  const opened = [];
  wireList((id) => opened.push(id));
  const li = rowOf(4);
  assert.equal(li.getAttribute("role"), "option");
  assert.equal(li.getAttribute("aria-selected"), "false", "not the open chat");
  assert.equal(li.tabIndex, 0, "the list's tab stop");
  for (const key of ["Enter", " ", "a"]) {
    let prevented = false;
    ids.conversations.dispatch("keydown", { key, target: li, preventDefault: () => { prevented = true; } });
    assert.equal(prevented, key !== "a", `key ${JSON.stringify(key)}`);
  }
  assert.deepEqual(opened, [4, 4]);
  assert.equal(activates({ key: " ", ctrlKey: true }), false, "Ctrl+Space is not a press");
});

test("each list is one tab stop: the open chat's row, else the first", () => {
  state.conversations = new Map([[6, conv(6, 0, "erin")], [7, conv(7, 0, "frank")]]);
  state.muted = new Map();
  state.open = null;
  drawList();
  const stops = () => ids.conversations.children.map((li) => li.tabIndex);
  assert.deepEqual(stops().sort(), [-1, 0], "one row takes Tab, none open");
  assert.equal(ids.conversations.children[0].tabIndex, 0, "the first");
  state.open = 7;
  drawList();
  assert.equal(rowOf(7).tabIndex, 0, "the open chat's row");
  assert.equal(rowOf(6).tabIndex, -1);
  assert.equal(rowOf(7).getAttribute("aria-selected"), "true");
  state.open = null;
});

test("each row starts with the conversation's avatar; a new picture (sha256) redraws it", async () => {
  const { setAvatarLoader, avatarIndex, userKey } = await import("../../ui/js/avatars.js");
  const reads = [];
  setAvatarLoader(async (p) => { reads.push(p.sha256); return [1, 2, 3]; });
  const pic = (sha) => ({ blob_id: `b-${sha}`, content_type: "image/jpeg", size: 3, sha256: sha });
  const bob = { ...conv(5, 0, "Bob Stone"), members: [{ user_id: 1 }, { user_id: 2 }], picture: pic("p1") };
  state.userId = 1;
  state.conversations = new Map([[5, bob], [6, conv(6, 0, "carol")]]);
  state.muted = new Map();
  drawList();
  const li = rowOf(5);
  const a = li.children[0];
  assert.equal(a.className.split(" ").slice(0, 2).join(" "), "avatar avatar-list", "first in the row");
  assert.ok(a.className.includes(`avatar-c${avatarIndex(userKey(2))}`), "the other member's colour");
  assert.equal(a.getAttribute("aria-hidden"), "true");
  assert.equal(a.dataset.sha, "p1");
  assert.equal(a.textContent, "BS");
  assert.equal(li.getAttribute("aria-label"), "Bob Stone", "the label is the row's, not the avatar's");
  assert.equal(rowOf(6).querySelector(".avatar").dataset.sha, undefined, "no picture: initials");
  assert.equal(rowOf(6).querySelector(".avatar").textContent, "C");
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(reads, ["p1"]);
  state.conversations = new Map([[5, { ...bob, picture: pic("p2") }], [6, state.conversations.get(6)]]);
  drawList();
  assert.equal(rowOf(5).children[0], a, "the same node, redrawn");
  assert.equal(a.dataset.sha, "p2");
  state.conversations = new Map([[5, { ...bob, picture: null }], [6, state.conversations.get(6)]]);
  drawList();
  assert.equal(a.dataset.sha, undefined, "removed: initials only");
  assert.equal(a.textContent, "BS");
});

test("another chat's draft stands in for its last message, marked; the open chat's does not", () => {
  globalThis.localStorage = new MemoryStorage();
  try {
    state.userId = 1;
    state.account = "1@https://relay.example/";
    state.muted = new Map();
    state.conversations = new Map([[8, conv(8, 0, "gina")], [9, conv(9, 2, "hal")]]);
    saveDraft(state.account, 8, "half a thought", localStorage);
    saveDraft(state.account, 9, "see you\n  at   noon", localStorage);
    state.open = 8;
    drawList();
    const open = rowOf(8), other = rowOf(9);
    assert.equal(open.querySelector(".preview").textContent, "No messages yet", "the open chat's draft is in its composer");
    assert.equal(other.querySelector(".preview").textContent, "Draft: see you at noon");
    assert.equal(other.querySelector(".draft-mark").textContent, "Draft: ");
    assert.equal(other.getAttribute("aria-label"), "hal, draft, 2 unread");
    // Switching chats: the one left shows its draft, the one opened its last message.
    state.open = 9;
    drawList();
    assert.equal(rowOf(8).querySelector(".preview").textContent, "Draft: half a thought");
    assert.equal(rowOf(9).querySelector(".preview").textContent, "No messages yet");
    // Sent or emptied: gone from the row.
    saveDraft(state.account, 8, "", localStorage);
    drawList();
    assert.equal(rowOf(8).querySelector(".preview").textContent, "No messages yet");
    assert.equal(rowOf(8).querySelector(".draft-mark"), null);
  } finally {
    delete globalThis.localStorage;
    state.open = null;
  }
});

test("pinned chats come first, in pin order, marked; requests never", () => {
  state.muted = new Map();
  state.open = null;
  const recent = (id, at, title) => ({ ...conv(id, 0, title), last_message: { sent_at: at, body: "hi", mine: false } });
  const request = { ...recent(13, 50, "lee"), request: true };
  state.conversations = new Map([[10, recent(10, 300, "ivy")], [11, recent(11, 200, "jo")], [12, recent(12, 100, "kim")], [13, request]]);
  state.pinned = [12, 13, 11];
  drawList();
  const order = ids.conversations.children.map((li) => li.dataset.id);
  assert.deepEqual(order, [12, 11, 10], "a request stays with the requests, pin or not");
  const asked = ids.requests.children.find((li) => li.dataset.id === 13);
  assert.equal(asked.querySelector(".pinned-mark").hidden, true);
  assert.equal(asked.getAttribute("aria-label"), "lee, message request");
  assert.equal(rowOf(12).querySelector(".pinned-mark").hidden, false);
  assert.equal(rowOf(10).querySelector(".pinned-mark").hidden, true);
  assert.equal(rowOf(11).getAttribute("aria-label"), "jo, pinned");
  state.pinned = [];
  drawList();
  assert.deepEqual(ids.conversations.children.map((li) => li.dataset.id), [10, 11, 12], "by activity again");
  assert.equal(rowOf(12).querySelector(".pinned-mark").hidden, true);
});
