// What went wrong, in plain words: every error the user sees goes through here. The shell's
// command errors are `{ code, message }` (src-tauri/src/error.rs: a relay error code, or one of
// the shell's own: offline, unreachable, timeout, no_keychain, not_signed_in, invalid…); the
// engine's reasons (a failed message's, a refused edit's, why the connection dropped or the
// device was signed out) are free text, often ending in the relay's code as "… (code)". Raw
// technical text (URLs, library errors, codes in brackets) never reaches the screen: an
// unknown code reads "Something went wrong. Try again." Pure: no DOM, no shell (tested in node).

/** The generic sentence for anything unexpected. */
export const SOMETHING_WRONG = "Something went wrong. Try again.";

/** Signed out (the relay no longer accepts this device's session). */
export const SIGNED_OUT = "You were signed out. Sign in again.";

const OFFLINE = "You're offline.";
const OFFLINE_QUEUED = "You're offline. It will be sent when you're back online.";
const UNREACHABLE = "Can't reach the relay. Check the address and your connection.";
/** `not_found` for a request that named people (errorText's `person`). */
const NO_SUCH_PERSON = "No such user.";

/** One plain sentence per code. `null`: the code's own message is shown (see errorText). */
const TEXTS = {
  offline: OFFLINE,
  unreachable: UNREACHABLE,
  timeout: "The relay took too long to answer. Try again.",
  username_taken: "That username is taken.",
  invalid_credentials: "Wrong username or password.",
  too_many_attempts: "Too many attempts. Wait a minute and try again.",
  rate_limited: "You're doing that too often. Wait a moment and try again.",
  registration_closed: "This relay isn't accepting new accounts.",
  invalid_invite: "That invite isn't valid.",
  // What was not found depends on the request: callers that look up people say so (`person`).
  not_found: "That no longer exists.",
  not_member: "You're not a member of this conversation any more.",
  forbidden: "You're not allowed to do that.",
  group_too_large: "The group can't have that many members.",
  message_too_long: "The message is too long to send. Shorten it, or send it as a file.",
  frame_too_large: "That is too large to send.",
  session_limit: "Too many devices are signed in to this account. Sign one out first (Privacy → Signed-in devices on another device).",
  token_revoked: SIGNED_OUT,
  token_expired: SIGNED_OUT,
  invalid_token: SIGNED_OUT,
  unauthorized: SIGNED_OUT,
  not_signed_in: SIGNED_OUT,
  account_changed: "That was for the account you signed out of, so it wasn't done.",
  invalid_relay: "That relay address isn't valid. Type it like relay.example.org.",
  insecure_relay: "That relay is reached over plain http://, which is not encrypted. Use an https:// relay, or tick “Allow unencrypted connection” if you trust the network.",
  busy: "The relay is busy. Try again in a moment.",
  shutting_down: "The relay is restarting. Try again in a moment.",
  internal: SOMETHING_WRONG,
  bad_request: "The relay refused that request.",
  unsupported_version: "This version of Tern can't talk to this relay. Update Tern.",
  message_deleted: "That message was deleted.",
  edit_window_closed: "It's too late to change that message.",
  attachment_too_large: "That file is too large to send.",
  body_too_large: "That file is too large to send.",
  quota_exceeded: "There's no room left on the relay for your files.",
  unsupported_media_type: "The relay doesn't accept that kind of file.",
  hash_mismatch: "The file arrived damaged. Try again.",
  offset_mismatch: "The transfer got out of step. Try again.",
  superseded: "That setting was changed later on another device, so that change holds.",
  // An earlier message of this chat has to reach the relay first; the app sends it again.
  out_of_order: "An earlier message has to be sent first. Try again in a moment.",
  // The relay could not read what this app sent, or does not know the request: one of the
  // two is older than the other.
  bad_frame: "The relay couldn't read what this version of Tern sent. Updating Tern may help.",
  unknown_type: "The relay doesn't know that request: it may be older than this version of Tern.",
  // A code newer than this app (the engine reads it as "unknown").
  unknown: "The relay refused that in a way this version of Tern doesn't know. Updating Tern may help.",
  settings: "Couldn't save the settings.",
  left_behind: "Your account is deleted, but some of its messages or files could not be removed from this device (a file may be open in another program). Close it, then remove Tern's data folder.",
  bad_link: "That link can't be opened.",
  // The shell's message says how to fix it (install or unlock a keychain).
  no_keychain: null,
  // The engine's own words for a refused input ("a message cannot be empty").
  invalid: null,
};

/** Codes whose text the shell wrote for the user: shown as a sentence. */
const OWN_WORDS = new Set(["no_keychain", "invalid"]);

/** `text` as a sentence: capital first letter, a full stop at the end. */
export function sentence(text) {
  const t = String(text).trim();
  if (!t) return "";
  const first = t[0].toUpperCase() + t.slice(1);
  return /[.!?…)"”]$/.test(first) ? first : `${first}.`;
}

/** The relay code a free-text reason ends with ("message too long (message_too_long)"), or null. */
export function codeIn(reason) {
  const m = /\(([a-z_]+)\)\s*$/.exec(String(reason || ""));
  return m && Object.prototype.hasOwnProperty.call(TEXTS, m[1]) ? m[1] : null;
}

/** The code of a thrown value: the shell's `{ code }`, else one found in its text, else null. */
export function codeOf(e) {
  if (e && typeof e === "object" && typeof e.code === "string" && e.code) return e.code;
  const text = e && typeof e === "object" ? e.message : e;
  return codeIn(text) || guessCode(text);
}

/** What a reason without a code is about, from the engine's phrasing (or null). */
function guessCode(text) {
  const t = String(text || "").toLowerCase();
  if (!t) return null;
  if (/error sending request|cannot reach the relay|connection refused|dns error|failed to lookup|no route to host|network is unreachable/.test(t)) return "unreachable";
  if (/did not answer in time|timed out|no answer from the relay|sent no welcome/.test(t)) return "timeout";
  if (/not connected to the relay/.test(t)) return "offline";
  if (/session was revoked|session expired|session has expired|not logged in/.test(t)) return "token_revoked";
  return null;
}

/**
 * The plain sentence for an error from a shell command (`{ code, message }`), an engine
 * reason, or anything thrown. `queued`: the action is kept and done later (a message sent
 * while offline), which the offline sentence then says. `person`: the request named people (a
 * new chat or group, adding or removing members, unblocking), so `not_found` means no such user
 * (elsewhere it is the message or conversation that went).
 */
export function errorText(e, { queued = false, person = false } = {}) {
  if (e === undefined || e === null || e === "") return SOMETHING_WRONG;
  const code = codeOf(e);
  if (code === "offline") return queued ? OFFLINE_QUEUED : OFFLINE;
  if (code === "not_found" && person) return NO_SUCH_PERSON;
  if (code === "invalid_relay") return invalidRelayText(e);
  if (code && OWN_WORDS.has(code)) {
    const own = e && typeof e === "object" ? e.message : null;
    return own ? sentence(own) : SOMETHING_WRONG;
  }
  if (code && TEXTS[code]) return TEXTS[code];
  return SOMETHING_WRONG;
}

/** An unusable relay address, with what is wrong with it when the shell says (`…: reason`). */
function invalidRelayText(e) {
  const msg = e && typeof e === "object" ? String(e.message || "") : "";
  const m = /^invalid relay address .*?: (.+)$/.exec(msg);
  if (!m) return TEXTS.invalid_relay;
  const why = sentence(m[1]);
  return `That relay address can't be used: ${why[0].toLowerCase()}${why.slice(1)}`;
}

// ---------- the engine's reasons ----------

/** Codes a message was refused for whose resending can never succeed as it is. */
const NOT_RETRYABLE = new Set([
  "message_too_long", "frame_too_large", "bad_request", "body_too_large", "attachment_too_large",
  "edit_window_closed", "message_deleted",
  // A relay and an app that do not understand each other: sending again changes nothing.
  "bad_frame", "unknown_type", "unknown", "unsupported_version",
]);

/** Where a code means something else for a message than for a command. */
const FAILED_TEXTS = {
  not_found: "This conversation no longer exists.",
  forbidden: "You're not allowed to write here.",
};

/**
 * What a failed message (status `failed`, the engine's `reason`) shows, and which of its
 * buttons help: `retry` (may succeed later), `edit` (its text can be put back in the composer).
 */
export function failureOf(reason, { text = true } = {}) {
  const code = codeOf(reason);
  const retry = !NOT_RETRYABLE.has(code);
  const why = FAILED_TEXTS[code] || (code ? errorText({ code, message: reason }) : plainReason(reason));
  return { code, text: `Not sent. ${why}`, retry, edit: text };
}

/** A reason the engine wrote (no code found): shown only if it reads as plain words. */
function plainReason(reason) {
  const r = String(reason || "").trim();
  if (!r) return SOMETHING_WRONG;
  // Short lowercase words without paths, URLs, brackets or colons: the engine's own sentence.
  if (r.length <= 80 && /^[a-z][a-z ,'’-]*$/i.test(r)) return sentence(r);
  return SOMETHING_WRONG;
}

/** Why the connection dropped, in words (the offline banner's reason). */
export function offlineReason(reason) {
  const t = String(reason || "").toLowerCase();
  const code = codeIn(t);
  if (code === "busy" || code === "shutting_down" || /http 50[23]|restarting|\(1012\)|\(1013\)/.test(t)) return "The relay is busy or restarting.";
  if (/no answer from the relay|timed out|sent no welcome/.test(t)) return "The relay isn't answering.";
  if (/closed by the relay|relay closed the connection|connection lost|closed before welcome|write failed|unexpected first frame/.test(t)) return "The connection to the relay was lost.";
  if (/local failure/.test(t)) return "Something went wrong on this device.";
  // The relay refused the connection with a code of its own (a version it does not speak,
  // too many attempts): its sentence, not "can't reach".
  if (code && TEXTS[code] && !["offline", "unreachable", "timeout"].includes(code)) return TEXTS[code];
  return UNREACHABLE;
}

/** The offline banner's text: the countdown to the next attempt, then why. */
export const offlineText = (reason) => `Offline. ${offlineReason(reason)}`;

/** The banner's countdown to the next attempt (apart from the text: it changes each second). */
export const retryText = (seconds) => `Reconnecting in ${seconds} s.`;

/** The banner's text when the relay no longer accepts this device ("signed out" said once). */
export function signedOutText(reason) {
  const t = String(reason || "").toLowerCase().replace(/^(\s*signed out:\s*)+/, "");
  if (/revoked/.test(t)) return "You were signed out: this device's session was ended from another device or by a password change. Sign in again.";
  if (/expired/.test(t)) return "You were signed out because the session expired. Sign in again.";
  return SIGNED_OUT;
}

/** A refused edit, delete or reaction (`action_refused`'s reason). */
export const refusedText = (reason) => {
  const code = codeOf(reason);
  return `Couldn't change the message. ${code ? errorText({ code, message: reason }) : plainReason(reason)}`;
};
