// Drafts: what the user was writing in each conversation, kept when they switch chats (a
// message typed for one chat is never sent to the next one opened) and across restarts, in the
// webview's local storage, per account. A draft goes when the box is emptied or sent.

const PREFIX = "tern.draft.";

/** The storage key of a draft (an account's conversation). */
export const draftKey = (userId, conv) => `${PREFIX}${userId}.${conv}`;

/** The draft of `conv` for `userId`, or "". `store` defaults to localStorage (tests pass one). */
export function loadDraft(userId, conv, store = globalThis.localStorage) {
  if (!store || userId == null || conv == null) return "";
  try { return store.getItem(draftKey(userId, conv)) || ""; } catch { return ""; }
}

/** Keep `text` as the draft of `conv` (blank: forget it). */
export function saveDraft(userId, conv, text, store = globalThis.localStorage) {
  if (!store || userId == null || conv == null) return;
  try {
    if (text && text.trim()) store.setItem(draftKey(userId, conv), text);
    else store.removeItem(draftKey(userId, conv));
  } catch { /* storage full or unavailable: the draft lives only in the box */ }
}
