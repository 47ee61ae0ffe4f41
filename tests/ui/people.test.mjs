// Unit tests of people's pure parts (ui/js/people.js): what is looked up for the typed text,
// the order people are offered in, labels of people and group members, where the highlight
// moves, and the user's own display name.

import test from "node:test";
import assert from "node:assert/strict";
import { peopleQuery, personLabel, rankPeople, moveActive, memberLabel, myDisplayName, MAX_PEOPLE } from "../../ui/js/people.js";

const person = (user_id, username, display_name) => (display_name === undefined ? { user_id, username } : { user_id, username, display_name });

test("the query is the typed text trimmed, without a leading @", () => {
  assert.equal(peopleQuery("  bob "), "bob");
  assert.equal(peopleQuery("@bob"), "bob");
  assert.equal(peopleQuery(" @ bob"), "bob");
  assert.equal(peopleQuery("   "), "");
  assert.equal(peopleQuery("a@b"), "a@b");
});

test("a person reads as their display name and @username; no name when unset or blank", () => {
  assert.deepEqual(personLabel(person(1, "alice", "Alice Liddell")), { name: "Alice Liddell", handle: "@alice" });
  assert.deepEqual(personLabel(person(1, "alice", " Alice ")), { name: "Alice", handle: "@alice" });
  assert.deepEqual(personLabel(person(1, "alice")), { name: "", handle: "@alice" });
  assert.deepEqual(personLabel(person(1, "alice", null)), { name: "", handle: "@alice" });
  assert.deepEqual(personLabel(person(1, "alice", "   ")), { name: "", handle: "@alice" });
});

test("the exact username comes first, then usernames starting with it, then display names", () => {
  const found = [
    person(5, "zed", "Marley Bob"),      // a later word of the display name starts with it
    person(4, "robert", "bobby tables"), // display name starts with it
    person(3, "bobcat"),                 // username starts with it
    person(2, "bob"),                    // exact
    person(6, "xavier", "Jimbob"),       // display name contains it
    person(7, "bobby", "Zora"),          // username starts with it
  ];
  assert.deepEqual(rankPeople(found, "Bob", 1).map((p) => p.username), ["bob", "bobcat", "bobby", "robert", "zed", "xavier"]);
  assert.deepEqual(rankPeople(found, "@bob ", 1).map((p) => p.username)[0], "bob");
});

test("ranking leaves out the user and repeats, is alphabetical within a rank, and is capped", () => {
  const found = [person(1, "alice"), person(3, "anna", "Zoe"), person(2, "amy", "Amy"), person(3, "anna", "Zoe")];
  assert.deepEqual(rankPeople(found, "a", 1).map((p) => p.user_id), [2, 3]);
  assert.deepEqual(rankPeople([], "a", 1), []);
  const many = Array.from({ length: MAX_PEOPLE + 5 }, (_, i) => person(i + 10, `user${String(i).padStart(2, "0")}`));
  const ranked = rankPeople(many, "user", 1);
  assert.equal(ranked.length, MAX_PEOPLE);
  assert.equal(ranked[0].username, "user00");
});

test("the arrows move the highlight and wrap; no list, no highlight", () => {
  assert.equal(moveActive(-1, "ArrowDown", 3), 0);
  assert.equal(moveActive(0, "ArrowDown", 3), 1);
  assert.equal(moveActive(2, "ArrowDown", 3), 0);
  assert.equal(moveActive(-1, "ArrowUp", 3), 2);
  assert.equal(moveActive(0, "ArrowUp", 3), 2);
  assert.equal(moveActive(1, "Home", 3), 1);
  assert.equal(moveActive(-1, "ArrowDown", 0), -1);
});

test("a member's row starts with the username and role, then the display name", () => {
  assert.deepEqual(memberLabel({ user_id: 1, username: "alice", role: "admin", display_name: "Alice Liddell" }), { main: "alice (admin)", name: "Alice Liddell" });
  assert.deepEqual(memberLabel({ user_id: 2, username: "bob", role: "member" }), { main: "bob", name: "" });
  assert.deepEqual(memberLabel({ user_id: 2, username: "bob", role: "member", display_name: "bob" }), { main: "bob", name: "" });
});

test("the user's display name is on their member entry in any conversation", () => {
  const convs = [
    { members: [{ user_id: 1, username: "alice" }, { user_id: 2, username: "bob", display_name: "Bob" }] },
    { members: [{ user_id: 1, username: "alice", display_name: "Alice L." }] },
  ];
  assert.equal(myDisplayName(convs, 1), "Alice L.");
  assert.equal(myDisplayName(new Map(convs.map((c, i) => [i, c])).values(), 2), "Bob");
  assert.equal(myDisplayName(convs, 3), "");
  assert.equal(myDisplayName([], 1), "");
});
