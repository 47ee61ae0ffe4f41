// Unit tests of privacy's pure parts: message requests in the store (ui/js/store.js: withInfo,
// listed, withAccepted) and ui/js/security.js (who is blocked, which bar stands in for the
// composer, the bars' and the block question's texts, signed-in devices, password checks).

import test from "node:test";
import assert from "node:assert/strict";
import * as s from "../../ui/js/store.js";
import {
  isBlocked, withBlocked, withoutBlocked, chatBar, requestText, blockPrompt, blockedText, nameOf,
  sessionLine, passwordProblem, passwordErrorText, deleteErrorText,
} from "../../ui/js/security.js";

const ME = 1;
const member = (user_id, username, extra = {}) => ({ user_id, username, role: "member", delivered_seq: 0, read_seq: 0, ...extra });
const direct = (extra = {}) => ({
  conversation_id: 3, kind: "direct", name: null, members: [member(1, "alice", { accepted: false }), member(2, "bob")],
  last_seq: 1, created_at: 5, title: "bob", last_message: null, unread: 2, online: null, request: true, ...extra,
});
const info = (members) => ({ conversation_id: 3, kind: "direct", name: null, members, last_seq: 1, created_at: 5 });
const privacy = (blocked = []) => ({ presence: "contacts", read_receipts: true, blocked });

// ---------- requests in the store ----------

test("a conversation event makes a request of it while the user's own member has not accepted", () => {
  const accepted = s.withInfo(direct(), info([member(1, "alice"), member(2, "bob")]), ME);
  assert.equal(accepted.request, false, "an absent `accepted` means accepted");
  const still = s.withInfo(direct({ request: false }), info([member(1, "alice", { accepted: false }), member(2, "bob")]), ME);
  assert.equal(still.request, true);
  // Another member not having accepted (the user started it) is not a request for the user.
  const theirs = s.withInfo(direct({ request: false }), info([member(1, "alice"), member(2, "bob", { accepted: false })]), ME);
  assert.equal(theirs.request, false);
  assert.equal(theirs.members[1].accepted, false);
});

test("the list splits into the main list and the requests, each most recent first", () => {
  const map = new Map([
    [1, { conversation_id: 1, created_at: 10, last_message: null, request: false }],
    [2, { conversation_id: 2, created_at: 30, last_message: null, request: true }],
    [3, { conversation_id: 3, created_at: 20, last_message: null, request: false }],
    [4, { conversation_id: 4, created_at: 40, last_message: null, request: true }],
    [5, { conversation_id: 5, created_at: 50, last_message: null }],
  ]);
  const { main, requests } = s.listed(map);
  assert.deepEqual(main.map((c) => c.conversation_id), [5, 3, 1]);
  assert.deepEqual(requests.map((c) => c.conversation_id), [4, 2]);
  assert.deepEqual(s.listed(new Map()), { main: [], requests: [], archived: [] });
});

test("accepting a request marks the user's member accepted and moves it to the main list", () => {
  const c = direct();
  const next = s.withAccepted(c, ME);
  assert.equal(next.request, false);
  assert.equal("accepted" in next.members[0], false);
  assert.equal(next.members[1], c.members[1]);
  assert.equal(c.request, true, "the old entry is not changed");
  assert.equal(s.withAccepted(next, ME), next);
});

test("privacy starts with the relay's defaults", () => {
  assert.deepEqual(s.state.privacy, { presence: "contacts", read_receipts: true, blocked: [] });
  assert.notEqual(s.defaultPrivacy(), s.defaultPrivacy());
});

// ---------- blocking ----------

test("a user is blocked when their id is on the block list", () => {
  const p = privacy([{ user_id: 2, username: "bob" }]);
  assert.equal(isBlocked(p, 2), true);
  assert.equal(isBlocked(p, 3), false);
  assert.equal(isBlocked(privacy(), 2), false);
});

test("blocking and unblocking here change the list once, keeping what else it holds", () => {
  const p = privacy();
  const blocked = withBlocked(p, member(2, "bob", { display_name: "Bob B." }));
  assert.deepEqual(blocked.blocked, [{ user_id: 2, username: "bob", display_name: "Bob B." }]);
  assert.equal(withBlocked(blocked, member(2, "bob")), blocked);
  assert.deepEqual(p.blocked, [], "the old settings are not changed");
  assert.equal(withoutBlocked(blocked, "carol"), blocked);
  const unblocked = withoutBlocked(blocked, "bob");
  assert.deepEqual(unblocked, { presence: "contacts", read_receipts: true, blocked: [] });
});

test("a person is named by their display name, else their username", () => {
  assert.equal(nameOf({ user_id: 2, username: "bob", display_name: "Bob B." }), "Bob B.");
  assert.equal(nameOf({ user_id: 2, username: "bob", display_name: "  " }), "bob");
  assert.equal(nameOf({ user_id: 2, username: "bob" }), "bob");
});

test("the composer gives way to the blocked bar, then to the request bar", () => {
  const accepted = direct({ request: false });
  assert.equal(chatBar(accepted, privacy(), ME).bar, "composer");
  assert.equal(chatBar(accepted, privacy(), ME).who.username, "bob");
  assert.equal(chatBar(direct(), privacy(), ME).bar, "request");
  const blocked = chatBar(direct(), privacy([{ user_id: 2, username: "bob" }]), ME);
  assert.equal(blocked.bar, "blocked");
  assert.equal(blocked.who.user_id, 2);
  const group = { ...direct(), kind: "group", name: "Club", title: "Club" };
  assert.deepEqual(chatBar(group, privacy([{ user_id: 2, username: "bob" }]), ME), { bar: "request", who: undefined });
  assert.deepEqual(chatBar(undefined, privacy(), ME), { bar: "composer" });
});

test("the bars and the block question say who and what it means", () => {
  assert.equal(requestText(direct()),
    "bob wants to message you. Until you accept, they can't see when you're online or that you read their messages.");
  assert.equal(requestText({ ...direct(), kind: "group", title: "Club" }),
    "Club: you were added by someone you haven't talked to. Until you accept, they can't see when you're online or that you read their messages.");
  assert.equal(blockPrompt("Bob"), "Block Bob? They won't be able to message you or see when you're online. They won't be told.");
  assert.equal(blockedText("Bob"), "You blocked Bob.");
});

// ---------- account security ----------

test("a signed-in device reads as its name, this device or not, and when it signed in and was last seen", () => {
  const date = (ms) => `<${ms}>`;
  const s1 = { session_id: 7, device_name: "Laptop", created_at: 1000, last_seen_at: 5000, expires_at: 9000, current: true };
  assert.deepEqual(sessionLine(s1, date), { title: "Laptop", current: true, detail: "signed in <1000> · last seen <5000>" });
  const s2 = { ...s1, device_name: " ", last_seen_at: null, current: false };
  assert.deepEqual(sessionLine(s2, date), { title: "Unnamed device", current: false, detail: "signed in <1000> · last seen never" });
});

test("a new password needs 8 characters, typed the same twice, and the current one", () => {
  assert.equal(passwordProblem("old", "short", "short"), "The new password needs at least 8 characters.");
  assert.equal(passwordProblem("old", "long enough", "long enuogh"), "The new passwords don't match.");
  assert.equal(passwordProblem("", "long enough", "long enough"), "Enter your current password.");
  assert.equal(passwordProblem("old", "long enough", "long enough"), "");
  // Characters, not bytes or UTF-16 units: 8 emoji are 8 characters, 7 are too few.
  assert.equal(passwordProblem("old", "🐦".repeat(8), "🐦".repeat(8)), "");
  assert.equal(passwordProblem("old", "🐦".repeat(7), "🐦".repeat(7)), "The new password needs at least 8 characters.");
});

test("password errors from the relay read plainly; others show their message", () => {
  assert.equal(passwordErrorText({ code: "invalid_credentials", message: "invalid credentials" }), "The current password is wrong.");
  assert.equal(passwordErrorText({ code: "too_many_attempts", message: "slow down" }), "Too many attempts; wait a minute and try again.");
  assert.equal(passwordErrorText({ code: "bad_request", message: "password too short" }), "The new password needs at least 8 characters.");
  assert.equal(passwordErrorText({ code: "offline", message: "Not connected to the relay" }), "You're offline.");
  assert.equal(passwordErrorText("boom"), "Something went wrong. Try again.");
});

test("a refused account deletion is told plainly", () => {
  assert.equal(deleteErrorText({ code: "invalid_credentials", message: "x" }), "The password is wrong.");
  assert.equal(deleteErrorText({ code: "too_many_attempts", message: "x" }), "Too many attempts; wait a minute and try again.");
  assert.equal(deleteErrorText({ code: "offline", message: "You are offline" }), "You're offline.");
});
