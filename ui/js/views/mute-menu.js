// The open chat's mute button in its header and the menu it opens (the app's own menu,
// context-menu.js: arrow keys, Enter, Escape): mute for an hour, 8 hours, a day, a week, or
// until unmuted; Unmute first while a mute lasts. The button says what holds ("Mute", "Muted
// until 15:30", "Muted"). Choices go to the shell (`set_muted`), which keeps them;
// `state.muted` follows once the shell agreed. Mutes that end are dropped at their end: by a
// timer (at most a minute long, since timers stand still while the machine sleeps) and when
// the window comes back into view or focus. The shell stops honouring a mute at its end by
// itself (settings.rs).

import { call } from "../api.js";
import { $ } from "../dom.js";
import { errorText } from "../errors.js";
import { state } from "../store.js";
import { muteItems, muteRequest, isMuted, muteText, nextEnd, dropEnded } from "../mute.js";
import { openMenu } from "./context-menu.js";
import { drawList } from "./list.js";
import { toast } from "./toast.js";

/** The longest a timer waits before the ends are looked at again. */
const LOOK_AGAIN = 60_000;

let ending = null;

/** Draw the button for the open chat. */
export function drawMute() {
  const button = $("mute");
  const id = state.open;
  const now = Date.now();
  const muted = id !== null && isMuted(state.muted, id, now);
  button.textContent = muted ? muteText(state.muted.get(id), now) : "Mute";
  button.classList.toggle("on", muted);
  button.setAttribute("aria-label", muted ? `${muteText(state.muted.get(id), now)}. Change notifications for this chat` : "Mute notifications for this chat");
}

/** Drop the mutes that have ended and redraw what showed them. */
function dropNow() {
  const ended = dropEnded(state.muted, Date.now());
  if (ended.length) {
    drawList();
    if (ended.includes(state.open)) drawMute();
  }
}

/** Set a timer for the soonest mute's end (again after every change). */
export function scheduleMuteEnds() {
  clearTimeout(ending);
  ending = null;
  const wait = nextEnd(state.muted, Date.now());
  if (wait === null) return;
  ending = setTimeout(() => { dropNow(); scheduleMuteEnds(); }, Math.min(wait, LOOK_AGAIN));
}

/** Apply a mute choice `value` (mute.js: UNMUTE or a duration) to conversation `id`. */
export function chooseMute(id, value) {
  const { muted, until } = muteRequest(value, Date.now());
  call("set_muted", { conversationId: id, muted, until })
    .then(() => {
      if (muted) state.muted.set(id, until); else state.muted.delete(id);
      scheduleMuteEnds();
      drawList();
    })
    .catch((err) => toast(errorText(err)))
    .finally(() => { if (state.open === id) drawMute(); });
}

/** Answer the button; look at the ends again when the window returns. */
export function wireMute() {
  const button = $("mute");
  button.addEventListener("click", () => {
    const id = state.open;
    if (id === null) return;
    const r = button.getBoundingClientRect();
    openMenu(muteItems(isMuted(state.muted, id, Date.now())), {
      at: { x: r.right, y: r.bottom },
      anchor: button,
      label: "Notifications for this chat",
      pick: (value) => chooseMute(id, value),
    });
  });
  const again = () => { dropNow(); scheduleMuteEnds(); };
  window.addEventListener("focus", again);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) again(); });
}
