// Attachments, the pure part: how a file is described to the user (human sizes, an icon by
// type, "🖼 Photo" / "📎 name" where a message is summed up in one line), how big a thumbnail is
// drawn before anything loads (its box fitted within 320×320, keeping the aspect ratio), and
// the name a pasted image is sent under. Nothing here touches the DOM or calls the shell.

import { isNotice, noticeText } from "./notices.js";

/** The largest box a thumbnail is drawn in (CSS pixels). */
export const THUMB_MAX = 320;

const UNITS = ["B", "KB", "MB", "GB", "TB"];

/**
 * Bytes as people read them: "0 B", "512 B", "1.2 KB", "12 MB", "340 MB" (binary multiples,
 * one decimal below 10, none from 10 on; a value that would round to 1024 moves up a unit).
 */
export function humanSize(bytes) {
  let n = Math.max(0, Number(bytes) || 0);
  if (n < 1024) return `${Math.round(n)} B`;
  let unit = 0;
  while (n >= 1024 && unit < UNITS.length - 1) { n /= 1024; unit++; }
  let text = n < 10 ? n.toFixed(1) : String(Math.round(n));
  if (text === "1024" && unit < UNITS.length - 1) { unit++; text = "1.0"; }
  return `${text.replace(/\.0$/, "")} ${UNITS[unit]}`;
}

/** "1.2 MB / 5 MB" while a transfer runs (the total alone when it is not known yet). */
export function progressText(p, size) {
  if (!p || !p.total) return humanSize(size);
  return `${humanSize(p.done)} / ${humanSize(p.total)}`;
}

/**
 * The box an image of `width`×`height` is drawn in: fitted within `maxWidth`×`maxHeight`
 * (320×320 unless told) keeping its aspect ratio, never enlarged, at least 1 px a side; null
 * when the size is not known.
 */
export function thumbBox(width, height, maxWidth = THUMB_MAX, maxHeight = maxWidth) {
  if (!(width > 0) || !(height > 0)) return null;
  const scale = Math.min(1, maxWidth / width, maxHeight / height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** Whether an attachment is an image (shown as a picture when it has a thumbnail). */
export const isImage = (a) => !!a && typeof a.content_type === "string" && /^image\//i.test(a.content_type);

/** Whether a message row draws its attachment as a picture (an image with a thumbnail). */
export const showsPicture = (a) => isImage(a) && !!a.thumbnail;

/** An icon for a file chip, by media type. */
export function fileIcon(contentType) {
  const t = String(contentType || "").toLowerCase();
  if (t.startsWith("image/")) return "🖼";
  if (t.startsWith("video/")) return "🎞";
  if (t.startsWith("audio/")) return "🎵";
  if (/zip|compressed|x-tar|gzip|x-7z|x-rar/.test(t)) return "🗜";
  return "📄";
}

/**
 * A message in one line (the conversation list, the reply banner): "Message deleted", its
 * text, or for an attachment "🖼 Photo" / "📎 name", the caption after the icon if it has one;
 * a group notice's sentence ("Alice added you": notices.js, people named by `nameOf`, the
 * current user `me`), never its body.
 */
export function previewText(m, nameOf, me) {
  if (isNotice(m)) return noticeText(m, nameOf, me);
  if (m.deleted) return "Message deleted";
  const body = (m.body || "").replace(/\s+/g, " ");
  const a = m.attachment;
  if (!a) return body;
  const icon = isImage(a) ? "🖼" : "📎";
  if (body.trim()) return `${icon} ${body.trim()}`;
  return isImage(a) ? `${icon} Photo` : `${icon} ${a.name}`;
}

const EXTENSIONS = { "image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp", "image/bmp": "bmp", "image/avif": "avif" };

/** The name a pasted image is sent under: `pasted-2024-05-01-153012.png` (local time of `when`). */
export function pastedName(type, when = new Date()) {
  const ext = EXTENSIONS[String(type || "").toLowerCase()] || "png";
  const two = (n) => String(n).padStart(2, "0");
  const d = when;
  return `pasted-${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}-${two(d.getHours())}${two(d.getMinutes())}${two(d.getSeconds())}.${ext}`;
}

/** The last part of a path (either separator), for messages about a file being sent. */
export const baseName = (path) => String(path).split(/[\\/]/).filter(Boolean).pop() || String(path);
