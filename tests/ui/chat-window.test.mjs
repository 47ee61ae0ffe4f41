// The open chat's window driven end to end (ui/js/refresh.js loading pages, events.js live
// events, views/chat.js drawing rows and keeping the scroll position) on a stand-in for the DOM
// that lays rows out at fixed heights, against a stand-in shell holding a chat of 1,000 stored
// messages. Scrolling back holds at most WINDOW messages and rows, never a gap, and keeps what
// shows in place; scrolling down reads the newer ones back; live messages while newer ones are
// not held do not join; the jump-to-bottom button reads the newest page.

import test from "node:test";
import assert from "node:assert/strict";

// ---------- a DOM with a layout: rows of fixed heights in #messages ----------

const HEIGHTS = { msg: 30, day: 20, "new-divider": 20 };
/** The list's height; a test shrinks it as a growing composer does. */
let VIEW = 300;

class Text {
  constructor(data) { this.nodeType = 3; this.data = String(data); this.parentNode = null; }
  get textContent() { return this.data; }
  remove() { if (this.parentNode) this.parentNode.removeChild(this); }
}
class Element {
  constructor(tag) {
    this.nodeType = 1; this.tagName = tag.toUpperCase(); this.childNodes = []; this.parentNode = null;
    this.className = ""; this.dataset = {}; this.attrs = {}; this.style = {}; this.listeners = {};
    this.hidden = false; this.tabIndex = -1; this.title = "";
  }
  get classList() {
    const get = () => this.className.split(" ").filter(Boolean);
    return {
      contains: (c) => get().includes(c),
      add: (...cs) => { this.className = [...new Set([...get(), ...cs])].join(" "); },
      remove: (...cs) => { this.className = get().filter((x) => !cs.includes(x)).join(" "); },
      toggle: (c, on) => { const has = get().includes(c); const want = on === undefined ? !has : !!on; if (want !== has) this.className = want ? [...get(), c].join(" ") : get().filter((x) => x !== c).join(" "); return want; },
    };
  }
  get children() { return this.childNodes.filter((n) => n.nodeType === 1); }
  get firstChild() { return this.childNodes[0] || null; }
  get nextSibling() { const k = this.parentNode ? this.parentNode.childNodes : []; return k[k.indexOf(this) + 1] || null; }
  get nextElementSibling() { const k = this.parentNode ? this.parentNode.children : []; return k[k.indexOf(this) + 1] || null; }
  get previousElementSibling() { const k = this.parentNode ? this.parentNode.children : []; return k[k.indexOf(this) - 1] || null; }
  get isConnected() { let n = this; while (n.parentNode) n = n.parentNode; return n === root; }
  get offsetWidth() { return 0; }
  append(...nodes) { for (const n of nodes) this.insertBefore(typeof n === "string" ? new Text(n) : n, null); }
  appendChild(n) { this.insertBefore(n, null); return n; }
  insertBefore(n, ref) {
    if (n.parentNode) n.parentNode.removeChild(n);
    n.parentNode = this;
    this.childNodes.splice(ref ? this.childNodes.indexOf(ref) : this.childNodes.length, 0, n);
    return n;
  }
  removeChild(n) { this.childNodes.splice(this.childNodes.indexOf(n), 1); n.parentNode = null; return n; }
  remove() { if (this.parentNode) this.parentNode.removeChild(this); }
  replaceChildren(...nodes) { for (const n of [...this.childNodes]) this.removeChild(n); this.append(...nodes); }
  contains(n) { for (; n; n = n.parentNode) if (n === this) return true; return false; }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  getAttribute(k) { return this.attrs[k] ?? null; }
  removeAttribute(k) { delete this.attrs[k]; }
  addEventListener(type, fn) { (this.listeners[type] ||= []).push(fn); }
  removeEventListener() {}
  dispatch(type, e = {}) { for (const fn of this.listeners[type] || []) fn({ target: this, preventDefault() {}, ...e }); }
  get textContent() { return this.childNodes.map((n) => n.textContent).join(""); }
  set textContent(t) { this.replaceChildren(String(t)); }
  focus() { doc.activeElement = this; }
  scrollIntoView() {}
  all() { return this.children.flatMap((c) => [c, ...c.all()]); }
  querySelectorAll(sel) { return this.all().filter((e) => sel.split(",").some((s) => matches(e, s.trim().split(/\s+/).pop()))); }
  querySelector(sel) { return this.querySelectorAll(sel)[0] || null; }
  closest(sel) { for (let n = this; n && n.nodeType === 1; n = n.parentNode) if (matches(n, sel)) return n; return null; }
  /** Rows of #messages are laid out one under another; the rest take no room. */
  getBoundingClientRect() {
    if (this === ids.messages) return { top: 0, bottom: VIEW, height: VIEW, left: 0, width: 400 };
    const ol = ids.messages;
    if (this.parentNode !== ol) return { top: 0, bottom: 0, height: 0, left: 0, width: 0 };
    let y = -ol.scrollTop;
    for (const n of ol.children) {
      const h = heightOf(n);
      if (n === this) return { top: y, bottom: y + h, height: h, left: 0, width: 400 };
      y += h;
    }
    throw new Error("not laid out");
  }
}
/** Enough of a selector: tag, .classes, [attr], :not(.class). */
function matches(e, s) {
  const not = /:not\(\.([\w-]+)\)/.exec(s);
  if (not && e.classList.contains(not[1])) return false;
  s = s.replace(/:not\([^)]*\)/, "");
  const tag = /^[a-z]+/i.exec(s);
  if (tag && e.tagName !== tag[0].toUpperCase()) return false;
  return [...s.matchAll(/\.([\w-]+)/g)].every((m) => e.classList.contains(m[1]))
    && [...s.matchAll(/\[([\w-]+)[^\]]*\]/g)].every((m) => (m[1].startsWith("data-") ? e.dataset[m[1].slice(5)] !== undefined : e.getAttribute(m[1]) !== null));
}
const heightOf = (n) => Object.entries(HEIGHTS).find(([c]) => n.classList.contains(c))?.[1] ?? 0;

class List extends Element {
  constructor() { super("ol"); this.top = 0; }
  get clientHeight() { return VIEW; }
  get clientTop() { return 0; }
  get scrollHeight() { return this.children.reduce((a, n) => a + heightOf(n), 0); }
  get scrollTop() { return this.top; }
  set scrollTop(v) { this.top = Math.max(0, Math.min(Math.round(v), Math.max(0, this.scrollHeight - VIEW))); }
}

const root = new Element("html");
const ids = { messages: new List() };
root.append(ids.messages);
const doc = {
  activeElement: null, hidden: false, body: new Element("body"),
  createElement: (t) => new Element(t),
  createTextNode: (t) => new Text(t),
  getElementById: (id) => {
    if (!ids[id]) { ids[id] = new Element(id === "mute" ? "button" : "div"); root.append(ids[id]); }
    return ids[id];
  },
  querySelector: () => null, querySelectorAll: () => [], addEventListener() {}, removeEventListener() {},
  hasFocus: () => true,
};
root.append(doc.body);
globalThis.document = doc;
globalThis.requestAnimationFrame = () => 0;
globalThis.ResizeObserver = class { observe() {} };
globalThis.localStorage = { getItem: () => null, setItem() {}, removeItem() {} };

// ---------- the shell: a chat of 1,000 stored messages, and one unsent ----------

const CONV = 3, ME = 1, N = 1000;
const HOUR = 3600e3;
/** Stored messages seq 1..N, a few a day (day separators come and go). */
let stored = Array.from({ length: N }, (_, i) => msg(i + 1));
let outbox = [{ ...msg(0), client_id: "unsent", seq: null, mine: true, sender_id: ME, sender: "alice", status: "queued", body: "unsent" }];
function msg(seq) {
  return {
    conversation_id: CONV, client_id: `c${seq}`, seq, sender_id: 2, sender: "bob", body: `m${seq}`,
    sent_at: Date.UTC(2024, 0, 1) + seq * 4 * HOUR, mine: false, status: "received",
    reply_to: null, edited: false, deleted: false, reactions: [], mentions_me: false,
  };
}
const calls = [];
async function invoke(command, args) {
  calls.push(command);
  if (command === "messages") {
    const before = args.beforeSeq;
    const older = stored.filter((m) => before == null || m.seq < before);
    const page = older.slice(Math.max(0, older.length - args.limit));
    return before == null ? [...page, ...outbox] : page;
  }
  if (command === "messages_after") {
    const page = stored.filter((m) => m.seq > args.afterSeq).slice(0, args.limit);
    return page.length < args.limit ? [...page, ...outbox] : page;
  }
  return null;
}
globalThis.window = { __TAURI__: { core: { invoke }, event: { listen: async () => {} } }, innerWidth: 800, innerHeight: 600 };

const { state } = await import("../../ui/js/store.js");
const refresh = await import("../../ui/js/refresh.js");
const { onEvent } = await import("../../ui/js/events.js");
const chat = await import("../../ui/js/views/chat.js");
const { WINDOW, PAGE, SCROLL_PAGE, loadChat, loadOlder, loadNewer, reveal } = refresh;

const member = (user_id, username) => ({ user_id, username, role: "member", delivered_seq: 0, read_seq: 0 });
state.userId = ME;
state.me = "alice";
state.conversations = new Map([[CONV, {
  conversation_id: CONV, kind: "direct", name: null, title: "bob", members: [member(ME, "alice"), member(2, "bob")],
  last_seq: N, created_at: 0, last_message: stored[N - 1], unread: 0, online: false, request: false, picture: null,
}]]);
state.open = CONV;
let olderAsked = 0, newerAsked = 0, newestAsked = 0;
chat.wireMessages({
  retry() {}, remove() {}, editFailed() {}, act() {}, menu() {}, read() {},
  nearTop: () => { olderAsked++; }, nearEnd: () => { newerAsked++; }, newest: () => { newestAsked++; return loadChat(); },
});

const ol = ids.messages;
const seqs = () => state.chat.filter((m) => m.seq != null).map((m) => m.seq);
const gapFree = () => seqs().every((s, i, a) => i === 0 || s === a[i - 1] + 1);
const msgRows = () => ol.children.filter((n) => n.classList.contains("msg"));
/** The first message row showing at the top of the view, and where it is. */
function topRow() {
  const row = msgRows().find((n) => n.getBoundingClientRect().bottom > 0);
  return { seq: row.dataset.seq, top: row.getBoundingClientRect().top };
}
/** Where the row of the message at `seq` is now (its top edge; null: no such row). */
function whereIs(seq) {
  const row = msgRows().find((n) => n.dataset.seq === seq);
  return row ? row.getBoundingClientRect().top : null;
}
/** Rows match the store: one per message held, in order. */
function rowsMatch() {
  assert.deepEqual(msgRows().map((n) => n.dataset.clientId), state.chat.map((m) => m.client_id));
}

test("the newest page opens at the bottom, the unsent message last", async () => {
  await loadChat();
  assert.equal(state.hasNewer, false);
  assert.equal(state.hasOlder, true);
  assert.deepEqual(seqs(), Array.from({ length: PAGE }, (_, i) => N - PAGE + 1 + i));
  assert.equal(state.chat.at(-1).client_id, "unsent");
  rowsMatch();
  ol.scrollTop = ol.scrollHeight;
  assert.equal(ol.scrollTop, ol.scrollHeight - VIEW);
});

test("scrolling back holds at most WINDOW messages and rows, keeps what shows in place, never a gap", async () => {
  let rounds = 0;
  while (state.hasOlder && rounds++ < 100) {
    // More than a screen under the top, nothing is asked; within a screen of it (as a user
    // scrolls up), the scroll handler asks for older ones before the top is reached.
    const asked = olderAsked;
    ol.scrollTop = VIEW + 1;
    assert.equal(ol.scrollTop, VIEW + 1);
    ol.dispatch("scroll");
    assert.equal(olderAsked, asked, "a screen away from the top asks nothing yet");
    ol.scrollTop = VIEW - 1;
    ol.dispatch("scroll");
    assert.equal(olderAsked, asked + 1, "a screen ahead of the top asks for older messages");
    const before = topRow();
    await loadOlder();
    assert.equal(whereIs(before.seq), before.top, "the row at the top stays where it was");
    assert.ok(state.chat.length <= WINDOW, `${state.chat.length} held`);
    assert.ok(gapFree(), "no gap");
    rowsMatch();
    if (seqs()[0] < N - WINDOW) assert.equal(state.hasNewer, true, "the newest went");
  }
  assert.equal(seqs()[0], 1, "the very first message reached");
  assert.equal(state.chat.length, WINDOW);
  assert.equal(state.hasNewer, true);
  assert.ok(state.chat.every((m) => m.seq != null), "the unsent message went with the newest");
  assert.ok(ol.children.length < WINDOW * 2, "rows: the messages held and their day separators");
});

test("the jump button shows while newer messages are not held, with the conversation's unread", async () => {
  const c = state.conversations.get(CONV);
  // Read up to 990: none of the messages held is unread, 7 newer ones are.
  state.conversations.set(CONV, { ...c, unread: 7, members: [{ ...member(ME, "alice"), read_seq: 990 }, member(2, "bob")] });
  chat.recheckReading();
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(ids["jump-to-bottom"].hidden, false);
  assert.equal(ids["jump-count"].textContent, "7");
  state.conversations.set(CONV, c);
  // More than a screen from the end of what is held, nothing is asked; within a screen of it,
  // the next page is asked for before the user gets there.
  const asked = newerAsked;
  ol.scrollTop = ol.scrollHeight - 2 * VIEW - 1;
  ol.dispatch("scroll");
  assert.equal(newerAsked, asked, "a screen away from the end asks nothing yet");
  ol.scrollTop = ol.scrollHeight - 2 * VIEW + 1;
  ol.dispatch("scroll");
  assert.equal(newerAsked, asked + 1, "a screen ahead of the end asks for newer messages");
  // At the very end of what is held: still shown (the newest are not there), and scrolling asks for more.
  ol.scrollTop = ol.scrollHeight;
  ol.dispatch("scroll");
  assert.equal(newerAsked, asked + 2);
  ol.dispatch("wheel", { deltaY: 40 });
  assert.equal(newerAsked, asked + 3, "a wheel at the end asks too (no scroll event comes)");
  assert.equal(chat.showsNewest(), false, "a message arriving now would not show");
});

test("a live message while newer ones are not held does not join; a change to one held applies", async () => {
  const held = state.chat.length, top = seqs().at(-1);
  stored.push(msg(N + 1));
  onEvent({ event: "message", message: msg(N + 1) });
  assert.equal(state.chat.length, held, "not added after a gap");
  assert.equal(seqs().at(-1), top);
  assert.equal(state.conversations.get(CONV).unread, 1, "counted as unread");
  const edited = { ...msg(100), body: "edited", edited: true };
  onEvent({ event: "message_changed", message: edited, hidden: false });
  assert.equal(state.chat.find((m) => m.seq === 100).body, "edited");
  stored[99] = edited;
  // A status for one of the user's messages not held: no reading of the newest page.
  const before = calls.length;
  onEvent({ event: "status", conversation_id: CONV, client_id: "somewhere-newer", seq: N - 3, status: "delivered" });
  assert.equal(calls.length, before);
});

test("scrolling down reads the newer ones back, lets the oldest go, keeps what shows in place", async () => {
  let rounds = 0;
  while (state.hasNewer && rounds++ < 100) {
    ol.scrollTop = ol.scrollHeight;
    const before = topRow();
    await loadNewer();
    assert.equal(whereIs(before.seq), before.top, "the row at the top stays where it was");
    assert.ok(state.chat.length <= WINDOW, `${state.chat.length} held`);
    assert.ok(gapFree(), "no gap");
    rowsMatch();
    if (state.hasNewer) {
      const asked = newerAsked;
      ol.dispatch("scroll");
      assert.equal(newerAsked, asked, "the rows read in are below: no asking again at once");
    }
  }
  assert.equal(state.hasNewer, false);
  assert.equal(state.hasOlder, true, "the oldest went");
  assert.equal(seqs().at(-1), N + 1, "the live message that waited is there");
  assert.equal(state.chat.at(-1).client_id, "unsent", "the unsent message is back, last");
  assert.equal(state.chat.filter((m) => m.client_id === "unsent").length, 1);
  assert.equal(await loadNewer().then(() => state.chat.length), state.chat.length, "nothing more to read");
});

test("at the bottom, live messages past the window let the oldest go and the view follows", async () => {
  ol.scrollTop = ol.scrollHeight;
  for (let s = N + 2; s < N + 2 + 60; s++) {
    stored.push(msg(s));
    onEvent({ event: "message", message: msg(s) });
    assert.ok(state.chat.length <= WINDOW);
  }
  assert.equal(seqs().at(-1), N + 61);
  assert.ok(gapFree());
  assert.equal(ol.scrollTop, ol.scrollHeight - VIEW, "still at the bottom");
  rowsMatch();
});

test("revealing a message newer than what is held reads the newest page, then goes back to it", async () => {
  // Back to an early part first.
  assert.equal(await reveal(120), true);
  assert.ok(state.hasNewer);
  assert.ok(state.chat.length <= WINDOW);
  assert.ok(gapFree());
  assert.equal(await reveal(N - 5), true, "newer than the newest held");
  assert.ok(seqs().includes(N - 5));
  assert.ok(gapFree());
  assert.equal(await reveal(5), true, "and far back again");
  assert.ok(state.chat.length <= WINDOW && gapFree());
  rowsMatch();
});

test("the jump button with newer messages not held reads the newest page and goes to its bottom", async () => {
  assert.equal(state.hasNewer, true);
  ids["jump-to-bottom"].dispatch("click");
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(newestAsked, 1);
  assert.equal(state.hasNewer, false);
  assert.equal(seqs().at(-1), stored.at(-1).seq);
  assert.equal(state.chat.at(-1).client_id, "unsent");
  assert.equal(ol.scrollTop, ol.scrollHeight - VIEW, "at the bottom");
  assert.ok(chat.showsNewest());
  rowsMatch();
});

test("the user's own message written while newer ones are not held reads the newest page", async () => {
  // Back far enough that the newest go.
  await reveal(5);
  assert.equal(state.hasNewer, true);
  const mine = { ...msg(0), client_id: "fresh", seq: null, mine: true, sender_id: ME, status: "queued", body: "hi" };
  outbox = [...outbox, mine];
  chat.stickToBottom();
  onEvent({ event: "message", message: mine });
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(state.hasNewer, false);
  assert.equal(state.chat.at(-1).client_id, "fresh");
  assert.ok(gapFree());
  assert.equal(ol.scrollTop, ol.scrollHeight - VIEW);
});

test("a message heard while the last newer page loads joins once that page reached the newest", async () => {
  await reveal(300);
  assert.equal(state.hasNewer, true);
  while (stored.at(-1).seq - seqs().at(-1) > SCROLL_PAGE) await loadNewer();
  const loading = loadNewer();
  const late = msg(stored.at(-1).seq + 1);
  stored.push(late);
  onEvent({ event: "message", message: late });
  assert.ok(!seqs().includes(late.seq), "not while newer ones are still not held");
  await loading;
  assert.equal(state.hasNewer, false);
  assert.equal(seqs().at(-1), late.seq, "replayed onto the page that reached the newest");
  assert.ok(gapFree());
  assert.equal(state.chat.filter((m) => m.client_id === late.client_id).length, 1);
  rowsMatch();
});

test("opening a chat with many unread messages reveals back within reach: the newest stay held", async () => {
  const { openConversation } = await import("../../ui/js/conversation.js");
  const { UNREAD_REACH } = refresh;
  const c = state.conversations.get(CONV);
  const top = stored.at(-1).seq;
  // Read up to 300: some 700 unread, more than the reach.
  state.conversations.set(CONV, { ...c, unread: top - 300, members: [{ ...member(ME, "alice"), read_seq: 300 }, member(2, "bob")] });
  state.open = null;
  await openConversation(CONV);
  assert.equal(state.hasNewer, false, "the newest page stays");
  assert.equal(seqs().at(-1), top);
  assert.ok(state.chat.length <= UNREAD_REACH + 1, `${state.chat.length} held`);
  assert.ok(gapFree());
  rowsMatch();
  // Read up to a message within reach: its divider, and nothing newer let go.
  state.conversations.set(CONV, { ...c, unread: 150, members: [{ ...member(ME, "alice"), read_seq: top - 150 }, member(2, "bob")] });
  state.open = null;
  await openConversation(CONV);
  assert.equal(state.hasNewer, false);
  const divider = ol.children.find((n) => n.classList.contains("new-divider"));
  assert.ok(divider, "a New messages divider");
  assert.equal(String(divider.nextElementSibling.dataset.seq), String(top - 149));
});

test("a list at its bottom that shrank (the composer grew) before its resize was observed shows a new message", async () => {
  assert.equal(state.hasNewer, false);
  ol.scrollTop = ol.scrollHeight;
  ol.dispatch("scroll");
  chat.drawMessages();
  assert.equal(ol.scrollTop, ol.scrollHeight - VIEW, "at the bottom");
  // The composer grows by three lines; the resize observer (which would scroll back down)
  // has not run yet when the next message is drawn.
  VIEW -= 80;
  try {
    const next = msg(stored.at(-1).seq + 1);
    stored.push(next);
    onEvent({ event: "message", message: next });
    assert.equal(ol.scrollTop, ol.scrollHeight - VIEW, "still at the bottom");
    assert.equal(chat.seenSeq(), next.seq, "the new message is seen, so it can be marked read");
  } finally {
    VIEW += 80;
  }
});
