// Unit tests of the sign-out dialog's words (ui/js/signout.js unsentText): messages written
// here and not sent yet are mentioned, and what removing this device's copy does to them.

import test from "node:test";
import assert from "node:assert/strict";

globalThis.window = { __TAURI__: { core: { invoke: async () => null }, event: { listen: async () => {} } } };
globalThis.document = { getElementById: () => null, addEventListener() {} };
const { unsentText } = await import("../../ui/js/signout.js");

test("nothing unsent: nothing said", () => {
  assert.equal(unsentText(0, false), "");
  assert.equal(unsentText(0, true), "");
});

test("unsent messages go out at the next sign-in, or are deleted with this device's copy", () => {
  assert.equal(unsentText(1, false), "1 message hasn't been sent yet: it goes out when you sign in here again.");
  assert.equal(unsentText(3, false), "3 messages haven't been sent yet: they go out when you sign in here again.");
  assert.equal(unsentText(1, true), "1 message hasn't been sent yet and will be deleted with this device's copy.");
  assert.equal(unsentText(2, true), "2 messages haven't been sent yet and will be deleted with this device's copy.");
});
