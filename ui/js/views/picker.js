// The reaction picker: a small row of emoji beside a message's "React" button. Arrow keys move
// between them, Enter or a click picks one, Escape or a click elsewhere closes it; focus goes
// back to where it was.

import { el } from "../dom.js";

/** The emoji offered, in order. */
export const EMOJI = ["👍", "❤️", "😂", "😮", "😢", "🙏"];

let open = null;

/** Close the picker if it is open (`restore`: give focus back to what opened it). */
export function closePicker(restore = false) {
  if (!open) return;
  const { node, anchor, away } = open;
  open = null;
  node.remove();
  document.removeEventListener("mousedown", away, true);
  if (restore && anchor.isConnected) anchor.focus();
}

/** Open the picker by `anchor` (a button; again: close it); `pick(emoji)` runs for the one chosen. */
export function openPicker(anchor, pick) {
  if (open && open.anchor === anchor) { closePicker(true); return; }
  closePicker();
  const node = el("div", "emoji-picker");
  node.setAttribute("role", "toolbar");
  node.setAttribute("aria-label", "React with");
  for (const emoji of EMOJI) {
    const b = el("button", "", emoji);
    b.type = "button";
    b.dataset.emoji = emoji;
    b.title = `React with ${emoji}`;
    b.setAttribute("aria-label", `React with ${emoji}`);
    node.append(b);
  }
  node.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-emoji]");
    if (!b) return;
    closePicker(true);
    pick(b.dataset.emoji);
  });
  node.addEventListener("keydown", (e) => {
    const buttons = [...node.querySelectorAll("button")];
    const i = buttons.indexOf(document.activeElement);
    const to = { ArrowRight: i + 1, ArrowDown: i + 1, ArrowLeft: i - 1, ArrowUp: i - 1, Home: 0, End: buttons.length - 1 }[e.key];
    if (to !== undefined) { e.preventDefault(); buttons[(to + buttons.length) % buttons.length].focus(); }
    if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); closePicker(true); }
    if (e.key === "Tab") closePicker();
  });
  const away = (e) => { if (!node.contains(e.target) && e.target !== anchor) closePicker(); };
  document.addEventListener("mousedown", away, true);
  document.body.append(node);
  open = { node, anchor, away };
  // Above the button, kept inside the window.
  const r = anchor.getBoundingClientRect();
  const w = node.offsetWidth, h = node.offsetHeight;
  const top = r.top - h - 6 >= 4 ? r.top - h - 6 : r.bottom + 6;
  node.style.top = `${Math.round(top)}px`;
  node.style.left = `${Math.round(Math.min(Math.max(4, r.left + r.width / 2 - w / 2), window.innerWidth - w - 4))}px`;
  node.querySelector("button").focus();
}
