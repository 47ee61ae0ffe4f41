// Unit tests of drafts (ui/js/drafts.js): kept per account and conversation, forgotten when blank.

import test from "node:test";
import assert from "node:assert/strict";
import { loadDraft, saveDraft, draftKey } from "../../ui/js/drafts.js";
import { MemoryStorage as Store } from "./support/storage.mjs";

test("a draft is kept per account and conversation and forgotten when emptied", () => {
  const s = new Store();
  saveDraft(1, 3, "for bob", s);
  saveDraft(1, 4, "for the group", s);
  saveDraft(2, 3, "another account", s);
  assert.equal(loadDraft(1, 3, s), "for bob");
  assert.equal(loadDraft(1, 4, s), "for the group");
  assert.equal(loadDraft(2, 3, s), "another account");
  saveDraft(1, 3, "   ", s);
  assert.equal(loadDraft(1, 3, s), "");
  assert.equal(s.getItem(draftKey(1, 3)), null);
  assert.equal(loadDraft(null, 3, s), "");
});
