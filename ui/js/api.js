// The boundary to the shell: typed wrappers around Tauri's invoke/listen (the global
// window.__TAURI__, enabled by `withGlobalTauri`). Event names mirror src-tauri/src/event_names.rs;
// payloads are the engine's events (crates/tern-client/src/events.rs), serialized as is.

const { invoke } = window.__TAURI__.core;
const { listen } = window.__TAURI__.event;

/** Every engine event, and shell notes such as `{ event: "settings" }`. */
export const EVENT = "tern://event";
/** The UI missed events and must reload its view from the cache. */
export const RESYNC = "tern://resync";

/** Call one shell command. */
export const call = (command, args) => invoke(command, args);

/** Run `handler(payload)` for every event of that name. */
export const on = (name, handler) => listen(name, (e) => handler(e.payload));

/** Every listed conversation, most recent first (several queries each: start-up and resync only). */
export const conversations = () => invoke("conversations");

/** One conversation as listed, or null if it is unknown or was left. */
export const conversation = (conversationId) => invoke("conversation_view", { conversationId });

/** Up to `limit` messages before `beforeSeq` (or the newest, unsent ones last), oldest first. */
export const messages = (conversationId, beforeSeq, limit) =>
  invoke("messages", { conversationId, beforeSeq, limit });
