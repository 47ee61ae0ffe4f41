// The engine's limit on what one message may say, as the composer shows it: the relay refuses
// a body over its limit (16384 bytes of UTF-8 unless its operator set another, which its welcome
// says: composer.js passes it in) with `message_too_long`, for good, so the composer measures
// bytes (not characters: "é" is two, most emoji four) and refuses to send past the limit instead
// of letting the message fail. What it shows is in characters, as people count: how many more
// of the kind being written fit ("about" when the text mixes characters of different sizes).
// The counter appears past 90% of the limit. Pure (tested in node).

/** Most bytes of UTF-8 a message body may have (the relay's limit). */
export const MAX_BODY_BYTES = 16384;

/** Share of the limit past which the composer shows what is left. */
export const COUNT_FROM = 0.9;

/** Bytes of UTF-8 of one code point (a lone surrogate is sent as U+FFFD: three). */
const cpBytes = (cp) => (cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4);

/** Length of `text` in bytes of UTF-8, counted by code point without encoding it. */
export function utf8Length(text) {
  let bytes = 0;
  for (const c of text) bytes += cpBytes(c.codePointAt(0));
  return bytes;
}

const graphemes = typeof Intl !== "undefined" && Intl.Segmenter ? new Intl.Segmenter(undefined, { granularity: "grapheme" }) : null;

/**
 * `text`'s characters as a reader counts them (grapheme clusters: "❤️", a flag or a family
 * emoji is one, though several code points), and whether every one takes as many bytes.
 */
function characterSizes(text) {
  let chars = 0, lo = Infinity, hi = 0;
  const parts = graphemes ? Array.from(graphemes.segment(text), (s) => s.segment) : Array.from(text);
  for (const part of parts) {
    const n = utf8Length(part);
    chars += 1;
    if (n < lo) lo = n;
    if (n > hi) hi = n;
  }
  return { chars, uniform: chars === 0 || lo === hi };
}

const characters = (n) => `${n} character${n === 1 ? "" : "s"}`;

/**
 * What the composer shows for `text`: `bytes` (its size), `over` (past the limit: it cannot be
 * sent), `count` (the counter's text, "" while under 90% of the limit: "1234 characters left",
 * "808 characters too many", with "about" before the number when the text mixes characters of
 * different sizes), `hint` (why sending is refused, "" when it is not).
 */
export function composerState(text, max = MAX_BODY_BYTES) {
  const bytes = utf8Length(text);
  const over = bytes > max;
  let count = "";
  if (over || bytes > max * COUNT_FROM) {
    // Only near the limit: segmenting costs more than counting bytes. Far past it (a pasted
    // log), an estimate from its first part.
    const far = bytes > 2 * max;
    const sample = far ? Array.from(text.slice(0, 2 * max)).slice(0, -1).join("") : text;
    const measured = characterSizes(sample);
    const chars = far ? (measured.chars * bytes) / Math.max(1, utf8Length(sample)) : measured.chars;
    const uniform = measured.uniform && !far;
    const perChar = chars ? bytes / chars : 1;
    const about = uniform ? "" : "about ";
    count = over
      ? `${about}${characters(Math.ceil((bytes - max) / perChar))} too many`
      : `${about}${characters(Math.floor((max - bytes) / perChar))} left`;
  }
  const hint = over ? "This message is too long to send. Shorten it, or send it as a file." : "";
  return { bytes, over, count, hint };
}
