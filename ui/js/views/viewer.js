// The in-app image viewer (#image-viewer, a modal dialog): the full picture of an image
// attachment. It opens at once with the thumbnail drawn at the picture's final size; the file
// is downloaded first if it is not on this device (the download's bar shows here too), then
// read through `read_file` into a blob: URL, revoked when the viewer closes. Save as… and Open
// hand the file to the shell once it is here. Escape, Close, or a click beside the picture
// closes it and gives focus back.

import * as api from "../api.js";
import { $ } from "../dom.js";
import { errorText } from "../errors.js";
import { state, progressOf } from "../store.js";
import { humanSize, thumbBox } from "../attachments.js";
import { fetchFile, openPath, savePath, watchDownloads } from "../files.js";
import { setProgress } from "./message.js";

/** What the viewer shows: `{ message, path, url }` (path once the file is here), or null. */
let shown = null;
/** Number of the latest opening: answers for an earlier one are dropped. */
let opened = 0;
/** What had focus before the viewer opened. */
let before = null;

/** Room for the picture: the window less the viewer's bar and margins. */
const room = () => [Math.max(80, window.innerWidth - 64), Math.max(80, window.innerHeight - 140)];

/** Draw the picture at its final size (fitted to the window) before it has loaded. */
function size(img, a) {
  const box = thumbBox(a.width, a.height, ...room());
  if (box) { img.width = box.width; img.height = box.height; } else { img.removeAttribute("width"); img.removeAttribute("height"); }
}

function status(text) {
  const s = $("viewer-status");
  s.textContent = text;
  s.hidden = !text;
}

// Downloads started elsewhere (a row's button) move the viewer's bar too.
watchDownloads(() => drawViewer());

/** Bring the buttons and the download's bar in line with what is known. */
export function drawViewer() {
  if (!shown) return;
  $("viewer-save").disabled = !shown.path;
  $("viewer-open").disabled = !shown.path;
  const bar = $("viewer-progress");
  const p = shown.path ? null : progressOf(state.transfers, shown.message);
  bar.hidden = !p;
  if (p) setProgress(bar, p);
}

/** Forget the picture shown (its blob: URL is revoked). */
function release() {
  opened++;
  if (shown && shown.url) URL.revokeObjectURL(shown.url);
  shown = null;
  const img = $("viewer-image");
  img.removeAttribute("src");
  img.classList.remove("loading");
}

/** Show the image attachment of message `m`. */
export async function openViewer(m) {
  const a = m.attachment;
  const d = $("image-viewer");
  release();
  const token = opened;
  shown = { message: m, path: m.local_file || null, url: null };
  $("viewer-name").textContent = a.name;
  $("viewer-name").title = a.name;
  $("viewer-size").textContent = humanSize(a.size) + (a.width && a.height ? ` · ${a.width}×${a.height}` : "");
  const img = $("viewer-image");
  img.alt = a.name;
  size(img, a);
  if (a.thumbnail) { img.src = `data:image/jpeg;base64,${a.thumbnail}`; img.classList.add("loading"); }
  status(shown.path ? "" : "Downloading…");
  drawViewer();
  if (!d.open) { before = document.activeElement; d.showModal(); }
  $("viewer-close").focus();
  try {
    const path = shown.path || (await fetchFile(m));
    if (token !== opened) return;
    shown.path = path;
    status("");
    drawViewer();
    const bytes = await api.readFile(path);
    if (token !== opened) return;
    const blob = new Blob([bytes instanceof ArrayBuffer ? bytes : new Uint8Array(bytes)], { type: a.content_type });
    shown.url = URL.createObjectURL(blob);
    img.src = shown.url;
  } catch (e) {
    if (token !== opened) return;
    status(`Couldn't show the picture: ${errorText(e)}`);
    drawViewer();
  }
}

/** Close the viewer. */
export function closeViewer() {
  const d = $("image-viewer");
  if (d.open) d.close();
}

/** Wire the viewer's buttons; closing (Escape included) releases the picture. */
export function wireViewer() {
  const d = $("image-viewer");
  const img = $("viewer-image");
  img.addEventListener("load", () => { if (shown && img.src === shown.url) img.classList.remove("loading"); });
  img.addEventListener("error", () => {
    if (shown && shown.url && img.src === shown.url) { img.classList.remove("loading"); status("This picture cannot be shown here; open it instead."); }
  });
  $("viewer-close").addEventListener("click", closeViewer);
  // Toasts would sit under the modal viewer: it says how things went itself.
  $("viewer-open").addEventListener("click", () => shown && shown.path && openPath(shown.path, shown.message.attachment.name, status));
  $("viewer-save").addEventListener("click", () => shown && shown.path && savePath(shown.path, shown.message.attachment.name, status));
  // A click beside the picture (on the backdrop or the empty stage) closes, as in other apps.
  d.addEventListener("click", (e) => { if (e.target === d || e.target.id === "viewer-stage") closeViewer(); });
  d.addEventListener("close", () => {
    release();
    if (before && before.isConnected) before.focus({ preventScroll: true });
    before = null;
  });
  window.addEventListener("resize", () => { if (shown) size(img, shown.message.attachment); });
}
