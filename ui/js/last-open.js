// The last open chat, per account: kept in the webview's local storage while a chat is open
// (forgotten when the user closes it or it goes), and opened again after start-up or sign-in
// once the list is loaded, if it is still listed and is not a message request. Pure but for
// the storage, which tests pass in (as drafts.js does).

const PREFIX = "tern.open.";

/** The storage key of an account's last open conversation (encoded as drafts.js does). */
export const lastOpenKey = (account) => `${PREFIX}${encodeURIComponent(String(account))}`;

/** The conversation `account` last had open, or null. `store` defaults to localStorage. */
export function loadLastOpen(account, store = globalThis.localStorage) {
  if (!store || account == null) return null;
  let v;
  try { v = store.getItem(lastOpenKey(account)); } catch { return null; }
  const id = v == null || v === "" ? NaN : Number(v);
  return Number.isSafeInteger(id) ? id : null;
}

/** Remember `conv` as `account`'s open conversation (null: none is open). */
export function saveLastOpen(account, conv, store = globalThis.localStorage) {
  if (!store || account == null) return;
  try {
    if (conv == null) store.removeItem(lastOpenKey(account));
    else store.setItem(lastOpenKey(account), String(conv));
  } catch { /* storage full or unavailable: nothing is restored */ }
}

/**
 * What to do about the conversation `saved` once the list `conversations` (id → entry) is
 * loaded: "open" it (listed, not a request), "wait" for a fuller list (none is listed yet: a
 * first sync may still be bringing them), or "drop" it (nothing saved, gone, or a request).
 */
export function restoreDecision(saved, conversations) {
  if (saved == null) return "drop";
  const c = conversations.get(saved);
  if (c) return c.request ? "drop" : "open";
  return conversations.size === 0 ? "wait" : "drop";
}
