// What the webview does by itself that a desktop app must not: its context menu (Back, Reload,
// Inspect Element) shows nowhere except in text fields, where copy and paste matter (a message
// row opens the app's own menu instead: views/chat.js, message-menu.js), and the reload
// shortcuts (F5, Ctrl+R, Ctrl+Shift+R), which would throw away the app's state, do nothing.

/** Input types where the user types text (their menu offers copy and paste). */
const TEXT_INPUTS = new Set(["text", "search", "password", "email", "url", "tel", "number", ""]);

/** Whether `node` is a text field whose own menu is kept. */
export function keepsMenu(node) {
  if (!node || node.nodeType !== 1) return false;
  if (node.isContentEditable) return true;
  if (node.tagName === "TEXTAREA") return true;
  return node.tagName === "INPUT" && TEXT_INPUTS.has((node.getAttribute("type") || "").toLowerCase());
}

/** Whether a key press asks the webview to reload the page. */
export function isReload(e) {
  if (e.key === "F5" || e.key === "BrowserRefresh") return true;
  return (e.ctrlKey || e.metaKey) && !e.altKey && (e.key === "r" || e.key === "R");
}

/** Suppress the webview's context menu and reload shortcuts (once, at start). */
export function wireWebview() {
  document.addEventListener("contextmenu", (e) => { if (!keepsMenu(e.target)) e.preventDefault(); });
  window.addEventListener("keydown", (e) => { if (isReload(e)) { e.preventDefault(); e.stopPropagation(); } }, true);
}
