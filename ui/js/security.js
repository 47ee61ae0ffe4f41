// Privacy and account security, the pure parts: who is blocked (and the block list changed
// here before the relay's `privacy` event confirms it), what stands in for the composer of a
// chat (a message request's bar, a blocked person's bar), the texts those bars and the block
// confirmation show, how a signed-in device reads, and the new password's checks and errors.
// No DOM, no shell (tested in node).

import { displayName } from "./people.js";
import { otherMember } from "./store.js";
import { errorText } from "./errors.js";

/** Fewest characters a password may have, as the relay checks it. */
export const MIN_PASSWORD = 8;

/** How a person (a member, a blocked user) is named: their display name, else username. */
export const nameOf = (p) => displayName(p) || p.username;

/** Whether the user blocked `userId`. */
export const isBlocked = (privacy, userId) => privacy.blocked.some((p) => p.user_id === userId);

/** The block list with `person` in it (blocked here; the `privacy` event will confirm it). */
export function withBlocked(privacy, person) {
  if (isBlocked(privacy, person.user_id)) return privacy;
  const entry = { user_id: person.user_id, username: person.username };
  if (displayName(person)) entry.display_name = person.display_name;
  return { ...privacy, blocked: [...privacy.blocked, entry] };
}

/** The block list without `username` (unblocked here). */
export function withoutBlocked(privacy, username) {
  const blocked = privacy.blocked.filter((p) => p.username !== username);
  return blocked.length === privacy.blocked.length ? privacy : { ...privacy, blocked };
}

/**
 * What the open chat `c` shows under its messages: `{ bar: "blocked", who }` when the other
 * member of a direct chat is blocked, `{ bar: "request" }` for a message request, else
 * `{ bar: "composer" }` (also when the entry is not known yet).
 */
export function chatBar(c, privacy, me) {
  if (!c) return { bar: "composer" };
  const who = otherMember(c, me);
  if (who && isBlocked(privacy, who.user_id)) return { bar: "blocked", who };
  if (c.request) return { bar: "request", who };
  return { bar: "composer", who };
}

const UNTIL_ACCEPTED = "Until you accept, they can't see when you're online or that you read their messages.";

/** What the bar of message request `c` says. */
export const requestText = (c) =>
  c.kind === "group"
    ? `${c.title}: you were added by someone you haven't talked to. ${UNTIL_ACCEPTED}`
    : `${c.title} wants to message you. ${UNTIL_ACCEPTED}`;

/** The question before blocking `name`. */
export const blockPrompt = (name) =>
  `Block ${name}? They won't be able to message you or see when you're online. They won't be told.`;

/** What a chat with a blocked person says instead of the composer. */
export const blockedText = (name) => `You blocked ${name}.`;

/**
 * How a signed-in device reads: `title` (its name), `current` (this device), `detail` ("signed
 * in <date> · last seen <date or never>"). `date(ms)` formats a timestamp.
 */
export function sessionLine(s, date) {
  const seen = s.last_seen_at == null ? "never" : date(s.last_seen_at);
  return {
    title: (s.device_name || "").trim() || "Unnamed device",
    current: !!s.current,
    detail: `signed in ${date(s.created_at)} · last seen ${seen}`,
  };
}

/** What is wrong with a new password before asking the relay, or "" when nothing is. */
export function passwordProblem(oldPassword, newPassword, again) {
  if (Array.from(newPassword).length < MIN_PASSWORD) return `The new password needs at least ${MIN_PASSWORD} characters.`;
  if (newPassword !== again) return "The new passwords don't match.";
  if (!oldPassword) return "Enter your current password.";
  return "";
}

/** What a failed `change_password` says (the shell's `{ code, message }`). */
export function passwordErrorText(e) {
  switch (e && e.code) {
    case "invalid_credentials": return "The current password is wrong.";
    case "too_many_attempts": return "Too many attempts; wait a minute and try again.";
    case "bad_request": return `The new password needs at least ${MIN_PASSWORD} characters.`;
    default: return errorText(e);
  }
}

/** What a refused account deletion says to the user. */
export function deleteErrorText(e) {
  switch (e && e.code) {
    case "invalid_credentials": return "The password is wrong.";
    case "too_many_attempts": return "Too many attempts; wait a minute and try again.";
    default: return errorText(e);
  }
}
