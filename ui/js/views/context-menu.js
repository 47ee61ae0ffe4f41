// The app's own context menu (#context-menu, role="menu"), standing in for the webview's (Back,
// Reload, Inspect Element): a list of items opened at the pointer (a right-click) or beside the
// element it is about (the ContextMenu key, Shift+F10). Arrow keys, Home and End move between
// items, Enter or a click picks one, Escape, Tab, a click elsewhere, scrolling the wheel or
// leaving the window close it; focus goes back to where it was. Which items a message offers
// is message-actions.js's; what they do is message-menu.js's.

import { $, el } from "../dom.js";

/** What the open menu is about: `{ before, away, pick }`, or null. */
let open = null;

/** Whether the menu is open. */
export const menuOpen = () => open !== null;

/** Whether key event `e` asks for a menu: the ContextMenu key or Shift+F10. */
export const isMenuKey = (e) => e.key === "ContextMenu" || (e.key === "F10" && e.shiftKey);

/**
 * Whether the open menu was opened from the keyboard (beside its element, not at a pointer)
 * just now: the `contextmenu` event the webview may send for that same key press must not open
 * another at the pointer.
 */
export const keyMenuJustOpened = () => open !== null && open.byKeyAt > 0 && Date.now() - open.byKeyAt < 500;

/** Close the menu if it is open (`restore`: give focus back to what had it). */
export function closeMenu(restore = false) {
  if (!open) return;
  const { before, away } = open;
  open = null;
  const menu = $("context-menu");
  menu.hidden = true;
  menu.replaceChildren();
  document.removeEventListener("mousedown", away, true);
  document.removeEventListener("wheel", away, true);
  window.removeEventListener("blur", away);
  window.removeEventListener("resize", away);
  if (restore && before && before.isConnected) before.focus({ preventScroll: true });
}

/** Place the menu at `at` ({ x, y }), else below the top of `anchor`, kept inside the window. */
function place(menu, at, anchor) {
  const w = menu.offsetWidth, h = menu.offsetHeight;
  let x, y;
  if (at) { x = at.x; y = at.y; } else {
    const r = anchor.getBoundingClientRect();
    x = r.left + Math.min(24, r.width / 2);
    y = Math.max(r.top, 0) + Math.min(24, r.height / 2);
  }
  // Not enough room below or to the right: open upward or leftward.
  if (x + w > window.innerWidth - 4) x = Math.max(4, (at ? x - w : window.innerWidth - w - 4));
  if (y + h > window.innerHeight - 4) y = Math.max(4, at ? y - h : window.innerHeight - h - 4);
  menu.style.left = `${Math.round(x)}px`;
  menu.style.top = `${Math.round(y)}px`;
}

/**
 * Open the menu with `items` ([{ action, label, danger }]) at the pointer `at` or beside
 * `anchor`; `pick(action)` runs for the item chosen, after the menu closed and focus went back.
 * `label` names the menu for screen readers.
 */
export function openMenu(items, { at = null, anchor, label, pick }) {
  closeMenu();
  if (!items.length) return;
  const menu = $("context-menu");
  menu.setAttribute("aria-label", label);
  menu.replaceChildren(...items.map(({ action, label: text, danger }) => {
    const b = el("button", danger ? "menu-item danger" : "menu-item", text);
    b.type = "button";
    b.tabIndex = -1;
    b.dataset.action = action;
    b.setAttribute("role", "menuitem");
    return b;
  }));
  const away = (e) => { if (!(e.target instanceof Node) || !menu.contains(e.target)) closeMenu(); };
  open = { before: document.activeElement, away, pick, byKeyAt: at ? 0 : Date.now() };
  menu.hidden = false;
  place(menu, at, anchor);
  document.addEventListener("mousedown", away, true);
  document.addEventListener("wheel", away, true);
  window.addEventListener("blur", away);
  window.addEventListener("resize", away);
  menu.querySelector("button").focus({ preventScroll: true });
}

/** Run the item `b`: the menu closes (focus back where it was) before its action. */
function choose(b) {
  if (!open) return;
  const { pick } = open;
  closeMenu(true);
  pick(b.dataset.action);
}

/** Wire the menu's clicks and keys (once, at start). */
export function wireMenu() {
  const menu = $("context-menu");
  menu.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-action]");
    if (b) choose(b);
  });
  // The menu's own right-click picks nothing and shows nothing.
  menu.addEventListener("contextmenu", (e) => e.preventDefault());
  menu.addEventListener("keydown", (e) => {
    const buttons = [...menu.querySelectorAll("button")];
    const i = buttons.indexOf(document.activeElement);
    const to = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: buttons.length - 1 }[e.key];
    if (to !== undefined) {
      e.preventDefault();
      buttons[(to + buttons.length) % buttons.length].focus();
      return;
    }
    if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); closeMenu(true); return; }
    if (e.key === "Tab") { e.preventDefault(); closeMenu(true); return; }
    // Enter and Space click the focused button (choose runs from the click).
  });
}
