// Sending files: the attach button (#attach-button: the system file dialog), images pasted into
// the composer, and files dropped on the window (Tauri's native drag-and-drop events;
// #drop-overlay says where they will go while they are dragged over an open chat). Each file is
// its own message, sent in order: the first takes the composer's text as its caption, and each
// replies to the message being replied to. As for text, the local echo arrives as a `message`
// event (the command's answer is not drawn, so it never shows twice); a refused file shows as a
// toast, and its caption goes back into the composer.

import * as api from "./api.js";
import { $ } from "./dom.js";
import { errorText } from "./errors.js";
import { state } from "./store.js";
import { baseName, pastedName } from "./attachments.js";
import { takeForAttachment, giveBack } from "./composer.js";
import { current, stickToBottom } from "./views/chat.js";
import { toast } from "./views/toast.js";

/** Send the files at `paths` to the open conversation. */
export async function sendFiles(paths) {
  const conv = state.open;
  const account = state.account;
  if (conv === null || !paths || !paths.length) return;
  const taken = takeForAttachment();
  const replyTo = taken.reply ? taken.reply.message.seq : null;
  stickToBottom();
  for (const [i, path] of paths.entries()) {
    const caption = i === 0 && taken.caption ? taken.caption : null;
    try {
      await api.sendFile(account, conv, path, caption, replyTo);
    } catch (e) {
      // Signed out meanwhile: the rest were that account's to send, not the next one's.
      if (accountGone(e)) return;
      if (i === 0) giveBack(conv, taken);
      toast(`Couldn't send ${baseName(path)}: ${errorText(e)}`);
    }
  }
}

/** Whether a send failed because the account it was for is no longer signed in. */
const accountGone = (e) => e && (e.code === "account_changed" || e.code === "not_signed_in");

/** The attach button: choose files in the system dialog, then send them. */
async function pick() {
  const conv = state.open;
  if (conv === null) return;
  let paths;
  try {
    paths = await api.pickFiles();
  } catch (e) {
    toast(errorText(e));
    return;
  }
  if (state.open !== conv || !paths.length) return;
  await sendFiles(paths);
  $("composer").focus();
}

/** Send pasted images, one after the other. */
async function sendPasted(conv, files) {
  const account = state.account;
  stickToBottom();
  for (const f of files) {
    try {
      const bytes = Array.from(new Uint8Array(await f.arrayBuffer()));
      await api.sendPasted(account, conv, pastedName(f.type), bytes);
    } catch (e) {
      if (accountGone(e)) return;
      toast(`Couldn't send the pasted image: ${errorText(e)}`);
    }
  }
}

/** A paste into the composer: images on the clipboard are sent (text pastes as usual). */
function onPaste(e) {
  if (state.open === null || !e.clipboardData) return;
  // The clipboard's items are only readable during the event: take the files now.
  const files = Array.from(e.clipboardData.items)
    .filter((item) => item.kind === "file" && /^image\//i.test(item.type))
    .map((item) => item.getAsFile())
    .filter(Boolean);
  if (!files.length) return;
  e.preventDefault();
  sendPasted(state.open, files);
}

/**
 * Whether files dropped now would go somewhere: a chat is open, it takes messages (its composer
 * shows: not a request or a blocked person's) and no dialog covers it.
 */
const canDrop = () =>
  state.open !== null && !$("app").hidden && !$("composer-form").hidden && !document.querySelector("dialog[open]");

function showOverlay(on) {
  const o = $("drop-overlay");
  const c = on && current();
  if (c) $("drop-text").textContent = `Drop to send to ${c.title}`;
  o.hidden = !c;
}

/** A native drag entered, left, or dropped (payload `{ paths, position }`). */
function wireDrops() {
  const paths = (p) => (p && Array.isArray(p.paths) ? p.paths : []);
  api.on(api.DRAG_ENTER, (p) => showOverlay(canDrop() && (!p || !Array.isArray(p.paths) || p.paths.length > 0)));
  api.on(api.DRAG_LEAVE, () => showOverlay(false));
  api.on(api.DRAG_DROP, (p) => {
    showOverlay(false);
    if (canDrop() && paths(p).length) sendFiles(paths(p));
  });
}

/** Wire the attach button, pasting images and dropping files. */
export function wireAttach() {
  $("attach-button").addEventListener("click", pick);
  $("composer").addEventListener("paste", onPaste);
  wireDrops();
}
