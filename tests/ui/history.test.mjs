// The open chat shows a gap-free run of stored messages: a live message that would leave a
// gap is not shown where it would (an older one waits for scrolling back; a newer one makes
// the chat read its newest page again).
import test from "node:test";
import assert from "node:assert/strict";
import { placement } from "../../ui/js/store.js";

const m = (seq) => ({ client_id: `c${seq}`, seq });

test("a message joins the run only inside it or right next to either end", () => {
  const chat = [m(5), m(6), m(7)];
  assert.equal(placement(chat, m(8)), "joins");
  assert.equal(placement(chat, m(4)), "joins");
  assert.equal(placement(chat, m(6)), "joins", "a copy of one shown");
  assert.equal(placement(chat, m(9)), "newer", "8 is missing");
  assert.equal(placement(chat, m(3)), "older", "4 is missing");
  assert.equal(placement(chat, { client_id: "x", seq: null }), null, "unsent");
  assert.equal(placement([], m(40)), null, "nothing stored shown yet");
  assert.equal(placement([{ client_id: "u", seq: null }], m(40)), null, "only unsent shown");
});
