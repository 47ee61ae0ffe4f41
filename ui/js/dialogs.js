// The dialogs: new chat (people offered by `find_people` as the user types), new group, a group's
// members (rename, add, remove and leave, each asked first; the group's photo: photos.js), the
// user's profile (display name, mentions in muted chats; the photo: photos.js), and the
// confirmation before deleting a message for everyone (in-app: window.confirm may not exist in
// the webview; views/ask.js). A command that returns the conversation's new shape updates its
// entry directly.

import { call } from "./api.js";
import { $, el, names, debounce } from "./dom.js";
import { errorText } from "./errors.js";
import { state, withInfo } from "./store.js";
import { peopleQuery, personLabel, rankPeople, moveActive, memberLabel, myDisplayName } from "./people.js";
import { refreshOne } from "./refresh.js";
import { openConversation } from "./conversation.js";
import { drawList } from "./views/list.js";
import { drawHead, current } from "./views/chat.js";
import { ask, confirmAction } from "./views/ask.js";
import { wirePhotos, drawOwnPhoto, drawGroupPhoto } from "./photos.js";

function openDialog(id) {
  const d = $(id);
  d.querySelectorAll(".error").forEach((e) => (e.textContent = ""));
  d.showModal();
}

/** Show a conversation just created or found: read its entry, then open it. */
async function showNew(info) {
  await refreshOne(info.conversation_id);
  await openConversation(info.conversation_id);
}

// ---------- new chat: people offered as the user types ----------

const NO_ONE = "No one found. Strangers can be found by their exact username.";

/** People offered (ranked), the highlighted one (-1: none), whether the last answer was empty. */
let people = [];
let activePerson = -1;
let noOne = false;
/** Number of the latest lookup: an answer to an older one (stale) is dropped. */
let asked = 0;

function drawPeople() {
  const ul = $("people-results"), input = $("new-chat-user");
  ul.replaceChildren();
  people.forEach((p, i) => {
    const { name, handle } = personLabel(p);
    const li = el("li", i === activePerson ? "active" : "");
    li.id = `person-option-${i}`;
    li.dataset.username = p.username;
    li.setAttribute("role", "option");
    li.setAttribute("aria-selected", String(i === activePerson));
    if (name) li.append(el("span", "person-name", name), " ");
    li.append(el("span", "person-handle", handle));
    ul.append(li);
  });
  if (noOne) ul.append(el("li", "people-empty muted", NO_ONE));
  ul.hidden = !people.length && !noOne;
  input.setAttribute("aria-expanded", String(people.length > 0));
  if (activePerson >= 0) {
    input.setAttribute("aria-activedescendant", `person-option-${activePerson}`);
    $(`person-option-${activePerson}`).scrollIntoView({ block: "nearest" });
  } else input.removeAttribute("aria-activedescendant");
}

/** Offer no one (and drop any answer still on its way). */
function clearPeople() {
  asked++;
  people = [];
  activePerson = -1;
  noOne = false;
  drawPeople();
}

/** Look up who matches what is typed; only the latest answer is shown. */
async function findPeople() {
  const q = peopleQuery($("new-chat-user").value);
  if (!q) { clearPeople(); return; }
  const n = ++asked;
  let found;
  try {
    found = await call("find_people", { query: q });
  } catch (err) {
    if (n !== asked) return;
    people = []; activePerson = -1; noOne = false;
    drawPeople();
    $("new-chat-error").textContent = errorText(err);
    return;
  }
  if (n !== asked) return;
  $("new-chat-error").textContent = "";
  people = rankPeople(found || [], q, state.userId);
  activePerson = -1;
  noOne = !people.length;
  drawPeople();
}

const findPeopleSoon = debounce(findPeople, 200);

/** Start (or find) the direct chat with `username`, as the dialog's submit does. */
async function startChat(username) {
  try {
    const info = await call("start_direct", { username });
    $("new-chat-dialog").close();
    $("new-chat-user").value = "";
    clearPeople();
    await showNew(info);
  } catch (err) { $("new-chat-error").textContent = errorText(err, { person: true }); }
}

/** The typed text is an exact username. */
function newChat(e) {
  e.preventDefault();
  startChat(peopleQuery($("new-chat-user").value));
}

/** Arrow keys move the highlight; Enter on a highlighted person starts the chat with them. */
function peopleKey(e) {
  if (e.isComposing) return;
  if ((e.key === "ArrowDown" || e.key === "ArrowUp") && people.length) {
    e.preventDefault();
    activePerson = moveActive(activePerson, e.key, people.length);
    drawPeople();
  } else if (e.key === "Enter" && activePerson >= 0 && activePerson < people.length) {
    e.preventDefault();
    startChat(people[activePerson].username);
  }
}

function wirePeople() {
  const input = $("new-chat-user"), ul = $("people-results");
  // Typing makes any answer on its way stale; the lookup runs after 200 ms of quiet.
  input.addEventListener("input", () => { asked++; findPeopleSoon(); });
  input.addEventListener("keydown", peopleKey);
  // Keep the input focused while clicking a person.
  ul.addEventListener("mousedown", (e) => e.preventDefault());
  ul.addEventListener("click", (e) => {
    const li = e.target.closest("li[data-username]");
    if (li) startChat(li.dataset.username);
  });
  $("new-chat").addEventListener("click", () => {
    clearPeople();
    openDialog("new-chat-dialog");
    if (peopleQuery(input.value)) findPeople();
  });
  $("new-chat-dialog").addEventListener("close", () => { asked++; });
}

// ---------- new group ----------

async function newGroup(e) {
  e.preventDefault();
  try {
    const info = await call("create_group", { name: $("new-group-name").value, members: names($("new-group-members").value) });
    $("new-group-dialog").close();
    $("new-group-name").value = "";
    $("new-group-members").value = "";
    await showNew(info);
  } catch (err) { $("new-group-error").textContent = errorText(err, { person: true }); }
}

// ---------- a group's members ----------

function drawMembers() {
  const c = current();
  if (!c) return;
  $("group-name").value = c.title;
  drawGroupPhoto();
  const me = c.members.find((m) => m.user_id === state.userId);
  const admin = me && me.role === "admin";
  const ul = $("member-list");
  ul.replaceChildren();
  for (const m of c.members) {
    const li = el("li");
    // The username (and role) first, then the display name.
    const { main, name } = memberLabel(m);
    const who = el("span", "member");
    who.append(el("span", "member-main", main));
    if (name) who.append(" ", el("span", "member-name", name));
    li.append(who);
    if (admin && m.user_id !== state.userId) {
      const rm = el("button", "secondary remove-member", "Remove");
      rm.type = "button";
      rm.dataset.username = m.username;
      rm.setAttribute("aria-label", `Remove ${m.username}`);
      rm.addEventListener("click", () => removeMember(c, m));
      li.append(rm);
    }
    ul.append(li);
  }
}

/**
 * Run a member command; a returned shape updates the entry, the dialog shows the result (or
 * why not). Resolves to whether it worked.
 */
async function memberAction(cmd, args) {
  try {
    const info = await call(cmd, args);
    const c = info && state.conversations.get(info.conversation_id);
    if (c) {
      state.conversations.set(c.conversation_id, withInfo(c, info, state.userId));
      drawList();
      if (c.conversation_id === state.open) drawHead();
    }
    drawMembers();
    return true;
  } catch (err) {
    $("members-error").textContent = errorText(err, { person: true });
    return false;
  }
}

// ---------- profile ----------

function openProfile() {
  $("display-name").value = myDisplayName(state.conversations.values(), state.userId);
  $("profile-hint").textContent = state.me ? `Shown instead of @${state.me} in chats. Leave it blank to show @${state.me}.` : "";
  drawOwnPhoto();
  openDialog("profile-dialog");
}

/** Save the display name (blank clears it); it comes back as `conversation` events. */
async function saveProfile(e) {
  e.preventDefault();
  const save = $("save-profile");
  save.disabled = true;
  try {
    await call("set_display_name", { name: $("display-name").value.trim() });
    $("profile-dialog").close();
  } catch (err) {
    $("profile-error").textContent = errorText(err);
  } finally {
    save.disabled = false;
  }
}

/** A setting: applied at once, like do-not-disturb; put back if it could not be saved. */
async function setMuteMentions(e) {
  const box = e.target, on = box.checked;
  try {
    await call("set_mute_mentions", { on });
  } catch (err) {
    box.checked = !on;
    $("profile-error").textContent = errorText(err);
  }
}

// ---------- confirmation ----------

/** Ask before deleting a message for everyone; resolves to whether the user confirmed. */
export function confirmDelete(m) {
  $("confirm-text").textContent = m.mine
    ? "Delete this message for everyone? Every member will see “This message was deleted”."
    : `Delete ${m.sender_name || m.sender}'s message for everyone? Every member will see “This message was deleted”.`;
  return ask("confirm-dialog", "confirm-delete");
}

/** Ask, then remove `m` from group `c`. */
async function removeMember(c, m) {
  const yes = await confirmAction({
    action: "remove-member", title: "Remove member", confirm: "Remove",
    text: `Remove ${m.username} from “${c.title}”? They will stop getting its messages.`,
  });
  if (yes) memberAction("remove_member", { conversationId: c.conversation_id, username: m.username });
}

/** Ask, then leave the open group (the chat closes through the `conversation_removed` event). */
async function leaveGroup() {
  const c = current();
  if (!c) return;
  const yes = await confirmAction({
    action: "leave-group", title: "Leave group", confirm: "Leave group",
    text: `Leave “${c.title}”? You will stop getting its messages, and only an admin can add you back.`,
  });
  if (!yes || state.open !== c.conversation_id) return;
  if (await memberAction("leave_group", { conversationId: c.conversation_id })) $("members-dialog").close();
}

/** Wire the dialogs' buttons and forms. */
export function wireDialogs() {
  wirePeople();
  $("new-group").addEventListener("click", () => openDialog("new-group-dialog"));
  $("members-button").addEventListener("click", () => { drawMembers(); openDialog("members-dialog"); });
  $("new-chat-form").addEventListener("submit", newChat);
  $("profile-button").addEventListener("click", openProfile);
  $("profile-form").addEventListener("submit", saveProfile);
  $("mute-mentions").addEventListener("change", setMuteMentions);
  $("new-group-form").addEventListener("submit", newGroup);
  $("rename-button").addEventListener("click", () => memberAction("rename_group", { conversationId: state.open, name: $("group-name").value }));
  $("add-button").addEventListener("click", () => {
    const usernames = names($("add-members").value);
    $("add-members").value = "";
    memberAction("add_members", { conversationId: state.open, usernames });
  });
  $("leave-button").addEventListener("click", leaveGroup);
  wirePhotos();
  document.querySelectorAll("[data-close]").forEach((b) => b.addEventListener("click", () => b.closest("dialog").close()));
}
