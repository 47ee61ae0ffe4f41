// The dialogs: new chat, new group, a group's members (rename, add, remove, leave), and the
// confirmation before deleting a message for everyone (in-app: window.confirm may not exist in
// the webview). A command that returns the conversation's new shape updates its entry directly.

import { call } from "./api.js";
import { $, el, errText, names } from "./dom.js";
import { state, withInfo } from "./store.js";
import { refreshOne } from "./refresh.js";
import { openConversation } from "./conversation.js";
import { drawList } from "./views/list.js";
import { drawHead, current } from "./views/chat.js";

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

async function newChat(e) {
  e.preventDefault();
  try {
    const info = await call("start_direct", { username: $("new-chat-user").value });
    $("new-chat-dialog").close();
    $("new-chat-user").value = "";
    await showNew(info);
  } catch (err) { $("new-chat-error").textContent = errText(err); }
}

async function newGroup(e) {
  e.preventDefault();
  try {
    const info = await call("create_group", { name: $("new-group-name").value, members: names($("new-group-members").value) });
    $("new-group-dialog").close();
    $("new-group-name").value = "";
    $("new-group-members").value = "";
    await showNew(info);
  } catch (err) { $("new-group-error").textContent = errText(err); }
}

function drawMembers() {
  const c = current();
  if (!c) return;
  $("group-name").value = c.title;
  const me = c.members.find((m) => m.user_id === state.userId);
  const admin = me && me.role === "admin";
  const ul = $("member-list");
  ul.replaceChildren();
  for (const m of c.members) {
    const li = el("li");
    li.append(el("span", "", m.username + (m.role === "admin" ? " (admin)" : "")));
    if (admin && m.user_id !== state.userId) {
      const rm = el("button", "secondary", "Remove");
      rm.setAttribute("aria-label", `Remove ${m.username}`);
      rm.addEventListener("click", () => memberAction("remove_member", { conversationId: c.conversation_id, username: m.username }));
      li.append(rm);
    }
    ul.append(li);
  }
}

/** Run a member command; a returned shape updates the entry, the dialog shows the result. */
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
  } catch (err) {
    $("members-error").textContent = errText(err);
  }
}

/** Ask before deleting a message for everyone; resolves to whether the user confirmed. */
export function confirmDelete(m) {
  const d = $("confirm-dialog");
  $("confirm-text").textContent = m.mine
    ? "Delete this message for everyone? Every member will see “This message was deleted”."
    : `Delete ${m.sender}'s message for everyone? Every member will see “This message was deleted”.`;
  return new Promise((resolve) => {
    let yes = false;
    const ok = $("confirm-delete");
    const onOk = () => { yes = true; d.close(); };
    ok.addEventListener("click", onOk);
    d.addEventListener("close", () => { ok.removeEventListener("click", onOk); resolve(yes); }, { once: true });
    d.showModal();
  });
}

/** Wire the dialogs' buttons and forms. */
export function wireDialogs() {
  $("new-chat").addEventListener("click", () => openDialog("new-chat-dialog"));
  $("new-group").addEventListener("click", () => openDialog("new-group-dialog"));
  $("members-button").addEventListener("click", () => { drawMembers(); openDialog("members-dialog"); });
  $("new-chat-form").addEventListener("submit", newChat);
  $("new-group-form").addEventListener("submit", newGroup);
  $("rename-button").addEventListener("click", () => memberAction("rename_group", { conversationId: state.open, name: $("group-name").value }));
  $("add-button").addEventListener("click", () => {
    const usernames = names($("add-members").value);
    $("add-members").value = "";
    memberAction("add_members", { conversationId: state.open, usernames });
  });
  // Leaving closes the chat through the `conversation_removed` event.
  $("leave-button").addEventListener("click", async () => { await memberAction("leave_group", { conversationId: state.open }); $("members-dialog").close(); });
  document.querySelectorAll("[data-close]").forEach((b) => b.addEventListener("click", () => b.closest("dialog").close()));
}
