// The connection banner: connecting, catching up, online (briefly), offline with a countdown
// to the next attempt and a "Retry now" button, or signed out.

import { $ } from "../dom.js";

let countdown = null;
let hideTimer = null;

/** Show a ConnectionState (`null` hides the banner); `onSignedOut` runs for `signed_out`. */
export function showConnection(c, onSignedOut) {
  const banner = $("banner"), text = $("banner-text"), retry = $("retry-now");
  clearInterval(countdown);
  clearTimeout(hideTimer);
  banner.hidden = false;
  banner.className = "";
  retry.hidden = true;
  if (!c) { banner.hidden = true; return; }
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
      const tick = () => {
        const s = Math.max(0, Math.ceil((c.retry_at - Date.now()) / 1000));
        text.textContent = `Offline — reconnecting in ${s} s (${c.reason})`;
      };
      tick();
      countdown = setInterval(tick, 500);
      break;
    }
    case "signed_out":
      banner.className = "offline";
      text.textContent = `Signed out: ${c.reason}`;
      onSignedOut();
      break;
  }
  banner.dataset.state = c.state;
}
