// Colour contrast of the UI's palette (ui/style.css), light and dark: the custom properties of
// `:root` (light) and of `:root` inside `@media (prefers-color-scheme: dark)` (dark, over the
// light ones) are read from the stylesheet, and each foreground/background pair the UI draws is
// checked with the WCAG 2.1 relative-luminance formula: 4.5:1 for text (AA), 3:1 for focus rings
// and input borders (non-text contrast, 1.4.11). A colour change that breaks one fails here.
// Translucent colours and text drawn with `opacity` are blended over what lies beneath first.

import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

const css = readFileSync(new URL("../../ui/style.css", import.meta.url), "utf8");

/** The declarations of the first `:root { … }` block at or after `from`. */
function rootBlock(text, from = 0) {
  const start = text.indexOf(":root", from);
  assert.ok(start >= 0, "a :root block");
  const open = text.indexOf("{", start), close = text.indexOf("}", open);
  return text.slice(open + 1, close);
}

/** The custom properties declared in `block`: { name: value }. */
function props(block) {
  const out = {};
  for (const [, name, value] of block.matchAll(/--([\w-]+)\s*:\s*([^;]+);/g)) out[name] = value.trim();
  return out;
}

const darkAt = css.search(/@media\s*\(prefers-color-scheme:\s*dark\)/);
assert.ok(darkAt >= 0, "style.css has a dark theme");
const light = props(rootBlock(css));
const dark = { ...light, ...props(rootBlock(css, darkAt)) };

/** [r, g, b, a] of a `#rgb`, `#rrggbb` or `rgb(a)()` colour. */
function parse(c) {
  let m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(c);
  if (m) {
    const h = m[1].length === 3 ? [...m[1]].map((x) => x + x).join("") : m[1];
    return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16)).concat(1);
  }
  m = /^rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*([\d.]+)\s*)?\)$/i.exec(c);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])];
  throw new Error(`not a colour: ${c}`);
}

/** `top` (with alpha `a` on top of its own) laid over the opaque `under`. */
function over(top, under, a = 1) {
  const alpha = top[3] * a;
  return [0, 1, 2].map((i) => top[i] * alpha + under[i] * (1 - alpha)).concat(1);
}

const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
export function ratio(a, b) {
  const x = luminance(a), y = luminance(b);
  return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
}

/**
 * A colour of `theme`: a custom property's name, or a literal. `bg` may be a list, the first
 * laid over the next (a translucent tint over the page); the page's own background is opaque.
 */
function resolve(theme, name) {
  const value = theme[name] ?? name;
  assert.ok(value !== undefined, `--${name} is defined`);
  return parse(value);
}
function background(theme, bg) {
  const layers = [].concat(bg);
  let c = resolve(theme, layers[layers.length - 1]);
  for (let i = layers.length - 2; i >= 0; i--) c = over(resolve(theme, layers[i]), c);
  return c;
}

const TEXT = 4.5, UI = 3;
/**
 * [what, foreground, background(s), minimum, opacity of the foreground]: every pair the UI
 * draws. Text first, then focus rings and borders.
 */
const PAIRS = [
  ["text", "fg", "bg", TEXT],
  ["text in the sidebar", "fg", "side", TEXT],
  ["text on a hovered / active row, secondary button", "fg", "line", TEXT],
  ["their message", "fg", "theirs", TEXT],
  ["their message's time and sender (opacity .8)", "fg", "theirs", TEXT, 0.8],
  ["muted text", "muted", "bg", TEXT],
  ["group notice in the chat (li.msg.notice)", "muted", "bg", TEXT],
  ["muted text in the sidebar", "muted", "side", TEXT],
  ["muted text on the active conversation", "muted", "line", TEXT],
  ["muted text on a tint (reply banner)", "muted", ["tint", "bg"], TEXT],
  ["muted badge's text", "bg", "muted", TEXT],
  ["link, link button, mention", "accent", "bg", TEXT],
  ["link button in the sidebar", "accent", "side", TEXT],
  ["link or mention in their message", "accent", "theirs", TEXT],
  ["button text, badge text", "accent-fg", "accent", TEXT],
  ["my message", "mine-fg", "mine", TEXT],
  ["my message's time (opacity .8)", "mine-fg", "mine", TEXT, 0.8],
  ["read ticks on my message", "read", "mine", TEXT],
  ["error text", "danger", "bg", TEXT],
  ["a draft's mark in the conversation list", "danger", "side", TEXT],
  ["a draft's mark on a hovered row", "danger", "line", TEXT],
  ["danger menu item, focused", "danger", "line", TEXT],
  ["danger button, failed message, insecure warning", "danger-fg", "danger", TEXT],
  ["connection banner", "banner-fg", "banner-bg", TEXT],
  ["connection banner, offline", "banner-offline-fg", "banner-offline-bg", TEXT],
  ["connection banner, online", "banner-online-fg", "banner-online-bg", TEXT],
  ["toast", "toast-fg", "toast-bg", TEXT],
  // Avatars' initials on each colour of the palette (avatars.js picks one per person or group).
  ...Array.from({ length: 8 }, (_, i) => [`avatar initials on --avatar-${i}`, "avatar-fg", `avatar-${i}`, TEXT]),
  ["focus ring on the page", "focus", "bg", UI],
  ["focus ring in the sidebar", "focus", "side", UI],
  ["focus ring on the active row", "focus", "line", UI],
  ["focus ring on their message", "focus", "theirs", UI],
  ["focus ring inside my message", "mine-fg", "mine", UI],
  ["focus ring inside a failed message", "danger-fg", "danger", UI],
  ["focus ring on the banner", "banner-fg", "banner-bg", UI],
  ["focus ring on the banner, offline", "banner-fg", "banner-offline-bg", UI],
  ["focus ring on the banner, online", "banner-fg", "banner-online-bg", UI],
  ["focus ring on the context menu's focused item", "focus", "line", UI],
  ["input border", "border", "bg", UI],
  ["input border in the sidebar", "border", "side", UI],
];

for (const [themeName, theme] of [["light", light], ["dark", dark]]) {
  test(`${themeName} theme: every listed pair reaches its contrast`, () => {
    const failures = [];
    for (const [what, fg, bg, min, alpha = 1] of PAIRS) {
      const back = background(theme, bg);
      const fore = over(resolve(theme, fg), back, alpha);
      const r = ratio(fore, back);
      if (r < min) failures.push(`${what}: --${fg} on ${[].concat(bg).map((b) => `--${b}`).join(" over ")} is ${r.toFixed(2)}:1, needs ${min}:1`);
    }
    assert.deepEqual(failures, []);
  });
}

test("the ratio follows WCAG's examples", () => {
  assert.equal(ratio(parse("#000"), parse("#fff")).toFixed(1), "21.0");
  assert.equal(ratio(parse("#777"), parse("#fff")).toFixed(2), "4.48");
  assert.equal(ratio(parse("#fff"), parse("#fff")), 1);
});

test("focus is never taken away without a replacement", () => {
  // `outline: none` (or 0) only where the same rule draws a ring another way.
  for (const [, rule] of css.matchAll(/([^{}]*\{[^}]*outline\s*:\s*(?:none|0)[^}]*\})/g)) {
    assert.match(rule, /box-shadow|border/, `outline removed without a replacement: ${rule.trim()}`);
  }
  assert.match(css, /:focus-visible\s*\{[^}]*outline\s*:/, "a global :focus-visible ring");
});

test("sr-only hides visually, not from screen readers", () => {
  const m = /\.sr-only\s*\{([^}]*)\}/.exec(css);
  assert.ok(m, "an .sr-only rule");
  assert.match(m[1], /position\s*:\s*absolute/);
  assert.match(m[1], /clip/);
  assert.doesNotMatch(m[1], /display\s*:\s*none|visibility\s*:\s*hidden/);
});
