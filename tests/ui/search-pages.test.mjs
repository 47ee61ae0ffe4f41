// Unit tests of ui/js/search-pages.js: search results read a page at a time (the next page from
// the offset of the results read), a new query starting over, an answer to an older query
// dropped, a message read twice shown once, and a failed read that can be asked again.

import test from "node:test";
import assert from "node:assert/strict";
import { createPager, resultKey, SEARCH_PAGE } from "../../ui/js/search-pages.js";

const msg = (seq, conversation_id = 1) => ({ conversation_id, seq });
const range = (from, n) => Array.from({ length: n }, (_, i) => msg(1000 - from - i));

/** A shell stand-in: each call waits until answered by hand. */
function shell() {
  const calls = [];
  const fetch = (query, offset, limit) => new Promise((resolve, reject) => calls.push({ query, offset, limit, resolve, reject }));
  return { calls, fetch };
}
const tick = () => new Promise((r) => setImmediate(r));

test("pages of 50: the next page asks from the results read, while the last page was full", async () => {
  assert.equal(SEARCH_PAGE, 50);
  const s = shell();
  const pager = createPager(s.fetch);
  const first = pager.search('"at the" harb');
  assert.equal(pager.loading, true);
  assert.deepEqual(s.calls.map(({ query, offset, limit }) => ({ query, offset, limit })), [{ query: '"at the" harb', offset: 0, limit: 50 }],
    "the text as typed");
  s.calls[0].resolve(range(0, 50));
  assert.equal((await first).length, 50);
  assert.equal(pager.loading, false);
  assert.equal(pager.offset, 50);
  assert.equal(pager.hasMore, true);

  const second = pager.more();
  assert.equal(await pager.more(), null, "one read at a time");
  assert.equal(s.calls.length, 2);
  assert.deepEqual([s.calls[1].offset, s.calls[1].limit], [50, 50]);
  s.calls[1].resolve(range(50, 20));
  assert.equal((await second).length, 20);
  assert.equal(pager.offset, 70);
  assert.equal(pager.hasMore, false, "a short page is the last");
  assert.equal(await pager.more(), null);
  assert.equal(s.calls.length, 2, "nothing more is asked");
});

test("a new query starts over; the older query's answers are dropped", async () => {
  const s = shell();
  const pager = createPager(s.fetch, 2);
  const a = pager.search("har");
  const b = pager.search("harb");
  s.calls[1].resolve([msg(9), msg(8)]);
  assert.deepEqual(await b, [msg(9), msg(8)]);
  s.calls[0].resolve([msg(1)]);
  assert.equal(await a, null, "an older query's answer");
  assert.equal(pager.query, "harb");
  assert.equal(pager.offset, 2);

  const more = pager.more();
  const c = pager.search("harbour");
  assert.equal(s.calls[3].offset, 0, "the new query from the start");
  s.calls[2].resolve([msg(7), msg(6)]);
  assert.equal(await more, null, "a page of the older query");
  s.calls[3].resolve([msg(5)]);
  assert.deepEqual(await c, [msg(5)]);
  assert.equal(pager.offset, 1);
  assert.equal(pager.hasMore, false);
});

test("a blank query reads nothing; reset drops what is on its way", async () => {
  const s = shell();
  const pager = createPager(s.fetch);
  assert.equal(await pager.search("   "), null);
  assert.equal(s.calls.length, 0);
  assert.equal(pager.hasMore, false);
  const a = pager.search("x");
  pager.reset();
  s.calls[0].resolve(range(0, 50));
  assert.equal(await a, null);
  assert.equal(pager.query, "");
  assert.equal(pager.offset, 0);
  assert.equal(pager.hasMore, false);
  assert.equal(pager.loading, false);
});

test("a message read twice (the pages shifted) shows once; the offset counts what was read", async () => {
  const s = shell();
  const pager = createPager(s.fetch, 3);
  const first = pager.search("x");
  s.calls[0].resolve([msg(9), msg(8), msg(7)]);
  assert.equal((await first).length, 3);
  const next = pager.more();
  // A new message came in: the next page starts one earlier.
  s.calls[1].resolve([msg(7), msg(6), msg(5)]);
  assert.deepEqual(await next, [msg(6), msg(5)]);
  assert.equal(pager.offset, 6);
  assert.equal(pager.hasMore, true);
  assert.notEqual(resultKey(msg(3, 1)), resultKey(msg(3, 2)), "the same seq in another conversation is another message");
});

test("a failed read is thrown and changes nothing; it can be asked again", async () => {
  const s = shell();
  const pager = createPager(s.fetch, 2);
  const first = pager.search("x");
  s.calls[0].resolve([msg(9), msg(8)]);
  await first;
  const more = pager.more();
  s.calls[1].reject(new Error("offline"));
  await assert.rejects(more, /offline/);
  assert.equal(pager.loading, false);
  assert.equal(pager.offset, 2);
  assert.equal(pager.hasMore, true);
  const again = pager.more();
  assert.equal(s.calls[2].offset, 2);
  s.calls[2].resolve([msg(7)]);
  assert.deepEqual(await again, [msg(7)]);

  const failing = pager.search("y");
  const newer = pager.search("z");
  s.calls[3].reject(new Error("late"));
  assert.equal(await failing, null, "an older query's failure is dropped too");
  s.calls[4].resolve([]);
  assert.deepEqual(await newer, []);
  await tick();
});
