// Setting pictures: the user's own, in the Profile dialog (#profile-avatar, "Choose photo…"
// #avatar-choose, "Remove photo" #avatar-remove), and the open group's, in its Members dialog
// (#group-avatar, #group-avatar-choose, #group-avatar-remove; any member may). Choosing asks
// for a file through the shell's picker (`pick_files`, its first path) and hands it to
// `set_avatar` / `set_group_avatar`; removing sends null. While one is under way its button
// is busy (disabled, aria-busy) and its partner disabled, so a double click sends once. The
// relay then sends the conversations that show the picture anew (`conversation` events), which
// redraw the list, the header and, while open, these previews (drawPhotos). A refusal shows as
// a toast.

import * as api from "./api.js";
import { $ } from "./dom.js";
import { errorText } from "./errors.js";
import { state } from "./store.js";
import { fillAvatar, ownPicture, userKey, conversationKey } from "./avatars.js";
import { myDisplayName } from "./people.js";
import { toast } from "./views/toast.js";

/** The user's picture in the Profile dialog (initials when none is known). */
export function drawOwnPhoto() {
  const name = myDisplayName(state.conversations.values(), state.userId) || state.me || "";
  fillAvatar($("profile-avatar"), ownPicture(state.conversations.values(), state.userId), name, userKey(state.userId), "avatar-large");
}

/** The open group's picture in its Members dialog. */
export function drawGroupPhoto() {
  const c = state.conversations.get(state.open);
  if (!c) return;
  fillAvatar($("group-avatar"), c.picture || null, c.title, conversationKey(c, state.userId), "avatar-large");
}

/** Bring the previews of the open dialogs in line with the store (a `conversation` event). */
export function drawPhotos() {
  if ($("profile-dialog").open) drawOwnPhoto();
  if ($("members-dialog").open) drawGroupPhoto();
}

/**
 * Run `work` with `button` busy and `partner` disabled; a refusal becomes a toast. Does
 * nothing while the button is busy already.
 */
async function busy(button, partner, work) {
  if (button.getAttribute("aria-busy") === "true") return;
  button.setAttribute("aria-busy", "true");
  button.disabled = true;
  partner.disabled = true;
  try {
    await work();
  } catch (e) {
    toast(errorText(e));
  } finally {
    button.removeAttribute("aria-busy");
    button.disabled = false;
    partner.disabled = false;
    drawPhotos();
  }
}

/** The image the user picks, or null when they cancelled. */
async function pickImage() {
  const paths = await api.pickFiles(true);
  return paths && paths.length ? paths[0] : null;
}

/** Wire the four buttons (dialogs.js draws the previews as their dialogs open). */
export function wirePhotos() {
  const choose = $("avatar-choose"), remove = $("avatar-remove");
  choose.addEventListener("click", () => busy(choose, remove, async () => {
    const path = await pickImage();
    if (path) await api.setAvatar(path);
  }));
  remove.addEventListener("click", () => busy(remove, choose, () => api.setAvatar(null)));
  const gChoose = $("group-avatar-choose"), gRemove = $("group-avatar-remove");
  gChoose.addEventListener("click", () => {
    const id = state.open;
    busy(gChoose, gRemove, async () => {
      const path = await pickImage();
      if (path && id !== null) await api.setGroupAvatar(id, path);
    });
  });
  gRemove.addEventListener("click", () => {
    const id = state.open;
    if (id !== null) busy(gRemove, gChoose, () => api.setGroupAvatar(id, null));
  });
}
