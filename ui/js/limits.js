// The engine's limit on what one message may say, as the composer shows it: the relay refuses
// a body over its limit (16384 bytes of UTF-8 unless its operator set another, which its welcome
// says: composer.js passes it in) with `message_too_long`, for good, so the composer counts bytes
// (not characters: "é" is two, most emoji four) and refuses to send past the limit instead of
// letting the message fail. The counter appears past 90% of the limit. Pure (tested in node).

/** Most bytes of UTF-8 a message body may have (the relay's limit). */
export const MAX_BODY_BYTES = 16384;

/** Share of the limit past which the composer shows what is left. */
export const COUNT_FROM = 0.9;

const encoder = new TextEncoder();

/** Length of `text` in bytes of UTF-8. */
export const utf8Length = (text) => encoder.encode(text).length;

/**
 * What the composer shows for `text`: `bytes` (its size), `over` (past the limit: it cannot be
 * sent), `count` (the counter's text, "" while under 90% of the limit: "1234 left", or
 * "over by 56"), `hint` (why sending is refused, "" when it is not).
 */
export function composerState(text, max = MAX_BODY_BYTES) {
  const bytes = utf8Length(text);
  const over = bytes > max;
  const count = over ? `over by ${bytes - max}` : bytes > max * COUNT_FROM ? `${max - bytes} left` : "";
  const hint = over ? "This message is too long to send. Shorten it, or send it as a file." : "";
  return { bytes, over, count, hint };
}
