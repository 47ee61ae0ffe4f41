// Unit tests of ui/js/views/signin.js: showing the sign-in screen.

import test from "node:test";
import assert from "node:assert/strict";

const fields = {};
const field = (id, extra = {}) => (fields[id] = { id, hidden: false, value: "", checked: false, focus() { focused = id; }, ...extra });
let focused = null;
field("app");
field("signin", { hidden: true });
field("insecure-warning");
field("relay");
field("username");
field("password");
field("allow-insecure");
globalThis.document = { getElementById: (id) => fields[id] ?? null };
globalThis.window ??= { __TAURI__: { core: { invoke: async () => null }, event: { listen: async () => {} } } };
const { showSignin } = await import("../../ui/js/views/signin.js");

test("a sign-out shows the sign-in screen twice; what was typed in between stays", () => {
  fields.username.value = "alice";
  fields.password.value = "old secret";
  // The relay's word that the session ended: the screen shows, the last user's name goes.
  showSignin({ username: "" });
  assert.equal(fields.signin.hidden, false);
  assert.equal(fields.app.hidden, true);
  assert.equal(fields.username.value, "");
  assert.equal(fields.password.value, "", "no password is left in the form");
  assert.equal(focused, "username");
  // The next user types, and is in the password field when the sign-out answers.
  fields.username.value = "carol";
  fields.password.value = "carol's secret";
  focused = "password";
  showSignin({ relay: "relay.example.org", username: null, allow_insecure_relay: false });
  assert.equal(fields.username.value, "carol");
  assert.equal(fields.password.value, "carol's secret");
  assert.equal(focused, "password");
});

test("an app that started signed in learns the relay at the second showing of a sign-out", () => {
  fields.signin.hidden = false;
  fields.relay.value = "";
  fields.username.value = "erin";
  focused = "username";
  showSignin({ relay: "relay.example.org", username: null, allow_insecure_relay: true });
  assert.equal(fields.relay.value, "relay.example.org");
  assert.equal(fields["allow-insecure"].checked, true);
  assert.equal(fields.username.value, "erin", "the name typed stays");
  // A relay the user typed is theirs.
  fields.relay.value = "other.example.org";
  showSignin({ relay: "relay.example.org" });
  assert.equal(fields.relay.value, "other.example.org");
});

test("first shown, the screen takes the last settings", () => {
  fields.signin.hidden = true;
  showSignin({ relay: "relay.example.org", username: "dave", allow_insecure_relay: true });
  assert.equal(fields.relay.value, "relay.example.org");
  assert.equal(fields.username.value, "dave");
  assert.equal(fields["allow-insecure"].checked, true);
});
