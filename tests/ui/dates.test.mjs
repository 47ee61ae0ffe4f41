// Unit tests of ui/js/dates.js: each named format says what the `Date#toLocale…String` call it
// replaces says (in whatever zone and locale the tests run), a missing time is "Invalid Date"
// as before, a formatter is made once and reused, and made again when the time zone changes.

import test from "node:test";
import assert from "node:assert/strict";
import { formatter, formatDate } from "../../ui/js/dates.js";

const TIMES = [0, Date.UTC(2024, 2, 12, 14, 3), Date.UTC(2023, 11, 31, 23, 59), Date.UTC(2024, 6, 1, 0, 0)];

test("each format says what the call it replaces said", () => {
  for (const ms of TIMES) {
    const d = new Date(ms);
    assert.equal(formatDate("time", ms), d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
    assert.equal(formatDate("day", ms), d.toLocaleDateString([], { weekday: "long", year: "numeric", month: "long", day: "numeric" }));
    assert.equal(formatDate("dateTime", ms), d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" }));
    assert.equal(formatDate("fullDateTime", ms), d.toLocaleString([], { dateStyle: "full", timeStyle: "short" }));
    assert.equal(formatDate("shortDate", ms), d.toLocaleDateString([], { day: "numeric", month: "short" }));
    assert.equal(formatDate("shortDateYear", ms), d.toLocaleDateString([], { day: "numeric", month: "short", year: "numeric" }));
  }
});

test("a missing time is Invalid Date, not now", () => {
  assert.equal(formatDate("time", undefined), "Invalid Date");
  assert.equal(formatDate("day", NaN), "Invalid Date");
  assert.equal(formatDate("day", null), new Date(0).toLocaleDateString([], { weekday: "long", year: "numeric", month: "long", day: "numeric" }));
});

test("a formatter is made once, and an unknown name is an error", () => {
  assert.equal(formatter("time"), formatter("time"));
  assert.notEqual(formatter("time"), formatter("day"));
  assert.throws(() => formatter("nonsense"), /no date format named nonsense/);
});

test("times follow the machine into another time zone", () => {
  const before = process.env.TZ;
  try {
    const ms = Date.UTC(2024, 2, 12, 14, 3);
    process.env.TZ = "UTC";
    const utc = formatDate("time", ms);
    const made = formatter("time");
    process.env.TZ = "Asia/Tokyo";
    assert.notEqual(formatter("time"), made, "made again for the new zone");
    assert.equal(formatDate("time", ms), new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
    assert.notEqual(formatDate("time", ms), utc, "Tokyo is nine hours ahead of UTC");
  } finally {
    if (before === undefined) delete process.env.TZ;
    else process.env.TZ = before;
  }
});
