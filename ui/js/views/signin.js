// The sign-in screen: relay address, username, password, consent to clear text; signs in or
// creates the account and hands over to `onSignedIn`.

import { call } from "../api.js";
import { $ } from "../dom.js";
import { errorText } from "../errors.js";

/**
 * Show the sign-in screen with an empty password; the fields `prefill` has (the last settings'
 * `relay`, `username`, `allow_insecure_relay`) are filled from it, the others keep what they
 * hold. Already showing, it is left as it is but for an empty relay field: a sign-out shows it
 * twice (at the relay's word that the session ended, then when the sign-out answers), and
 * what the user typed in between, and the field they are in, must stay.
 */
export function showSignin(prefill = {}) {
  const already = !$("signin").hidden;
  $("app").hidden = true;
  $("signin").hidden = false;
  $("insecure-warning").hidden = true;
  if (already) {
    // Only what the first showing had no word for (the relay, when the app started signed in).
    if ("relay" in prefill && !$("relay").value) {
      $("relay").value = prefill.relay || "";
      $("allow-insecure").checked = !!prefill.allow_insecure_relay;
    }
    return;
  }
  if ("relay" in prefill) $("relay").value = prefill.relay || "";
  if ("username" in prefill) $("username").value = prefill.username || "";
  if ("allow_insecure_relay" in prefill) $("allow-insecure").checked = !!prefill.allow_insecure_relay;
  $("password").value = "";
  $("username").focus();
}

async function submit(register, onSignedIn) {
  if (!$("signin-form").reportValidity()) return;
  $("signin-error").textContent = "";
  $("signin-button").disabled = $("register-button").disabled = true;
  try {
    await call("sign_in", {
      relay: $("relay").value, username: $("username").value, password: $("password").value,
      register, allowInsecureRelay: $("allow-insecure").checked,
    });
    $("password").value = "";
    await onSignedIn();
  } catch (e) {
    $("signin-error").textContent = errorText(e);
  } finally {
    $("signin-button").disabled = $("register-button").disabled = false;
  }
}

/** Sign in on submit, register on "Create account"; then `onSignedIn()`. */
export function wireSignin(onSignedIn) {
  $("signin-form").addEventListener("submit", (e) => { e.preventDefault(); submit(false, onSignedIn); });
  $("register-button").addEventListener("click", () => submit(true, onSignedIn));
}
