// Unit tests of the open chat's window (ui/js/store.js, reading.js, refresh.js constants): a long
// chat holds only a bounded run of its messages. Trimming takes from one end only and never
// leaves a gap, unsent messages go with the newest end, a newer page joins only right after
// what is held, and while newer messages are not held a new one does not join.

import test from "node:test";
import assert from "node:assert/strict";
import {
  trimNewest, trimOldest, joinNewer, joinsAfter, withOlderPage, withNewerPage, placement, maxSeq, minSeq,
} from "../../ui/js/store.js";
import { unreadBelow } from "../../ui/js/reading.js";

const m = (seq) => ({ client_id: `c${seq}`, seq, mine: false, body: `m${seq}` });
const unsent = (id) => ({ client_id: id, seq: null, mine: true, status: "queued", body: id });
const run = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => m(from + i));
const ids = (list) => list.map((x) => x.client_id);
/** Whether the stored messages of `list` are one run without a gap (the test seqs have none). */
const gapFree = (list) => {
  const seqs = list.filter((x) => x.seq != null).map((x) => x.seq);
  return seqs.every((s, i) => i === 0 || s === seqs[i - 1] + 1);
};

test("the window's bounds: at least two of the largest pages, and opening stays inside it", async () => {
  globalThis.window ??= { __TAURI__: { core: { invoke: async () => null }, event: { listen: async () => {} } } };
  const { WINDOW, UNREAD_REACH, PAGE } = await import("../../ui/js/refresh.js");
  assert.ok(WINDOW >= 2 * 200, "a page of 200 and what shows always fit");
  assert.ok(UNREAD_REACH <= WINDOW, "revealing the first unread never lets the newest go");
  assert.ok(UNREAD_REACH + PAGE <= WINDOW, "nor does a page the user scrolls to meanwhile");
});

test("trimNewest keeps the oldest `max`, an unbroken run from the front", () => {
  const list = run(1, 10);
  assert.deepEqual(trimNewest(list, 10), { list, trimmed: 0 }, "within bounds: the list itself");
  const { list: kept, trimmed } = trimNewest(list, 6);
  assert.deepEqual(ids(kept), ids(run(1, 6)));
  assert.equal(trimmed, 4);
  assert.ok(gapFree(kept));
});

test("trimNewest lets every unsent message go whenever anything goes", () => {
  const list = [...run(1, 5), unsent("u1"), unsent("u2")];
  assert.equal(trimNewest(list, 7).trimmed, 0);
  // Over by one: not one unsent message of two, but both (nothing unsent after a gap).
  let t = trimNewest(list, 6);
  assert.deepEqual(ids(t.list), ids(run(1, 5)));
  assert.equal(t.trimmed, 2);
  t = trimNewest(list, 3);
  assert.deepEqual(ids(t.list), ids(run(1, 3)));
  assert.equal(t.trimmed, 4);
  assert.ok(t.list.every((x) => x.seq != null));
});

test("trimOldest keeps the newest `max`, the unsent ones included", () => {
  const list = [...run(1, 8), unsent("u1")];
  assert.equal(trimOldest(list, 9).list, list);
  const t = trimOldest(list, 4);
  assert.deepEqual(ids(t.list), ["c6", "c7", "c8", "u1"]);
  assert.equal(t.trimmed, 5);
  assert.ok(gapFree(t.list));
});

test("trimOldest never drops an unsent message, and keeps one stored message to read older pages before", () => {
  const list = [m(1), m(2), unsent("u1"), unsent("u2"), unsent("u3")];
  const t = trimOldest(list, 2);
  assert.deepEqual(ids(t.list), ["c2", "u1", "u2", "u3"]);
  assert.equal(t.trimmed, 1);
  assert.equal(minSeq(t.list), 2);
  assert.equal(trimOldest([m(1), unsent("u1"), unsent("u2")], 1).trimmed, 0);
});

test("joinNewer appends a page read right after the newest message held", () => {
  const list = run(1, 5);
  const next = joinNewer(list, run(6, 8), 5);
  assert.deepEqual(ids(next), ids(run(1, 8)));
  assert.deepEqual(ids(joinNewer(list, run(6, 8))), ids(run(1, 8)), "the default `after`: the newest held");
  // Seqs also count edits and reactions: a page may start past max + 1 and still join.
  assert.deepEqual(ids(joinNewer(list, [m(9), m(12)], 5)), ["c1", "c2", "c3", "c4", "c5", "c9", "c12"]);
});

test("joinNewer refuses a page that does not start right after what is held", () => {
  const list = run(1, 5);
  // The list moved since the page was asked for (its newest end is no longer 4).
  assert.equal(joinNewer(list, run(5, 7), 4), list);
  assert.equal(joinsAfter(list, run(5, 7), 4), false);
  // A page with a message at or before the newest held does not come right after it.
  assert.equal(joinNewer(list, run(4, 7)), list);
  assert.equal(joinNewer(list, [m(3), m(6)], 5), list);
  assert.equal(joinsAfter(list, run(6, 7), 5), true);
});

test("joinNewer de-duplicates: the unsent tail comes back once, a message held keeps its copy", () => {
  const held = { ...unsent("u1"), status: "failed", reason: "offline" };
  const list = [...run(1, 3), held];
  const next = joinNewer(list, [m(4), unsent("u1"), unsent("u2")], 3);
  assert.deepEqual(ids(next), ["c1", "c2", "c3", "c4", "u1", "u2"]);
  assert.equal(next[4], held, "the copy held (events kept it current)");
  assert.equal(joinNewer(list, [unsent("u1")], 3), list, "nothing new: the list itself");
  assert.equal(joinNewer(list, [], 3), list);
});

test("an older page past the window lets the newest go (and says newer ones exist)", () => {
  const list = [...run(101, 140), unsent("u1")];
  const r = withOlderPage(list, run(81, 100), 20, 50);
  assert.equal(r.hasOlder, true, "a full page: there may be more");
  assert.equal(r.list.length, 50);
  assert.deepEqual([minSeq(r.list), maxSeq(r.list)], [81, 130]);
  assert.ok(r.trimmed > 0);
  assert.ok(gapFree(r.list));
  assert.ok(r.list.every((x) => x.seq != null), "the unsent message went with the newest");
  const within = withOlderPage(run(5, 10), run(1, 4), 20, 50);
  assert.equal(within.trimmed, 0);
  assert.equal(within.hasOlder, false, "a short page: nothing older");
});

test("a newer page past the window lets the oldest go; a short one reached the newest", () => {
  const list = run(1, 50);
  const full = withNewerPage(list, run(51, 70), 50, 20, 50);
  assert.equal(full.hasNewer, true, "a full page of stored messages: there may be more");
  assert.deepEqual([minSeq(full.list), maxSeq(full.list)], [21, 70]);
  assert.equal(full.trimmed, 20);
  assert.ok(gapFree(full.list));
  // The newest reached: the unsent ones follow it; they do not count towards a full page.
  const last = withNewerPage(list, [...run(51, 55), unsent("u1"), unsent("u2")], 50, 20, 60);
  assert.equal(last.hasNewer, false);
  assert.deepEqual(ids(last.list).slice(-3), ["c55", "u1", "u2"]);
  assert.equal(last.list.length, 57);
  assert.equal(withNewerPage(list, run(51, 55), 49, 20, 60), null, "read from an end that moved");
  const none = withNewerPage(list, [], 50, 20, 60);
  assert.equal(none.hasNewer, false, "nothing newer after all");
  assert.equal(none.list, list);
});

test("while newer messages are not held, a newer one does not join", () => {
  const list = run(5, 7);
  assert.equal(placement(list, m(8)), "joins", "the newest held: it follows");
  assert.equal(placement(list, m(8), true), "newer", "messages not held come between");
  assert.equal(placement(list, m(20), true), "newer");
  assert.equal(placement(list, unsent("u"), true), "newer", "an unsent one comes after them too");
  assert.equal(placement(list, unsent("u"), false), null);
  assert.equal(placement(list, m(6), true), "joins", "a copy of one held");
  assert.equal(placement(list, m(4), true), "joins", "right before the oldest");
  assert.equal(placement(list, m(2), true), "older");
});

test("the jump button counts the conversation's unread while newer messages are not held", () => {
  const list = [m(1), m(2), m(3), { ...m(4), mine: true }, m(5)];
  assert.equal(unreadBelow(list, 2, false, 40), 2, "all held: counted here");
  assert.equal(unreadBelow(list, 2, true, 40), 40, "some not held: the conversation's count");
  assert.equal(unreadBelow(list, 2, true, 1), 2, "never fewer than those held");
  assert.equal(unreadBelow(list, 2, true, undefined), 2);
});
