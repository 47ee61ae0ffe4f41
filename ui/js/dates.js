// Dates and times in the system's locale, through formatters made once and reused (pure; tested
// in node). Every `Date#toLocale…String` call given options builds a new Intl.DateTimeFormat,
// which in the web view costs about a millisecond (ICU reads the locale's patterns again); a
// chat's page built three per message, and that was much of the time from a click on a chat to
// its first frame (docs/benchmarks.md). A formatter keeps the time zone it was made in, so the
// set is made again when the zone's offset changes (the machine moved to another zone, or a
// daylight-saving change: then once, at no cost worth counting).

/** The formats the UI shows, by name. */
const OPTIONS = {
  /** "14:03" (or "2:03 PM"): a message's time, a conversation's last message today. */
  time: { hour: "2-digit", minute: "2-digit" },
  /** "Tuesday 12 March 2024": the chat's day separators. */
  day: { weekday: "long", year: "numeric", month: "long", day: "numeric" },
  /** "12 Mar 2024, 14:03": a device's last use. */
  dateTime: { dateStyle: "medium", timeStyle: "short" },
  /** "Tuesday 12 March 2024 at 14:03": tooltips. */
  fullDateTime: { dateStyle: "full", timeStyle: "short" },
  /** "12 Mar": earlier this year. */
  shortDate: { day: "numeric", month: "short" },
  /** "12 Mar 2023": another year. */
  shortDateYear: { day: "numeric", month: "short", year: "numeric" },
};

let made = new Map();
/** The time zone offset (minutes, as `getTimezoneOffset` says) the formatters were made for. */
let madeFor = null;

/** The formatter named `name` (a key of OPTIONS), made on first use in the current zone. */
export function formatter(name) {
  const offset = new Date().getTimezoneOffset();
  if (offset !== madeFor) { made = new Map(); madeFor = offset; }
  let f = made.get(name);
  if (!f) {
    const options = OPTIONS[name];
    if (!options) throw new Error(`no date format named ${name}`);
    f = new Intl.DateTimeFormat([], options);
    made.set(name, f);
  }
  return f;
}

/**
 * `ms` (ms since the epoch) in the format named `name`: what `new Date(ms).toLocale…String([],
 * options)` says, "Invalid Date" included (Intl would format a missing time as now instead).
 */
export function formatDate(name, ms) {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? "Invalid Date" : formatter(name).format(d);
}
