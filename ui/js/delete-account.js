// The Privacy dialog's last section: deleting the account. The password proves it is the
// owner; the button asks twice (its label turns into "Confirm: delete my account", and the
// step lapses after a few seconds). On success the relay has signed out every device and the
// engine has removed this device's copy, and the UI forgets what it kept for the account
// (device-data.js); the app returns to the sign-in screen.

import { call } from "./api.js";
import { $ } from "./dom.js";
import { codeOf, errorText } from "./errors.js";
import { deleteErrorText } from "./security.js";
import { forgetDeviceData } from "./signout.js";
import { state } from "./store.js";
import { toast } from "./views/toast.js";

const CONFIRM_MS = 6000;
const LABEL = "Delete account";
let armedUntil = 0;
let timer = null;

function disarm() {
  armedUntil = 0;
  clearTimeout(timer);
  $("delete-account").textContent = LABEL;
}

async function onClick(onDeleted) {
  const error = $("delete-error"), button = $("delete-account");
  const password = $("delete-password").value;
  if (!password) { error.textContent = "Enter your password."; return; }
  error.textContent = "";
  if (Date.now() > armedUntil) {
    armedUntil = Date.now() + CONFIRM_MS;
    button.textContent = "Confirm: delete my account";
    timer = setTimeout(disarm, CONFIRM_MS);
    return;
  }
  disarm();
  button.disabled = true;
  const account = state.account;
  let leftBehind = null;
  try {
    try {
      await call("delete_account", { password });
    } catch (e) {
      // Deleted on the relay, but not all of this device's copy could be removed: the
      // account is gone all the same.
      if (codeOf(e) !== "left_behind") throw e;
      leftBehind = e;
    }
    $("delete-password").value = "";
    $("privacy-dialog").close();
    await onDeleted();
    forgetDeviceData(account);
    if (leftBehind) toast(errorText(leftBehind));
  } catch (e) {
    error.textContent = deleteErrorText(e);
  } finally {
    button.disabled = false;
  }
}

/** Wire the section; `onDeleted` shows the sign-in screen. */
export function wireDeleteAccount(onDeleted) {
  $("delete-account").addEventListener("click", () => onClick(onDeleted));
  $("privacy-dialog").addEventListener("close", () => {
    if ($("privacy-dialog").open) return;
    disarm();
    $("delete-password").value = "";
    $("delete-error").textContent = "";
  });
}
