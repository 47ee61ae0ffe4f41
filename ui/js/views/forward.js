// "Forward to…" (a message's menu, message-actions.js): the chats of the list, the archived
// ones after, filtered by what is typed ("No chats match." when none does); choosing one sends
// the message there as a new one of the user's (the same text and file, the file sent again
// from this device). Enter forwards to the first chat shown once something is typed. One
// forward at a time; the dialog stays open with the reason if the shell refuses.

import { call } from "../api.js";
import { $, el } from "../dom.js";
import { errorText } from "../errors.js";
import { state, listed } from "../store.js";
import { toast } from "./toast.js";

/** The message being forwarded while the dialog is open. */
let message = null;
/** A forward on its way (a second click or Enter waits for it). */
let sending = false;

/** Open the dialog for message `m` (stored: it has a conversation and a seq). */
export function openForward(m) {
  message = m;
  $("forward-filter").value = "";
  $("forward-error").textContent = "";
  drawChoices();
  $("forward-dialog").showModal();
  $("forward-filter").focus();
}

/** The chats a message can go to, matching `query` (case aside): requests are left out. */
export function forwardTargets(conversations, pinned, archived, query) {
  const q = query.trim().toLowerCase();
  const { main, archived: apart } = listed(conversations, pinned, archived);
  return [...main, ...apart].filter((c) => !q || c.title.toLowerCase().includes(q));
}

function drawChoices() {
  const chats = forwardTargets(state.conversations, state.pinned, state.archived, $("forward-filter").value);
  $("forward-error").textContent = chats.length ? "" : "No chats match.";
  $("forward-chats").replaceChildren(...chats.map((c) => {
    const b = el("button", "forward-choice", c.title);
    b.type = "button";
    b.dataset.id = c.conversation_id;
    const li = el("li");
    li.append(b);
    return li;
  }));
}

async function forwardTo(id) {
  const m = message;
  if (!m || sending) return;
  sending = true;
  try {
    await call("forward", { to: id, from: m.conversation_id, seq: m.seq });
    $("forward-dialog").close();
    // Queued: it shows in that chat as any message of the user's, failed if the relay refuses.
    toast(`Forwarding to ${state.conversations.get(id)?.title ?? "the chat"}`);
  } catch (err) {
    $("forward-error").textContent = errorText(err);
  } finally {
    sending = false;
  }
}

/** Wire the dialog's filter, choices and Enter. */
export function wireForward() {
  $("forward-filter").addEventListener("input", drawChoices);
  $("forward-chats").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-id]");
    if (b) forwardTo(Number(b.dataset.id));
  });
  $("forward-form").addEventListener("submit", (e) => {
    e.preventDefault();
    // Only once the user typed something: Enter alone is not a choice.
    if (!$("forward-filter").value.trim()) return;
    const first = $("forward-chats").querySelector("button[data-id]");
    if (first) forwardTo(Number(first.dataset.id));
  });
  $("forward-dialog").addEventListener("close", () => { message = null; });
}
