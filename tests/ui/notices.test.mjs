// Unit tests of group notices ("Alice added Bob and Carol": ui/js/notices.js): the sentence of
// each action, "You" / "you" for the current user as actor and as target, lists of one, two and
// three people, an unknown action; how the rest of the UI treats them: never unread (store.js
// withMessage, reading.js: the jump count and the "New messages" divider), a break in a run of
// messages for the avatars (avatars.js showsAvatar), no actions or menu, never the message to
// edit, no ticks; the conversation list's preview (views/list.js); and the row itself
// (views/message.js: li.msg.notice, on a minimal stand-in for the DOM) and its style.

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
    this.dataset = {}; this.attrs = {}; this.parent = null;
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
  replaceChildren(...nodes) { this.childNodes = []; this.append(...nodes); }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  getAttribute(k) { return this.attrs[k] ?? null; }
  removeAttribute(k) { delete this.attrs[k]; if (k === "tabindex") delete this.tabIndex; if (k === "title") delete this.title; }
  get textContent() { return this.childNodes.map((n) => n.textContent).join(""); }
  set textContent(t) { this.childNodes = []; this.append(String(t)); }
  all() { return this.children.flatMap((c) => [c, ...c.all()]); }
  /** `.class` selectors only. */
  querySelector(sel) { const cls = sel.slice(1); return this.all().find((e) => e.classList.contains(cls)) || null; }
}
globalThis.document = { createElement: (t) => new Element(t), createTextNode: (t) => new Text(t), getElementById: () => null, title: "" };

const { noticeText, namesIn, listNames, isNotice } = await import("../../ui/js/notices.js");
const store = await import("../../ui/js/store.js");
const { isUnread, unreadAfter, firstUnreadIn, firstUnread } = await import("../../ui/js/reading.js");
const { showsAvatar } = await import("../../ui/js/avatars.js");
const { menuItems } = await import("../../ui/js/message-actions.js");
const { previewText } = await import("../../ui/js/attachments.js");
const { preview } = await import("../../ui/js/views/list.js");
const { fillMessage, fillNotice } = await import("../../ui/js/views/message.js");

const ME = 1;
const member = (user_id, username, extra = {}) => ({ user_id, username, role: "member", delivered_seq: 0, read_seq: 0, ...extra });
const group = {
  conversation_id: 3, kind: "group", name: "Team", title: "Team",
  members: [
    member(1, "me", { display_name: "Me Myself" }), member(2, "alice", { display_name: "Alice", role: "admin" }),
    member(3, "bob", { display_name: "Bob" }), member(4, "carol", { display_name: "Carol" }), member(5, "dave"),
  ],
  last_seq: 1, created_at: 5, last_message: null, unread: 0,
};
const names = namesIn(group, ME);
/** A notice by `sender_id` (alice unless told). */
const notice = (action, extra = {}, over = {}) => {
  const by = over.sender_id ?? 2;
  const usernames = { 1: "me", 2: "alice", 3: "bob", 4: "carol", 5: "dave" };
  return {
    conversation_id: 3, client_id: `n${over.seq ?? 9}`, seq: 9, sender_id: by, sender: usernames[by], sender_name: usernames[by],
    body: JSON.stringify({ action, ...extra }), sent_at: 1700000000000, mine: by === ME, status: by === ME ? "read" : "received",
    edited: false, deleted: false, reactions: [], reply_to: null, mentions_me: false, attachment: null,
    notice: { action, ...extra }, ...over,
  };
};
const user = (user_id) => ({ user_id, username: { 1: "me", 2: "alice", 3: "bob", 4: "carol", 5: "dave", 9: "zoe" }[user_id] });
const text = (n) => noticeText(n, names, ME);

test("each action's sentence, the sender doing it", () => {
  assert.equal(text(notice("created", { name: "Team" })), "Alice created the group “Team”");
  assert.equal(text(notice("added", { users: [user(3)] })), "Alice added Bob");
  assert.equal(text(notice("removed", { users: [user(4)] })), "Alice removed Carol");
  assert.equal(text(notice("left", {}, { sender_id: 4 })), "Carol left");
  assert.equal(text(notice("renamed", { name: "Team 2" })), "Alice renamed the group to “Team 2”");
  assert.equal(text(notice("picture_changed")), "Alice changed the group's picture");
  assert.equal(text(notice("picture_removed")), "Alice removed the group's picture");
});

test("lists of one, two and three people", () => {
  assert.equal(text(notice("added", { users: [user(3)] })), "Alice added Bob");
  assert.equal(text(notice("added", { users: [user(3), user(4)] })), "Alice added Bob and Carol");
  assert.equal(text(notice("added", { users: [user(3), user(4), user(5)] })), "Alice added Bob, Carol and dave");
  assert.equal(listNames([]), "");
  assert.equal(listNames(["a", "b", "c", "d"]), "a, b, c and d");
});

test("the user is “You” doing it and “you” it happens to", () => {
  const own = { sender_id: ME };
  assert.equal(text(notice("created", { name: "Team" }, own)), "You created the group “Team”");
  assert.equal(text(notice("added", { users: [user(3)] }, own)), "You added Bob");
  assert.equal(text(notice("left", {}, own)), "You left");
  assert.equal(text(notice("renamed", { name: "Team 2" }, own)), "You renamed the group to “Team 2”");
  assert.equal(text(notice("picture_removed", {}, own)), "You removed the group's picture");
  assert.equal(text(notice("added", { users: [user(ME)] })), "Alice added you");
  assert.equal(text(notice("added", { users: [user(ME), user(4)] })), "Alice added you and Carol");
  assert.equal(text(notice("added", { users: [user(3), user(ME), user(4)] })), "Alice added Bob, you and Carol");
  assert.equal(text(notice("removed", { users: [user(ME)] })), "Alice removed you");
});

test("with a nameOf alone (no user id), a name of “You” is the user", () => {
  const nameOf = (id, username) => (id === ME ? "You" : username);
  assert.equal(noticeText(notice("added", { users: [user(ME), user(4)] }), nameOf), "alice added you and carol");
  assert.equal(noticeText(notice("removed", { users: [user(3)] }, { sender_id: ME }), nameOf), "You removed bob");
  assert.equal(noticeText(notice("left", {}, { sender_id: 4 }), nameOf), "carol left");
});

test("names: display names, else usernames; someone gone keeps the notice's username", () => {
  assert.equal(names(2, "alice"), "Alice");
  assert.equal(names(5, "dave"), "dave", "no display name");
  assert.equal(names(9, "zoe"), "zoe", "no longer a member");
  assert.equal(names(ME, "me"), "You");
  assert.equal(text(notice("removed", { users: [user(9)] })), "Alice removed zoe");
  // A sender no longer a member: their name as the message gives it.
  assert.equal(text(notice("left", {}, { sender_id: 9, sender: "zoe", sender_name: "Zoe Z" })), "Zoe Z left");
  // Without a nameOf: the names the notice gives.
  assert.equal(noticeText(notice("added", { users: [user(3)] })), "alice added bob");
});

test("an unknown action, and missing parts", () => {
  assert.equal(text(notice("archived")), "The group changed");
  assert.equal(text({ ...notice("x"), notice: {} }), "The group changed");
  assert.equal(text(notice("created")), "Alice created the group");
  assert.equal(text(notice("renamed", { name: "  " })), "Alice renamed the group");
  assert.equal(text(notice("added", { users: [] })), "Alice added someone");
  assert.equal(isNotice(notice("left")), true);
  assert.equal(isNotice({ body: "hi" }), false);
  assert.equal(isNotice(null), false);
});

test("an entry of a kind this version does not know is a line saying so, never unread", () => {
  const entry = { client_id: "m9", seq: 9, sender_id: 2, sender: "bob", mine: false, body: "{}", unsupported: true };
  assert.equal(isNotice(entry), true);
  assert.equal(text(entry), "This message needs a newer version of Tern");
  const c = store.withMessage(group, entry, false);
  assert.equal(c.unread, 0);
});

test("a notice never counts as unread, but is the preview", () => {
  const n = notice("added", { users: [user(ME)] }, { seq: 2 });
  const c = store.withMessage(group, n, false);
  assert.equal(c.unread, 0);
  assert.equal(c.last_message, n);
  assert.equal(c.last_seq, 2);
  // A message someone wrote after it still counts.
  const after = store.withMessage(c, { ...notice("x"), notice: undefined, client_id: "m3", seq: 3, body: "hi" }, false);
  assert.equal(after.unread, 1);
});

test("reading: notices are neither unread nor where the divider goes", () => {
  const msg = (seq, extra = {}) => ({ client_id: `m${seq}`, seq, sender_id: 2, mine: false, body: "hi", ...extra });
  const list = [msg(1), notice("added", { users: [user(3)] }, { seq: 2, client_id: "n2" }), msg(3), notice("left", {}, { seq: 4, client_id: "n4", sender_id: 4 })];
  assert.equal(isUnread(list[1], 0), false);
  assert.equal(unreadAfter(list, 1), 1, "only the message someone wrote");
  assert.equal(unreadAfter(list, 3), 0, "a notice below is not counted by the jump button");
  assert.equal(firstUnreadIn(list, 1).client_id, "m3");
  assert.equal(firstUnread(list, 1, false), "m3", "the divider goes before the first real message");
  assert.equal(firstUnread(list, 3, false), null, "nothing but a notice unread: no divider");
});

test("a notice breaks a run: the next message shows its avatar again", () => {
  const bob = (seq) => ({ client_id: `m${seq}`, seq, sender_id: 3, sender: "bob", mine: false });
  const n = notice("added", { users: [user(4)] }, { sender_id: 3 });
  assert.equal(showsAvatar(bob(1), bob(2)), false, "a run goes on");
  assert.equal(showsAvatar(n, bob(2)), true, "after a notice (even by the same sender)");
  assert.equal(showsAvatar(bob(1), n), false, "a notice shows no avatar");
});

test("a notice offers no actions, no menu, is never edited and has no ticks", () => {
  const own = notice("renamed", { name: "X" }, { sender_id: ME, status: "sent" });
  assert.deepEqual(store.actionsFor(own, group, ME), []);
  assert.deepEqual(store.actionsFor(notice("left"), group, 2), []);
  assert.deepEqual(menuItems(own, store.actionsFor(own, group, ME)), []);
  assert.deepEqual(menuItems(own, ["reply"]), [], "not even copying its text");
  const mineText = { client_id: "m1", seq: 1, mine: true, status: "sent", body: "hi", deleted: false };
  assert.equal(store.lastEditable([mineText, own]), mineText, "the user's own notice is skipped");
  const members = group.members.map((m) => ({ ...m, read_seq: 20, delivered_seq: 20 }));
  const ticked = store.chatWithTicks([mineText, own], members, ME);
  assert.equal(ticked[0].status, "read");
  assert.equal(ticked[1], own, "a notice keeps its status");
});

test("the conversation list previews a notice's sentence, with no sender prefix", () => {
  const theirs = notice("added", { users: [user(ME)] });
  assert.equal(preview(theirs, group, ME), "Alice added you");
  const own = notice("renamed", { name: "Team 2" }, { sender_id: ME });
  assert.equal(preview(own, group, ME), "You renamed the group to “Team 2”");
  assert.equal(preview({ mine: true, body: "hi" }, group, ME), "You: hi", "a message the user wrote keeps its prefix");
  assert.equal(preview(null, group, ME), "No messages yet");
  // The body (JSON) never shows, even without names.
  assert.equal(previewText(theirs), "alice added me");
});

test("a notice's row: li.msg.notice with its sentence, its time as tooltip, nothing else", () => {
  const n = notice("added", { users: [user(ME), user(4)] });
  const li = new Element("li");
  li.tabIndex = -1;
  fillMessage(li, n, { group: true, me: "me", openLink: () => {}, tabbable: true, actions: store.actionsFor(n, group, ME), notice: text(n), face: null });
  assert.equal(li.className, "msg notice");
  assert.equal(li.dataset.clientId, n.client_id);
  assert.equal(li.dataset.seq, 9);
  assert.equal(li.tabIndex, undefined, "not focusable");
  assert.equal(li.title, new Date(1700000000000).toLocaleString([], { dateStyle: "full", timeStyle: "short" }));
  assert.equal(li.querySelector(".notice-text").textContent, "Alice added you and Carol");
  assert.equal(li.textContent, "Alice added you and Carol", "the sentence is all it says (screen readers too)");
  for (const part of [".sender", ".meta", ".ticks", ".msg-actions", ".msg-avatar", ".body", ".msg-speaker"]) assert.equal(li.querySelector(part), null, part);
  // Without a sentence given: the names the notice carries.
  const plain = new Element("li");
  fillNotice(plain, notice("left", {}, { sender_id: 4 }));
  assert.equal(plain.querySelector(".notice-text").textContent, "carol left");
});

test("style: a notice is centred muted text without a bubble", () => {
  const css = readFileSync(new URL("../../ui/style.css", import.meta.url), "utf8");
  const rule = /li\.msg\.notice\s*\{([^}]*)\}/.exec(css);
  assert.ok(rule, "an li.msg.notice rule");
  assert.match(rule[1], /color\s*:\s*var\(--muted\)/);
  assert.match(rule[1], /background\s*:\s*transparent/);
  assert.match(rule[1], /align-self\s*:\s*center/);
  assert.match(rule[1], /text-align\s*:\s*center/);
});
