// Unit tests of drafts (ui/js/drafts.js): kept per account and conversation, forgotten when blank.

import test from "node:test";
import assert from "node:assert/strict";
import { loadDraft, saveDraft, draftKey, draftLine, forgetRead } from "../../ui/js/drafts.js";
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

test("the storage is read once per key; what was removed behind the drafts' back is forgotten with forgetRead", () => {
  const s = new Store();
  let reads = 0;
  const get = s.getItem.bind(s);
  s.getItem = (k) => { reads++; return get(k); };
  s.setItem(draftKey(1, 5), "typed before a restart");
  assert.equal(loadDraft(1, 5, s), "typed before a restart");
  assert.equal(loadDraft(1, 5, s), "typed before a restart");
  assert.equal(reads, 1, "read once");
  saveDraft(1, 5, "changed", s);
  assert.equal(loadDraft(1, 5, s), "changed", "what was saved, without reading");
  assert.equal(reads, 1);
  s.removeItem(draftKey(1, 5));
  assert.equal(loadDraft(1, 5, s), "changed", "remembered until told");
  forgetRead(s);
  assert.equal(loadDraft(1, 5, s), "");
});

test("a draft in the list is one line, cut without splitting a character", () => {
  assert.equal(draftLine("  see you\n\n at   noon "), "see you at noon");
  assert.equal(draftLine("abcdef", 4), "abc…");
  assert.equal(draftLine("😀😀😀😀😀", 3), "😀😀…");
  assert.equal(draftLine("short", 10), "short");
});
