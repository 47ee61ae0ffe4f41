// Message search: results replace the conversation list (and the message requests) while the
// box has text; choosing one opens its conversation. Escape or an empty box brings the list back.

import { call } from "../api.js";
import { $, el, time, debounce } from "../dom.js";
import { state } from "../store.js";
import { previewText } from "../attachments.js";

/** Show the search results (true) or the conversation list and requests (false). */
function showResults(on) {
  $("search-results").hidden = !on;
  $("conversations").hidden = on;
  $("sidebar").classList.toggle("searching", on);
}

/** Leave search and show the conversation list again. */
export function closeSearch() {
  $("search").value = "";
  showResults(false);
}

async function run(open) {
  const q = $("search").value.trim();
  const ul = $("search-results");
  if (!q) { showResults(false); return; }
  const results = await call("search", { query: q }).catch(() => []);
  ul.replaceChildren();
  if (!results.length) ul.append(el("li", "muted", "No messages found"));
  for (const m of results) {
    const li = el("li", "conv");
    li.tabIndex = 0;
    const conv = state.conversations.get(m.conversation_id);
    li.append(el("span", ""), el("span", "title", conv ? conv.title : (m.sender_name || m.sender)), el("span", "time", time(m.sent_at)));
    li.append(el("span", ""), el("span", "preview", `${m.sender_name || m.sender}: ${previewText(m)}`));
    const choose = () => { closeSearch(); open(m.conversation_id); };
    li.addEventListener("click", choose);
    li.addEventListener("keydown", (e) => { if (e.key === "Enter") choose(); });
    ul.append(li);
  }
  showResults(true);
}

/** Search as the user types; Ctrl+K focuses the box, Escape closes search. */
export function wireSearch(open) {
  $("search").addEventListener("input", debounce(() => run(open), 150));
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "k") { e.preventDefault(); $("search").focus(); $("search").select(); }
    if (e.key === "Escape" && !document.querySelector("dialog[open]")) closeSearch();
  });
}
