// Message search: results replace the conversation list (and the message requests) while the
// box has text. The query goes to the shell as typed (words match as prefixes, "quoted phrases"
// exactly); typing is debounced, and an answer to an older query is dropped. Each result
// (li.search-result[data-conversation][data-seq]) shows its conversation's title
// (.result-title), when it was sent (time.result-time: the time today, else the date; the full
// date in its tooltip), the sender (.result-sender) and the text around the first match with the
// matches marked (.result-snippet, also .preview: mark elements; search-text.js).
//
// Choosing a result (click, Enter or Space) opens its conversation at that message, loading
// older history as needed, centred and highlighted briefly (conversation.js openAt). The
// results stay, the chosen one marked, until Escape (with focus in the sidebar) or an empty box
// brings the list back. They come 50 at a time (search-pages.js): scrolling near the end of the
// list, or "More results" (#search-more, shown while the last page was full), appends the next.
//
// Keyboard: the results are one tab stop (the chosen result, else the first); ArrowDown in the
// box goes to the first; arrow keys, Home and End move among them (ArrowUp from the first goes
// back to the box); Escape leaves search with focus in the box. Events are delegated to the list.

import { call } from "../api.js";
import { $, el, debounce } from "../dom.js";
import { state } from "../store.js";
import { errorText } from "../errors.js";
import { describeResult } from "../search-text.js";
import { createPager, resultKey } from "../search-pages.js";
import { toast } from "./toast.js";

/** How close to the end of the results (px) reads the next page. */
const NEAR_END = 200;

const pager = createPager((query, offset, limit) => call("search", { query, offset, limit }));
/** The result chosen last ("conversation:seq"), marked in the list, or null. */
let chosen = null;
/** The offset at which reading more failed: scrolling does not ask again (the button does). */
let failedAt = -1;

const list = () => $("search-results");
const rowsOf = () => [...list().querySelectorAll("li.search-result")];

/** Whether the search results show (instead of the conversation list). */
export const searching = () => !list().hidden;

/** "More results": shown while the last page was full; says so while the next one loads. */
function drawMore() {
  const b = $("search-more");
  b.hidden = !searching() || !pager.hasMore;
  const text = pager.loading ? "Loading more results…" : "More results";
  if (b.textContent !== text) b.textContent = text;
  b.setAttribute("aria-busy", String(pager.loading));
}

/** Show the search results (true) or the conversation list and requests (false). */
function showResults(on) {
  list().hidden = !on;
  $("conversations").hidden = on;
  $("sidebar").classList.toggle("searching", on);
  drawMore();
}

/** Forget the results and show the list again (the box keeps its text). */
function clearResults() {
  pager.reset();
  chosen = null;
  failedAt = -1;
  list().replaceChildren();
  showResults(false);
}

/** Leave search and show the conversation list again. */
export function closeSearch() {
  $("search").value = "";
  clearResults();
}

/** Keep one result in the tab order: the focused one, else the chosen one, else the first. */
function syncTabStop() {
  const rows = rowsOf();
  const stop = rows.find((li) => li === document.activeElement) || rows.find((li) => li.classList.contains("chosen")) || rows[0];
  for (const li of rows) li.tabIndex = li === stop ? 0 : -1;
}

/** Mark `li` as the chosen result (or none). */
function markChosen(li) {
  for (const x of list().querySelectorAll("li.search-result.chosen")) {
    x.classList.remove("chosen");
    x.removeAttribute("aria-current");
  }
  if (!li) return;
  li.classList.add("chosen");
  li.setAttribute("aria-current", "true");
}

/** One result's row (text only through textContent and text nodes). */
function resultRow(m) {
  const c = state.conversations.get(m.conversation_id);
  const r = describeResult(m, { query: pager.query, title: c ? c.title : "", now: Date.now() });
  const li = el("li", "search-result");
  li.dataset.conversation = String(m.conversation_id);
  li.dataset.seq = String(m.seq);
  li.tabIndex = -1;
  li.setAttribute("role", "button");
  li.setAttribute("aria-label", r.label);
  const when = el("time", "result-time", r.time.text);
  if (r.time.iso) when.dateTime = r.time.iso;
  if (r.time.title) when.title = r.time.title;
  const snippet = el("span", "result-snippet preview");
  for (const s of r.segments) snippet.append(s.mark ? el("mark", "", s.text) : document.createTextNode(s.text));
  const line = el("span", "result-line");
  line.append(el("span", "result-sender", r.sender), snippet);
  li.append(el("span", "result-title", r.title), when, line);
  if (resultKey(m) === chosen) markChosen(li);
  return li;
}

/** Add `page` to the results (`reset`: in place of what showed). */
function drawPage(page, reset) {
  const ul = list();
  if (reset) { ul.replaceChildren(); ul.scrollTop = 0; }
  const note = ul.querySelector("li.search-note");
  if (note) note.remove();
  for (const m of page) ul.append(resultRow(m));
  if (!ul.querySelector("li.search-result")) ul.append(el("li", "muted search-note", "No messages found"));
  syncTabStop();
  drawMore();
}

/** Search for what the box says (debounced input). */
async function run() {
  const q = $("search").value;
  if (!q.trim()) { clearResults(); return; }
  // The same query (a space typed before the next word): its results show, or are on their way.
  if (q.trim() === pager.query.trim()) return;
  failedAt = -1;
  let page;
  try {
    page = await pager.search(q);
  } catch (e) {
    list().replaceChildren(el("li", "muted search-note", errorText(e)));
    showResults(true);
    return;
  }
  // Overtaken by a newer query (or search was closed meanwhile).
  if (page === null) return;
  drawPage(page, true);
  showResults(true);
}

/** Read the next page and append it; from the button, focus goes to the first new result. */
async function loadMore({ fromButton = false } = {}) {
  if (!pager.hasMore || pager.loading) return;
  if (!fromButton && failedAt === pager.offset) return;
  const q = pager.query, at = pager.offset;
  const reading = pager.more();
  drawMore();
  let page = null;
  try {
    page = await reading;
  } catch (e) {
    if (pager.query === q) { failedAt = at; toast(errorText(e)); }
  }
  drawMore();
  if (!page) return;
  const before = rowsOf().length;
  drawPage(page, false);
  if (fromButton) {
    const first = rowsOf()[before];
    if (first) first.focus();
  }
}

/** Near the end of the results: read the next page. */
function onScroll() {
  const ul = list();
  if (ul.scrollHeight - ul.scrollTop - ul.clientHeight < NEAR_END) loadMore();
}

/** Choose result `li`: mark it and open its conversation at its message. */
function choose(li, open) {
  chosen = `${li.dataset.conversation}:${li.dataset.seq}`;
  markChosen(li);
  syncTabStop();
  open(Number(li.dataset.conversation), Number(li.dataset.seq));
}

/** Arrow keys, Home, End, PageUp and PageDown move among the results. */
function move(e, li) {
  const rows = rowsOf();
  const i = rows.indexOf(li);
  const to = { ArrowUp: i - 1, ArrowDown: i + 1, Home: 0, End: rows.length - 1, PageUp: i - 10, PageDown: i + 10 }[e.key];
  if (to === undefined) return;
  e.preventDefault();
  if (to < 0 && e.key === "ArrowUp") { $("search").focus(); return; }
  const next = rows[Math.max(0, Math.min(rows.length - 1, to))];
  if (next) next.focus();
}

/**
 * Back from a chat (the narrow layout's back button): focus the chosen result (else the first)
 * if search results show; whether they do.
 */
export function focusResults() {
  if (!searching()) return false;
  const li = list().querySelector("li.search-result.chosen") || list().querySelector("li.search-result");
  (li || $("search")).focus();
  return true;
}

/**
 * Search as the user types; `open(conversationId, seq)` shows a chosen result's message.
 * Ctrl+K focuses the box; Escape (focus in the sidebar) closes search.
 */
export function wireSearch(open) {
  const box = $("search"), ul = list();
  box.addEventListener("input", debounce(run, 150));
  box.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowDown" || !searching()) return;
    const first = list().querySelector("li.search-result");
    if (first) { e.preventDefault(); first.focus(); }
  });
  const target = (e) => e.target.closest && e.target.closest("li.search-result");
  ul.addEventListener("click", (e) => { const li = target(e); if (li) choose(li, open); });
  ul.addEventListener("keydown", (e) => {
    const li = target(e);
    if (!li) return;
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); choose(li, open); return; }
    move(e, li);
  });
  ul.addEventListener("focusin", syncTabStop);
  ul.addEventListener("scroll", onScroll, { passive: true });
  $("search-more").addEventListener("click", () => loadMore({ fromButton: true }));
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "k") { e.preventDefault(); box.focus(); box.select(); }
    if (e.key !== "Escape" || document.querySelector("dialog[open]") || (!searching() && !box.value)) return;
    // Escape in the chat is the chat's (cancel a reply, leave a row): the results stay.
    const a = document.activeElement;
    if (a && a !== document.body && !$("sidebar").contains(a)) return;
    closeSearch();
    box.focus();
  });
}
