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

/**
 * Up to `limit` (at most 200) stored messages after `afterSeq`, oldest first; when they reach
 * the newest, the unsent ones follow (as at the end of the newest page).
 */
export const messagesAfter = (conversationId, afterSeq, limit) =>
  invoke("messages_after", { conversationId, afterSeq, limit });

// ---------- attachments (src-tauri/src/files.rs) ----------

/** Native file drops on the window (Tauri's drag-and-drop events: `{ paths, position }`). */
export const DRAG_ENTER = "tauri://drag-enter";
export const DRAG_LEAVE = "tauri://drag-leave";
export const DRAG_DROP = "tauri://drag-drop";

/**
 * Ask the user for files (the system dialog; `pictures`: only the kinds a profile or group
 * photo is made from); their paths, none when cancelled.
 */
export const pickFiles = (pictures = false) => invoke("pick_files", { pictures });

/**
 * Send the file at `path` (caption and reply optional) as `account` (the one signed in when the
 * user chose to send: the shell refuses it once another is); resolves to the local echo.
 */
export const sendFile = (account, conversationId, path, caption, replyTo) =>
  invoke("send_file", { account, conversationId, path, caption, replyTo });

/** Send pasted image bytes (an array of numbers) as `name`, as `account`; resolves to the local echo. */
export const sendPasted = (account, conversationId, name, bytes) =>
  invoke("send_pasted", { account, conversationId, name, bytes });

/** Download (or resume) the attachment of the message at `seq`; resolves to its path. */
export const download = (conversationId, seq) => invoke("download", { conversationId, seq });

/** The bytes (ArrayBuffer) of one of Tern's files, for the image viewer. */
export const readFile = (path) => invoke("read_file", { path });

/** Open one of Tern's files with the system's application. */
export const openFile = (path) => invoke("open_file", { path });

/** Save a copy where the user chooses; resolves to whether it was saved. */
export const saveFileAs = (path, name) => invoke("save_file_as", { path, name });

// ---------- profile and group pictures (src-tauri/src/avatars.rs) ----------

/** The bytes (ArrayBuffer) of a picture `{ blob_id, content_type, size, sha256 }`. */
export const avatarImage = (picture) => invoke("avatar_image", { picture });

/** Set the user's picture from the image at `path` (null removes it). */
export const setAvatar = (path) => invoke("set_avatar", { path });

/** Set a group's picture from the image at `path` (null removes it). */
export const setGroupAvatar = (conversationId, path) => invoke("set_group_avatar", { conversationId, path });
