// Unit tests of ui/js/search-text.js: where a search query matches a message's text (the
// engine's rules: words as prefixes, "quoted phrases" exactly, case and Latin accents ignored),
// overlapping and touching matches joined, the snippet a long text shows around its first match,
// the marked pieces a row draws, and everything a result row says.

import test from "node:test";
import assert from "node:assert/strict";
import {
  matchRanges, mergeRanges, queryTerms, snippet, segments, describeResult, SNIPPET, ELLIPSIS,
} from "../../ui/js/search-text.js";
import { resultTime } from "../../ui/js/when.js";

/** The matched parts of `text`, as strings. */
const marked = (text, query) => matchRanges(text, query).map((r) => text.slice(r.start, r.end));

test("each typed word matches as the prefix of a word, case-insensitively; only what matched is marked", () => {
  assert.deepEqual(marked("Meet me at the harbour", "harb"), ["harb"]);
  assert.deepEqual(marked("Meet me at the harbour", "HARB meet"), ["Meet", "harb"]);
  assert.deepEqual(marked("the harbour", "arb"), [], "not inside a word");
  assert.deepEqual(marked("tea, tealight and TEAPOT", "tea"), ["tea", "tea", "TEA"], "every occurrence");
  assert.deepEqual(matchRanges("the harbour", "harbours"), [], "longer than the word");
  assert.deepEqual(matchRanges("Meet me", "meet"), [{ start: 0, end: 4 }]);
});

test("a quoted phrase matches its words exactly and in a row, whatever separates them", () => {
  const text = "We meet at the station soon, at the stations later";
  assert.deepEqual(marked(text, '"at the station"'), ["at the station"], "not the prefix 'stations'");
  assert.deepEqual(marked("at  the—station", '"at the station"'), ["at  the—station"]);
  assert.deepEqual(marked(text, '"the at"'), [], "order counts");
  assert.deepEqual(marked(text, '"at the station" soon'), ["at the station", "soon"]);
  assert.deepEqual(marked(text, '"at the stat'), [], "an unclosed quote runs to the end: an exact phrase, no prefix");
  assert.deepEqual(marked("at the stat", '"at the stat'), ["at the stat"]);
});

test("a typed word with punctuation is a run of words, its last one a prefix", () => {
  assert.deepEqual(marked("send an e-mail today", "e-ma"), ["e-ma"]);
  assert.deepEqual(marked("send an e mail today", "e-mail"), ["e mail"]);
  assert.deepEqual(marked("a NEAR b", "NEAR("), ["NEAR"], "search syntax is text");
});

test("overlapping and touching matches are joined; the rest stay apart, in order", () => {
  assert.deepEqual(matchRanges("harbour", "harb harbo"), [{ start: 0, end: 5 }], "overlapping");
  assert.deepEqual(marked("New York is big", '"new york" york'), ["New York"], "one inside another");
  assert.deepEqual(marked("New York is big", 'york "new york"'), ["New York"], "whatever the order typed");
  assert.deepEqual(marked("big New York", "york new"), ["New", "York"], "a space between: two marks");
  assert.deepEqual(mergeRanges([{ start: 5, end: 8 }, { start: 0, end: 2 }, { start: 2, end: 4 }, { start: 7, end: 9 }, { start: 3, end: 3 }]),
    [{ start: 0, end: 4 }, { start: 5, end: 9 }], "touching and overlapping joined, empty dropped, sorted");
  assert.deepEqual(mergeRanges([]), []);
});

test("Unicode: accents, other scripts, combining marks, emoji and astral letters", () => {
  assert.deepEqual(marked("Un café crème", "cafe"), ["café"], "Latin accents are ignored");
  assert.deepEqual(marked("Un cafe creme", "CAFÉ"), ["cafe"]);
  assert.deepEqual(marked("Un cafe\u0301 noir", "cafe"), ["cafe\u0301"], "a combining accent stays with its letter");
  assert.deepEqual(marked("Встреча в Москве", "моск"), ["Моск"], "Cyrillic, case-insensitive");
  assert.deepEqual(marked("Ελληνικά κείμενα", "ΕΛΛ"), ["Ελλ"]);
  assert.deepEqual(marked("会议在东京举行", "会议"), ["会议"], "a run of CJK is one word: a prefix of it");
  assert.deepEqual(marked("🎉 party 🎉 time", "party time"), ["party", "time"], "emoji separate words");
  const astral = "say 𝐇𝐞𝐥𝐥𝐨 twice";
  const r = matchRanges(astral, "𝐇𝐞");
  assert.equal(astral.slice(r[0].start, r[0].end), "𝐇𝐞", "surrogate pairs are never split");
  assert.deepEqual(marked("Straße", "STRA"), ["Stra"]);
});

test("a query without words marks nothing", () => {
  for (const q of ['"', '""', '" "', "   ", "", "- ... !", null, undefined]) assert.deepEqual(matchRanges("some text here", q), [], String(q));
  assert.deepEqual(queryTerms('"'), []);
  assert.deepEqual(queryTerms("  "), []);
  assert.deepEqual(matchRanges("", "text"), []);
  assert.deepEqual(queryTerms('a "b c" d-e'), [
    { keys: ["a"], prefix: true }, { keys: ["b", "c"], prefix: false }, { keys: ["d", "e"], prefix: true },
  ]);
});

test("a short text shows whole", () => {
  const text = "meet at the harbour";
  const ranges = matchRanges(text, "harb");
  assert.deepEqual(snippet(text, ranges), { text, ranges });
  assert.deepEqual(snippet("", []), { text: "", ranges: [] });
});

test("a long text shows a part around its first match, cut at spaces, with ellipses", () => {
  const before = "word ".repeat(60);
  const text = `${before}the harbour is where we meet ${"after ".repeat(60)}`.trim();
  const cut = snippet(text, matchRanges(text, "harbour"), 80);
  assert.ok(cut.text.startsWith(ELLIPSIS) && cut.text.endsWith(ELLIPSIS), cut.text);
  assert.ok(cut.text.length <= 80 + 2, `${cut.text.length}`);
  assert.equal(cut.ranges.length, 1);
  assert.equal(cut.text.slice(cut.ranges[0].start, cut.ranges[0].end), "harbour");
  assert.ok(cut.ranges[0].start <= 1 + 24, "the match comes early: it shows on the first line");
  assert.match(cut.text, /^…word /, "starts at a word");
  assert.match(cut.text, / after…$/, "ends at a word");

  const atStart = snippet(`harbour ${"x ".repeat(100)}`, [{ start: 0, end: 7 }], 40);
  assert.ok(!atStart.text.startsWith(ELLIPSIS) && atStart.text.endsWith(ELLIPSIS));
  assert.deepEqual(atStart.ranges, [{ start: 0, end: 7 }]);

  const atEnd = `${"x ".repeat(100)}harbour`;
  const end = snippet(atEnd, matchRanges(atEnd, "harb"), 40);
  assert.ok(end.text.startsWith(ELLIPSIS) && !end.text.endsWith(ELLIPSIS), end.text);
  assert.equal(end.text.slice(end.ranges[0].start, end.ranges[0].end), "harb");
});

test("the snippet keeps the later matches that fit and cuts one at its edge", () => {
  const text = `${"a ".repeat(50)}harbour ${"b ".repeat(10)}harbour ${"c ".repeat(80)}harbour`;
  const cut = snippet(text, matchRanges(text, "harbour"), SNIPPET);
  assert.equal(cut.ranges.length, 2, "the last match is outside");
  for (const r of cut.ranges) assert.equal(cut.text.slice(r.start, r.end), "harbour");
  const long = "x".repeat(300);
  const clipped = snippet(long, [{ start: 10, end: 250 }], 50);
  assert.equal(clipped.ranges.length, 1);
  const r = clipped.ranges[0];
  assert.ok(r.end <= clipped.text.length - 1 && r.start >= 1, "cut at the part's edges");
  const none = snippet(long, [], 50);
  assert.ok(!none.text.startsWith(ELLIPSIS) && none.text.endsWith(ELLIPSIS), "no match: from the start");
  assert.deepEqual(none.ranges, []);
});

test("the snippet never splits a surrogate pair", () => {
  const text = `a${"😀".repeat(100)}`;
  const ranges = [{ start: 101, end: 103 }];
  // 11 characters before the match would start between the halves of an emoji, and so would
  // 45 characters from there.
  const cut = snippet(text, ranges, 45);
  const body = cut.text.replace(/^…|…$/g, "");
  assert.ok(!/^[\uDC00-\uDFFF]/.test(body) && !/[\uD800-\uDBFF]$/.test(body), "whole emoji at both ends");
  assert.equal(cut.text.slice(cut.ranges[0].start, cut.ranges[0].end), "😀");
});

test("segments: plain and marked pieces covering the text", () => {
  assert.deepEqual(segments("meet at the harbour", [{ start: 0, end: 4 }, { start: 12, end: 16 }]), [
    { text: "meet", mark: true }, { text: " at the ", mark: false }, { text: "harb", mark: true }, { text: "our", mark: false },
  ]);
  assert.deepEqual(segments("plain", []), [{ text: "plain", mark: false }]);
  assert.deepEqual(segments("", []), []);
  assert.deepEqual(segments("abc", [{ start: 0, end: 3 }]), [{ text: "abc", mark: true }]);
});

test("a result row: conversation title, sender, time, marked snippet and its accessible name", () => {
  const now = new Date(2024, 2, 12, 14, 3).getTime();
  const sent = new Date(2024, 2, 12, 9, 12).getTime();
  const m = { conversation_id: 7, seq: 3, sender: "bob", sender_name: "Bob B", body: "Meet at the\nharbour", sent_at: sent, mine: false };
  const r = describeResult(m, { query: "harb", title: "Weekend plans", now });
  assert.equal(r.title, "Weekend plans");
  assert.equal(r.sender, "Bob B");
  assert.deepEqual(r.time, resultTime(sent, now));
  assert.deepEqual(r.segments, [{ text: "Meet at the ", mark: false }, { text: "harb", mark: true }, { text: "our", mark: false }], "in one line");
  assert.equal(r.label, `Bob B in Weekend plans, ${resultTime(sent, now).title}: Meet at the harbour`);

  const mine = describeResult({ ...m, mine: true }, { query: "meet", title: "bob", now });
  assert.equal(mine.sender, "You");
  const unknown = describeResult({ ...m, sender_name: null }, { query: "x", title: "", now });
  assert.equal(unknown.title, "bob", "a conversation not listed: the sender's name");
  assert.equal(unknown.sender, "bob");
  assert.ok(unknown.label.startsWith("bob, "), "the name once");
  const file = describeResult({ ...m, body: "the plan", attachment: { name: "plan.pdf", content_type: "application/pdf", size: 1 } }, { query: "plan", title: "T", now });
  assert.deepEqual(file.segments.map((s) => s.text).join(""), "📎 the plan");
  assert.deepEqual(file.segments.filter((s) => s.mark).map((s) => s.text), ["plan"]);
});

test("a term in a script written without spaces is marked wherever it occurs, as the engine finds it", () => {
  assert.deepEqual(marked("我们明天去北京吧", "北京"), ["北京"]);
  assert.deepEqual(marked("東京駅で会いましょう train", "東京 tr"), ["東京", "tr"]);
  assert.deepEqual(marked("北京和北京", "北京"), ["北京", "北京"]);
  assert.deepEqual(marked("我们明天去北京吧", "上海"), []);
  assert.deepEqual(queryTerms("北京 train"), [{ contains: "北京" }, { keys: ["train"], prefix: true }]);
});
