// Unit tests of the composer's pure parts: the message size limit in bytes of UTF-8
// (ui/js/limits.js) and which long messages are folded (ui/js/fold.js).

import test from "node:test";
import assert from "node:assert/strict";
import { MAX_BODY_BYTES, utf8Length, composerState } from "../../ui/js/limits.js";
import { isLong, FOLD_LINES, FOLD_CHARS } from "../../ui/js/fold.js";

test("length is counted in bytes of UTF-8, as the relay counts it", () => {
  assert.equal(MAX_BODY_BYTES, 16384);
  assert.equal(utf8Length(""), 0);
  assert.equal(utf8Length("abc"), 3);
  assert.equal(utf8Length("é"), 2);
  assert.equal(utf8Length("€"), 3);
  assert.equal(utf8Length("👍"), 4);
  assert.equal(utf8Length("a\nb"), 3);
  // As TextEncoder counts it: a lone surrogate goes as U+FFFD.
  for (const t of ["\uD800", "x\uDC00y", "❤️🇫🇷", "中文"]) assert.equal(utf8Length(t), new TextEncoder().encode(t).length, t);
});

test("nothing is shown until the text passes 90% of the limit", () => {
  for (const text of ["", "hello", "x".repeat(14745)]) {
    assert.deepEqual(composerState(text), { bytes: text.length, over: false, count: "", hint: "" });
  }
});

test("past 90% the counter says what is left; at the limit the message can still be sent", () => {
  assert.equal(composerState("x".repeat(14746)).count, "1638 characters left");
  const full = composerState("x".repeat(16384));
  assert.equal(full.count, "0 characters left");
  assert.equal(composerState("x".repeat(16383)).count, "1 character left");
  assert.equal(full.over, false);
});

test("past the limit it says by how much, refuses to send and says why", () => {
  const s = composerState("x".repeat(20000));
  assert.equal(s.over, true);
  assert.equal(s.count, "3616 characters too many");
  assert.match(s.hint, /too long to send/);
  // 8192 emoji are 8192 characters but 32768 bytes: half of them must go.
  assert.equal(composerState("👍".repeat(8192)).count, "4096 characters too many");
  // Chinese takes three bytes a character: what is left counts in characters like it.
  assert.equal(composerState("中".repeat(5000)).count, "461 characters left");
  // A heart with its emoji selector, or a flag, is one character to a reader (two code
  // points, six and eight bytes): 3000 hearts are 18000 bytes, 1616 over, 270 hearts.
  assert.equal(composerState("❤️".repeat(3000)).count, "270 characters too many");
  assert.equal(composerState("🇫🇷".repeat(2100)).count, "52 characters too many");
  // Far past the limit (a pasted log): estimated from its first part, and says so.
  assert.equal(composerState("x".repeat(40000)).count, "about 23616 characters too many");
  // Mixed sizes: an estimate, and says so.
  assert.equal(composerState("x".repeat(15000) + "é".repeat(500)).count, "about 372 characters left");
  assert.equal(composerState("é".repeat(8193)).over, true);
  assert.equal(composerState("é".repeat(8192)).over, false);
});

test("a body is folded past 12 lines or 1200 characters, not at them", () => {
  assert.equal(FOLD_LINES, 12);
  assert.equal(FOLD_CHARS, 1200);
  assert.equal(isLong(""), false);
  assert.equal(isLong(undefined), false);
  assert.equal(isLong("short"), false);
  assert.equal(isLong(Array(12).fill("line").join("\n")), false);
  assert.equal(isLong(Array(13).fill("line").join("\n")), true);
  assert.equal(isLong("x".repeat(1200)), false);
  assert.equal(isLong("x".repeat(1201)), true);
  assert.equal(isLong("x".repeat(5000)), true);
  // Characters, not UTF-16 units: 1000 emoji are 2000 units but 1000 characters.
  assert.equal(isLong("👍".repeat(1000)), false);
});
