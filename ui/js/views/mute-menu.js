// The open chat's mute menu in its header (a native <select>: keyboard and screen readers for
// free): notifications on, mute for an hour, 8 hours, a day, a week, or until unmuted; while a
// mute lasts, its first option says until when. Choices go to the shell (`set_muted`), which
// keeps them; `state.muted` follows once the shell agreed. A timer drops each mute at its end
// (the list's muted mark goes, the menu says notifications are on again); the shell stops
// honouring it at the same moment by itself (settings.rs).

import { call } from "../api.js";
import { $, el } from "../dom.js";
import { errorText } from "../errors.js";
import { state } from "../store.js";
import { MUTE_CHOICES, muteRequest, isMuted, muteText, nextEnd, dropEnded } from "../mute.js";
import { drawList } from "./list.js";
import { toast } from "./toast.js";

/** The value of the option that names the mute in force (choosing it changes nothing). */
const CURRENT = "current";
/** setTimeout's longest wait (about 24.8 days); a longer mute is looked at again then. */
const LONGEST_WAIT = 2 ** 31 - 1;

let ending = null;

/** Draw the menu for the open chat. */
export function drawMute() {
  const select = $("mute");
  const id = state.open;
  const now = Date.now();
  const muted = id !== null && isMuted(state.muted, id, now);
  const options = MUTE_CHOICES.map(({ value, label }) => {
    const o = el("option", "", value === "" && muted ? "Unmute" : label);
    o.value = value;
    return o;
  });
  if (muted) {
    const o = el("option", "", muteText(state.muted.get(id), now));
    o.value = CURRENT;
    options.unshift(o);
  }
  select.replaceChildren(...options);
  select.value = muted ? CURRENT : "";
  select.classList.toggle("on", muted);
}

/** Set a timer for the soonest mute's end (again after every change). */
export function scheduleMuteEnds() {
  clearTimeout(ending);
  ending = null;
  const wait = nextEnd(state.muted, Date.now());
  if (wait === null) return;
  ending = setTimeout(() => {
    const ended = dropEnded(state.muted, Date.now());
    if (ended.length) {
      drawList();
      if (ended.includes(state.open)) drawMute();
    }
    scheduleMuteEnds();
  }, Math.min(wait, LONGEST_WAIT));
}

/** Answer the menu. */
export function wireMute() {
  $("mute").addEventListener("change", (e) => {
    const id = state.open;
    const value = e.target.value;
    if (id === null || value === CURRENT) return;
    const { muted, until } = muteRequest(value, Date.now());
    call("set_muted", { conversationId: id, muted, until })
      .then(() => {
        if (muted) state.muted.set(id, until); else state.muted.delete(id);
        scheduleMuteEnds();
        drawList();
      })
      .catch((err) => toast(errorText(err)))
      // Either way the menu shows what holds (if that chat still shows).
      .finally(() => { if (state.open === id) drawMute(); });
  });
}
