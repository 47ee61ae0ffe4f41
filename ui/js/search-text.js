// Message search, the text part (pure; tested in node): where a query matches a message's text
// (matchRanges), the part of a long text shown around the first match (snippet), that text cut
// into plain and marked pieces (segments), and everything one result row shows (describeResult).
//
// The rules are the engine's (crates/tern-client/src/cache/views.rs search_plan, over SQLite
// FTS5's unicode61 tokenizer): words are runs of letters, digits and private-use characters
// (combining accents belong to the word they follow), compared case-insensitively and with
// Latin accents ignored; each typed word matches as the prefix of a word, a `"quoted phrase"`
// matches its words exactly and in a row, and an unclosed quote runs to the end. A typed word
// holding punctuation ("e-mail") is a run of words, its last one a prefix. A term in a script
// written without spaces (Chinese, Japanese, Korean) matches wherever it occurs as typed, as the
// engine looks for it. Only what matched is marked: "harb" marks "harb" in "harbour".

import { previewText } from "./attachments.js";
import { resultTime } from "./when.js";

/** How many characters of a long message a result shows (about two lines of the sidebar). */
export const SNIPPET = 120;
/** Characters kept before the first match when a long text is cut. */
const LEAD = 24;
/** The sign for text left out. */
export const ELLIPSIS = "…";

const WORD = /[\p{L}\p{N}\p{Co}]/u;
/** Combining accents (U+0300–U+036F): part of the word they follow, ignored when comparing. */
const ACCENT = /[\u0300-\u036f]/u;
const MARK = /\p{M}/u;
const LATIN = /^\p{Script=Latin}/u;
const SPACE = /\s/u;
/** A character of a script written without spaces between words (the engine's `unspaced`). */
const UNSPACED = /[\u3040-\u30ff\u3100-\u312f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\u{20000}-\u{2fa1f}]/u;

/** One character as compared: lower case; a Latin letter without its accents; an accent: "". */
function fold(ch) {
  if (ACCENT.test(ch)) return "";
  const lower = ch.toLowerCase();
  const parts = lower.normalize("NFD");
  return LATIN.test(parts) ? parts.replace(/\p{M}/gu, "") : lower;
}

/**
 * The words of `text`: `{ start, end, key, steps }` (UTF-16 offsets; `key` the folded word;
 * `steps[i]`: after the word's i-th character, its offset `end` and the folded length `len`).
 */
export function words(text) {
  const out = [];
  let word = null;
  let i = 0;
  for (const ch of text) {
    const next = i + ch.length;
    if (WORD.test(ch) || (word && ACCENT.test(ch))) {
      if (!word) { word = { start: i, end: next, key: "", steps: [] }; out.push(word); }
      word.key += fold(ch);
      word.end = next;
      word.steps.push({ end: next, len: word.key.length });
    } else {
      word = null;
    }
    i = next;
  }
  return out;
}

/**
 * The terms of a query, as the engine reads it: `{ keys, prefix }`, the folded words of a typed
 * word (`prefix`: its last one matches as a prefix) or of a quoted phrase (all exact); or
 * `{ contains }`, a term in a script written without spaces, found as typed. Text without a
 * word ("-", an empty pair of quotes) is no term.
 */
export function queryTerms(query) {
  const terms = [];
  const add = (text, prefix) => {
    if (UNSPACED.test(text)) { terms.push({ contains: text }); return; }
    const keys = words(text).map((w) => w.key);
    if (keys.length) terms.push({ keys, prefix });
  };
  String(query ?? "").split('"').forEach((piece, i) => {
    if (i % 2 === 1) {
      const phrase = piece.split(/\s+/u).filter(Boolean).join(" ");
      if (phrase) add(phrase, false);
      return;
    }
    for (const typed of piece.split(/\s+/u)) if (typed) add(typed, true);
  });
  return terms;
}

/** Sort `ranges` ({ start, end }) and join those that overlap or touch. */
export function mergeRanges(ranges) {
  const sorted = ranges.filter((r) => r.end > r.start).map((r) => ({ start: r.start, end: r.end }))
    .sort((a, b) => a.start - b.start || a.end - b.end);
  const out = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push(r);
  }
  return out;
}

/** Where in `word` a folded prefix of `len` characters ends (a whole character at least). */
function prefixEnd(word, len) {
  const step = word.steps.find((s) => s.len >= len);
  return step ? step.end : word.end;
}

/** `end` moved past the combining marks that follow it (a mark stays with its letter). */
function pastMarks(text, end) {
  while (end < text.length && MARK.test(String.fromCodePoint(text.codePointAt(end)))) end += text.codePointAt(end) > 0xffff ? 2 : 1;
  return end;
}

/**
 * Where the query matches `text`: sorted, disjoint `{ start, end }` UTF-16 offsets, overlapping
 * and touching matches joined; [] when the query has no term or nothing matches.
 */
export function matchRanges(text, query) {
  const terms = queryTerms(query);
  text = String(text ?? "");
  if (!terms.length || !text) return [];
  const ws = words(text);
  const found = [];
  for (const { keys, prefix, contains } of terms) {
    if (contains) {
      for (let at = text.indexOf(contains); at >= 0; at = text.indexOf(contains, at + contains.length)) {
        found.push({ start: at, end: at + contains.length });
      }
      continue;
    }
    const n = keys.length;
    for (let i = 0; i + n <= ws.length; i++) {
      let ok = true;
      for (let j = 0; j < n && ok; j++) {
        const w = ws[i + j].key, k = keys[j];
        ok = prefix && j === n - 1 ? w.startsWith(k) : w === k;
      }
      if (!ok) continue;
      const last = ws[i + n - 1];
      const end = prefix ? prefixEnd(last, keys[n - 1].length) : last.end;
      found.push({ start: ws[i].start, end: pastMarks(text, end) });
    }
  }
  return mergeRanges(found);
}

/** Whether offset `i` of `text` falls inside a surrogate pair (between its halves). */
const splitsPair = (text, i) => i > 0 && i < text.length && /[\uDC00-\uDFFF]/.test(text[i]) && /[\uD800-\uDBFF]/.test(text[i - 1]);

/**
 * What a result shows of `text`: all of it when it fits in `width` characters; otherwise a part
 * about `width` long starting a little before the first match (at a word's start when one is
 * near), ending at a space when it can, with "…" where text was left out. `ranges` (from
 * matchRanges) are moved to the part shown, cut at its edges. Returns `{ text, ranges }`.
 */
export function snippet(text, ranges, width = SNIPPET) {
  text = String(text ?? "");
  ranges = ranges || [];
  if (text.length <= width) return { text, ranges: ranges.map((r) => ({ start: r.start, end: r.end })) };
  const first = ranges.find((r) => r.end > r.start && r.start < text.length);
  let start = 0;
  if (first) {
    start = Math.max(0, first.start - Math.min(LEAD, Math.floor(width / 4)));
    // Start at a word: after the first space between here and the match, if there is one.
    if (start > 0) {
      for (let i = start; i < first.start; i++) {
        if (SPACE.test(text[i])) { start = i; break; }
      }
    }
    while (start < first.start && SPACE.test(text[start])) start++;
    while (start > 0 && (splitsPair(text, start) || MARK.test(text[start]))) start--;
  }
  let end = Math.min(text.length, start + width);
  if (end < text.length) {
    // End at a space in the part's second half (not inside the first match).
    const floor = Math.max(start + Math.floor(width / 2), first ? first.end : 0);
    for (let i = end; i > floor; i--) {
      if (SPACE.test(text[i])) { end = i; break; }
    }
    if (splitsPair(text, end)) end--;
    end = pastMarks(text, end);
    while (end > start && SPACE.test(text[end - 1])) end--;
  }
  const before = start > 0 ? ELLIPSIS : "";
  const after = end < text.length ? ELLIPSIS : "";
  const shift = before.length - start;
  const shown = [];
  for (const r of ranges) {
    const s = Math.max(r.start, start), e = Math.min(r.end, end);
    if (e > s) shown.push({ start: s + shift, end: e + shift });
  }
  return { text: before + text.slice(start, end) + after, ranges: shown };
}

/** `text` in pieces `{ text, mark }`, marked where `ranges` say (empty pieces left out). */
export function segments(text, ranges) {
  const out = [];
  let at = 0;
  for (const r of ranges || []) {
    const s = Math.max(at, r.start), e = Math.min(text.length, r.end);
    if (e <= s) continue;
    if (s > at) out.push({ text: text.slice(at, s), mark: false });
    out.push({ text: text.slice(s, e), mark: true });
    at = e;
  }
  if (at < text.length) out.push({ text: text.slice(at), mark: false });
  return out;
}

/**
 * What one result row shows for message `m` found by `query` at `now`: `title` (its
 * conversation's `title` when known, else the sender's name), `sender` ("You" for the user's
 * own), `time` ({ text, title, iso }: when.js resultTime), `segments` of its snippet (the text
 * in one line, matches marked) and `label`, the row's accessible name.
 */
export function describeResult(m, { query, title, now }) {
  const name = m.sender_name || m.sender || "";
  const sender = m.mine ? "You" : name;
  const line = previewText(m);
  const cut = snippet(line, matchRanges(line, query));
  const time = resultTime(m.sent_at, now);
  const where = title || name;
  const label = `${sender}${where && where !== sender ? ` in ${where}` : ""}, ${time.title}: ${cut.text}`;
  return { title: where, sender, time, segments: segments(cut.text, cut.ranges), label };
}
