// Unit tests of message formatting (ui/js/format.js) on a minimal stand-in for the DOM: links
// (http, https, mailto; punycode hosts; trailing punctuation), *bold*, _italic_, code spans and
// blocks (nothing formatted inside), quote lines, mentions, and hostile input staying text.

import test from "node:test";
import assert from "node:assert/strict";

class Text {
  constructor(data) { this.nodeType = 3; this.data = data; }
  get textContent() { return this.data; }
}
class Element {
  constructor(tag) {
    this.nodeType = 1; this.tagName = tag.toUpperCase(); this.childNodes = []; this.className = "";
    this.dataset = {}; this.listeners = {};
  }
  appendChild(n) { this.childNodes.push(n); return n; }
  addEventListener(type, fn) { (this.listeners[type] ||= []).push(fn); }
  get textContent() { return this.childNodes.map((n) => n.textContent).join(""); }
}
globalThis.document = { createElement: (tag) => new Element(tag), createTextNode: (t) => new Text(t) };
const { formatText } = await import("../../ui/js/format.js");

/** The nodes as a compact string: text as is, elements as <tag.class>…</tag>. */
function show(nodes) {
  return nodes.map((n) => {
    if (n.nodeType === 3) return n.data;
    const cls = n.className ? "." + n.className.split(" ").join(".") : "";
    return `<${n.tagName.toLowerCase()}${cls}>${show(n.childNodes)}</${n.tagName.toLowerCase()}>`;
  }).join("");
}
const fmt = (text, opts) => show(formatText(text, opts));
/** Every element in the nodes, depth first. */
const elements = (nodes) => nodes.flatMap((n) => (n.nodeType === 1 ? [n, ...elements(n.childNodes)] : []));
const links = (nodes) => elements(nodes).filter((e) => e.tagName === "A");

test("plain text is one text node, unchanged", () => {
  const nodes = formatText("hello alice");
  assert.equal(nodes.length, 1);
  assert.equal(nodes[0].nodeType, 3);
  assert.equal(nodes[0].data, "hello alice");
});

test("http, https and mailto become links whose click opens them through the shell", () => {
  const opened = [];
  const nodes = formatText("see https://example.com/a?b=1#c and http://x.org or mailto:bob@example.com", { openLink: (u) => opened.push(u) });
  const [a, b, c] = links(nodes);
  assert.equal(a.textContent, "https://example.com/a?b=1#c");
  assert.equal(a.title, "https://example.com/a?b=1#c");
  assert.equal(a.className, "link");
  assert.equal(b.href, "http://x.org/");
  assert.equal(c.textContent, "mailto:bob@example.com");
  assert.equal(c.href, "mailto:bob@example.com");
  let prevented = false;
  a.listeners.click[0]({ preventDefault: () => { prevented = true; } });
  assert.ok(prevented, "the click never navigates the window");
  assert.deepEqual(opened, ["https://example.com/a?b=1#c"]);
});

test("an IDN host shows in punycode, in the text and the title", () => {
  const [a] = links(formatText("log in at https://аррӏе.com/login"));
  assert.equal(a.textContent, "https://xn--80ak6aa92e.com/login");
  assert.equal(a.title, "https://xn--80ak6aa92e.com/login");
  const [m] = links(formatText("mailto:ivan@пример.рф"));
  assert.equal(m.textContent, "mailto:ivan@xn--e1afmkfd.xn--p1ai");
  assert.ok(m.href.startsWith("mailto:ivan@xn--e1afmkfd.xn--p1ai"));
});

test("trailing punctuation is not part of a link; balanced brackets are", () => {
  for (const [text, url] of [
    ["go to https://example.com.", "https://example.com"],
    ["https://example.com/x, then", "https://example.com/x"],
    ["(see https://example.com/a)", "https://example.com/a"],
    ["really? https://example.com/?q=1!", "https://example.com/?q=1"],
    ["https://en.wikipedia.org/wiki/Tern_(bird).", "https://en.wikipedia.org/wiki/Tern_(bird)"],
    ["'https://example.com/'", "https://example.com/"],
  ]) {
    const nodes = formatText(text);
    assert.equal(links(nodes).length, 1, text);
    assert.equal(links(nodes)[0].textContent, url, text);
    assert.equal(nodes.map((n) => n.textContent).join(""), text, "no character is lost");
  }
});

test("only http, https and mailto are links", () => {
  for (const text of [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "[x](javascript:alert(1))", "data:text/html,<script>alert(1)</script>",
    "file:///etc/passwd", "https://", "https://javascript:alert(1)", "xhttps://example.com", "ftp://example.com",
    "mailto:javascript:alert(1)", "mailto:", "vbscript:msgbox(1)",
  ]) {
    const nodes = formatText(text);
    assert.equal(links(nodes).length, 0, text);
    assert.equal(nodes.map((n) => n.textContent).join(""), text, text);
  }
});

test("bold, italic, code and quote lines", () => {
  assert.equal(fmt("a *bold* and _italic_ word"), "a <strong>bold</strong> and <em>italic</em> word");
  assert.equal(fmt("**strong** __em__"), "<strong>strong</strong> <em>em</em>");
  assert.equal(fmt("*bold _and italic_*"), "<strong>bold <em>and italic</em></strong>");
  assert.equal(fmt("run `ls -la` now"), "run <code>ls -la</code> now");
  assert.equal(fmt("> quoted\n> twice\nafter"), "<blockquote>quoted\ntwice</blockquote>after");
  assert.equal(fmt("line one\nline two"), "line one\nline two");
});

test("markers inside words, around spaces or unmatched stay as typed", () => {
  for (const text of ["snake_case_name", "2*3*4", "a * b * c", "*open", "close*", "_ spaced _", "``", "`unclosed", ">_< not a quote", "***"]) {
    assert.equal(fmt(text), text, text);
  }
});

test("nothing is formatted inside code", () => {
  assert.equal(fmt("`*not bold* https://example.com @alice`"), "<code>*not bold* https://example.com @alice</code>");
  assert.equal(
    fmt("before\n```js\nconst a = *b* + _c_;\n> not a quote\nhttps://example.com @bob\n```\nafter *b*"),
    "before<pre><code>const a = *b* + _c_;\n> not a quote\nhttps://example.com @bob</code></pre>after <strong>b</strong>",
  );
  // An unclosed fence is just text.
  assert.equal(fmt("```\nno end"), "```\nno end");
});

test("links inside formatting, and formatting around links", () => {
  assert.equal(fmt("*https://example.com*"), "<strong><a.link>https://example.com</a></strong>");
  assert.equal(fmt("_see https://example.com/a_b_"), "<em>see <a.link>https://example.com/a_b</a></em>");
});

test("mentions, with the user's own marked, and not inside e-mail addresses", () => {
  assert.equal(fmt("hi @bob and @Alice.", { me: "alice" }), 'hi <span.mention>@bob</span> and <span.mention.mention-me>@Alice</span>.');
  assert.equal(fmt("mail bob@alice.example"), "mail bob@alice.example");
  assert.equal(fmt("@@alice"), "@@alice");
  assert.equal(fmt("*@alice*", { me: "ALICE" }), "<strong><span.mention.mention-me>@alice</span></strong>");
});

test("hostile input yields only text and the allowed elements", () => {
  const allowed = new Set(["STRONG", "EM", "CODE", "PRE", "BLOCKQUOTE", "SPAN", "A"]);
  const inputs = [
    "<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "[x](javascript:alert(1))",
    "<a href=\"javascript:alert(1)\">x</a>", "https://example.com/\"onmouseover=\"alert(1)",
    "https://example.com/<img src=x>", "*<b>x</b>* _<i>y</i>_ `<svg onload=alert(1)>`",
    "```\n<iframe src=javascript:alert(1)>\n```", "> <style>*{}</style>", "&lt;img src=x&gt; @<script>",
    "https://evil.com\\@google.com", "https://example.com/\u202Eexe.pdf",
  ];
  for (const text of inputs) {
    const nodes = formatText(text);
    for (const e of elements(nodes)) {
      assert.ok(allowed.has(e.tagName), `${e.tagName} from ${text}`);
      if (e.tagName === "A") assert.match(e.href, /^(https?|mailto):/, text);
    }
  }
  assert.equal(fmt("<img src=x onerror=alert(1)>"), "<img src=x onerror=alert(1)>");
  assert.equal(links(formatText("https://example.com/\"onmouseover=\"alert(1)"))[0].href, "https://example.com/");
  // A direction override inside a link cannot reorder what it shows.
  assert.equal(links(formatText("https://example.com/\u202Eexe.pdf"))[0].textContent, "https://example.com/%E2%80%AEexe.pdf");
});

test("a long run of unmatched markers is handled quickly", () => {
  const text = "*a ".repeat(20000) + "_b ".repeat(20000);
  const t = Date.now();
  assert.equal(fmt(text), text);
  assert.ok(Date.now() - t < 2000);
});
