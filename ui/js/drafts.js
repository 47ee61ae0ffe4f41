// Drafts: what the user was writing in each conversation, kept when they switch chats (a
// message typed for one chat is never sent to the next one opened) and across restarts, in the
// webview's local storage, per account (its relay and user id: the same id on two relays is two
// accounts). A draft goes when the box is emptied or sent. The
// conversation list shows each other chat's draft in place of its last message ("Draft: …",
// draftLine), so it asks for every row's draft whenever it redraws: what was read or written
// here is remembered per storage, and the storage is read once per key.

const PREFIX = "tern.draft.";

/**
 * The storage key of a draft (an account's conversation). The account is encoded, so no
 * account's keys begin with another's (`/` cannot appear in it).
 */
export const draftKey = (account, conv) => `${PREFIX}${encodeURIComponent(String(account))}/${conv}`;

/** What each storage holds under the keys read or written here. */
const known = new WeakMap();
function memo(store) {
  let m = known.get(store);
  if (!m) { m = new Map(); known.set(store, m); }
  return m;
}

/** The draft of `conv` for `account`, or "". `store` defaults to localStorage (tests pass one). */
export function loadDraft(account, conv, store = globalThis.localStorage) {
  if (!store || account == null || conv == null) return "";
  const key = draftKey(account, conv), m = memo(store);
  if (m.has(key)) return m.get(key);
  let text = "";
  try { text = store.getItem(key) || ""; } catch { /* unavailable: no draft */ }
  m.set(key, text);
  return text;
}

/** Keep `text` as the draft of `conv` (blank: forget it). */
export function saveDraft(account, conv, text, store = globalThis.localStorage) {
  if (!store || account == null || conv == null) return;
  const key = draftKey(account, conv);
  const kept = text && text.trim() ? text : "";
  memo(store).set(key, kept);
  try {
    if (kept) store.setItem(key, kept);
    else store.removeItem(key);
  } catch { /* storage full or unavailable: the draft lives only in the box */ }
}

/** Forget what was read from `store` (its entries were removed other than by saveDraft). */
export function forgetRead(store = globalThis.localStorage) {
  if (store) known.delete(store);
}

/** A draft as one line for the conversation list: blanks collapsed, at most `max` characters. */
export function draftLine(text, max = 120) {
  const line = text.replace(/\s+/g, " ").trim();
  // Cut by code points, so an emoji is never split in half.
  const points = Array.from(line);
  return points.length > max ? `${points.slice(0, max - 1).join("")}…` : line;
}
