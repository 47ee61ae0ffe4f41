// Pinned chats (pure; tested in node): up to five conversations the user keeps at the top of the
// list, in the order pinned (the latest first), above the rest ordered by activity. The shell
// pins and unpins one chat at a time (`set_pin`), for the account on all its devices; the
// order follows when each was pinned. Message requests are never pinned.

/** How many chats can be pinned, as Telegram allows. */
export const MAX_PINNED = 5;

/**
 * The pins after pinning (`pin`) or unpinning conversation `id`, dropping pins of conversations
 * no longer in the list (`present`: anything with `has(id)`, the list's ids, requests not
 * among them); null when pinning would pass MAX_PINNED. A conversation not in the list is not
 * pinned.
 */
export function repin(pinned, id, pin, present) {
  const kept = pinned.filter((p) => p !== id && present.has(p));
  if (!pin || !present.has(id)) return kept;
  if (kept.length >= MAX_PINNED) return null;
  return [id, ...kept];
}

/** `list` (conversations, most recent first) with the pinned ones first, in pin order. */
export function pinnedFirst(list, pinned) {
  if (!pinned.length) return list;
  const byId = new Map(list.map((c) => [c.conversation_id, c]));
  const top = pinned.map((id) => byId.get(id)).filter(Boolean);
  const set = new Set(top);
  return [...top, ...list.filter((c) => !set.has(c))];
}
