// Muting a conversation for a while or for good (pure; tested in node), as Signal and Telegram
// offer it: for an hour, 8 hours, a day, a week, or until unmuted (a menu opened from the chat
// header's button, views/mute-menu.js). The shell keeps each mute
// with its end (settings.json) and stops honouring it once the end has passed; the UI holds the
// same as `state.muted`, a Map from conversation id to its end (ms since the epoch) or null for
// "until unmuted", and drops ended ones at the moment they end (`nextEnd`, `dropEnded`).

import { time } from "./dom.js";
import { shortDate } from "./when.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The choices of the chat header's mute menu: `value` is how long in ms, or "always". */
export const MUTE_CHOICES = [
  { value: String(HOUR), label: "Mute for 1 hour" },
  { value: String(8 * HOUR), label: "Mute for 8 hours" },
  { value: String(DAY), label: "Mute for 1 day" },
  { value: String(7 * DAY), label: "Mute for 1 week" },
  { value: "always", label: "Mute until I unmute" },
];

/** The menu's choice that ends a mute. */
export const UNMUTE = "unmute";

/**
 * What choosing `value` (UNMUTE or a MUTE_CHOICES value) at `now` asks the shell:
 * `{ muted, until }`, `until` being the end in ms since the epoch or null (for good, or not
 * muted).
 */
export function muteRequest(value, now) {
  if (value === UNMUTE) return { muted: false, until: null };
  if (value === "always") return { muted: true, until: null };
  const span = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isFinite(span) || span <= 0) throw new Error(`not a mute choice: ${value}`);
  return { muted: true, until: now + span };
}

/** The menu's items at `now` for a chat muted (`muted`) or not: unmute first when muted. */
export function muteItems(muted) {
  const items = MUTE_CHOICES.map(({ value, label }) => ({ action: value, label }));
  return muted ? [{ action: UNMUTE, label: "Unmute" }, ...items] : items;
}

/** Whether conversation `id` is muted at `now` under `muted` (Map id → end or null). */
export function isMuted(muted, id, now) {
  if (!muted.has(id)) return false;
  const until = muted.get(id);
  return until == null || until > now;
}

/**
 * The words for a mute at `now`: "Muted" for good; "Muted until 15:30" when it ends today,
 * "Muted until 12 Mar, 15:30" later (the locale's order); "" when not muted.
 */
export function muteText(until, now, muted = true) {
  if (!muted) return "";
  if (until == null) return "Muted";
  const today = new Date(until).toDateString() === new Date(now).toDateString();
  return today ? `Muted until ${time(until)}` : `Muted until ${shortDate(until, now)}, ${time(until)}`;
}

/** Milliseconds from `now` to the soonest end among `muted` (null when none will end). */
export function nextEnd(muted, now) {
  let soonest = null;
  for (const until of muted.values()) {
    if (until != null && (soonest === null || until < soonest)) soonest = until;
  }
  return soonest === null ? null : Math.max(0, soonest - now);
}

/** Remove the mutes that have ended by `now`; the ids removed. */
export function dropEnded(muted, now) {
  const ended = [];
  for (const [id, until] of muted) {
    if (until != null && until <= now) ended.push(id);
  }
  for (const id of ended) muted.delete(id);
  return ended;
}
