// Unit tests of `@` autocompletion's pure parts (ui/js/mentions.js): what is being typed before
// the caret, which members match, and the text once a name is picked.

import test from "node:test";
import assert from "node:assert/strict";
import { mentionAt, suggest, complete } from "../../ui/js/mentions.js";

const members = [1, 2, 3, 4].map((id, i) => ({ user_id: id, username: ["alice", "bob", "Bobby", "carol_b"][i] }));

test("a mention is an @ at the start or after a non-name character, up to the caret", () => {
  assert.deepEqual(mentionAt("hi @bo", 6), { start: 3, end: 6, prefix: "bo" });
  assert.deepEqual(mentionAt("@", 1), { start: 0, end: 1, prefix: "" });
  assert.deepEqual(mentionAt("(@al) x", 4), { start: 1, end: 4, prefix: "al" });
  assert.deepEqual(mentionAt("@bob is here", 2), { start: 0, end: 4, prefix: "b" });
  assert.equal(mentionAt("mail bob@ex", 11), null);
  assert.equal(mentionAt("hi @bob there", 13), null);
  assert.equal(mentionAt("@@a", 3), null);
});

test("members whose names start with the prefix come first, never the user", () => {
  assert.deepEqual(suggest(members, "b", 1), ["bob", "Bobby", "carol_b"]);
  assert.deepEqual(suggest(members, "", 1), ["bob", "Bobby", "carol_b"]);
  assert.deepEqual(suggest(members, "ALI", 1), []);
  assert.deepEqual(suggest(members, "ali", 2), ["alice"]);
});

test("picking a name replaces what was typed of it and adds one space", () => {
  assert.deepEqual(complete("hi @bo", mentionAt("hi @bo", 6), "bob"), { text: "hi @bob ", caret: 8 });
  assert.deepEqual(complete("@b is here", mentionAt("@b is here", 1), "bob"), { text: "@bob is here", caret: 5 });
});
