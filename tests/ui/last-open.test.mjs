// Unit tests of ui/js/last-open.js: the last open chat is kept per account and opened again
// once listed, unless it went or is a message request.

import test from "node:test";
import assert from "node:assert/strict";
import { loadLastOpen, saveLastOpen, lastOpenKey, restoreDecision } from "../../ui/js/last-open.js";
import { MemoryStorage as Store } from "./support/storage.mjs";

test("the last open chat is kept per account and forgotten when closed", () => {
  const s = new Store();
  saveLastOpen(1, 7, s);
  saveLastOpen(2, 9, s);
  assert.equal(loadLastOpen(1, s), 7);
  assert.equal(loadLastOpen(2, s), 9);
  assert.equal(s.getItem(lastOpenKey(1)), "7");
  saveLastOpen(1, null, s);
  assert.equal(loadLastOpen(1, s), null);
  assert.equal(s.getItem(lastOpenKey(1)), null);
  assert.equal(loadLastOpen(2, s), 9, "another account's stays");
  assert.equal(loadLastOpen(3, s), null);
});

test("no account, no storage or a broken value: nothing to restore", () => {
  const s = new Store();
  saveLastOpen(null, 7, s);
  assert.equal(s.m.size, 0);
  assert.equal(loadLastOpen(null, s), null);
  assert.equal(loadLastOpen(1, null), null);
  s.setItem(lastOpenKey(1), "nonsense");
  assert.equal(loadLastOpen(1, s), null);
  s.setItem(lastOpenKey(1), "");
  assert.equal(loadLastOpen(1, s), null);
  const failing = { getItem() { throw new Error("denied"); }, setItem() { throw new Error("full"); }, removeItem() {} };
  assert.equal(loadLastOpen(1, failing), null);
  assert.doesNotThrow(() => saveLastOpen(1, 7, failing));
});

test("opened again if listed and not a request; waits for a first list; else dropped", () => {
  const list = new Map([[7, { conversation_id: 7, request: false }], [8, { conversation_id: 8, request: true }]]);
  assert.equal(restoreDecision(7, list), "open");
  assert.equal(restoreDecision(8, list), "drop", "a message request is not opened by itself");
  assert.equal(restoreDecision(9, list), "drop", "left or removed");
  assert.equal(restoreDecision(null, list), "drop");
  assert.equal(restoreDecision(7, new Map()), "wait", "nothing listed yet: a first sync may bring it");
});
