// Signing out of this device, asked first (#signout-dialog): the user may also remove this
// device's copy of their messages and files (#signout-wipe, unchecked by default). The shell's
// `sign_out` ends the session here whatever the relay answers, so the sign-in screen follows
// either way; a failure is told in a toast. Removing the device's data also forgets what the UI
// kept for the account (drafts, the last open chat: device-data.js).

import { call } from "./api.js";
import { forgetReplies } from "./composer.js";
import { forgetAccount } from "./device-data.js";
import { $ } from "./dom.js";
import { errorText } from "./errors.js";
import { state } from "./store.js";
import { ask } from "./views/ask.js";
import { toast } from "./views/toast.js";

/**
 * Forget what the UI kept for `account` on this device: its drafts and last open chat
 * (device-data.js) and the replies begun (composer.js). Signing out with "remove this
 * device's data" and deleting the account both end here.
 */
export function forgetDeviceData(account) {
  forgetAccount(account);
  forgetReplies(account);
}

/**
 * What the sign-out dialog says of `n` messages written here and not sent yet: they go out at
 * the next sign-in here, unless this device's copy is removed (`wipe`), which deletes them.
 * Empty when there are none.
 */
export function unsentText(n, wipe) {
  if (!n) return "";
  const what = n === 1 ? "1 message hasn't" : `${n} messages haven't`;
  return wipe
    ? `${what} been sent yet and will be deleted with this device's copy.`
    : `${what} been sent yet: ${n === 1 ? "it goes" : "they go"} out when you sign in here again.`;
}

/** Say in the dialog what happens to the `n` unsent messages, as the wipe box stands. */
function drawUnsent(n) {
  const p = $("signout-unsent");
  p.textContent = unsentText(n, $("signout-wipe").checked);
  p.hidden = !p.textContent;
}

/** Ask, then sign out; `onSignedOut()` shows the sign-in screen. */
async function signOut(onSignedOut) {
  $("signout-wipe").checked = false;
  let unsent = 0;
  try {
    unsent = await call("unsent_count");
  } catch (e) {
    console.error(e);
  }
  drawUnsent(unsent);
  const redraw = () => drawUnsent(unsent);
  $("signout-wipe").addEventListener("change", redraw);
  let confirmed;
  try {
    confirmed = await ask("signout-dialog", "signout-confirm");
  } finally {
    $("signout-wipe").removeEventListener("change", redraw);
  }
  if (!confirmed) return;
  const wipe = $("signout-wipe").checked;
  const account = state.account;
  let failure = null;
  // Once: a second sign-out while the first waits for the relay would find nobody signed in.
  $("signout").disabled = true;
  try {
    await call("sign_out", { everywhere: false, wipe });
  } catch (e) {
    console.error(e);
    failure = e;
  } finally {
    $("signout").disabled = false;
  }
  await onSignedOut();
  // After the sign-in screen is up, so that no draft is saved again on the way out.
  if (wipe) forgetDeviceData(account);
  if (failure) toast(`Signed out on this device. ${errorText(failure)}`);
}

/** Wire the header's "Sign out" button. */
export function wireSignOut(onSignedOut) {
  $("signout").addEventListener("click", () => signOut(onSignedOut));
}
