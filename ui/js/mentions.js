// `@` autocompletion in the composer: while the word before the caret is `@` and part of a
// username, the open conversation's other members whose names start with it are offered
// (`.mention-suggestions`). Arrow keys move, Enter or Tab picks, a click picks, Escape closes;
// Enter after a name typed out in full sends instead.
// The pure parts (what is being typed, who matches) are exported for tests.

import { $, el } from "./dom.js";
import { state } from "./store.js";

/** Most names offered at once. */
const MAX = 6;

/**
 * The mention being typed just before `caret` in `text`: `{ start, end, prefix }` (start: the
 * `@`; end: past the rest of the name after the caret), or null. An `@` inside a word (an
 * e-mail address) starts no mention, as in the engine.
 */
export function mentionAt(text, caret) {
  const m = /(?:^|[^A-Za-z0-9_.\-@])@([A-Za-z0-9_.-]*)$/.exec(text.slice(0, caret));
  if (!m) return null;
  let end = caret;
  while (end < text.length && /[A-Za-z0-9_.-]/.test(text[end])) end++;
  return { start: caret - m[1].length - 1, end, prefix: m[1] };
}

/** Usernames among `members` (not the user `me`) to offer for `prefix`: starting with it first. */
export function suggest(members, prefix, me) {
  const p = prefix.toLowerCase();
  const byName = (a, b) => a.toLowerCase().localeCompare(b.toLowerCase());
  const names = members.filter((m) => m.user_id !== me).map((m) => m.username);
  const starts = names.filter((n) => n.toLowerCase().startsWith(p)).sort(byName);
  const inside = p ? names.filter((n) => !n.toLowerCase().startsWith(p) && n.toLowerCase().includes(p)).sort(byName) : [];
  return [...starts, ...inside].slice(0, MAX);
}

/** `text` with the mention at `at` replaced by `@username ` and where the caret goes. */
export function complete(text, at, username) {
  const rest = text.slice(at.end);
  const insert = `@${username}` + (rest.startsWith(" ") ? "" : " ");
  return { text: text.slice(0, at.start) + insert + rest, caret: at.start + insert.length + (rest.startsWith(" ") ? 1 : 0) };
}

let items = [];
let active = 0;
let at = null;

const isOpen = () => items.length > 0;

function draw() {
  const ul = $("mention-suggestions"), box = $("composer");
  ul.replaceChildren();
  items.forEach((name, i) => {
    const li = el("li", i === active ? "active" : "", "@" + name);
    li.id = `mention-option-${i}`;
    li.dataset.username = name;
    li.setAttribute("role", "option");
    li.setAttribute("aria-selected", String(i === active));
    ul.append(li);
  });
  ul.hidden = !isOpen();
  box.setAttribute("aria-expanded", String(isOpen()));
  if (isOpen()) box.setAttribute("aria-activedescendant", `mention-option-${active}`);
  else box.removeAttribute("aria-activedescendant");
}

/** Close the suggestions. */
export function closeMentions() {
  if (!isOpen() && !at) return;
  items = [];
  at = null;
  draw();
}

/** Offer names for what is typed before the caret (after input, a click, a caret move). */
function update() {
  const box = $("composer");
  const c = state.conversations.get(state.open);
  at = c && box.selectionStart === box.selectionEnd ? mentionAt(box.value, box.selectionStart) : null;
  const next = at ? suggest(c.members, at.prefix, state.userId) : [];
  if (next.join() !== items.join()) active = 0;
  items = next;
  draw();
}

function pick(name) {
  const box = $("composer");
  if (!at) return;
  const done = complete(box.value, at, name);
  box.value = done.text;
  box.setSelectionRange(done.caret, done.caret);
  closeMentions();
  box.dispatchEvent(new Event("input"));
}

/** Handle a key pressed in the composer while names are offered; whether it was used. */
export function mentionKey(e) {
  if (!isOpen() || e.isComposing) return false;
  switch (e.key) {
    case "ArrowDown": active = (active + 1) % items.length; break;
    case "ArrowUp": active = (active - 1 + items.length) % items.length; break;
    case "Enter": case "Tab":
      if (e.shiftKey) return false;
      // A name typed out in full needs no picking: Enter then sends.
      if (e.key === "Enter" && at && items[active].toLowerCase() === at.prefix.toLowerCase()) { closeMentions(); return false; }
      pick(items[active]);
      break;
    case "Escape": e.stopPropagation(); closeMentions(); break;
    default: return false;
  }
  e.preventDefault();
  if (isOpen()) draw();
  return true;
}

/** Follow the composer's text and caret; a click on a name picks it. */
export function wireMentions() {
  const box = $("composer"), ul = $("mention-suggestions");
  box.setAttribute("aria-autocomplete", "list");
  box.setAttribute("aria-controls", "mention-suggestions");
  box.setAttribute("aria-expanded", "false");
  box.addEventListener("input", update);
  box.addEventListener("click", update);
  box.addEventListener("keyup", (e) => { if (["ArrowLeft", "ArrowRight", "Home", "End"].includes(e.key)) update(); });
  box.addEventListener("blur", closeMentions);
  // Keep the composer focused while clicking a name.
  ul.addEventListener("mousedown", (e) => e.preventDefault());
  ul.addEventListener("click", (e) => {
    const li = e.target.closest("li[data-username]");
    if (li) pick(li.dataset.username);
  });
}
