// What the user does with an attachment's file: download it (one download per file: the row
// and the image viewer share one under way), open it with the system's application, or save a
// copy where they choose. A download started here shows its bar at once; `transfer` events move
// it (events.js). When the command returns, the row shows the file as here even if its
// `message_changed` event has not come yet.

import * as api from "./api.js";
import { errorText } from "./errors.js";
import { state, withTransfer, withoutTransfer, chatWithLocalFile } from "./store.js";
import { drawMessages, drawProgress } from "./views/chat.js";
import { toast } from "./views/toast.js";

/** Blob id → the download under way (a promise of the file's path). */
const pending = new Map();

/** Others that show download progress (the image viewer registers itself: it imports this
 *  module, so this module does not import it). */
const watchers = [];

/** Call `draw()` whenever a download started here moves. */
export function watchDownloads(draw) {
  watchers.push(draw);
}

/** Put the store's download progress of `blobId` on screen. */
function moved(transfers, blobId) {
  state.transfers = transfers;
  drawProgress({ upload: false, blob_id: blobId });
  for (const draw of watchers) draw();
}

/**
 * Where the file of message `m` is on this device, downloading it first if needed (resuming
 * a partial download). Rejects if it cannot be had.
 */
export function fetchFile(m) {
  const a = m.attachment;
  if (m.local_file) return Promise.resolve(m.local_file);
  if (!a || !a.blob_id || m.seq == null) return Promise.reject(new Error("the file is not on the relay yet"));
  const key = a.blob_id;
  if (pending.has(key)) return pending.get(key);
  moved(withTransfer(state.transfers, { upload: false, blob_id: key, done: 0, total: a.size }), key);
  const download = api.download(m.conversation_id, m.seq)
    .then((path) => {
      if (m.conversation_id === state.open) {
        const next = chatWithLocalFile(state.chat, key, path);
        if (next !== state.chat) { state.chat = next; drawMessages(); }
      }
      return path;
    })
    .finally(() => {
      pending.delete(key);
      moved(withoutTransfer(state.transfers, false, key), key);
    });
  pending.set(key, download);
  return download;
}

/** Download the file of `m` (its row's Download button). */
export function download(m) {
  fetchFile(m).catch((e) => toast(`Couldn't download ${m.attachment.name}: ${errorText(e)}`));
}

/** Open the file at `path` with the system's application; `report(text)` tells a failure. */
export function openPath(path, name, report = toast) {
  return api.openFile(path).catch((e) => report(`Couldn't open ${name}: ${errorText(e)}`));
}

/** Save a copy of the file at `path` where the user chooses (the save dialog). */
export async function savePath(path, name, report = toast) {
  try {
    if (await api.saveFileAs(path, name)) report(`Saved ${name}`);
  } catch (e) {
    report(`Couldn't save ${name}: ${errorText(e)}`);
  }
}

/** Open the file of `m` (downloaded, or the user's own). */
export const openFile = (m) => m.local_file && openPath(m.local_file, m.attachment.name);

/** Save a copy of the file of `m`. */
export const saveFile = (m) => m.local_file && savePath(m.local_file, m.attachment.name);
