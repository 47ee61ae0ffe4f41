// Unit tests of forgetting an account's local data (ui/js/device-data.js).

import test from "node:test";
import assert from "node:assert/strict";
import { forgetAccount } from "../../ui/js/device-data.js";
import { loadDraft, saveDraft } from "../../ui/js/drafts.js";
import { loadLastOpen, saveLastOpen } from "../../ui/js/last-open.js";
import { MemoryStorage as Store } from "./support/storage.mjs";

test("an account's drafts and last open chat are forgotten, other accounts' are kept", () => {
  const s = new Store();
  saveDraft(1, 3, "secret plan", s);
  saveDraft(1, 4, "for the group", s);
  saveLastOpen(1, 3, s);
  saveDraft(12, 3, "account twelve", s);
  saveLastOpen(12, 5, s);
  s.setItem("unrelated", "x");

  assert.equal(forgetAccount(1, s), 3);
  assert.equal(loadDraft(1, 3, s), "");
  assert.equal(loadDraft(1, 4, s), "");
  assert.equal(loadLastOpen(1, s), null);
  assert.equal(loadDraft(12, 3, s), "account twelve", "1 is not a prefix of 12");
  assert.equal(loadLastOpen(12, s), 5);
  assert.equal(s.getItem("unrelated"), "x");
  assert.equal(forgetAccount(1, s), 0);
  assert.equal(forgetAccount(null, s), 0);
});
