// The sign-in screen: relay address, username, password, consent to clear text; signs in or
// creates the account and hands over to `onSignedIn`.

import { call } from "../api.js";
import { $ } from "../dom.js";
import { errorText } from "../errors.js";

/** Show the sign-in screen, prefilled from the last settings when given. */
export function showSignin(prefill) {
  $("app").hidden = true;
  $("signin").hidden = false;
  $("insecure-warning").hidden = true;
  if (prefill) {
    $("relay").value = prefill.relay || "";
    $("username").value = prefill.username || "";
    $("allow-insecure").checked = !!prefill.allow_insecure_relay;
  }
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
