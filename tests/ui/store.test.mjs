// Unit tests of the UI store's pure delta functions (ui/js/store.js): `node --test tests/ui/`.
// Each applies engine events the way the desktop app receives them.

import test from "node:test";
import assert from "node:assert/strict";
import * as s from "../../ui/js/store.js";

const ME = 1;
const member = (user_id, username) => ({ user_id, username, role: "member", delivered_seq: 0, read_seq: 0 });
const received = (client_id, seq, sent_at) =>
  ({ conversation_id: 3, client_id, seq, sender_id: 2, sender: "bob", body: client_id, sent_at, mine: false, status: "received" });
const mine = (client_id, seq, status, sent_at) =>
  ({ conversation_id: 3, client_id, seq, sender_id: ME, sender: "alice", body: client_id, sent_at, mine: true, status });
const direct = () => ({
  conversation_id: 3, kind: "direct", name: null, members: [member(1, "alice"), member(2, "bob")],
  last_seq: 1, created_at: 5, title: "bob", last_message: received("a", 1, 10), unread: 1, online: false,
});

test("a message from someone else updates the preview and counts as unread once", () => {
  const m = received("b", 2, 20);
  const c = s.withMessage(direct(), m, false);
  assert.equal(c.last_message, m);
  assert.equal(c.unread, 2);
  assert.equal(s.withMessage(c, m, false), c);
});

test("a message the user is looking at, or wrote, is not unread", () => {
  const c = s.withMessage(direct(), received("b", 2, 20), true);
  assert.equal(c.unread, 1);
  assert.equal(s.withMessage(c, mine("e", null, "queued", 30), false).unread, 1);
});

test("an unsent message stays the preview until it is stored", () => {
  let c = s.withMessage(direct(), mine("e", null, "queued", 30), false);
  c = s.withMessage(c, received("f", 2, 40), false);
  assert.equal(c.last_message.client_id, "e");
  c = s.withStatus(c, { client_id: "e", seq: 3, status: "sent" });
  assert.equal(c.last_message.seq, 3);
  assert.equal(c.last_message.status, "sent");
  assert.equal(c.last_seq, 3);
});

test("chat messages are stored ones by seq, then unsent ones in the order written", () => {
  let chat = [received("a", 1, 10)];
  chat = s.chatWithMessage(chat, mine("e", null, "queued", 30));
  chat = s.chatWithMessage(chat, mine("g", null, "queued", 31));
  chat = s.chatWithMessage(chat, received("f", 2, 40));
  assert.deepEqual(chat.map((m) => m.client_id), ["a", "f", "e", "g"]);
  chat = s.chatWithStatus(chat, { client_id: "g", seq: 3, status: "sent" });
  assert.deepEqual(chat.map((m) => m.client_id), ["a", "f", "g", "e"]);
  assert.equal(s.chatWithStatus(chat, { client_id: "nope", seq: 4, status: "sent" }), null);
});

test("a status replaces the message in place and a failure carries its reason", () => {
  const chat = [received("a", 1, 10), mine("e", null, "queued", 30)];
  const failed = s.chatWithStatus(chat, { client_id: "e", seq: null, status: "failed", reason: "too long" });
  assert.equal(failed[1].status, "failed");
  assert.equal(failed[1].reason, "too long");
  assert.equal(failed[0], chat[0]);
  const again = s.chatWithStatus(failed, { client_id: "e", seq: null, status: "queued" });
  assert.equal(again[1].reason, undefined);
  assert.deepEqual(s.chatWithout(again, "e").map((m) => m.client_id), ["a"]);
});

test("receipts move ticks from sent to delivered to read, and never back", () => {
  let c = direct();
  let chat = [mine("x", 2, "sent", 20), mine("y", 3, "sent", 21)];
  c = s.withReceipt(c, { conversation_id: 3, user_id: 2, delivered_seq: 3, read_seq: 2 });
  chat = s.chatWithTicks(chat, c.members, ME);
  assert.deepEqual(chat.map((m) => m.status), ["read", "delivered"]);
  assert.equal(s.withReceipt(c, { conversation_id: 3, user_id: 2, delivered_seq: 1, read_seq: 1 }), c);
  assert.equal(s.chatWithTicks(chat, c.members, ME), chat);
});

test("a group's ticks wait for its slowest member", () => {
  const members = [member(1, "alice"), { ...member(2, "bob"), read_seq: 5, delivered_seq: 5 }, { ...member(4, "carol"), delivered_seq: 5 }];
  const chat = s.chatWithTicks([mine("x", 5, "sent", 20)], members, ME);
  assert.equal(chat[0].status, "delivered");
});

test("presence changes the dot of the direct conversation with that user only", () => {
  const c = direct();
  assert.equal(s.withPresence(c, { user_id: 2, online: true }, ME).online, true);
  assert.equal(s.withPresence(c, { user_id: 9, online: true }, ME), c);
});

test("presence carries when the other member was last seen (null: hidden), in their direct chat only", () => {
  const c = { ...direct(), last_seen: null };
  const away = s.withPresence(c, { user_id: 2, online: false, last_seen: 500 }, ME);
  assert.equal(away.online, false);
  assert.equal(away.last_seen, 500);
  assert.equal(s.withPresence(away, { user_id: 2, online: false, last_seen: 500 }, ME), away, "nothing changed");
  const hidden = s.withPresence(away, { user_id: 2, online: false, last_seen: null }, ME);
  assert.equal(hidden.last_seen, null, "hidden now: the old time goes");
  assert.equal(s.withPresence(away, { user_id: 2, online: true }, ME).last_seen, 500, "no field: kept");
  assert.equal(s.withPresence(c, { user_id: 9, online: false, last_seen: 500 }, ME), c);
  const group = { ...c, kind: "group", name: "g", online: null };
  assert.equal(s.withPresence(group, { user_id: 2, online: true, last_seen: 500 }, ME), group);
});

test("a message written offline takes the relay's time once stored", () => {
  const written = mine("e", null, "queued", 30);
  // The engine's `status` event for the relay storing it carries the relay's time.
  const ev = { conversation_id: 3, client_id: "e", seq: 3, status: "sent", sent_at: 95 };
  const c = s.withStatus(s.withMessage(direct(), written, false), ev);
  assert.equal(c.last_message.sent_at, 95);
  assert.equal(c.last_message.status, "sent");
  const list = s.chatWithStatus(s.chatWithMessage([received("a", 1, 10)], written), ev);
  assert.equal(list[1].sent_at, 95);
  // A later status (delivered) without a time keeps it.
  const later = s.chatWithStatus(list, { ...ev, status: "delivered", sent_at: undefined });
  assert.equal(later[1].sent_at, 95);
  assert.equal(later[1].written_at, undefined, "sent at once: no written time");
  // Stored a minute or more after it was written: the engine says when it was written.
  const late = s.chatWithStatus(s.chatWithMessage([], written), { ...ev, sent_at: 90_030, written_at: 30 });
  assert.deepEqual([late[0].sent_at, late[0].written_at], [90_030, 30]);
});

test("a new shape renames and keeps the markers already known", () => {
  const c = s.withReceipt(direct(), { conversation_id: 3, user_id: 2, delivered_seq: 4, read_seq: 4 });
  const g = s.withInfo(c, { conversation_id: 3, kind: "group", name: "Weekend plans", members: [member(1, "alice"), member(2, "bob")], last_seq: 9, created_at: 5 }, ME);
  assert.equal(g.title, "Weekend plans");
  assert.equal(g.members[1].read_seq, 4);
  assert.equal(g.unread, c.unread);
});

test("a direct chat's new shape is titled as the engine titles it: display name, username, deleted account", () => {
  const c = direct();
  const shape = (members) => ({ conversation_id: 3, kind: "direct", name: null, members, last_seq: 1, created_at: 5 });
  assert.equal(s.withInfo(c, shape([member(1, "alice"), { ...member(2, "bob"), display_name: "Bob Stone" }]), ME).title, "Bob Stone");
  assert.equal(s.withInfo(c, shape([member(1, "alice"), { ...member(2, "bob"), display_name: "  " }]), ME).title, "bob");
  // Bob deleted his account: the relay took him out of the chat.
  assert.equal(s.withInfo(c, shape([member(1, "alice")]), ME).title, "Deleted account");
  const group = { ...shape([member(1, "alice")]), kind: "group", name: null };
  assert.equal(s.withInfo(c, group, ME).title, "conversation 3");
});

test("the list is ordered by last activity, newest first", () => {
  const map = new Map([
    [1, { conversation_id: 1, created_at: 50, last_message: null }],
    [2, { conversation_id: 2, created_at: 0, last_message: { sent_at: 60 } }],
    [3, { conversation_id: 3, created_at: 50, last_message: null }],
  ]);
  assert.deepEqual(s.ordered(map).map((c) => c.conversation_id), [2, 3, 1]);
});

test("an older page goes in front without duplicating what is shown", () => {
  const chat = [received("a", 5, 10), received("b", 6, 11)];
  const older = s.chatWithOlder(chat, [received("z", 4, 9), received("a", 5, 10)]);
  assert.deepEqual(older.map((m) => m.client_id), ["z", "a", "b"]);
  assert.equal(s.minSeq(older), 4);
  assert.equal(s.maxSeq(older), 6);
});

// ---------- rich messages: message_changed, quotes, actions ----------

const rich = (m, extra = {}) => ({ reply_to: null, edited: false, deleted: false, reactions: [], mentions_me: false, ...m, ...extra });

test("message_changed replaces the row by seq and leaves the others alone", () => {
  const chat = [rich(received("a", 1, 10)), rich(mine("b", 2, "sent", 11))];
  const edited = rich(mine("b", 2, "sent", 11), { body: "fixed", edited: true });
  const next = s.chatWithChanged(chat, edited, false);
  assert.equal(next[1], edited);
  assert.equal(next[0], chat[0]);
  assert.equal(chat[1].body, "b", "the old list is not changed");
  const reacted = rich(received("a", 1, 10), { reactions: [{ emoji: "👍", count: 1, mine: true, users: ["alice"] }] });
  assert.equal(s.chatWithChanged(next, reacted, false)[0].reactions[0].count, 1);
});

test("a message deleted for everyone stays as a tombstone; hidden removes the row", () => {
  const chat = [rich(received("a", 1, 10)), rich(received("b", 2, 11))];
  const tomb = rich(received("b", 2, 11), { body: "", deleted: true });
  assert.equal(s.chatWithChanged(chat, tomb, false)[1].deleted, true);
  assert.deepEqual(s.chatWithChanged(chat, rich(received("a", 1, 10)), true).map((m) => m.client_id), ["b"]);
});

test("message_changed for a message not shown changes nothing shown", () => {
  const chat = [rich(received("a", 5, 10))];
  assert.equal(s.chatWithChanged(chat, rich(received("z", 2, 1), { body: "x", edited: true }), false), chat);
  assert.equal(s.chatWithChanged(chat, rich(received("z", 2, 1)), true), chat);
});

test("replies show the quoted message's edit or deletion", () => {
  const quote = { seq: 1, sender: "bob", snippet: "a", deleted: false, known: true };
  const chat = [rich(received("a", 1, 10)), rich(mine("r", 2, "sent", 11), { reply_to: quote })];
  const edited = s.chatWithChanged(chat, rich(received("a", 1, 10), { body: "new text", edited: true }), false);
  assert.equal(edited[1].reply_to.snippet, "new text");
  const deleted = s.chatWithChanged(edited, rich(received("a", 1, 10), { body: "", deleted: true }), false);
  assert.equal(deleted[1].reply_to.deleted, true);
  // Even when the quoted message itself is not shown.
  const far = [rich(mine("r", 9, "sent", 11), { reply_to: { ...quote, seq: 3 } })];
  assert.equal(s.chatWithChanged(far, rich(received("q", 3, 5), { body: "edited", edited: true }), false)[0].reply_to.snippet, "edited");
});

test("an older page fills the quotes it brings", () => {
  const unknown = { seq: 3, sender: "", snippet: "", deleted: false, known: false };
  const chat = [rich(mine("r", 9, "sent", 11), { reply_to: unknown })];
  const next = s.chatWithOlder(chat, [rich(received("q", 3, 5), { body: "the original" })]);
  assert.deepEqual(next[1].reply_to, { seq: 3, sender: "bob", sender_name: "bob", snippet: "the original", deleted: false, known: true });
});

test("message_changed updates the conversation's preview when it is its last message", () => {
  const c = direct();
  const edited = rich(received("a", 1, 10), { body: "edited", edited: true });
  const next = s.withChanged(c, edited);
  assert.equal(next.last_message, edited);
  assert.equal(next.unread, c.unread, "an edit is not a new message");
  assert.equal(s.withChanged(c, rich(received("z", 7, 50))), c);
});

test("actions: edit own only, delete for everyone own or as a group admin, tombstones only delete for me", () => {
  const group = { conversation_id: 3, kind: "group", members: [{ ...member(1, "alice"), role: "admin" }, member(2, "bob")] };
  const theirs = rich(received("a", 1, 10)), own = rich(mine("b", 2, "sent", 11));
  assert.deepEqual(s.actionsFor(own, direct(), ME), ["reply", "react", "edit", "delete-everyone", "delete-me"]);
  assert.deepEqual(s.actionsFor(theirs, direct(), ME), ["reply", "react", "delete-me"]);
  assert.deepEqual(s.actionsFor(theirs, group, ME), ["reply", "react", "delete-everyone", "delete-me"]);
  assert.deepEqual(s.actionsFor(theirs, group, 2), ["reply", "react", "delete-me"]);
  assert.deepEqual(s.actionsFor(rich(theirs, { deleted: true, body: "" }), group, ME), ["delete-me"]);
  assert.deepEqual(s.actionsFor(rich(mine("q", null, "queued", 12)), direct(), ME), []);
});

test("ArrowUp edits the user's newest stored, undeleted message", () => {
  const chat = [rich(mine("a", 1, "sent", 10)), rich(mine("b", 2, "sent", 11), { deleted: true }), rich(received("c", 3, 12)), rich(mine("d", null, "queued", 13))];
  assert.equal(s.lastEditable(chat).client_id, "a");
  assert.equal(s.lastEditable([rich(received("c", 3, 12))]), null);
});

test("message_changed is one of the chat events applied (and replayed onto a loading page)", async () => {
  globalThis.window ??= { __TAURI__: { core: { invoke: async () => null }, event: { listen: async () => {} } } };
  const { applyChat } = await import("../../ui/js/refresh.js");
  const chat = [rich(received("a", 1, 10)), rich(received("b", 2, 11))];
  const edited = rich(received("b", 2, 11), { body: "edited", edited: true });
  assert.equal(applyChat(chat, { event: "message_changed", message: edited, hidden: false })[1], edited);
  assert.deepEqual(applyChat(chat, { event: "message_changed", message: chat[0], hidden: true }).map((m) => m.client_id), ["b"]);
  assert.equal(applyChat(chat, { event: "action_refused", conversation_id: 3, seq: 2, reason: "too old" }), chat);
});
