// Copying text to the system clipboard: the asynchronous Clipboard API where the webview allows
// it, else the older `execCommand("copy")` on a hidden text area (some webviews refuse the API
// outside a secure context or without a permission prompt).

/** Put `text` on the clipboard; resolves to whether it worked. */
export async function copyText(text) {
  try {
    if (navigator.clipboard && navigator.clipboard.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Refused: fall back below.
  }
  const before = document.activeElement;
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.setAttribute("aria-hidden", "true");
  area.style.position = "fixed";
  area.style.top = "0";
  area.style.left = "-9999px";
  area.style.opacity = "0";
  // Inside an open modal dialog if there is one: the page behind it cannot take focus.
  const dialogs = document.querySelectorAll("dialog[open]");
  (dialogs.length ? dialogs[dialogs.length - 1] : document.body).append(area);
  area.select();
  let ok = false;
  try { ok = document.execCommand("copy"); } catch { ok = false; }
  area.remove();
  if (before && before.isConnected && before.focus) before.focus({ preventScroll: true });
  return ok;
}
