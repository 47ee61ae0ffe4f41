// The account's half of the Privacy dialog: the signed-in devices (#session-list, read each
// time the dialog opens) and the password change. Another device is signed out in two steps,
// inline — its "Sign out" button becomes "Confirm sign out" and only a second click revokes
// it (window.confirm may not exist in the webview); the step lapses after a few seconds. The
// new password is checked here first (security.js); the relay then signs out the account's
// other devices. Passwords leave the fields when the dialog closes.

import { call } from "./api.js";
import { $, el, dateTime } from "./dom.js";
import { errorText } from "./errors.js";
import { sessionLine, passwordProblem, passwordErrorText } from "./security.js";
import { toast } from "./views/toast.js";

/** How long a "Confirm sign out" waits for its second click (ms). */
const CONFIRM_MS = 6000;

/** The button waiting for its second click, and when it gives up; or null. */
let armed = null;
/** Number of the latest read of the list: an older answer is dropped. */
let asked = 0;

function disarm() {
  if (!armed) return;
  const { button, timer } = armed;
  armed = null;
  clearTimeout(timer);
  button.textContent = "Sign out";
  button.className = "secondary";
  button.setAttribute("aria-label", `Sign out ${button.dataset.device}`);
}

function arm(button) {
  disarm();
  button.textContent = "Confirm sign out";
  button.className = "danger";
  button.setAttribute("aria-label", `Confirm sign out ${button.dataset.device}`);
  armed = { button, timer: setTimeout(disarm, CONFIRM_MS) };
}

/** One device's row. */
function sessionRow(s) {
  const line = sessionLine(s, dateTime);
  const li = el("li", "session");
  const info = el("div", "session-info");
  const head = el("span", "session-name");
  head.append(el("strong", "", line.title));
  if (line.current) head.append(" ", el("span", "session-current", "This device"));
  info.append(head, el("span", "session-detail muted", line.detail));
  li.append(info);
  if (!line.current) {
    const b = el("button", "secondary", "Sign out");
    b.type = "button";
    b.dataset.session = String(s.session_id);
    b.dataset.device = line.title;
    b.setAttribute("aria-label", `Sign out ${line.title}`);
    li.append(b);
  }
  return li;
}

/** Read the devices again; `fresh`: the dialog just opened (show that it is loading). */
export async function loadSessions({ fresh = false } = {}) {
  const ul = $("session-list");
  const n = ++asked;
  disarm();
  if (fresh) ul.replaceChildren(el("li", "muted", "Loading…"));
  ul.setAttribute("aria-busy", "true");
  let list, failure = null;
  try { list = await call("sessions"); } catch (e) { failure = e; }
  if (n !== asked) return;
  ul.removeAttribute("aria-busy");
  disarm();
  if (failure) { ul.replaceChildren(el("li", "error", errorText(failure))); return; }
  ul.replaceChildren(...list.map(sessionRow));
  if (!list.length) ul.append(el("li", "muted", "No devices"));
}

/** First click arms a Sign out button, the second revokes that device; then the list is read again. */
async function onSessionClick(e) {
  const b = e.target.closest("button[data-session]");
  if (!b) return;
  if (!armed || armed.button !== b) { arm(b); return; }
  disarm();
  b.disabled = true;
  try {
    await call("revoke_session", { sessionId: Number(b.dataset.session) });
  } catch (err) {
    toast(errorText(err));
  }
  await loadSessions();
  // Focus stays in the list rather than falling to the page behind the dialog.
  if (!b.isConnected) ($("session-list").querySelector("button") || $("change-password")).focus();
}

/** Empty the password fields and their message. */
function clearPassword() {
  for (const id of ["old-password", "new-password", "new-password-again"]) $(id).value = "";
  $("password-error").textContent = "";
}

async function changePassword(e) {
  e.preventDefault();
  const oldPassword = $("old-password").value, newPassword = $("new-password").value;
  const error = $("password-error"), button = $("change-password");
  const problem = passwordProblem(oldPassword, newPassword, $("new-password-again").value);
  error.textContent = problem;
  if (problem || button.disabled) return;
  button.disabled = true;
  try {
    await call("change_password", { oldPassword, newPassword });
    clearPassword();
    toast("Password changed. Your other devices were signed out.");
    if ($("privacy-dialog").open) loadSessions();
  } catch (err) {
    error.textContent = passwordErrorText(err);
  } finally {
    button.disabled = false;
  }
}

/** Wire the device list and the password form. */
export function wireAccount() {
  $("session-list").addEventListener("click", onSessionClick);
  $("password-form").addEventListener("submit", changePassword);
  // The close event is queued: when the dialog was reopened at once, its new load stands.
  $("privacy-dialog").addEventListener("close", () => {
    if ($("privacy-dialog").open) return;
    asked++; disarm(); clearPassword();
  });
}
