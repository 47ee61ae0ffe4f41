// Group notices: lines the relay writes into a group's history when something happens to the
// group ("alice added bob and carol", "bob left", "alice renamed the group to “Team 2”"). A
// notice is a chat message with a `notice` field `{ action, users, name }`; its sender did it,
// and its `body` (the notice as JSON) is never shown. Notices are not messages anyone wrote:
// they are drawn as a centred line of their own (views/message.js), offer no actions, never
// count as unread and break a run of messages for the avatars. An entry of a kind this version
// does not know (from a newer relay; `unsupported`) is drawn the same way, saying so. Pure: no
// DOM, no shell (tested in node).

import { displayName } from "./people.js";

/** Whether message `m` is a line of its own: a group notice, or an entry this version cannot show. */
export const isNotice = (m) => !!(m && (m.notice || m.unsupported));

/** What an entry of a kind this version does not know says. */
export const UNSUPPORTED = "This message needs a newer version of Tern";

/** What the current user is called in a sentence (its start: "You"). */
const YOU = "You";

/**
 * How the people of conversation `c` are named in notices, as `nameOf(userId, username)`:
 * "You" for the user `me`, else the member's display name, else their username; someone no
 * longer a member keeps the `username` the notice gives.
 */
export function namesIn(c, me) {
  const members = new Map(((c && c.members) || []).map((m) => [m.user_id, m]));
  return (userId, username) => {
    if (me != null && userId === me) return YOU;
    const m = members.get(userId);
    return (m && (displayName(m) || m.username)) || username || "someone";
  };
}

/** "Bob", "Bob and Carol", "Bob, Carol and Dave". */
export function listNames(names) {
  if (names.length <= 1) return names.join("");
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

/**
 * The sentence notice `m` stands for, in English: "Alice added Bob and Carol", "You created the
 * group “Team”", "Alice removed you", "Carol left", "Alice renamed the group to “Team 2”",
 * "Alice changed the group's picture", "Alice removed the group's picture"; "The group changed"
 * for an action this version does not know. `nameOf(userId, username)` names a person ("You"
 * for the current user: namesIn); `me`, when given, is the current user's id (otherwise a
 * person named "You" is taken to be them). The sender did it; someone it happened to is "you"
 * inside the sentence.
 */
export function noticeText(m, nameOf = (_id, username) => username, me) {
  if (m && m.unsupported) return UNSUPPORTED;
  const n = (m && m.notice) || {};
  const self = (id, name) => (me != null ? id === me : name === YOU);
  const actorName = nameOf(m.sender_id, m.sender_name || m.sender);
  const actor = m.mine || self(m.sender_id, actorName) ? YOU : (actorName || "Someone");
  const users = (Array.isArray(n.users) ? n.users : []).map((u) => {
    const name = nameOf(u.user_id, u.username);
    return self(u.user_id, name) ? "you" : (name || "someone");
  });
  const who = users.length ? listNames(users) : "someone";
  const named = typeof n.name === "string" && n.name.trim() ? `“${n.name}”` : "";
  switch (n.action) {
    case "created": return named ? `${actor} created the group ${named}` : `${actor} created the group`;
    case "added": return `${actor} added ${who}`;
    case "removed": return `${actor} removed ${who}`;
    case "left": return `${actor} left`;
    case "renamed": return named ? `${actor} renamed the group to ${named}` : `${actor} renamed the group`;
    case "picture_changed": return `${actor} changed the group's picture`;
    case "picture_removed": return `${actor} removed the group's picture`;
    default: return "The group changed";
  }
}
