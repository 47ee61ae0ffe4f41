// Unit tests of attachments in the UI: the pure helpers (ui/js/attachments.js: human sizes,
// thumbnail boxes, one-line previews, pasted names) and the store's transfer progress
// (ui/js/store.js: uploads by client id, downloads by blob id, dropped when complete).

import test from "node:test";
import assert from "node:assert/strict";
import * as a from "../../ui/js/attachments.js";
import * as s from "../../ui/js/store.js";

test("sizes read as people read them", () => {
  assert.equal(a.humanSize(0), "0 B");
  assert.equal(a.humanSize(512), "512 B");
  assert.equal(a.humanSize(1023), "1023 B");
  assert.equal(a.humanSize(1024), "1 KB");
  assert.equal(a.humanSize(1536), "1.5 KB");
  assert.equal(a.humanSize(1.2 * 1024 * 1024), "1.2 MB");
  assert.equal(a.humanSize(12.4 * 1024 * 1024), "12 MB");
  assert.equal(a.humanSize(340 * 1024 * 1024), "340 MB");
  assert.equal(a.humanSize(3 * 1024 ** 3), "3 GB");
  // Just under a unit does not show as 1024 of the one below.
  assert.equal(a.humanSize(1024 * 1024 - 1), "1 MB");
  assert.equal(a.humanSize(-5), "0 B");
  assert.equal(a.humanSize(undefined), "0 B");
});

test("progress reads as done / total, or the size while nothing is known", () => {
  assert.equal(a.progressText({ done: 512 * 1024, total: 2 * 1024 * 1024 }, 0), "512 KB / 2 MB");
  assert.equal(a.progressText({ done: 0, total: 0 }, 2048), "2 KB");
  assert.equal(a.progressText(null, 2048), "2 KB");
});

test("a thumbnail's box fits within 320×320 keeping the aspect ratio, never enlarged", () => {
  assert.deepEqual(a.thumbBox(4000, 3000), { width: 320, height: 240 });
  assert.deepEqual(a.thumbBox(1080, 1920), { width: 180, height: 320 });
  assert.deepEqual(a.thumbBox(640, 640), { width: 320, height: 320 });
  assert.deepEqual(a.thumbBox(200, 100), { width: 200, height: 100 });
  assert.deepEqual(a.thumbBox(10000, 10), { width: 320, height: 1 });
  assert.deepEqual(a.thumbBox(4000, 3000, 1000, 500), { width: 667, height: 500 });
  assert.equal(a.thumbBox(undefined, 300), null);
  assert.equal(a.thumbBox(0, 0), null);
});

const text = (extra) => ({ body: "hello  there", deleted: false, attachment: null, ...extra });
const photo = { blob_id: "b1", name: "IMG_1.jpg", content_type: "image/jpeg", size: 1000, sha256: "x", width: 10, height: 10, thumbnail: "AAAA" };
const pdf = { blob_id: "b2", name: "report.pdf", content_type: "application/pdf", size: 1000, sha256: "y" };

test("a message in one line: its text, a photo, a file, a caption after the icon", () => {
  assert.equal(a.previewText(text()), "hello there");
  assert.equal(a.previewText(text({ deleted: true })), "Message deleted");
  assert.equal(a.previewText(text({ body: "", attachment: photo })), "🖼 Photo");
  assert.equal(a.previewText(text({ body: "", attachment: pdf })), "📎 report.pdf");
  assert.equal(a.previewText(text({ body: " \n", attachment: pdf })), "📎 report.pdf");
  assert.equal(a.previewText(text({ body: "the\nnumbers", attachment: pdf })), "📎 the numbers");
  assert.equal(a.previewText(text({ body: "look", attachment: photo })), "🖼 look");
  assert.equal(a.previewText(text({ body: "", deleted: true, attachment: pdf })), "Message deleted");
});

test("pictures, icons, pasted names and base names", () => {
  assert.ok(a.isImage(photo));
  assert.ok(!a.isImage(pdf));
  assert.ok(a.showsPicture(photo));
  assert.ok(!a.showsPicture({ ...photo, thumbnail: undefined }));
  assert.equal(a.fileIcon("application/pdf"), "📄");
  assert.equal(a.fileIcon("application/zip"), "🗜");
  assert.equal(a.fileIcon("video/mp4"), "🎞");
  const when = new Date(2024, 4, 1, 15, 30, 12);
  assert.equal(a.pastedName("image/png", when), "pasted-2024-05-01-153012.png");
  assert.equal(a.pastedName("image/jpeg", when), "pasted-2024-05-01-153012.jpg");
  assert.equal(a.pastedName("image/x-unknown", when), "pasted-2024-05-01-153012.png");
  assert.equal(a.baseName("/home/me/Pictures/cat.png"), "cat.png");
  assert.equal(a.baseName("C:\\Users\\me\\cat.png"), "cat.png");
});

// ---------- the store: transfer progress ----------

const up = (client_id, done, total, blob_id = "") => ({ event: "transfer", conversation_id: 3, client_id, blob_id, done, total, upload: true });
const down = (blob_id, done, total) => ({ event: "transfer", conversation_id: 3, client_id: "", blob_id, done, total, upload: false });

test("uploads are kept by client id, downloads by blob id, each dropped when complete", () => {
  let t = s.noTransfers();
  t = s.withTransfer(t, up("c1", 100, 1000));
  t = s.withTransfer(t, down("b9", 50, 500));
  assert.deepEqual(t.uploads.get("c1"), { done: 100, total: 1000 });
  assert.deepEqual(t.downloads.get("b9"), { done: 50, total: 500 });
  assert.equal(t.uploads.has("b9"), false);
  assert.equal(t.downloads.has("c1"), false);
  const before = t;
  t = s.withTransfer(t, up("c1", 600, 1000));
  assert.deepEqual(t.uploads.get("c1"), { done: 600, total: 1000 });
  assert.deepEqual(before.uploads.get("c1"), { done: 100, total: 1000 }, "deltas never mutate");
  assert.equal(t.downloads, before.downloads);
  // The last upload event brings the blob id; still keyed by the client id, and dropped.
  t = s.withTransfer(t, up("c1", 1000, 1000, "b1"));
  assert.equal(t.uploads.size, 0);
  t = s.withTransfer(t, down("b9", 500, 500));
  assert.equal(t.downloads.size, 0);
});

test("a transfer event that changes nothing keeps the same store value", () => {
  const t = s.withTransfer(s.noTransfers(), up("c1", 100, 1000));
  assert.equal(s.withTransfer(t, up("c1", 100, 1000)), t);
  assert.equal(s.withTransfer(t, down("gone", 10, 10)), t);
  assert.equal(s.withTransfer(t, up("", 1, 10)), t);
  assert.equal(s.withoutTransfer(t, false, "c1"), t);
  assert.equal(s.withoutTransfer(t, true, "c1").uploads.size, 0);
});

const own = (extra) => ({
  conversation_id: 3, client_id: "c1", seq: null, mine: true, status: "queued", body: "", deleted: false,
  attachment: { ...pdf, blob_id: "" }, local_file: "/data/outgoing/c1/report.pdf", ...extra,
});
const theirs = (extra) => ({ conversation_id: 3, client_id: "c2", seq: 8, mine: false, status: "received", body: "", deleted: false, attachment: pdf, local_file: null, ...extra });

test("a row's progress: its upload (waiting until known), its download, else none", () => {
  let t = s.noTransfers();
  assert.deepEqual(s.progressOf(t, own()), { done: 0, total: 0 });
  t = s.withTransfer(t, up("c1", 10, 1000));
  assert.deepEqual(s.progressOf(t, own()), { done: 10, total: 1000 });
  assert.equal(s.progressOf(t, own({ status: "failed" })), null);
  assert.equal(s.progressOf(t, own({ status: "sent", seq: 9 })), null);
  assert.equal(s.progressOf(t, own({ attachment: pdf })), null, "uploaded: it has its blob");
  assert.equal(s.progressOf(t, theirs()), null);
  t = s.withTransfer(t, down("b2", 300, 1000));
  assert.deepEqual(s.progressOf(t, theirs()), { done: 300, total: 1000 });
  assert.equal(s.progressOf(t, theirs({ local_file: "/data/downloads/b2-report.pdf" })), null);
  assert.equal(s.progressOf(t, theirs({ attachment: null })), null);
  assert.ok(s.uploading(own()));
  assert.ok(!s.uploading(theirs()));
});

test("a finished upload gives its message the blob id; a finished download its local file", () => {
  const chat = [theirs(), own()];
  assert.equal(s.chatWithUploaded(chat, up("c1", 500, 1000, "")), chat);
  const next = s.chatWithUploaded(chat, up("c1", 1000, 1000, "b1"));
  assert.equal(next[1].attachment.blob_id, "b1");
  assert.equal(next[1].attachment.name, "report.pdf");
  assert.equal(next[0], chat[0]);
  assert.equal(chat[1].attachment.blob_id, "", "the old list is untouched");
  assert.equal(s.chatWithUploaded(next, up("c1", 1000, 1000, "b1")), next);
  const here = s.chatWithLocalFile(chat, "b2", "/data/downloads/b2-report.pdf");
  assert.equal(here[0].local_file, "/data/downloads/b2-report.pdf");
  assert.equal(here[1], chat[1]);
  assert.equal(s.chatWithLocalFile(here, "b2", "/elsewhere"), here, "a known local file stays");
});

test("a finished upload is one of the chat events replayed onto a loading page", async () => {
  globalThis.window ??= { __TAURI__: { core: { invoke: async () => null }, event: { listen: async () => {} } } };
  const { applyChat } = await import("../../ui/js/refresh.js");
  const chat = [own()];
  assert.equal(applyChat(chat, up("c1", 1000, 1000, "b1"))[0].attachment.blob_id, "b1");
  assert.equal(applyChat(chat, up("c1", 10, 1000)), chat);
});
