// Unit tests of ui/js/when.js: the "last seen" line under a direct chat's title, what a
// message's time says (queued, the relay's time, when a failed one was written) with its
// tooltip, and a search result's time. Dates are built in local time, and what the locale
// formats is expected through the same Intl calls, so the tests hold in any time zone and locale.

import test from "node:test";
import assert from "node:assert/strict";
import { lastSeenText, chatSubtitle, messageTime, fullDateTime, shortDate, resultTime } from "../../ui/js/when.js";

const at = (...parts) => new Date(...parts).getTime();
const hm = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
const NOW = at(2024, 2, 12, 14, 3); // Tuesday 12 March 2024, 14:03 local
const MIN = 60_000;

test("unknown or hidden: nothing", () => {
  assert.equal(lastSeenText(null, NOW), "");
  assert.equal(lastSeenText(undefined, NOW), "");
  assert.equal(lastSeenText(NaN, NOW), "");
});

test("within the hour: just now, then in minutes", () => {
  assert.equal(lastSeenText(NOW, NOW), "last seen just now");
  assert.equal(lastSeenText(NOW - 59_000, NOW), "last seen just now");
  assert.equal(lastSeenText(NOW + 30_000, NOW), "last seen just now", "a clock ahead is not in the future");
  assert.equal(lastSeenText(NOW - MIN, NOW), "last seen 1 minute ago");
  assert.equal(lastSeenText(NOW - 5 * MIN - 10_000, NOW), "last seen 5 minutes ago");
  assert.equal(lastSeenText(NOW - 59 * MIN, NOW), "last seen 59 minutes ago");
});

test("earlier today, yesterday, then a date", () => {
  const morning = at(2024, 2, 12, 9, 12);
  assert.equal(lastSeenText(morning, NOW), `last seen today at ${hm(morning)}`);
  assert.equal(lastSeenText(at(2024, 2, 12, 0, 0), NOW), `last seen today at ${hm(at(2024, 2, 12, 0, 0))}`);
  const late = at(2024, 2, 11, 23, 59);
  assert.equal(lastSeenText(late, NOW), `last seen yesterday at ${hm(late)}`);
  const early = at(2024, 2, 11, 0, 0);
  assert.equal(lastSeenText(early, NOW), `last seen yesterday at ${hm(early)}`);
  const before = at(2024, 2, 10, 23, 59);
  assert.equal(lastSeenText(before, NOW), `last seen ${new Date(before).toLocaleDateString([], { day: "numeric", month: "short" })}`);
  const lastYear = at(2023, 11, 31, 12, 0);
  assert.equal(lastSeenText(lastYear, NOW),
    `last seen ${new Date(lastYear).toLocaleDateString([], { day: "numeric", month: "short", year: "numeric" })}`);
  assert.match(shortDate(lastYear, NOW), /2023/);
  assert.doesNotMatch(shortDate(before, NOW), /2024/);
});

test("shortly after midnight, an hour ago is yesterday's time only past the hour", () => {
  const now = at(2024, 2, 12, 0, 20);
  assert.equal(lastSeenText(at(2024, 2, 11, 23, 50), now), "last seen 30 minutes ago");
  const t = at(2024, 2, 11, 23, 0);
  assert.equal(lastSeenText(t, now), `last seen yesterday at ${hm(t)}`);
});

test("the header line: a group's members, online, last seen, or nothing", () => {
  const members = [{ user_id: 1, username: "alice" }, { user_id: 2, username: "bob" }];
  assert.deepEqual(chatSubtitle({ kind: "group", members, online: null, last_seen: null }, NOW), { text: "alice, bob", title: "" });
  const direct = { kind: "direct", members, online: true, last_seen: NOW - 10 * MIN };
  assert.deepEqual(chatSubtitle(direct, NOW), { text: "online", title: "" });
  const away = chatSubtitle({ ...direct, online: false }, NOW);
  assert.equal(away.text, "last seen 10 minutes ago");
  assert.equal(away.title, `Last seen ${fullDateTime(NOW - 10 * MIN)}`);
  assert.deepEqual(chatSubtitle({ ...direct, online: false, last_seen: null }, NOW), { text: "", title: "" });
  assert.deepEqual(chatSubtitle({ ...direct, online: false, last_seen: undefined }, NOW), { text: "", title: "" }, "an engine without the field");
});

test("a message's time: queued until stored, the relay's time after, a failed or late one's when written", () => {
  const written = at(2024, 2, 12, 9, 12), stored = at(2024, 2, 12, 9, 40);
  const queued = messageTime({ sent_at: written, status: "queued" });
  assert.equal(queued.text, "queued");
  assert.equal(queued.title, `Written ${fullDateTime(written)}, waiting to be sent`);
  assert.equal(queued.iso, new Date(written).toISOString());
  const sent = messageTime({ sent_at: stored, status: "sent" });
  assert.equal(sent.text, hm(stored));
  assert.equal(sent.title, fullDateTime(stored));
  const failed = messageTime({ sent_at: written, status: "failed" });
  assert.equal(failed.text, hm(written));
  assert.equal(failed.title, `Written ${fullDateTime(written)}, not sent`);
  assert.equal(messageTime({ sent_at: stored, status: "received" }).title, fullDateTime(stored));
  // Written offline, stored later: when it was written, and when it went.
  const late = messageTime({ sent_at: stored, written_at: written, status: "read" });
  assert.equal(late.text, hm(written));
  assert.equal(late.title, `Written ${fullDateTime(written)} while offline, sent ${fullDateTime(stored)}`);
  assert.equal(late.iso, new Date(written).toISOString());
  assert.equal(messageTime({ sent_at: stored, written_at: null, status: "sent" }).text, hm(stored));
  // Written another day than it was sent (it sits under the day it was sent): the date too.
  const dayBefore = at(2024, 2, 11, 23, 10);
  const overnight = messageTime({ sent_at: stored, written_at: dayBefore, status: "received" });
  assert.equal(overnight.text, `${shortDate(dayBefore, stored)}, ${hm(dayBefore)}`);
  assert.match(fullDateTime(stored), /2024/);
  assert.deepEqual(messageTime({ sent_at: undefined, status: "sent" }), { text: "", title: "", iso: "" });
});

test("a search result's time: the time today, the date before; the full date as its tooltip", () => {
  const morning = at(2024, 2, 12, 9, 12);
  assert.deepEqual(resultTime(morning, NOW), { text: hm(morning), title: fullDateTime(morning), iso: new Date(morning).toISOString() });
  const midnight = at(2024, 2, 12, 0, 0);
  assert.equal(resultTime(midnight, NOW).text, hm(midnight));
  const yesterday = at(2024, 2, 11, 23, 59);
  assert.equal(resultTime(yesterday, NOW).text, shortDate(yesterday, NOW));
  assert.equal(resultTime(yesterday, NOW).title, fullDateTime(yesterday));
  const lastYear = at(2023, 2, 12, 9, 12);
  assert.match(resultTime(lastYear, NOW).text, /2023/);
  assert.equal(resultTime(at(2024, 2, 13, 0, 1), NOW).text, shortDate(at(2024, 2, 13, 0, 1), NOW), "tomorrow (clocks differ): a date");
  assert.deepEqual(resultTime(undefined, NOW), { text: "", title: "", iso: "" });
});
