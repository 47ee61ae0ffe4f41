// Keyed reconciliation of a list element's children: each row is keyed (a conversation id, a
// message's client id), kept while its key stays, refilled only when its data changed, and
// moved only when out of place. The rest of the list is not touched.

/**
 * Make `parent`'s children match `items` ([{ key, data }], in order). `rows` (Map key →
 * { node, data }) remembers what each node shows; `fill(node, data)` draws one row; `same(a, b)`
 * says two data values draw alike (identity by default).
 */
export function reconcile(parent, items, rows, fill, same = (a, b) => a === b) {
  const keys = new Set(items.map((i) => i.key));
  for (const [key, row] of rows) {
    if (!keys.has(key)) { row.node.remove(); rows.delete(key); }
  }
  let cursor = parent.firstChild;
  for (const { key, data, tag } of items) {
    let row = rows.get(key);
    if (!row) {
      row = { node: document.createElement(tag || "li"), data };
      fill(row.node, data);
      rows.set(key, row);
    } else if (!same(row.data, data)) {
      row.data = data;
      fill(row.node, data);
    }
    if (row.node === cursor) cursor = cursor.nextSibling;
    else parent.insertBefore(row.node, cursor);
  }
}

/** Forget every row (the list now shows something else). */
export function clear(parent, rows) {
  rows.clear();
  parent.replaceChildren();
}
