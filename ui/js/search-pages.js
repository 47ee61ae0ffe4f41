// Message search, the paging part (pure; tested in node): results come a page at a time
// (SEARCH_PAGE, newest first); the next page asks from `offset` = the results already read.
// Only the latest query's answers count: a new query (or closing search) forgets what was read,
// and an answer to an older one is dropped (null). A message read twice (new messages shift the
// pages between two reads) is shown once. `fetchPage(query, offset, limit)` is the shell's
// `search` command (views/search.js), here a parameter.

/** Results per page (the shell allows at most 100). */
export const SEARCH_PAGE = 50;

/** A result's identity: its conversation and seq. */
export const resultKey = (m) => `${m.conversation_id}:${m.seq}`;

/**
 * A pager over `fetchPage`. `search(query)` reads the first page, `more()` the next one; each
 * resolves to the results new to the list, or null when a newer query overtook it (or there was
 * nothing to read). A failure of the current read is thrown (nothing changes: it can be asked
 * again). `reset()` forgets the query.
 */
export function createPager(fetchPage, size = SEARCH_PAGE) {
  let query = "";
  let offset = 0;
  let full = false;
  let token = 0;
  let loading = false;
  let seen = new Set();

  /** The results of `page` not read before (and remembered now). */
  function fresh(page) {
    const out = [];
    for (const m of page) {
      const key = resultKey(m);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(m);
    }
    return out;
  }

  /** Read `size` results of the current query from `from`; null if overtaken meanwhile. */
  async function read(from) {
    const t = token;
    loading = true;
    let page;
    try {
      page = await fetchPage(query, from, size);
    } catch (e) {
      if (t !== token) return null;
      throw e;
    } finally {
      if (t === token) loading = false;
    }
    if (t !== token) return null;
    page = Array.isArray(page) ? page : [];
    offset = from + page.length;
    full = page.length >= size;
    return fresh(page);
  }

  return {
    /** The query last asked for ("" after reset). */
    get query() { return query; },
    /** How many results were read (the next page's offset). */
    get offset() { return offset; },
    /** Whether the last page was full: there may be more. */
    get hasMore() { return full && !!query.trim(); },
    /** Whether a read is under way. */
    get loading() { return loading; },
    /** A new query: forget what was read and read its first page (null for a blank query). */
    search(q) {
      token++;
      query = String(q ?? "");
      offset = 0; full = false; loading = false; seen = new Set();
      if (!query.trim()) return Promise.resolve(null);
      return read(0);
    },
    /** The next page of the current query; null when there is none, or one is being read. */
    more() {
      if (!this.hasMore || loading) return Promise.resolve(null);
      return read(offset);
    },
    /** Forget the query (search closed): answers still under way are dropped. */
    reset() {
      token++;
      query = ""; offset = 0; full = false; loading = false; seen = new Set();
    },
  };
}
