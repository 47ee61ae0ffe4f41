// When things happened, in words (pure; tested in node): the line under a chat's title (a
// group's members; for a direct chat "online", "last seen 5 minutes ago", "last seen today at
// 14:03", "last seen yesterday at 09:12", "last seen 12 Mar", or nothing when it is unknown or
// hidden), and a message's time ("queued" while it waits in the outbox; the relay's time once
// stored; when it was written if it failed) with the full date and time as its tooltip. Dates and
// times follow the system's locale (Intl), as the rest of the UI does. A search result says
// when its message was sent: the time today, the date before (resultTime).

import { time } from "./dom.js";
import { formatDate } from "./dates.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The full date and time of `ms` (a tooltip): "Tuesday 12 March 2024 at 14:03". */
export const fullDateTime = (ms) => formatDate("fullDateTime", ms);

/** A short date: "12 Mar" this year, "12 Mar 2023" before (order and names follow the locale). */
export function shortDate(ms, now) {
  const year = new Date(ms).getFullYear() !== new Date(now).getFullYear();
  return formatDate(year ? "shortDateYear" : "shortDate", ms);
}

/** Local midnight starting the day `days` after the day of `ms` (negative: before). */
function dayStart(ms, days = 0) {
  const d = new Date(ms);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + days).getTime();
}

/**
 * When someone was last seen, as the chat header says it at `now` (both ms since the epoch):
 * "last seen just now", "last seen N minutes ago" (within the hour), "last seen today at 14:03",
 * "last seen yesterday at 09:12", else "last seen 12 Mar" (with the year when not this one).
 * "" when unknown or hidden (null). A time ahead of `now` (clocks differ) is "just now".
 */
export function lastSeenText(lastSeen, now) {
  if (lastSeen == null || !Number.isFinite(lastSeen)) return "";
  const ago = now - lastSeen;
  if (ago < MINUTE) return "last seen just now";
  if (ago < HOUR) {
    const n = Math.floor(ago / MINUTE);
    return `last seen ${n} minute${n === 1 ? "" : "s"} ago`;
  }
  if (lastSeen >= dayStart(now)) return `last seen today at ${time(lastSeen)}`;
  if (lastSeen >= dayStart(now, -1)) return `last seen yesterday at ${time(lastSeen)}`;
  return `last seen ${shortDate(lastSeen, now)}`;
}

/**
 * The line under the open chat's title at `now`: a group's member names; for a direct chat
 * "online", when the other member was last seen, or "" (unknown, or hidden by their privacy).
 * `title` is the tooltip: the full date and time last seen, or "".
 */
export function chatSubtitle(c, now) {
  if (c.kind === "group") {
    const names = c.members.map((m) => m.username).join(", ");
    return { text: names, title: "" };
  }
  if (c.online === true) return { text: "online", title: "" };
  const text = lastSeenText(c.last_seen, now);
  return { text, title: text ? `Last seen ${fullDateTime(c.last_seen)}` : "" };
}

/**
 * What a message's time says: `text` ("queued" while it waits in the outbox: no relay time yet;
 * the relay's time once stored; a failed one's is when it was written, and so is one of this
 * device's that was written offline and stored later: `written_at`), `title` (the full date and
 * time, and what it is for a message not sent or sent late) and `iso` (for a `<time datetime>`).
 */
export function messageTime(m) {
  if (!Number.isFinite(m.sent_at)) return { text: m.status === "queued" ? "queued" : "", title: "", iso: "" };
  const full = fullDateTime(m.sent_at);
  const iso = new Date(m.sent_at).toISOString();
  if (m.status === "queued") return { text: "queued", title: `Written ${full}, waiting to be sent`, iso };
  if (m.status === "failed") return { text: time(m.sent_at), title: `Written ${full}, not sent`, iso };
  if (Number.isFinite(m.written_at)) {
    const written = new Date(m.written_at).toISOString();
    // Under a day divider of when it was sent: the date too when it was written another day.
    const sameDay = dayStart(m.written_at) === dayStart(m.sent_at);
    const text = sameDay ? time(m.written_at) : `${shortDate(m.written_at, m.sent_at)}, ${time(m.written_at)}`;
    return { text, title: `Written ${fullDateTime(m.written_at)} while offline, sent ${full}`, iso: written };
  }
  return { text: time(m.sent_at), title: full, iso };
}

/**
 * When a search result's message was sent, at `now`: `text` (the time when it was sent today,
 * else the short date), `title` (the full date and time) and `iso` (for a `<time datetime>`);
 * all "" when unknown.
 */
export function resultTime(ms, now) {
  if (!Number.isFinite(ms)) return { text: "", title: "", iso: "" };
  const today = ms >= dayStart(now) && ms < dayStart(now, 1);
  return { text: today ? time(ms) : shortDate(ms, now), title: fullDateTime(ms), iso: new Date(ms).toISOString() };
}
