// "Forward to…" (a message's menu, message-actions.js): the chats of the list, the archived
// ones after, filtered by what is typed ("No chats match." when none does). Each chat is a
// toggle (up to five chosen, as Signal allows; the choice survives the filter); "Forward (N)"
// sends the message to each as a new one of the user's (the same text and file, the file sent
// again from this device). Enter chooses the first chat shown when none is chosen yet, else
// forwards. One forward at a time; the dialog stays open with the reason if the shell refuses
// one (those that went are no longer chosen).

import { call } from "../api.js";
import { $, el } from "../dom.js";
import { errorText } from "../errors.js";
import { state, listed } from "../store.js";
import { toast } from "./toast.js";

/** Most chats one message is forwarded to at once. */
export const MAX_FORWARD = 5;

/** The message being forwarded while the dialog is open. */
let message = null;
/** The chats chosen, in the order chosen. */
let chosen = [];
/** A forward on its way (a second click or Enter waits for it). */
let sending = false;

/** Open the dialog for message `m` (stored: it has a conversation and a seq). */
export function openForward(m) {
  message = m;
  chosen = [];
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

/** Choose chat `id`, or unchoose it: the new choice, or null past [`MAX_FORWARD`]. */
export function toggleChoice(list, id) {
  if (list.includes(id)) return list.filter((c) => c !== id);
  return list.length >= MAX_FORWARD ? null : [...list, id];
}

function drawChoices() {
  const chats = forwardTargets(state.conversations, state.pinned, state.archived, $("forward-filter").value);
  $("forward-error").textContent = chats.length ? "" : "No chats match.";
  $("forward-chats").replaceChildren(...chats.map((c) => {
    const b = el("button", "forward-choice", c.title);
    b.type = "button";
    b.dataset.id = c.conversation_id;
    b.setAttribute("aria-pressed", String(chosen.includes(c.conversation_id)));
    const li = el("li");
    li.append(b);
    return li;
  }));
  const send = $("forward-send");
  send.disabled = chosen.length === 0;
  send.textContent = chosen.length ? `Forward (${chosen.length})` : "Forward";
}

/** Toggle chat `id`; the chat's own button keeps the keyboard's focus (it is drawn anew). */
function choose(id) {
  const next = toggleChoice(chosen, id);
  if (next === null) {
    $("forward-error").textContent = `You can forward to up to ${MAX_FORWARD} chats at once.`;
    return;
  }
  const hadFocus = document.activeElement && document.activeElement.dataset
    ? document.activeElement.dataset.id : undefined;
  chosen = next;
  drawChoices();
  if (hadFocus !== undefined) {
    const again = $("forward-chats").querySelector(`button[data-id="${CSS.escape(hadFocus)}"]`);
    if (again) again.focus();
  }
}

async function forwardChosen() {
  const m = message;
  if (!m || sending || !chosen.length) return;
  sending = true;
  const went = [];
  const account = state.account;
  try {
    for (const id of [...chosen]) {
      await call("forward", { account, to: id, from: m.conversation_id, seq: m.seq });
      went.push(id);
      chosen = chosen.filter((c) => c !== id);
    }
    $("forward-dialog").close();
  } catch (err) {
    drawChoices();
    $("forward-error").textContent = errorText(err);
  } finally {
    sending = false;
  }
  // Queued: each shows in its chat as any message of the user's, failed if the relay refuses.
  if (went.length) {
    const names = went.map((id) => state.conversations.get(id)?.title ?? "a chat");
    toast(`Forwarding to ${names.join(", ")}`);
  }
}

/** Wire the dialog's filter, choices, Forward button and Enter. */
export function wireForward() {
  $("forward-filter").addEventListener("input", drawChoices);
  $("forward-chats").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-id]");
    if (b) choose(Number(b.dataset.id));
  });
  // The Forward button (disabled until a chat is chosen, so Enter would not submit).
  $("forward-form").addEventListener("submit", (e) => { e.preventDefault(); forwardChosen(); });
  $("forward-filter").addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    e.preventDefault();
    if (chosen.length) { forwardChosen(); return; }
    // Nothing chosen yet: Enter after typing chooses the first chat shown.
    if (!$("forward-filter").value.trim()) return;
    const first = $("forward-chats").querySelector("button[data-id]");
    if (first) choose(Number(first.dataset.id));
  });
  $("forward-dialog").addEventListener("close", () => { message = null; chosen = []; });
}
