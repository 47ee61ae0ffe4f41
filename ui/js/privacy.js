// The user's privacy settings and block list: read once when the main screen starts, replaced
// by every `privacy` event (a change on any device, and once after each sync), changed here
// at once when a command succeeds (the event confirms it). And the Privacy dialog
// (#privacy-dialog): who sees the user's presence, read receipts, the blocked people (each
// with Unblock); its signed-in devices and password change are account.js's. A change
// redraws only what shows privacy: the open chat's Block button and bars, and this dialog.

import { call } from "./api.js";
import { $, el } from "./dom.js";
import { errorText } from "./errors.js";
import { state, defaultPrivacy } from "./store.js";
import { withBlocked, withoutBlocked, nameOf } from "./security.js";
import { loadSessions, wireAccount } from "./account.js";
import { drawBars } from "./views/bars.js";
import { toast } from "./views/toast.js";

/** Counts the changes applied: a `privacy` answer older than one of them is dropped. */
let version = 0;
/** What the dialog's block list shows (blockedKey; redrawn only when it changes), or null. */
let shownBlocked = null;

/** Apply privacy settings (a command's answer, an event, a change made here); redraw what shows them. */
export function setPrivacy(p) {
  version++;
  state.privacy = p;
  drawBars();
  drawPrivacy();
}

/** Read the settings (the main screen starts). An event arriving meanwhile wins. */
export async function loadPrivacy() {
  const asked = version;
  let p;
  try { p = await call("privacy"); } catch (e) { console.error(e); return; }
  if (asked === version && p) setPrivacy(p);
}

/** Signed out: back to the defaults, the dialog closed. */
export function resetPrivacy() {
  version++;
  state.privacy = defaultPrivacy();
  shownBlocked = null;
  if ($("privacy-dialog").open) $("privacy-dialog").close();
}

/** Block `person` (a member: user_id, username, display_name); throws the command's error. */
export async function block(person) {
  await call("block", { username: person.username });
  setPrivacy(withBlocked(state.privacy, person));
}

/** Unblock `username`; throws the command's error. */
export async function unblock(username) {
  await call("unblock", { username });
  setPrivacy(withoutBlocked(state.privacy, username));
}

// ---------- the dialog ----------

/** One row of the block list. */
function blockedRow(p) {
  const li = el("li");
  li.append(el("span", "member", nameOf(p)));
  const b = el("button", "secondary", "Unblock");
  b.type = "button";
  b.dataset.username = p.username;
  b.setAttribute("aria-label", `Unblock ${nameOf(p)}`);
  li.append(b);
  return li;
}

/** What a block list's rows show, to tell whether it changed (each sync sends it anew). */
const blockedKey = (list) => list.map((p) => `${p.username}\n${nameOf(p)}`).join("\n\n");

/** The block list; focus on an Unblock button that goes stays at its place in the list. */
function drawBlocked() {
  const list = state.privacy.blocked;
  const key = blockedKey(list);
  if (key === shownBlocked) return;
  shownBlocked = key;
  const ul = $("blocked-list");
  const buttons = () => [...ul.querySelectorAll("button")];
  const focused = buttons().indexOf(document.activeElement);
  ul.replaceChildren(...list.map(blockedRow));
  if (!list.length) {
    const none = el("li", "muted", "Nobody blocked");
    none.tabIndex = -1;
    ul.append(none);
  }
  if (focused < 0) return;
  const next = buttons();
  (next[Math.min(focused, next.length - 1)] || ul.firstElementChild).focus();
}

/** Bring the dialog in line with the store (when it is open). */
export function drawPrivacy() {
  if (!$("privacy-dialog").open) return;
  const p = state.privacy;
  if ($("presence-visibility").value !== p.presence) $("presence-visibility").value = p.presence;
  $("read-receipts").checked = p.read_receipts;
  drawBlocked();
}

function openPrivacy() {
  const d = $("privacy-dialog");
  d.querySelectorAll(".error").forEach((e) => (e.textContent = ""));
  shownBlocked = null;
  d.showModal();
  drawPrivacy();
  loadSessions({ fresh: true });
  loadPhotoLocation();
}

/** This device's photo-location setting (not synced: it is read from the engine each time). */
async function loadPhotoLocation() {
  const box = $("strip-location");
  try {
    box.checked = !(await call("keeps_photo_location"));
    box.disabled = false;
  } catch (e) {
    box.disabled = true;
    toast(errorText(e));
  }
}

/** Save one setting (the other is left as it is); put the control back if it could not be. */
async function save(change, revert) {
  try {
    await call("set_privacy", { presence: null, readReceipts: null, ...change.args });
    setPrivacy({ ...state.privacy, ...change.privacy });
  } catch (e) {
    revert();
    toast(errorText(e));
  }
}

/** Wire the Privacy button and the dialog's settings and block list. */
export function wirePrivacy() {
  $("privacy-button").addEventListener("click", openPrivacy);
  $("presence-visibility").addEventListener("change", (e) => {
    const presence = e.target.value;
    save({ args: { presence }, privacy: { presence } }, () => { e.target.value = state.privacy.presence; });
  });
  $("read-receipts").addEventListener("change", (e) => {
    const on = e.target.checked;
    save({ args: { readReceipts: on }, privacy: { read_receipts: on } }, () => { e.target.checked = state.privacy.read_receipts; });
  });
  $("strip-location").addEventListener("change", async (e) => {
    const strip = e.target.checked;
    try {
      await call("set_keeps_photo_location", { keep: !strip });
    } catch (err) {
      e.target.checked = !strip;
      toast(errorText(err));
    }
  });
  $("blocked-list").addEventListener("click", async (e) => {
    const b = e.target.closest("button[data-username]");
    if (!b) return;
    b.disabled = true;
    try {
      await unblock(b.dataset.username);
    } catch (err) {
      b.disabled = false;
      toast(errorText(err, { person: true }));
    }
  });
  wireAccount();
}
