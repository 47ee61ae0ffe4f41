// Unit tests of a message's context menu (ui/js/message-actions.js: which items, in which
// order, with which labels) and of what the webview may still do by itself (ui/js/webview.js:
// its own menu only in text fields, no reload shortcuts).

import test from "node:test";
import assert from "node:assert/strict";
import { menuItems, menuLabel, ACTIONS } from "../../ui/js/message-actions.js";
import { actionsFor, lastEditable } from "../../ui/js/store.js";
import { keepsMenu, isReload } from "../../ui/js/webview.js";

const ME = 1;
const group = { conversation_id: 3, kind: "group", members: [{ user_id: 1, username: "alice", role: "member" }, { user_id: 2, username: "bob", role: "member" }] };
const msg = (extra) => ({ conversation_id: 3, seq: 7, client_id: "c7", sender: "bob", body: "hi", mine: false, status: "received", deleted: false, ...extra });
const items = (m) => menuItems(m, actionsFor(m, group, ME));
const actions = (m) => items(m).map((i) => i.action);

test("a message's menu copies its text, forwards it, then offers what its row offers", () => {
  assert.deepEqual(actions(msg()), ["copy", "forward", "reply", "react", "delete-me"]);
  assert.deepEqual(actions(msg({ mine: true, status: "read" })), ["copy", "forward", "reply", "react", "edit", "delete-everyone", "delete-me"]);
  assert.deepEqual(items(msg()).map((i) => i.label), ["Copy text", "Forward…", "Reply", "React…", "Delete for me"]);
  // What shows nothing cannot be forwarded: a withheld placeholder.
  assert.deepEqual(actions(msg({ withheld: true })), ["copy", "reply", "react", "delete-me"]);
});

test("edit is offered only within the relay's edit window, on the relay's clock", () => {
  const limits = { max_message_bytes: 16384, edit_window_ms: 48 * 3600e3, clock_offset_ms: 60e3 };
  const now = 1_800_000_000_000;
  const sent = (ago) => msg({ mine: true, status: "read", sent_at: now - ago });
  const offered = (m) => actionsFor(m, group, ME, limits, now).includes("edit");
  assert.ok(offered(sent(47 * 3600e3)), "sent 47 h ago");
  // The relay's clock is a minute ahead: 48 h minus 30 s here is past its window there.
  assert.ok(!offered(sent(48 * 3600e3 - 30e3)), "past the window on the relay's clock");
  assert.ok(actionsFor(sent(100 * 3600e3), group, ME, null, now).includes("edit"), "a window not known yet holds nothing back");
  // ArrowUp edits the last of the user's messages only while it is editable.
  assert.equal(lastEditable([sent(3600e3)], limits, now)?.sent_at, now - 3600e3);
  assert.equal(lastEditable([sent(3600e3), sent(49 * 3600e3)], limits, now), null);
});

test("a selection or a link right-clicked in a message can be copied on its own, first", () => {
  const m = msg();
  const acts = (extras) => menuItems(m, actionsFor(m, group, ME), extras).map((i) => i.action);
  assert.deepEqual(acts({ selection: "part of it", link: "https://example.com/" }).slice(0, 3), ["copy-selection", "copy-link", "copy"]);
  assert.deepEqual(acts({ selection: "  " }).slice(0, 1), ["copy"], "a blank selection is not offered");
  assert.deepEqual(menuItems(m, [], { link: "https://example.com/" }).map((i) => i.label).slice(0, 2), ["Copy link address", "Copy text"]);
  assert.deepEqual(menuItems(msg({ deleted: true }), ["delete-me"], { selection: "x", link: "https://e/" }).map((i) => i.action), ["delete-me"], "nothing to copy from a tombstone");
});

test("deletions are marked as dangerous", () => {
  const danger = items(msg({ mine: true, status: "read" })).filter((i) => i.danger).map((i) => i.action);
  assert.deepEqual(danger, ["delete-everyone", "delete-me"]);
});

test("a tombstone can only be deleted for me; a file without a caption has nothing to copy", () => {
  assert.deepEqual(actions(msg({ deleted: true, body: "" })), ["delete-me"]);
  assert.deepEqual(actions(msg({ body: "", attachment: { name: "a.pdf" } })), ["forward", "reply", "react", "delete-me"]);
});

test("an unsent message can be copied; a failed one retried (if it may work), edited and deleted", () => {
  assert.deepEqual(actions(msg({ seq: null, mine: true, status: "queued" })), ["copy"]);
  assert.deepEqual(actions(msg({ seq: null, mine: true, status: "failed", reason: "not a member (not_member)" })),
    ["copy", "retry", "edit-failed", "delete-failed"]);
  assert.deepEqual(actions(msg({ seq: null, mine: true, status: "failed", reason: "too long (message_too_long)" })),
    ["copy", "edit-failed", "delete-failed"]);
  // A failed file is not edited: there is no text to put back but its caption.
  assert.deepEqual(actions(msg({ seq: null, mine: true, status: "failed", body: "", reason: "too large", attachment: { name: "a" } })),
    ["retry", "delete-failed"]);
});

test("the menu names the row's actions as their buttons do", () => {
  for (const [a, [, label]] of Object.entries(ACTIONS)) if (a !== "react") assert.equal(menuLabel(a), label);
});

test("only text fields keep the webview's own menu", () => {
  const node = (tagName, type, extra = {}) => ({ nodeType: 1, tagName, getAttribute: (k) => (k === "type" ? type : null), ...extra });
  assert.equal(keepsMenu(node("TEXTAREA", null)), true);
  assert.equal(keepsMenu(node("INPUT", null)), true);
  for (const t of ["text", "search", "password", "url"]) assert.equal(keepsMenu(node("INPUT", t)), true, t);
  assert.equal(keepsMenu(node("INPUT", "checkbox")), false);
  assert.equal(keepsMenu(node("BUTTON", null)), false);
  assert.equal(keepsMenu(node("LI", null)), false);
  assert.equal(keepsMenu(node("DIV", null, { isContentEditable: true })), true);
  assert.equal(keepsMenu(null), false);
});

test("F5, Ctrl+R and Ctrl+Shift+R are reloads; other keys are not", () => {
  const key = (k, mods = {}) => ({ key: k, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, ...mods });
  assert.equal(isReload(key("F5")), true);
  assert.equal(isReload(key("F5", { ctrlKey: true })), true);
  assert.equal(isReload(key("r", { ctrlKey: true })), true);
  assert.equal(isReload(key("R", { ctrlKey: true, shiftKey: true })), true);
  assert.equal(isReload(key("r", { metaKey: true })), true);
  assert.equal(isReload(key("r")), false);
  assert.equal(isReload(key("k", { ctrlKey: true })), false);
  assert.equal(isReload(key("r", { ctrlKey: true, altKey: true })), false);
});
