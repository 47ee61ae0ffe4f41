// Unit tests of ui/js/views/forward.js: the chats a message can be forwarded to.

import test from "node:test";
import assert from "node:assert/strict";

globalThis.document = { getElementById: () => null };
globalThis.window ??= { __TAURI__: { core: { invoke: async () => null }, event: { listen: async () => {} } } };
const { forwardTargets, toggleChoice, MAX_FORWARD } = await import("../../ui/js/views/forward.js");

const conv = (id, title, extra = {}) => ({
  conversation_id: id, kind: "group", title, members: [], created_at: id, last_message: null, unread: 0, request: false, ...extra,
});

test("forwarding offers the list's chats, then the archived ones, never a request; typing filters", () => {
  const map = new Map([
    [1, conv(1, "Family")], [2, conv(2, "bob", { request: true })], [3, conv(3, "Work club")], [4, conv(4, "Old club")],
  ]);
  const ids = (list) => list.map((c) => c.conversation_id);
  assert.deepEqual(ids(forwardTargets(map, [], new Set([4]), "")), [3, 1, 4]);
  assert.deepEqual(ids(forwardTargets(map, [1], new Set([4]), "")), [1, 3, 4], "pinned first, as listed");
  assert.deepEqual(ids(forwardTargets(map, [], new Set([4]), "  CLUB ")), [3, 4]);
  assert.deepEqual(ids(forwardTargets(map, [], new Set(), "bob")), [], "a request is not offered");
});

test("up to five chats are chosen, in the order chosen; choosing one again takes it back", () => {
  assert.equal(MAX_FORWARD, 5);
  let list = [];
  for (const id of [4, 2, 9, 1, 7]) list = toggleChoice(list, id);
  assert.deepEqual(list, [4, 2, 9, 1, 7]);
  assert.equal(toggleChoice(list, 8), null, "a sixth is refused");
  assert.deepEqual(toggleChoice(list, 9), [4, 2, 1, 7]);
});
