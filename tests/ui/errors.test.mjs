// Unit tests of ui/js/errors.js: every error code the shell or the relay sends reads as one
// plain sentence; the engine's free-text reasons (a failed message's, a dropped connection's,
// a signed-out device's) never show raw library text or codes in brackets.

import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  errorText, codeOf, failureOf, offlineReason, offlineText, retryText, signedOutText, refusedText, sentence,
  SOMETHING_WRONG, SIGNED_OUT,
} from "../../ui/js/errors.js";

const err = (code, message = "raw technical text (code)") => ({ code, message });

test("every code the user can meet reads as its own plain sentence", () => {
  const table = [
    ["offline", "You're offline."],
    ["unreachable", "Can't reach the relay. Check the address and your connection."],
    ["timeout", "The relay took too long to answer. Try again."],
    ["username_taken", "That username is taken."],
    ["invalid_credentials", "Wrong username or password."],
    ["too_many_attempts", "Too many attempts. Wait a minute and try again."],
    ["rate_limited", "You're doing that too often. Wait a moment and try again."],
    ["registration_closed", "This relay isn't accepting new accounts."],
    ["invalid_invite", "That invite isn't valid."],
    ["not_found", "That no longer exists."],
    ["not_member", "You're not a member of this conversation any more."],
    ["forbidden", "You're not allowed to do that."],
    ["group_too_large", "The group can't have that many members."],
    ["message_too_long", "The message is too long to send. Shorten it, or send it as a file."],
    ["session_limit", "Too many devices are signed in to this account. Sign one out first (Privacy → Signed-in devices on another device)."],
    ["token_revoked", SIGNED_OUT],
    ["token_expired", SIGNED_OUT],
    ["not_signed_in", SIGNED_OUT],
    ["invalid_token", SIGNED_OUT],
    ["unauthorized", SIGNED_OUT],
    ["invalid_relay", "That relay address isn't valid. Type it like relay.example.org."],
    ["busy", "The relay is busy. Try again in a moment."],
    ["shutting_down", "The relay is restarting. Try again in a moment."],
    ["internal", SOMETHING_WRONG],
    ["bad_request", "The relay refused that request."],
    ["edit_window_closed", "It's too late to change that message."],
    ["attachment_too_large", "That file is too large to send."],
    ["quota_exceeded", "There's no room left on the relay for your files."],
    ["settings", "Couldn't save the settings."],
    ["bad_link", "That link can't be opened."],
    ["unknown", "The relay refused that in a way this version of Tern doesn't know. Updating Tern may help."],
    ["some_future_code", SOMETHING_WRONG],
    ["", SOMETHING_WRONG],
  ];
  for (const [code, want] of table) assert.equal(errorText(err(code)), want, code);
  assert.equal(SIGNED_OUT, "You were signed out. Sign in again.");
  assert.equal(SOMETHING_WRONG, "Something went wrong. Try again.");
});

test("every code the relay's protocol defines has a sentence of its own", () => {
  // The wire names of crates/tern-proto's ErrorCode, read from its source.
  const src = readFileSync(new URL("../../crates/tern-proto/src/error.rs", import.meta.url), "utf8");
  const codes = [...src.matchAll(/ErrorCode::[A-Za-z]+ => "([a-z_]+)"/g)].map((m) => m[1]);
  assert.ok(codes.length >= 30, `found ${codes.length} codes`);
  for (const code of codes.filter((c) => c !== "internal")) {
    assert.notEqual(errorText(err(code)), SOMETHING_WRONG, code);
  }
  assert.equal(failureOf("unknown type (unknown_type)").retry, false, "an older relay never takes it");
  assert.equal(failureOf("bad frame (bad_frame)").retry, false);
});

test("no sentence shows a code, a URL or the shell's raw message", () => {
  for (const code of ["offline", "unreachable", "username_taken", "token_revoked", "internal", "x"]) {
    const text = errorText(err(code, "error sending request for url (https://relay.example/v1/login)"));
    assert.doesNotMatch(text, /\(|https?:|_/, code);
  }
});

test("offline says the message waits where it does", () => {
  assert.equal(errorText(err("offline"), { queued: true }), "You're offline. It will be sent when you're back online.");
  assert.equal(errorText(err("offline")), "You're offline.");
});

test("the insecure-relay refusal keeps saying it is not encrypted", () => {
  assert.match(errorText(err("insecure_relay", "refusing http://x: …")), /not encrypted/);
});

test("the keychain's own explanation and the engine's plain refusals are kept, as sentences", () => {
  const keychain = "no keychain available: install gnome-keyring or KWallet and unlock it";
  assert.equal(errorText(err("no_keychain", keychain)), "No keychain available: install gnome-keyring or KWallet and unlock it.");
  assert.equal(errorText(err("invalid", "a message cannot be empty")), "A message cannot be empty.");
  assert.equal(errorText(err("invalid", "")), SOMETHING_WRONG);
});

test("an unusable relay address says what is wrong with it", () => {
  assert.equal(errorText(err("invalid_relay", 'invalid relay address "": the address is empty')),
    "That relay address can't be used: the address is empty.");
});

test("errors without a code are read from their text, else the generic sentence", () => {
  assert.equal(errorText("error sending request for url (https://r.example/)"), "Can't reach the relay. Check the address and your connection.");
  assert.equal(errorText("that username is taken (username_taken)"), "That username is taken.");
  assert.equal(errorText(new Error("boom")), SOMETHING_WRONG);
  assert.equal(errorText(undefined), SOMETHING_WRONG);
  assert.equal(errorText(null), SOMETHING_WRONG);
  assert.equal(codeOf({ code: "busy", message: "x" }), "busy");
  assert.equal(codeOf("message too long (message_too_long)"), "message_too_long");
  assert.equal(codeOf("strange (not_a_code)"), null);
});

test("a message refused for being too long can be edited but never retried", () => {
  const f = failureOf("message too long (message_too_long)");
  assert.deepEqual(f, {
    code: "message_too_long", retry: false, edit: true,
    text: "Not sent. The message is too long to send. Shorten it, or send it as a file.",
  });
  assert.equal(failureOf("frame too large (frame_too_large)").retry, false);
});

test("other failures can be retried, and say why in plain words", () => {
  assert.deepEqual(failureOf("not a member (not_member)"),
    { code: "not_member", retry: true, edit: true, text: "Not sent. You're not a member of this conversation any more." });
  assert.equal(failureOf("no such conversation (not_found)").text, "Not sent. This conversation no longer exists.");
  assert.equal(failureOf("the file changed before it was sent", { text: false }).text, "Not sent. The file changed before it was sent.");
  assert.equal(failureOf("the file changed before it was sent", { text: false }).edit, false);
  assert.equal(failureOf("i/o error: No such file or directory (os error 2)").text, `Not sent. ${SOMETHING_WRONG}`);
  assert.equal(failureOf(undefined).text, `Not sent. ${SOMETHING_WRONG}`);
});

test("the offline banner says when it tries again and why, in words", () => {
  assert.equal(offlineText("error sending request for url (http://127.0.0.1:1/v1/ws)"),
    "Offline. Can't reach the relay. Check the address and your connection.");
  assert.equal(retryText(5), "Reconnecting in 5 s.");
  assert.equal(offlineReason("no answer from the relay for 30 s"), "The relay isn't answering.");
  assert.equal(offlineReason("closed by the relay: restarting (1012)"), "The relay is busy or restarting.");
  assert.equal(offlineReason("HTTP 503 Service Unavailable"), "The relay is busy or restarting.");
  assert.equal(offlineReason("connection lost (IO error: broken pipe)"), "The connection to the relay was lost.");
  assert.equal(offlineReason("local failure: the client has shut down"), "Something went wrong on this device.");
  assert.equal(offlineReason("the relay refused the connection: this relay speaks protocol version 2 (unsupported_version)"),
    "This version of Tern can't talk to this relay. Update Tern.");
  assert.equal(offlineReason("the relay answered in protocol version 3, which this version of Tern does not speak (unsupported_version)"),
    "This version of Tern can't talk to this relay. Update Tern.");
  assert.equal(offlineReason("too many requests from this device; slow down (rate_limited)"),
    "You're doing that too often. Wait a moment and try again.");
  assert.match(offlineText("x"), /^Offline\. /);
});

test("the signed-out reason says \"signed out\" once", () => {
  const texts = [
    signedOutText("signed out: the session was revoked"),
    signedOutText("the session was revoked"),
    signedOutText("session expired (unauthorized)"),
    signedOutText("the session expired; sign in again"),
    signedOutText("malformed token"),
    signedOutText(undefined),
  ];
  for (const t of texts) assert.equal(t.match(/signed out/gi).length, 1, t);
  assert.match(texts[0], /ended from another device/);
  assert.match(texts[2], /expired/);
  assert.equal(texts[4], SIGNED_OUT);
});

test("a refused change of a message says why", () => {
  assert.equal(refusedText("edit window closed (edit_window_closed)"), "Couldn't change the message. It's too late to change that message.");
  assert.equal(refusedText(undefined), `Couldn't change the message. ${SOMETHING_WRONG}`);
  // Not a user: the message itself is gone.
  assert.equal(refusedText("no such message (not_found)"), "Couldn't change the message. That no longer exists.");
  // A request that named people says which thing was not found.
  assert.equal(errorText({ code: "not_found" }, { person: true }), "No such user.");
});

test("sentences get a capital and a full stop, once", () => {
  assert.equal(sentence("hello"), "Hello.");
  assert.equal(sentence("Done."), "Done.");
  assert.equal(sentence("  "), "");
});
