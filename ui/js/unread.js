// How unread messages are counted on screen: a row's badge (at most "99+"; its label keeps the
// real number) and the window title, "(3) Tern", from the total of the conversation list
// (message requests stay quiet: they are not counted; a chat marked unread counts as one).
// Pure (tested in node).

/** The app's name: the window title when nothing is unread. */
export const APP_NAME = "Tern";

/** What a badge shows for `n` unread messages. */
export const badgeText = (n) => (n > 99 ? "99+" : String(n));

/** The window title for `total` unread messages. */
export const titleFor = (total) => (total > 0 ? `(${badgeText(total)}) ${APP_NAME}` : APP_NAME);

/** Unread messages of the listed conversations (pass the main list: requests are not counted);
 *  a chat the user marked unread (`marked`, ids) with nothing unread in it counts as one. */
export const totalUnread = (list, marked = new Set()) =>
  list.reduce((sum, c) => sum + (c.unread > 0 ? c.unread : marked.has(c.conversation_id) ? 1 : 0), 0);
