// Every module of the UI parses and links: its imports name exports that exist, and nothing is
// declared twice. A mistake of that kind stops the whole page at load (the app shows nothing),
// which node sees as a SyntaxError when importing the module; a module that needs the page's
// globals (window, document) to run fails later, with another error, which is not this test's.

import test from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";

const root = new URL("../../ui/js/", import.meta.url);
const files = [
  ...readdirSync(root).filter((f) => f.endsWith(".js")),
  ...readdirSync(new URL("views/", root)).filter((f) => f.endsWith(".js")).map((f) => `views/${f}`),
];

test("every UI module parses and links", async () => {
  assert.ok(files.length > 40, `found ${files.length} modules`);
  for (const f of files) {
    try {
      await import(new URL(f, root));
    } catch (e) {
      assert.ok(!(e instanceof SyntaxError), `${f}: ${e.message}`);
    }
  }
});
