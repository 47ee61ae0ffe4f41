// Small DOM and formatting helpers shared by the views. User text only ever goes through
// textContent (el's third argument), never parsed as HTML. Dates go through dates.js's
// formatters, made once.

import { formatDate } from "./dates.js";

/** The element with that id. */
export const $ = (id) => document.getElementById(id);

/** A new element with an optional class and text. */
export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Hours and minutes of a timestamp (ms). */
export const time = (ms) => formatDate("time", ms);

/** The long date of a timestamp (ms), for day separators. */
export const day = (ms) => formatDate("day", ms);

/** Call `fn` once after `ms` of quiet. */
export function debounce(fn, ms) {
  let t = null;
  return () => { clearTimeout(t); t = setTimeout(fn, ms); };
}

/** Split a comma-separated list of usernames. */
export const names = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);

/** The date and time of a timestamp (ms), for when something happened longer ago. */
export const dateTime = (ms) => formatDate("dateTime", ms);

/**
 * Whether the user can be looking at the open chat: the window has focus and shows, and no
 * modal dialog (a picture in the viewer, a question, the members' list) covers it. Only then is
 * what shows marked read; a dialog's closing is a reason to measure again (main.js).
 */
export const attending = () => document.hasFocus() && !document.hidden && !document.querySelector("dialog[open]");
