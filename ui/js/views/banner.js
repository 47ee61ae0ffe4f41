// The connection banner: connecting, catching up, online (briefly), offline with a countdown
// to the next attempt, why in plain words (errors.js) and a "Retry now" button, or signed out.
// Its text is a polite live region; the countdown is kept out of it, or a screen reader would
// read the banner again every second.
// It floats just under the open chat's header (over the top of the list of messages; at the
// top of the window when no chat shows), centred over the chat column (style.css): it takes no
// room, so it never pushes the newest message or the composer out of view, nor hides the
// header's buttons. While offline, the first message written is answered once with "it will be
// sent when you're back online" (composer.js asks here).

import { $ } from "../dom.js";
import { offlineText, retryText, signedOutText } from "../errors.js";

let countdown = null;
let hideTimer = null;
/** The connection is down (offline or signed out), and whether the user was told sends wait. */
let down = false;
let told = false;

/** Put the banner under the chat's header when one shows, else at the top of the window. */
function place() {
  const head = $("chat-head");
  const r = head.getBoundingClientRect();
  const top = r.height > 0 ? r.bottom + 6 : 8;
  $("banner").style.top = `${Math.round(top)}px`;
}

/** Keep the banner under the header as it comes, goes or changes height (once, at start). */
export function wireBanner() {
  // A chat opening or closing, the sign-in screen, a narrower window: all resize the header.
  new ResizeObserver(place).observe($("chat-head"));
  place();
}

/** Whether to tell the user that what they just sent waits for the connection (once per outage). */
export function takeOfflineNotice() {
  if (!down || told) return false;
  told = true;
  return true;
}

/** Show a ConnectionState (`null` hides the banner); `onSignedOut` runs for `signed_out`. */
export function showConnection(c, onSignedOut) {
  const banner = $("banner"), text = $("banner-text"), retry = $("retry-now");
  const left = $("banner-countdown");
  clearInterval(countdown);
  left.textContent = "";
  clearTimeout(hideTimer);
  banner.hidden = false;
  banner.className = "";
  retry.hidden = true;
  down = !!c && c.state === "offline";
  if (!c || c.state === "online") told = false;
  if (!c) { banner.hidden = true; return; }
  place();
  switch (c.state) {
    case "connecting": text.textContent = "Connecting…"; break;
    case "syncing": text.textContent = "Connected — catching up…"; break;
    case "online":
      banner.className = "online";
      text.textContent = "Online";
      hideTimer = setTimeout(() => { if (banner.className === "online") banner.hidden = true; }, 1500);
      break;
    case "offline": {
      banner.className = "offline";
      retry.hidden = false;
      text.textContent = offlineText(c.reason);
      const tick = () => {
        const s = Math.max(0, Math.ceil((c.retry_at - Date.now()) / 1000));
        const t = retryText(s);
        if (left.textContent !== t) left.textContent = t;
      };
      tick();
      countdown = setInterval(tick, 500);
      break;
    }
    case "signed_out":
      banner.className = "offline";
      text.textContent = signedOutText(c.reason);
      onSignedOut();
      break;
  }
  banner.dataset.state = c.state;
}
