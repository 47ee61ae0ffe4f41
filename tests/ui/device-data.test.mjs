// Unit tests of forgetting an account's local data (ui/js/device-data.js).

import test from "node:test";
import assert from "node:assert/strict";
import { forgetAccount, adoptUnkeyed } from "../../ui/js/device-data.js";
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

test("the same user id on two relays is two accounts", () => {
  const s = new Store();
  const work = "3@https://work.example/", home = "3@https://home.example/";
  saveDraft(work, 7, "to a colleague", s);
  saveDraft(home, 7, "to family", s);
  saveLastOpen(work, 7, s);
  assert.equal(loadDraft(home, 7, s), "to family");
  assert.equal(loadLastOpen(home, s), null);
  assert.equal(forgetAccount(work, s), 2);
  assert.equal(loadDraft(home, 7, s), "to family", "the other relay's account keeps its draft");
  // A relay whose address begins with the other's is still another account.
  saveDraft("3@https://a.example", 1, "a", s);
  saveDraft("3@https://a.example.org", 1, "b", s);
  assert.equal(forgetAccount("3@https://a.example", s), 1);
  assert.equal(loadDraft("3@https://a.example.org", 1, s), "b");
});

test("drafts kept by user id alone become the first signed-in account's", () => {
  const s = new Store();
  s.setItem("tern.draft.4.9", "written before the upgrade");
  s.setItem("tern.draft.4.10", "another");
  s.setItem("tern.draft.44.9", "user 44's");
  s.setItem("tern.open.4", "9");
  const account = "4@https://relay.example/";
  saveDraft(account, 10, "newer, kept", s);
  assert.equal(adoptUnkeyed(4, account, s), 2);
  assert.equal(loadDraft(account, 9, s), "written before the upgrade");
  assert.equal(loadDraft(account, 10, s), "newer, kept");
  assert.equal(loadLastOpen(account, s), 9);
  assert.equal(s.getItem("tern.draft.4.9"), null);
  assert.equal(s.getItem("tern.draft.44.9"), "user 44's", "another user's stays");
  assert.equal(adoptUnkeyed(4, account, s), 0, "once");
});
