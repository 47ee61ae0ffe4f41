// Unit tests of ui/js/mute.js: what each mute choice asks the shell, when a mute holds, what the
// chat header says of it, and how ended mutes leave the UI's map at their end. Dates are local
// and times are formatted through the same Intl calls, so the tests hold in any zone and locale.

import test from "node:test";
import assert from "node:assert/strict";
import { MUTE_CHOICES, muteItems, muteRequest, isMuted, muteText, nextEnd, dropEnded } from "../../ui/js/mute.js";
import { shortDate } from "../../ui/js/when.js";

const at = (...parts) => new Date(...parts).getTime();
const hm = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
const NOW = at(2024, 2, 12, 14, 3); // Tuesday 12 March 2024, 14:03 local
const HOUR = 3_600_000;

test("the choices: an hour, 8 hours, a day, a week, for good; unmute first when muted", () => {
  assert.deepEqual(muteItems(false).map((c) => c.label), [
    "Mute for 1 hour", "Mute for 8 hours", "Mute for 1 day", "Mute for 1 week", "Mute until I unmute",
  ]);
  assert.deepEqual(muteItems(true).map((c) => c.label), [
    "Unmute", "Mute for 1 hour", "Mute for 8 hours", "Mute for 1 day", "Mute for 1 week", "Mute until I unmute",
  ]);
  assert.deepEqual(muteItems(true).map((c) => muteRequest(c.action, NOW)), [
    { muted: false, until: null },
    { muted: true, until: NOW + HOUR },
    { muted: true, until: NOW + 8 * HOUR },
    { muted: true, until: NOW + 24 * HOUR },
    { muted: true, until: NOW + 7 * 24 * HOUR },
    { muted: true, until: null },
  ]);
  assert.equal(MUTE_CHOICES.length, 5);
  for (const bad of ["soon", "-5", "", "1e3", "0"]) assert.throws(() => muteRequest(bad, NOW), bad);
});

test("a mute holds until its end, a mute for good always", () => {
  const muted = new Map([[1, NOW + HOUR], [2, null], [3, NOW]]);
  assert.equal(isMuted(muted, 1, NOW), true);
  assert.equal(isMuted(muted, 1, NOW + HOUR), false, "ended at its end");
  assert.equal(isMuted(muted, 2, NOW + 1000 * HOUR), true);
  assert.equal(isMuted(muted, 3, NOW), false);
  assert.equal(isMuted(muted, 4, NOW), false, "never muted");
});

test("the header says until when: the time today, the date and time later", () => {
  assert.equal(muteText(null, NOW), "Muted");
  assert.equal(muteText(NOW + HOUR, NOW), `Muted until ${hm(NOW + HOUR)}`);
  const tomorrow = NOW + 24 * HOUR;
  assert.equal(muteText(tomorrow, NOW), `Muted until ${shortDate(tomorrow, NOW)}, ${hm(tomorrow)}`);
  assert.equal(muteText(null, NOW, false), "");
});

test("ended mutes leave at their end, and the soonest end is what to wait for", () => {
  const muted = new Map([[1, NOW + 2 * HOUR], [2, null], [3, NOW + HOUR]]);
  assert.equal(nextEnd(muted, NOW), HOUR);
  assert.deepEqual(dropEnded(muted, NOW + HOUR - 1), []);
  assert.deepEqual(dropEnded(muted, NOW + HOUR), [3]);
  assert.deepEqual([...muted.keys()], [1, 2]);
  assert.equal(nextEnd(muted, NOW + HOUR), HOUR);
  assert.deepEqual(dropEnded(muted, NOW + 5 * HOUR), [1]);
  assert.equal(nextEnd(muted, NOW + 5 * HOUR), null, "a mute for good never ends");
  assert.equal(nextEnd(new Map([[1, NOW - 5]]), NOW), 0, "an end already past: at once");
});
