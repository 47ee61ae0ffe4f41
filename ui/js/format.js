// Message text to DOM nodes: links (http, https, mailto), a small formatting set (`*bold*`,
// `_italic_`, `` `code` ``, ``` fenced blocks ```, `> ` quote lines) and `@username` mentions.
// Pure: nodes are built with document.createElement/createTextNode only and text is never
// parsed as HTML, so hostile text stays text. Nothing inside code is formatted.
//
// Links: only http(s) and mailto, checked with the URL parser; the host is shown in punycode
// (an IDN look-alike shows as `xn--…`), `title` holds the full address that opens. A click never
// navigates the window: it is cancelled and handed to `openLink` (the system browser).
// Trailing punctuation (`.`, `,`, an unbalanced `)`) ends a link, as in prose.

/** Characters a username may contain (the relay's rule; mentions.rs in the engine). */
const NAME = /[A-Za-z0-9_.-]/;
/** Where a link may start (sticky: tested at one position). */
const SCHEME = /https?:\/\/|mailto:/iy;
/** Characters that end a link candidate. */
const LINK_END = /[\s<>"`]/;
/** Punctuation that ends a sentence rather than a link. */
const TRAILING = ".,;:!?'\"*_~";
/** Invisible and direction-changing characters: shown percent-encoded inside a link's text. */
const INVISIBLE = /[\u00AD\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/g;

/** Emphasis markers: `*` and `**` bold, `_` and `__` italic. */
const MARKS = { "*": "strong", "_": "em" };

const isSpace = (u) => typeof u === "string" && /\s/.test(u);
const isWord = (u) => typeof u === "string" && /[\p{L}\p{N}]/u.test(u);

function element(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.appendChild(document.createTextNode(text));
  return e;
}

// ---------- links ----------

/** Drop trailing punctuation, and closing brackets that have no opening one in the link. */
function trimLink(raw) {
  for (;;) {
    const c = raw[raw.length - 1];
    const pair = { ")": "(", "]": "[", "}": "{" }[c];
    const count = (ch) => raw.split(ch).length - 1;
    if (TRAILING.includes(c) || (pair && count(pair) < count(c))) raw = raw.slice(0, -1);
    else return raw;
  }
}

/** A mailto link's address with its domain in punycode, or null. */
function mailto(raw) {
  const rest = raw.slice("mailto:".length);
  const q = rest.search(/[?#]/);
  const address = q < 0 ? rest : rest.slice(0, q);
  const tail = q < 0 ? "" : rest.slice(q);
  const m = /^([^@\s<>"/\\]+)@([^@\s<>"/\\?#:[\]]+)$/.exec(address);
  if (!m) return null;
  let domain;
  try { domain = new URL(`http://${m[2]}`).hostname; } catch { return null; }
  if (!domain) return null;
  const text = `mailto:${m[1]}@${domain}${tail}`;
  let url;
  try { url = new URL(text); } catch { return null; }
  return url.protocol === "mailto:" ? { href: url.href, text } : null;
}

/** What a link candidate opens and shows, or null when it is no link we open. */
export function linkOf(raw) {
  if (/^mailto:/i.test(raw)) return mailto(raw);
  let url;
  try { url = new URL(raw); } catch { return null; }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || !url.hostname) return null;
  // As typed, but with the host as the parser reads it: punycode, lowercase.
  const m = /^https?:\/\/([^/\\?#]*)([\s\S]*)$/i.exec(raw);
  if (!m) return null;
  const at = m[1].lastIndexOf("@");
  const user = at < 0 ? "" : m[1].slice(0, at + 1);
  const text = `${url.protocol}//${user}${url.host}${m[2]}`.replace(INVISIBLE, encodeURIComponent);
  return { href: url.href, text };
}

function linkNode(link, openLink) {
  const a = element("a", "link", link.text);
  // A real href gives the link its keyboard and context-menu behaviour; the click is always
  // cancelled, and the shell refuses any navigation of the window anyway.
  a.href = link.href;
  a.title = link.href;
  a.rel = "noopener noreferrer";
  a.addEventListener("click", (e) => { e.preventDefault(); openLink(link.href); });
  a.addEventListener("auxclick", (e) => e.preventDefault());
  return a;
}

// ---------- inline ----------

/** Where the closing run of exactly `run` backticks is, from `from`, or -1. */
function closingTicks(line, from, run) {
  let p = line.indexOf("`", from);
  while (p >= 0) {
    let q = p;
    while (line[q] === "`") q++;
    if (q - p === run) return p;
    p = line.indexOf("`", q);
  }
  return -1;
}

/**
 * One line as units: single characters, finished nodes (code, links, mentions) and emphasis
 * markers ({ mark, raw }), for the emphasis pass.
 */
function units(line, ctx) {
  const out = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === "`") {
      let run = 1;
      while (line[i + run] === "`") run++;
      const close = closingTicks(line, i + run, run);
      if (close > i + run) {
        out.push({ node: element("code", "", line.slice(i + run, close)) });
        i = close + run;
      } else {
        for (let k = 0; k < run; k++) out.push("`");
        i += run;
      }
      continue;
    }
    if ("hHmM".includes(c) && !isWord(line[i - 1])) {
      SCHEME.lastIndex = i;
      if (SCHEME.test(line)) {
        let end = i;
        while (end < line.length && !LINK_END.test(line[end])) end++;
        const raw = trimLink(line.slice(i, end));
        const link = linkOf(raw);
        if (link) {
          out.push({ node: linkNode(link, ctx.openLink) });
          i += raw.length;
          continue;
        }
      }
    }
    if (c === "@" && !(i > 0 && (NAME.test(line[i - 1]) || line[i - 1] === "@"))) {
      let end = i + 1;
      while (end < line.length && NAME.test(line[end])) end++;
      const name = line.slice(i + 1, end).replace(/[.-]+$/, "");
      if (name) {
        const me = ctx.me && name.toLowerCase() === ctx.me.toLowerCase();
        out.push({ node: element("span", me ? "mention mention-me" : "mention", "@" + name) });
        i += 1 + name.length;
        continue;
      }
    }
    if (MARKS[c]) {
      const run = line[i + 1] === c ? (line[i + 2] === c ? 3 : 2) : 1;
      if (run < 3) { out.push({ mark: c, raw: line.slice(i, i + run) }); i += run; continue; }
      while (line[i] === c) out.push(line[i++]);
      continue;
    }
    out.push(c);
    i++;
  }
  return out;
}

/** Whether marker unit `i` may open emphasis: before something, not inside a word. */
const opens = (u, i) => i + 1 < u.length && !isSpace(u[i + 1]) && !isWord(u[i - 1]);
/** Whether marker unit `i` may close emphasis: after something, not inside a word. */
const closes = (u, i) => i > 0 && !isSpace(u[i - 1]) && !isWord(u[i + 1]);

/** First index in the sorted `list` greater than `x`, or list.length. */
function after(list, x) {
  let lo = 0, hi = list.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (list[mid] > x) hi = mid; else lo = mid + 1; }
  return lo;
}

/** Nodes for units[start, end): matched markers become strong/em around their content. */
function emphasis(u, start, end, closers, out) {
  let text = "";
  const flush = () => { if (text) { out.push(document.createTextNode(text)); text = ""; } };
  for (let i = start; i < end; i++) {
    const x = u[i];
    if (typeof x === "string") { text += x; continue; }
    if (x.node) { flush(); out.push(x.node); continue; }
    const list = closers.get(x.raw);
    const j = opens(u, i) && list ? list[after(list, i + 1)] : undefined;
    if (j === undefined || j >= end) { text += x.raw; continue; }
    flush();
    const e = element(MARKS[x.mark]);
    const inner = [];
    emphasis(u, i + 1, j, closers, inner);
    for (const n of inner) e.appendChild(n);
    out.push(e);
    i = j;
  }
  flush();
  return out;
}

/** One line of text (no block structure) as nodes. */
function inline(line, ctx) {
  const u = units(line, ctx);
  const closers = new Map();
  u.forEach((x, i) => {
    if (x.mark && closes(u, i)) {
      if (!closers.has(x.raw)) closers.set(x.raw, []);
      closers.get(x.raw).push(i);
    }
  });
  return emphasis(u, 0, u.length, closers, []);
}

/** Several lines as nodes, with line breaks (the body keeps white space). */
function lines(list, ctx) {
  const out = [];
  list.forEach((line, i) => {
    if (i > 0) out.push(document.createTextNode("\n"));
    out.push(...inline(line, ctx));
  });
  return out;
}

// ---------- blocks ----------

const FENCE_OPEN = /^```[^`\s]*\s*$/;
const FENCE_CLOSE = /^```\s*$/;
const QUOTE = /^>( |$)/;

/**
 * `text` as an array of DOM nodes. `me`: the signed-in username (its mentions get
 * `mention-me`); `openLink(url)`: what a link's click does.
 */
export function formatText(text, { me = "", openLink = () => {} } = {}) {
  const ctx = { me, openLink };
  const all = String(text).replace(/\r\n?/g, "\n").split("\n");
  const out = [];
  let para = [];
  const flush = () => { if (para.length) out.push(...lines(para, ctx)); para = []; };
  for (let i = 0; i < all.length; i++) {
    const line = all[i];
    if (FENCE_OPEN.test(line)) {
      let j = i + 1;
      while (j < all.length && !FENCE_CLOSE.test(all[j])) j++;
      if (j < all.length) {
        flush();
        const pre = element("pre");
        pre.appendChild(element("code", "", all.slice(i + 1, j).join("\n")));
        out.push(pre);
        i = j;
        continue;
      }
    }
    if (QUOTE.test(line)) {
      let j = i;
      while (j < all.length && QUOTE.test(all[j])) j++;
      flush();
      const q = element("blockquote");
      for (const n of lines(all.slice(i, j).map((l) => l.replace(QUOTE, "")), ctx)) q.appendChild(n);
      out.push(q);
      i = j - 1;
      continue;
    }
    para.push(line);
  }
  flush();
  return out;
}
