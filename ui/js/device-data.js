// What the UI itself keeps on this device for an account, in the webview's local storage:
// drafts (drafts.js) and the last open chat (last-open.js). Removing this device's data at
// sign-out, or deleting the account, forgets them along with the engine's cache: a draft is
// message text too. Pure but for the storage, which tests pass in.

import { draftKey, forgetRead } from "./drafts.js";
import { lastOpenKey } from "./last-open.js";

/** Every key in `store` (none if it cannot be read). */
function keysOf(store) {
  const keys = [];
  try {
    for (let i = 0; i < store.length; i++) keys.push(store.key(i));
  } catch { return []; }
  return keys;
}

/** Forget everything kept for `account`; other accounts' entries stay. Returns how many went. */
export function forgetAccount(account, store = globalThis.localStorage) {
  if (!store || account == null) return 0;
  // The key prefix of this account's drafts, ending at the separator after it (1 is not 12).
  const drafts = draftKey(account, "");
  const open = lastOpenKey(account);
  const keys = keysOf(store).filter((k) => k === open || (typeof k === "string" && k.startsWith(drafts)));
  let forgotten = 0;
  for (const k of keys) {
    try { store.removeItem(k); forgotten++; } catch { /* unavailable: nothing to forget */ }
  }
  // Drafts remembered from the storage went with it.
  forgetRead(store);
  return forgotten;
}

/**
 * Entries kept before they were keyed by account (`tern.draft.<user id>.<conversation>`,
 * `tern.open.<user id>`) become `account`'s, the first account with that user id to sign in
 * here, unless it has its own already. Returns how many moved.
 */
export function adoptUnkeyed(userId, account, store = globalThis.localStorage) {
  if (!store || userId == null || account == null) return 0;
  const draft = new RegExp(`^tern\\.draft\\.${Number(userId)}\\.(\\d+)$`);
  let moved = 0;
  const move = (from, to) => {
    try {
      const v = store.getItem(from);
      if (store.getItem(to) == null && v != null) { store.setItem(to, v); moved++; }
      store.removeItem(from);
    } catch { /* unavailable: left where it was */ }
  };
  const keys = keysOf(store);
  for (const k of keys) {
    const m = typeof k === "string" && k.match(draft);
    if (m) move(k, draftKey(account, m[1]));
  }
  const open = `tern.open.${Number(userId)}`;
  if (open !== lastOpenKey(account) && keys.includes(open)) move(open, lastOpenKey(account));
  if (moved) forgetRead(store);
  return moved;
}
