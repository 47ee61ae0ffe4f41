// What the user does with one message (its row's buttons, its context menu): copy its text,
// reply, react (the emoji picker) or toggle a reaction chip, edit, delete for everyone (after an
// in-app confirmation) or for me (asked too), jump to the message a reply quotes (loading older pages until
// it is shown), and its attachment's buttons: view a picture, download, open or save the file
// (files.js). Results come back as `message_changed` events; a refused command shows as a toast.

import { call } from "./api.js";
import { errorText } from "./errors.js";
import { reveal } from "./refresh.js";
import { startReply, startEdit } from "./composer.js";
import { confirmDelete } from "./dialogs.js";
import { flashRow } from "./views/chat.js";
import { openPicker } from "./views/picker.js";
import { openViewer } from "./views/viewer.js";
import { download, openFile, saveFile } from "./files.js";
import { toast } from "./views/toast.js";
import { confirmAction } from "./views/ask.js";
import { copyText } from "./clipboard.js";
import { openForward } from "./views/forward.js";

const failed = (e) => toast(errorText(e));

/** Toggle the user's reaction `emoji` on `m`. */
const react = (m, emoji) =>
  call("react", { conversationId: m.conversation_id, seq: m.seq, emoji }).catch(failed);

async function deleteForEveryone(m) {
  if (!(await confirmDelete(m))) return;
  call("delete_message", { conversationId: m.conversation_id, seq: m.seq, forEveryone: true }).catch(failed);
}

/**
 * Delete `m` on this account's devices, asked first (it cannot be undone, and the button sits
 * beside "Delete for everyone"); a tombstone goes without asking: nothing of it is left to lose.
 */
async function deleteForMe(m) {
  if (!m.deleted && !(await confirmAction({
    action: "delete-me",
    title: "Delete for me",
    text: "This message will be removed from your devices. The others in the chat still see it.",
    confirm: "Delete for me",
  }))) return;
  call("delete_message", { conversationId: m.conversation_id, seq: m.seq, forEveryone: false }).catch(failed);
}

/** Put `text` on the clipboard (a message's, or part of it), and say whether it worked. */
export async function copyAndSay(text) {
  toast((await copyText(text)) ? "Copied" : "Couldn't copy the text");
}

/** Show the message at `seq` (a quote was clicked), loading older history if needed. */
async function jump(seq) {
  if (await reveal(seq)) flashRow(seq);
  else toast("The original message is not available");
}

/** Do `action` on message `m`; `control` is the element clicked (a button, a chip, a quote). */
export function act(action, m, control) {
  switch (action) {
    case "copy": copyAndSay(m.body); break;
    case "forward": openForward(m); break;
    case "reply": startReply(m); break;
    case "react": openPicker(control, (emoji) => react(m, emoji)); break;
    case "toggle-reaction": react(m, control.dataset.emoji); break;
    case "edit": startEdit(m); break;
    case "delete-everyone": deleteForEveryone(m); break;
    case "delete-me": deleteForMe(m); break;
    case "quote": jump(Number(control.dataset.seq)); break;
    case "view-image": openViewer(m); break;
    case "download": download(m); break;
    case "open-file": openFile(m); break;
    case "save-file": saveFile(m); break;
  }
}
