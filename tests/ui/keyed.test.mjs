// Unit tests of keyed row reconciliation (ui/js/views/keyed.js) on a minimal stand-in for the
// DOM that counts moves: unchanged rows are neither redrawn nor moved.

import test from "node:test";
import assert from "node:assert/strict";

class Node {
  constructor() { this.parent = null; this.dataset = {}; }
  get nextSibling() { const k = this.parent.kids; return k[k.indexOf(this) + 1] || null; }
  remove() { if (this.parent) { this.parent.kids.splice(this.parent.kids.indexOf(this), 1); this.parent = null; } }
}
class Parent {
  constructor() { this.kids = []; this.moves = 0; }
  get firstChild() { return this.kids[0] || null; }
  insertBefore(n, ref) {
    this.moves++;
    n.remove();
    n.parent = this;
    this.kids.splice(ref ? this.kids.indexOf(ref) : this.kids.length, 0, n);
  }
  replaceChildren() { this.kids = []; }
}
globalThis.document = { createElement: () => new Node() };
const { reconcile } = await import("../../ui/js/views/keyed.js");

function setup() {
  const parent = new Parent(), rows = new Map(), drawn = [];
  const fill = (n, d) => { drawn.push(d); n.text = d; };
  const draw = (pairs) => reconcile(parent, pairs.map(([key, data]) => ({ key, data })), rows, fill);
  return { parent, drawn, draw };
}

test("a changed row is redrawn in place and the others are untouched", () => {
  const { parent, drawn, draw } = setup();
  draw([[1, "a"], [2, "b"], [3, "c"]]);
  const before = [...parent.kids];
  drawn.length = 0;
  parent.moves = 0;
  draw([[1, "a"], [2, "B"], [3, "c"]]);
  assert.deepEqual(drawn, ["B"]);
  assert.equal(parent.moves, 0);
  assert.deepEqual(parent.kids, before);
});

test("a row moving to the top is one move, and a removed row costs no moves", () => {
  const { parent, draw } = setup();
  draw([[1, "a"], [2, "b"], [3, "c"]]);
  const [a, b, c] = parent.kids;
  parent.moves = 0;
  draw([[3, "c"], [1, "a"], [2, "b"]]);
  assert.deepEqual(parent.kids, [c, a, b]);
  assert.equal(parent.moves, 1);
  parent.moves = 0;
  draw([[3, "c"], [2, "b"]]);
  assert.deepEqual(parent.kids, [c, b]);
  assert.equal(parent.moves, 0);
});

test("new rows are inserted where they belong", () => {
  const { parent, draw } = setup();
  draw([[2, "b"]]);
  draw([[1, "a"], [2, "b"], [3, "c"]]);
  assert.deepEqual(parent.kids.map((n) => n.text), ["a", "b", "c"]);
});
