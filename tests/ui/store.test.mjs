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

test("a new shape renames and keeps the markers already known", () => {
  const c = s.withReceipt(direct(), { conversation_id: 3, user_id: 2, delivered_seq: 4, read_seq: 4 });
  const g = s.withInfo(c, { conversation_id: 3, kind: "group", name: "Weekend plans", members: [member(1, "alice"), member(2, "bob")], last_seq: 9, created_at: 5 }, ME);
  assert.equal(g.title, "Weekend plans");
  assert.equal(g.members[1].read_seq, 4);
  assert.equal(g.unread, c.unread);
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
