// What the UI itself keeps on this device for an account, in the webview's local storage:
// drafts (drafts.js) and the last open chat (last-open.js). Removing this device's data at
// sign-out, or deleting the account, forgets them along with the engine's cache: a draft is
// message text too. Pure but for the storage, which tests pass in.

import { draftKey, forgetRead } from "./drafts.js";
import { lastOpenKey } from "./last-open.js";

/** Forget everything kept for `userId`; other accounts' entries stay. Returns how many went. */
export function forgetAccount(userId, store = globalThis.localStorage) {
  if (!store || userId == null) return 0;
  // The key prefix of this account's drafts, ending at the dot after its id (1 is not 12).
  const drafts = draftKey(userId, "");
  const open = lastOpenKey(userId);
  let keys = [];
  try {
    for (let i = 0; i < store.length; i++) keys.push(store.key(i));
  } catch { return 0; }
  keys = keys.filter((k) => k === open || (typeof k === "string" && k.startsWith(drafts)));
  let forgotten = 0;
  for (const k of keys) {
    try { store.removeItem(k); forgotten++; } catch { /* unavailable: nothing to forget */ }
  }
  // Drafts remembered from the storage went with it.
  forgetRead(store);
  return forgotten;
}
