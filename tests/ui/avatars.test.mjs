// Unit tests of avatars (ui/js/avatars.js): initials, the colour picked for a key (stable, spread
// over the palette, every entry styled in style.css), which group message starts a run and shows
// its sender's avatar, the user's own picture, the picture a conversation shows (store.js), and
// span.avatar itself on a minimal stand-in for the DOM: initials at once, the picture read once
// per sha256 however many avatars show it, has-picture once loaded, the initials alone when it
// cannot be read. And a message row of a group with its sender's avatar (views/message.js).

import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

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
      if (node.parent) node.remove();
      node.parent = this;
      this.childNodes.push(node);
    }
  }
  remove() { if (this.parent) this.parent.childNodes.splice(this.parent.childNodes.indexOf(this), 1); this.parent = null; }
  replaceChildren(...nodes) { for (const n of this.childNodes) n.parent = null; this.childNodes = []; this.append(...nodes); }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  getAttribute(k) { return this.attrs[k] ?? null; }
  removeAttribute(k) { delete this.attrs[k]; }
  addEventListener(type, fn) { (this.listeners[type] ||= []).push(fn); }
  fire(type) { for (const fn of this.listeners[type] || []) fn({ type }); }
  get textContent() { return this.childNodes.map((n) => n.textContent).join(""); }
  set textContent(t) { this.childNodes = []; this.append(String(t)); }
  all() { return this.children.flatMap((c) => [c, ...c.all()]); }
  /** `.class` and `tag` selectors only. */
  querySelectorAll(sel) {
    return this.all().filter((e) => (sel.startsWith(".") ? e.classList.contains(sel.slice(1)) : e.tagName === sel.toUpperCase()));
  }
  querySelector(sel) { return this.querySelectorAll(sel)[0] || null; }
}
globalThis.document = { createElement: (t) => new Element(t), createTextNode: (t) => new Text(t) };

const av = await import("../../ui/js/avatars.js");
const { pictureOf, withInfo, actionsFor } = await import("../../ui/js/store.js");
const { fillMessage } = await import("../../ui/js/views/message.js");

/** Let pending promises settle. */
const settle = () => new Promise((r) => setTimeout(r, 0));

test("initials: the first letters of the first two words, one for a single word", () => {
  assert.equal(av.initials("Alice Smith"), "AS");
  assert.equal(av.initials("alice b. smith"), "AB");
  assert.equal(av.initials("  bob  "), "B");
  assert.equal(av.initials("bob"), "B");
  assert.equal(av.initials("Mary-Jane Watson"), "MW");
  assert.equal(av.initials("élodie durand"), "ÉD");
  assert.equal(av.initials("山田 太郎"), "山太");
  assert.equal(av.initials("@carol"), "C", "punctuation is skipped");
});

test("initials: empty names, emoji and surrogate pairs", () => {
  for (const empty of ["", "   ", null, undefined]) assert.equal(av.initials(empty), "?");
  assert.equal(av.initials("🦊 Fox"), "F", "an emoji word is skipped when letters follow");
  assert.equal(av.initials("Fox 🦊"), "F");
  assert.equal(av.initials("🦊"), "🦊", "no letter at all: the first character, whole");
  assert.equal(av.initials("👩‍👩‍👧 🦊"), "👩‍👩‍👧", "a joined emoji is one character");
  assert.equal(av.initials("🇫🇷"), "🇫🇷", "a flag is one character");
  assert.equal(av.initials("𝒜lice 𝒷ob"), "𝒜𝒷", "letters outside the BMP are not cut in half");
  assert.equal(av.initials("ßa"), "ß", "an upper case that would be two letters is kept as it is");
  for (const name of ["Alice Smith", "🦊", "𝒜lice 𝒷ob", "a b c d"]) assert.ok([...av.initials(name)].length <= 4);
});

test("avatarColor: stable per key, a palette entry, keys spread over the whole palette", () => {
  assert.equal(av.avatarColor("user:7"), av.avatarColor("user:7"));
  assert.match(av.avatarColor("user:7"), /^var\(--avatar-[0-7]\)$/);
  assert.equal(av.avatarColor("user:7"), `var(--avatar-${av.avatarIndex("user:7")})`);
  assert.equal(av.PALETTE_SIZE, 8);
  const counts = new Array(av.PALETTE_SIZE).fill(0);
  for (let i = 1; i <= 400; i++) counts[av.avatarIndex(av.userKey(i))]++;
  for (let i = 1; i <= 400; i++) counts[av.avatarIndex(`group:${i}`)]++;
  assert.ok(counts.every((n) => n >= 50), `spread: ${counts}`);
  // Neighbouring ids do not all share one colour.
  assert.ok(new Set([1, 2, 3, 4].map((i) => av.avatarIndex(av.userKey(i)))).size >= 3);
  assert.equal(av.avatarIndex(""), av.avatarIndex(undefined));
});

test("every palette entry is styled, under white initials (the contrast test checks them)", () => {
  const css = readFileSync(new URL("../../ui/style.css", import.meta.url), "utf8");
  for (let i = 0; i < av.PALETTE_SIZE; i++) {
    assert.match(css, new RegExp(`--avatar-${i}:\\s*#[0-9a-f]{6}`, "i"), `--avatar-${i} is defined`);
    assert.match(css, new RegExp(`\\.avatar-c${i}\\s*\\{\\s*background:\\s*var\\(--avatar-${i}\\)`), `.avatar-c${i} uses it`);
  }
  assert.match(css, /--avatar-fg:\s*#ffffff/i);
});

test("colour keys: a person has the same colour as a direct chat and as a sender", () => {
  const direct = { conversation_id: 5, kind: "direct", members: [{ user_id: 1 }, { user_id: 2 }] };
  const group = { conversation_id: 6, kind: "group", members: [{ user_id: 1 }, { user_id: 2 }] };
  assert.equal(av.conversationKey(direct, 1), av.userKey(2));
  assert.equal(av.conversationKey(direct, 2), av.userKey(1));
  assert.equal(av.conversationKey(group, 1), "group:6");
  assert.equal(av.conversationKey({ conversation_id: 7, kind: "direct", members: [{ user_id: 1 }] }, 1), "group:7", "alone: by conversation");
});

const m = (sender_id, extra) => ({ sender_id, sender: `u${sender_id}`, mine: false, ...extra });

test("showsAvatar: the first message of a run by the same sender", () => {
  assert.equal(av.showsAvatar(null, m(2)), true, "the first message shown");
  assert.equal(av.showsAvatar(m(2), m(2)), false, "the same sender goes on");
  assert.equal(av.showsAvatar(m(2), m(3)), true, "another sender");
  assert.equal(av.showsAvatar(m(1, { mine: true }), m(2)), true, "after the user's own message");
  assert.equal(av.showsAvatar(m(2), m(1, { mine: true })), false, "the user's own: never");
  assert.equal(av.showsAvatar(m(2), m(2), true), true, "after a break (a day, the New messages divider)");
  assert.equal(av.showsAvatar(m(2, { deleted: true }), m(2)), false, "a tombstone stays in the run");
  // A run across a whole chat: only its first message shows the avatar.
  const chat = [m(2), m(2), m(3), m(1, { mine: true }), m(3), m(3)];
  assert.deepEqual(chat.map((x, i) => av.showsAvatar(chat[i - 1] || null, x)), [true, false, true, false, true, false]);
});

test("the user's own picture comes from their member in a conversation", () => {
  const pic = { blob_id: "b", content_type: "image/png", size: 3, sha256: "a".repeat(64) };
  const convs = [
    { members: [{ user_id: 2, avatar: { sha256: "other" } }] },
    { members: [{ user_id: 1, avatar: pic }, { user_id: 2 }] },
  ];
  assert.equal(av.ownPicture(convs, 1), pic);
  assert.equal(av.ownPicture([{ members: [{ user_id: 1 }] }], 1), null, "no picture");
  assert.equal(av.ownPicture([], 1), null, "not known");
});

test("a conversation shows the group's picture, or the other member's; a new info replaces it", () => {
  const pic = (sha) => ({ blob_id: `b${sha}`, content_type: "image/jpeg", size: 10, sha256: sha });
  const member = (id, avatar) => ({ user_id: id, username: `u${id}`, role: "member", delivered_seq: 0, read_seq: 0, ...(avatar ? { avatar } : {}) });
  const direct = { conversation_id: 1, kind: "direct", name: null, members: [member(1, pic("me")), member(2, pic("bob"))] };
  assert.equal(pictureOf(direct, 1).sha256, "bob");
  assert.equal(pictureOf(direct, 2).sha256, "me");
  assert.equal(pictureOf({ ...direct, members: [member(1), member(2)] }, 1), null);
  const group = { conversation_id: 2, kind: "group", name: "G", avatar: pic("g"), members: [member(1, pic("me")), member(2)] };
  assert.equal(pictureOf(group, 1).sha256, "g");
  assert.equal(pictureOf({ ...group, avatar: undefined }, 1), null);

  const c = { ...group, title: "G", picture: pic("g"), last_seq: 0, unread: 0, last_message: null };
  const { avatar, ...without } = group;
  const removed = withInfo(c, without, 1);
  assert.equal(removed.picture, null, "removed: the info has no avatar any more");
  assert.equal("avatar" in removed, false);
  const changed = withInfo(c, { ...group, avatar: pic("g2") }, 1);
  assert.equal(changed.picture.sha256, "g2");
  const d = withInfo({ ...direct, title: "u2", picture: pic("bob"), last_seq: 0, unread: 0 }, { ...direct, members: [member(1), member(2, pic("bob2"))] }, 1);
  assert.equal(d.picture.sha256, "bob2", "the other member's new picture");
});

// ---------- span.avatar ----------

const reads = [];
let failing = false;
av.setAvatarLoader(async (picture) => {
  reads.push(picture.sha256);
  if (failing) throw new Error("offline");
  return [137, 80, 78, 71];
});
const picture = (sha) => ({ blob_id: `blob-${sha}`, content_type: "image/png", size: 4, sha256: sha });

test("an avatar without a picture: initials on the key's colour, hidden from screen readers", () => {
  const a = av.avatarNode(null, "Alice Smith", "user:1", "avatar-list");
  assert.equal(a.tagName, "SPAN");
  assert.ok(a.classList.contains("avatar") && a.classList.contains("avatar-list"));
  assert.ok(a.classList.contains(`avatar-c${av.avatarIndex("user:1")}`));
  assert.equal(a.getAttribute("aria-hidden"), "true");
  assert.equal(a.textContent, "AS");
  assert.equal(a.dataset.sha, undefined);
  assert.equal(a.querySelector("img"), null);
});

test("a picture is read once per sha256 for every avatar showing it, and shows once loaded", async () => {
  reads.length = 0;
  const one = av.avatarNode(picture("s1"), "bob", "user:2", "avatar-list");
  const two = av.avatarNode(picture("s1"), "bob", "user:2", "avatar-msg");
  assert.equal(one.dataset.sha, "s1");
  assert.equal(one.textContent, "B", "the initials show while it loads");
  await settle();
  assert.deepEqual(reads, ["s1"]);
  const img = one.querySelector("img");
  assert.ok(img, "an <img> once read");
  assert.match(img.src, /^blob:/);
  assert.equal(img.alt, "");
  assert.equal(two.querySelector("img").src, img.src, "the same URL");
  assert.ok(!one.classList.contains("has-picture"));
  img.fire("load");
  assert.ok(one.classList.contains("has-picture"));
  // Already read: a new avatar gets its <img> at once.
  const three = av.avatarNode(picture("s1"), "bob", "user:2");
  assert.ok(three.querySelector("img"));
  await settle();
  assert.deepEqual(reads, ["s1"]);
});

test("the same avatar drawn again keeps its picture; a new sha256 replaces it", async () => {
  reads.length = 0;
  const a = av.avatarNode(picture("s2"), "carol", "user:3", "avatar-head");
  await settle();
  const img = a.querySelector("img");
  img.fire("load");
  av.fillAvatar(a, { ...picture("s2") }, "carol", "user:3", "avatar-head");
  assert.equal(a.querySelector("img"), img, "nothing changed: not redrawn");
  assert.ok(a.classList.contains("has-picture"));
  av.fillAvatar(a, picture("s3"), "carol", "user:3", "avatar-head");
  assert.equal(a.dataset.sha, "s3");
  assert.ok(!a.classList.contains("has-picture"), "the new picture has not loaded yet");
  await settle();
  assert.notEqual(a.querySelector("img"), img);
  av.fillAvatar(a, null, "carol", "user:3", "avatar-head");
  assert.equal(a.dataset.sha, undefined, "removed: initials only");
  assert.equal(a.querySelector("img"), null);
  assert.equal(a.textContent, "C");
  assert.deepEqual(reads, ["s2", "s3"]);
});

test("a picture that cannot be read leaves the initials, quietly", async () => {
  failing = true;
  const debug = console.debug;
  console.debug = () => {};
  try {
    const a = av.avatarNode(picture("s4"), "dave", "user:4", "avatar-list");
    await settle();
    await settle();
    assert.equal(a.querySelector("img"), null);
    assert.equal(a.textContent, "D");
    assert.equal(a.dataset.sha, "s4");
  } finally {
    failing = false;
    console.debug = debug;
  }
});

// ---------- a group's message rows ----------

const group = { conversation_id: 3, kind: "group", members: [{ user_id: 1, username: "alice", role: "member" }, { user_id: 2, username: "bob", role: "member" }] };
const msg = (extra) => ({
  conversation_id: 3, seq: 7, client_id: "c7", sender_id: 2, sender: "bob", sender_name: "Bob Stone", body: "hi",
  sent_at: 1700000000000, mine: false, status: "received", reply_to: null, edited: false, deleted: false, reactions: [], ...extra,
});
function row(m, face, li = new Element("li")) {
  fillMessage(li, m, { group: true, me: "alice", openLink: () => {}, tabbable: false, actions: actionsFor(m, group, 1), progress: null, expanded: false, face });
  return li;
}

test("a group message starting a run shows its sender's avatar; the next ones keep its room", async () => {
  const first = row(msg(), { first: true, picture: picture("s5"), name: "Bob Stone", key: av.userKey(2) });
  assert.ok(first.classList.contains("with-avatar"));
  const face = first.querySelector(".msg-avatar");
  assert.ok(face && face.classList.contains("avatar") && face.classList.contains("avatar-msg"));
  assert.equal(face.getAttribute("aria-hidden"), "true");
  assert.equal(face.dataset.sha, "s5");
  assert.equal(face.textContent, "BS");
  await settle();
  face.querySelector("img").fire("load");
  // Drawn again (a reaction came): the same avatar node, its picture still loaded.
  row(msg({ reactions: [] }), { first: true, picture: picture("s5"), name: "Bob Stone", key: av.userKey(2) }, first);
  assert.equal(first.querySelector(".msg-avatar"), face);
  assert.ok(face.classList.contains("has-picture"));

  const next = row(msg({ seq: 8, client_id: "c8" }), { first: false });
  assert.ok(next.classList.contains("with-avatar"), "aligned with the first");
  assert.equal(next.querySelector(".avatar"), null);

  const mine = row(msg({ mine: true, sender_id: 1, sender: "alice" }), null);
  assert.ok(!mine.classList.contains("with-avatar"));
  assert.equal(mine.querySelector(".avatar"), null);
});
