// Unit tests of ui/js/unread.js: the unread badge of a conversation row and the window title.

import test from "node:test";
import assert from "node:assert/strict";
import { badgeText, titleFor, totalUnread } from "../../ui/js/unread.js";

test("a badge shows the count up to 99, then 99+", () => {
  assert.equal(badgeText(1), "1");
  assert.equal(badgeText(99), "99");
  assert.equal(badgeText(100), "99+");
  assert.equal(badgeText(2001), "99+");
});

test("the window title counts unread messages: Tern, (3) Tern, (99+) Tern", () => {
  assert.equal(titleFor(0), "Tern");
  assert.equal(titleFor(3), "(3) Tern");
  assert.equal(titleFor(99), "(99) Tern");
  assert.equal(titleFor(100), "(99+) Tern");
});

test("the total adds the listed conversations' unread counts", () => {
  assert.equal(totalUnread([]), 0);
  assert.equal(totalUnread([{ unread: 2 }, { unread: 0 }, { unread: 2001 }]), 2003);
  assert.equal(totalUnread([{ unread: undefined }, { unread: -1 }, { unread: 1 }]), 1);
});

test("message requests are not counted in the title", async () => {
  const { listed } = await import("../../ui/js/store.js");
  const map = new Map([
    [1, { conversation_id: 1, created_at: 1, last_message: null, unread: 3, request: false }],
    [2, { conversation_id: 2, created_at: 2, last_message: null, unread: 5, request: true }],
  ]);
  assert.equal(titleFor(totalUnread(listed(map).main)), "(3) Tern");
});

test("a chat marked unread with nothing unread in it counts as one, with messages as their number", () => {
  const list = [
    { conversation_id: 1, unread: 0 },
    { conversation_id: 2, unread: 3 },
    { conversation_id: 3, unread: 0 },
  ];
  assert.equal(totalUnread(list), 3);
  assert.equal(totalUnread(list, new Set([1, 2])), 4);
  assert.equal(titleFor(totalUnread(list, new Set([1, 3]))), "(5) Tern");
});
