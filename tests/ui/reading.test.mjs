// Unit tests of ui/js/reading.js: what counts as read (only rows seen to their bottom edge), the
// user's read marker, where the "New messages" divider goes, what the jump-to-bottom button
// counts, and where a chat opens.

import test from "node:test";
import assert from "node:assert/strict";
import {
  readUpTo, readMarker, isUnread, unreadAfter, firstUnreadIn, firstUnread, openScrollTop, jumpLabel,
} from "../../ui/js/reading.js";

/** Rows of 50 px from `top`, one per seq. */
const rows = (seqs, top = 0) => seqs.map((seq, i) => ({ seq, top: top + i * 50, bottom: top + (i + 1) * 50 }));

test("read up to the highest seq whose row's bottom edge is in the viewport", () => {
  const r = rows([1, 2, 3, 4, 5, 6]); // bottoms 50 … 300
  assert.equal(readUpTo(r, 0, 300), 6, "all shown");
  assert.equal(readUpTo(r, 0, 200), 4, "5 and 6 are below the viewport");
  assert.equal(readUpTo(r, 0, 220), 4, "5 shows only in part: not read");
  assert.equal(readUpTo(r, 120, 260), 5, "scrolled to the middle");
});

test("nothing is read when no row's bottom edge shows", () => {
  assert.equal(readUpTo([], 0, 500), 0, "no rows");
  assert.equal(readUpTo(rows([1, 2]), 200, 400), 0, "every row above the viewport");
  assert.equal(readUpTo(rows([1, 2], 500), 0, 400), 0, "every row below it");
  // One tall row: its top shows, its end does not (the user has not read it to its end).
  assert.equal(readUpTo([{ seq: 7, top: 100, bottom: 900 }], 0, 400), 0);
  assert.equal(readUpTo([{ seq: 7, top: -500, bottom: 300 }], 0, 400), 7, "scrolled to its end");
});

test("a row ending at the viewport's top was not seen; one a sub-pixel past its bottom was", () => {
  assert.equal(readUpTo([{ seq: 3, top: 0, bottom: 100 }], 100, 400), 0);
  assert.equal(readUpTo([{ seq: 3, top: 300, bottom: 400.5 }], 100, 400), 3);
  assert.equal(readUpTo([{ seq: 3, top: 300, bottom: 402 }], 100, 400), 0);
});

test("unsent rows never count, and the order of rows does not matter", () => {
  const r = [{ seq: null, top: 0, bottom: 50 }, { seq: 9, top: 50, bottom: 100 }, { seq: 4, top: 100, bottom: 150 }];
  assert.equal(readUpTo(r, 0, 200), 9);
  assert.equal(readUpTo([{ seq: null, top: 0, bottom: 50 }], 0, 200), 0);
  assert.equal(readUpTo(rows([5, 6, 7]).reverse(), 0, 110), 6);
});

test("the read marker is the engine's or the one set here, whichever is further", () => {
  const c = { members: [{ user_id: 1, read_seq: 10 }, { user_id: 2, read_seq: 40 }] };
  assert.equal(readMarker(c, 1, undefined), 10, "the user's own member, not the other's");
  assert.equal(readMarker(c, 1, 12), 12);
  assert.equal(readMarker(c, 1, 8), 10);
  assert.equal(readMarker(undefined, 1, 5), 5, "conversation not listed");
  assert.equal(readMarker({ members: [] }, 1, undefined), 0);
});

const msg = (seq, mine = false) => ({ client_id: `c${seq}`, seq, mine });
const unsent = (id) => ({ client_id: id, seq: null, mine: true });

test("unread: the others' stored messages after the marker", () => {
  assert.equal(isUnread(msg(5), 4), true);
  assert.equal(isUnread(msg(5), 5), false);
  assert.equal(isUnread(msg(5, true), 1), false, "the user's own");
  assert.equal(isUnread(unsent("u"), 0), false);
  const chat = [msg(1), msg(2), msg(3, true), msg(4), msg(5), unsent("u")];
  assert.equal(unreadAfter(chat, 2), 2);
  assert.equal(unreadAfter(chat, 0), 4);
  assert.equal(unreadAfter(chat, 5), 0);
  assert.equal(firstUnreadIn(chat, 2).client_id, "c4");
  assert.equal(firstUnreadIn(chat, 5), null);
});

test("the divider goes before the first unread message, once the run shown reaches the marker", () => {
  const chat = [msg(8), msg(9), msg(10, true), msg(11), msg(12)];
  assert.equal(firstUnread(chat, 9, true), "c11", "my own message after the marker is not unread");
  assert.equal(firstUnread(chat, 12, true), null, "nothing unread");
  assert.equal(firstUnread(chat, 7, true), "c8", "the oldest shown is right after the marker");
  assert.equal(firstUnread(chat, 5, true), null, "6 and 7 may be unread and not loaded yet");
  assert.equal(firstUnread(chat, 5, false), "c8", "nothing older exists");
  assert.equal(firstUnread([], 0, false), null);
});

test("a chat opens with its first unread row near the top, or at the bottom when the rest fits", () => {
  // 2000 px of messages in a 500 px list: the divider at 600 px goes 8 px under the top.
  assert.equal(openScrollTop(600, 2000, 500), 592);
  assert.equal(openScrollTop(600, 2000, 500, 0), 600);
  // The divider at 1800 px: what follows it fits, so the list goes to its bottom.
  assert.equal(openScrollTop(1800, 2000, 500), 1500);
  // At the very top, or a list that does not scroll.
  assert.equal(openScrollTop(4, 2000, 500), 0);
  assert.equal(openScrollTop(100, 300, 500), 0);
});

test("the jump button says how many unread messages wait below", () => {
  assert.equal(jumpLabel(0), "Jump to the newest message");
  assert.equal(jumpLabel(3), "Jump to the newest message, 3 unread");
});
