// Profile and group pictures ("avatars"): a round span.avatar showing the initials of a name on
// a colour picked from a key (the same person or group always gets the same one: --avatar-0 …
// --avatar-7 in style.css, each with white text at 4.5:1 or more), and the picture on top once
// it has loaded. Pictures are read through the shell's `avatar_image` (the engine downloads each
// once) into blob: URLs, cached by sha256 for the whole run, so every row showing the same
// picture shares one read. A picture that cannot be read (offline, not allowed) leaves the
// initials, and is asked for again a minute later at the earliest. Avatars are decoration
// (aria-hidden): the name always shows beside them.
//
// The span carries data-sha while it shows (or waits for) a picture, and the class has-picture
// once the image has loaded. Nothing here touches the DOM when the module loads, so node's
// tests import it without a browser; the shell is reached lazily (api.js needs Tauri).

/** Palette entries (--avatar-0 … in style.css). */
export const PALETTE_SIZE = 8;

/** How long a picture that failed to load is not asked for again (ms). */
const RETRY_MS = 60_000;

/** Split into user-perceived characters (grapheme clusters) where the runtime can. */
const segmenter = typeof Intl !== "undefined" && Intl.Segmenter ? new Intl.Segmenter(undefined, { granularity: "grapheme" }) : null;
const graphemes = (s) => (segmenter ? [...segmenter.segment(s)].map((g) => g.segment) : Array.from(s));

/** Whether a character is a letter or digit (not an emoji, not punctuation such as "@"). */
const LETTER = /^[\p{L}\p{N}]/u;

/** One character, upper-cased when that keeps it one character ("ß" stays "ß"). */
function upper(g) {
  const u = g.toUpperCase();
  return graphemes(u).length === 1 ? u : g;
}

/**
 * The initials of `name`: the first letters of its first two words ("Alice Smith" → "AS"), the
 * first letter of a single word ("bob" → "B"). Words without letters (emoji, "–") are skipped;
 * a name with no letter at all shows its first character ("🦊"); an empty name "?".
 */
export function initials(name) {
  const words = String(name ?? "").trim().split(/\s+/).filter(Boolean);
  const firsts = [];
  for (const w of words) {
    const g = graphemes(w).find((c) => LETTER.test(c));
    if (g) firsts.push(upper(g));
    if (firsts.length === 2) break;
  }
  if (firsts.length) return firsts.join("");
  return words.length ? graphemes(words[0])[0] : "?";
}

/** A stable palette index for `key` (FNV-1a over its UTF-16 units). */
export function avatarIndex(key) {
  let h = 0x811c9dc5;
  const s = String(key ?? "");
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % PALETTE_SIZE;
}

/** The colour for `key`: a palette entry of style.css, as a CSS value ("var(--avatar-3)"). */
export const avatarColor = (key) => `var(--avatar-${avatarIndex(key)})`;

/** The colour key of a person (the same in every conversation, as a sender or a direct chat). */
export const userKey = (userId) => `user:${userId}`;

/** The colour key of conversation `c` as listed: the other member of a direct chat, else the group. */
export function conversationKey(c, me) {
  if (c.kind === "direct") {
    const o = (c.members || []).find((m) => m.user_id !== me);
    if (o) return userKey(o.user_id);
  }
  return `group:${c.conversation_id}`;
}

/**
 * The user's own picture as their conversations know it (their member's `avatar` in the first
 * conversation they are a member of), or null: none, or not known (no conversation yet).
 */
export function ownPicture(conversations, me) {
  for (const c of conversations) {
    const self = c && c.members && c.members.find((m) => m.user_id === me);
    if (self) return self.avatar || null;
  }
  return null;
}

/** Who wrote message `m`: the sender's id (their username if the id is unknown). */
const author = (m) => (m.sender_id ?? m.sender);

/**
 * Whether message `msg` shows its sender's avatar in a group: the first of a run of messages
 * from the same person. A run ends when someone else (or the user) writes, at a group notice
 * ("alice added bob": a line of its own), and at a break between the two messages (`brk`: a day
 * separator, the "New messages" divider). The user's own messages and notices never show one.
 * `prev`: the message before it, or null.
 */
export function showsAvatar(prev, msg, brk = false) {
  if (!msg || msg.mine || msg.notice) return false;
  return brk || !prev || !!prev.mine || !!prev.notice || author(prev) !== author(msg);
}

// ---------- pictures ----------

/** Reads a picture's bytes (ArrayBuffer or array of numbers); replaceable by tests. */
let load = async (picture) => (await import("./api.js")).avatarImage(picture);

/** Use `fn(picture)` to read pictures (tests). */
export function setAvatarLoader(fn) { load = fn; }

/** sha256 → `{ promise, failed }`: the read of the picture's blob: URL (`failed`: when it failed). */
const urls = new Map();
/** sha256 → the URL once it is known (drawn at once, no flash of the initials on redraw). */
const ready = new Map();

/** The blob: URL of `picture`, read once per run (after a failure, again RETRY_MS later). */
export function pictureUrl(picture) {
  const sha = picture.sha256;
  const had = urls.get(sha);
  if (had && !(had.failed && Date.now() - had.failed >= RETRY_MS)) return had.promise;
  const entry = { promise: null, failed: 0 };
  entry.promise = Promise.resolve().then(() => load(picture)).then((bytes) => {
    const data = bytes instanceof ArrayBuffer || ArrayBuffer.isView(bytes) ? bytes : new Uint8Array(bytes);
    const url = URL.createObjectURL(new Blob([data], { type: picture.content_type || "image/jpeg" }));
    ready.set(sha, url);
    return url;
  });
  entry.promise.catch(() => { entry.failed = Date.now(); });
  urls.set(sha, entry);
  return entry.promise;
}

/** Put the picture's `<img>` into `span` (still showing `sig`). */
function showPicture(span, sig, url) {
  if (span._avatar !== sig) return;
  const img = document.createElement("img");
  img.alt = "";
  img.draggable = false;
  img.addEventListener("load", () => {
    if (span._avatar === sig && !span.className.split(" ").includes("has-picture")) span.className += " has-picture";
  });
  // Not an image the webview can draw: the initials stay.
  img.addEventListener("error", () => img.remove());
  img.src = url;
  span.append(img);
}

/**
 * Make `span` the avatar of `name` (initials on the colour of `key`) with `picture` (a Picture
 * `{ blob_id, content_type, size, sha256 }`, or null) over them once loaded; `sizeClass` sets
 * its size (avatar-list, avatar-head, avatar-msg, avatar-large). Nothing is redrawn when the
 * same is shown already, so a row redrawn for another reason keeps its loaded picture.
 */
export function fillAvatar(span, picture, name, key, sizeClass = "") {
  const sha = (picture && picture.sha256) || "";
  const text = initials(name);
  const index = avatarIndex(key);
  const sig = `${sizeClass}\n${index}\n${text}\n${sha}`;
  if (span._avatar === sig) return span;
  span._avatar = sig;
  span.className = ["avatar", sizeClass, `avatar-c${index}`].filter(Boolean).join(" ");
  span.setAttribute("aria-hidden", "true");
  const letters = document.createElement("span");
  letters.className = "avatar-initials";
  letters.textContent = text;
  span.replaceChildren(letters);
  if (!sha) { delete span.dataset.sha; return span; }
  span.dataset.sha = sha;
  const url = ready.get(sha);
  if (url) showPicture(span, sig, url);
  else pictureUrl(picture).then((u) => showPicture(span, sig, u), (e) => console.debug("avatar not shown:", e));
  return span;
}

/** A new avatar (span.avatar, aria-hidden): see fillAvatar. */
export function avatarNode(picture, name, key, sizeClass = "") {
  return fillAvatar(document.createElement("span"), picture, name, key, sizeClass);
}
