// Unit tests of ui/js/pins.js: pinning puts a chat first, unpinning takes it out, at most five,
// pins of chats no longer listed are dropped, and the list shows the pinned ones first.

import test from "node:test";
import assert from "node:assert/strict";
import { MAX_PINNED, repin, pinnedFirst } from "../../ui/js/pins.js";

const present = new Set([1, 2, 3, 4, 5, 6, 7]);

test("the latest pin goes first; unpinning keeps the others' order", () => {
  let pins = repin([], 3, true, present);
  pins = repin(pins, 5, true, present);
  assert.deepEqual(pins, [5, 3]);
  assert.deepEqual(repin(pins, 3, true, present), [3, 5], "pinned again: first again");
  assert.deepEqual(repin(pins, 5, false, present), [3]);
  assert.deepEqual(repin(pins, 9, false, present), [5, 3], "unpinning what was not pinned");
  assert.deepEqual(repin(pins, 9, true, present), [5, 3], "a chat not in the list is not pinned");
});

test("at most five, and pins of chats gone from the list do not count", () => {
  const full = [1, 2, 3, 4, 5];
  assert.equal(MAX_PINNED, 5);
  assert.equal(repin(full, 6, true, present), null);
  assert.deepEqual(repin(full, 6, true, new Set([2, 3, 4, 5, 6])), [6, 2, 3, 4, 5], "1 left the list");
  assert.deepEqual(repin(full, 2, true, present), [2, 1, 3, 4, 5], "re-pinning one already pinned");
});

test("the list: pinned first in pin order, then the rest as they were", () => {
  const c = (id) => ({ conversation_id: id });
  const list = [c(7), c(6), c(5), c(4)];
  assert.deepEqual(pinnedFirst(list, [4, 9, 6]).map((x) => x.conversation_id), [4, 6, 7, 5]);
  assert.equal(pinnedFirst(list, []), list);
});
