// People and their names, as the dialogs show them: which results of `find_people` come first
// for what is typed in the new chat dialog, how a person or a group member is labelled, where the
// highlight moves, and the user's own display name. Pure: no DOM, no shell (tested in node).

/** Most people offered at once. */
export const MAX_PEOPLE = 20;

/** What to look up for the text typed: trimmed, without a leading `@`. */
export const peopleQuery = (text) => text.trim().replace(/^@/, "").trim();

/** A display name worth showing: set and not blank, trimmed; else "". */
export const displayName = (p) => (p && typeof p.display_name === "string" ? p.display_name.trim() : "");

/** How a person is shown: their display name ("" when none) and `@username`. */
export const personLabel = (p) => ({ name: displayName(p), handle: `@${p.username}` });

/** How well `p` matches `q` (lowercase): lower is better. */
function score(p, q) {
  const user = p.username.toLowerCase();
  const name = displayName(p).toLowerCase();
  if (user === q) return 0;
  if (user.startsWith(q)) return 1;
  if (name.startsWith(q)) return 2;
  if (name.split(/\s+/).some((w) => w.startsWith(q))) return 3;
  if (name.includes(q)) return 4;
  return 5;
}

/**
 * The people to offer for `query`: the exact username first, then usernames starting with it,
 * then display names starting with it (or a word of them), then containing it; alphabetical
 * within each. The user `me` and repeats are left out; at most MAX_PEOPLE.
 */
export function rankPeople(people, query, me) {
  const q = peopleQuery(query).toLowerCase();
  const unique = new Map();
  for (const p of people) if (p && p.user_id !== me && !unique.has(p.user_id)) unique.set(p.user_id, p);
  const label = (p) => (displayName(p) || p.username).toLowerCase();
  return [...unique.values()]
    .map((p) => ({ p, s: score(p, q) }))
    .sort((a, b) => a.s - b.s || label(a.p).localeCompare(label(b.p)) || a.p.username.localeCompare(b.p.username))
    .slice(0, MAX_PEOPLE)
    .map((x) => x.p);
}

/**
 * Where the highlight goes in a list of `n` after `key` from `active` (-1: none): the arrows
 * move and wrap around, anything else leaves it.
 */
export function moveActive(active, key, n) {
  if (!n) return -1;
  if (key === "ArrowDown") return active < 0 ? 0 : (active + 1) % n;
  if (key === "ArrowUp") return active < 0 ? n - 1 : (active - 1 + n) % n;
  return active;
}

/**
 * A group member's row: `main` starts with the username (with ` (admin)` for an admin), `name`
 * is their display name ("" when none or the same as the username).
 */
export function memberLabel(m) {
  const name = displayName(m);
  return { main: m.username + (m.role === "admin" ? " (admin)" : ""), name: name === m.username ? "" : name };
}

/** The user's own display name, from their member entry in any of `conversations`; else "". */
export function myDisplayName(conversations, me) {
  for (const c of conversations) {
    const self = c && c.members && c.members.find((m) => m.user_id === me);
    const name = displayName(self);
    if (name) return name;
  }
  return "";
}
