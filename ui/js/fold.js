// Long messages are folded: a body of more than FOLD_LINES lines or FOLD_CHARS characters shows
// its first lines with a "Read more" button (message.js) that unfolds it in place. Which
// messages the user unfolded is remembered while their chat stays open (views/chat.js), so a
// row drawn again (a reaction, a receipt) keeps what the user chose. Pure (tested in node).

/** Lines past which a body is folded (the CSS shows this many: style.css `.body.folded`). */
export const FOLD_LINES = 12;
/** Characters past which a body is folded. */
export const FOLD_CHARS = 1200;

/** Whether `text` is long enough to fold. */
export function isLong(text) {
  if (!text) return false;
  if (text.length > FOLD_CHARS && Array.from(text).length > FOLD_CHARS) return true;
  let lines = 1;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) if (++lines > FOLD_LINES) return true;
  return false;
}
