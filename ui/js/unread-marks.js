// Chats marked unread by the user ("Mark as unread", as in Signal and Telegram): the row keeps
// an unread badge with no number, the chat counts as one unread in the title and the tray,
// until it is opened or marked read. The mark is the account's on all its devices (the shell
// passes it to the engine, which syncs it through the relay; the `chat_prefs` event brings
// changes from elsewhere).

import { call } from "./api.js";
import { errorText } from "./errors.js";
import { state } from "./store.js";
import { drawList } from "./views/list.js";
import { toast } from "./views/toast.js";

/** Mark conversation `id` unread (`on`) or not: shown at once, taken back if the shell refuses. */
export function setUnreadMark(id, on) {
  if (state.unreadMarks.has(id) === on) return;
  const apply = (v) => {
    const next = new Set(state.unreadMarks);
    if (v) next.add(id); else next.delete(id);
    state.unreadMarks = next;
    drawList();
  };
  apply(on);
  call("set_marked_unread", { conversationId: id, on }).catch((err) => {
    // Unless the mark changed since (another device's word came in).
    if (state.unreadMarks.has(id) === on) apply(!on);
    toast(errorText(err));
  });
}
