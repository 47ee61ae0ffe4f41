#!/usr/bin/env bash
# PostgreSQL's own CPU per transaction for the statements a message costs, one client, no relay
# (docs/benchmarks.md, "Relay cluster"). Run under the private server of the test scripts, with
# PostgreSQL's durable defaults and a release relay (which creates the schema):
#   cargo build --release -p tern-server
#   TERN_PG_DURABLE=1 scripts/with-postgres.sh bench/postgres/statements.sh [script ...]
# Each script (bench/postgres/*.sql by default; paths from the repository's root) runs for
# TERN_PGBENCH_SECS (8) seconds on a fresh database of 1,000 users in 500 direct chats holding
# 10,000 messages. CPU is the whole server's (the postmaster and its processes), including
# backends that have exited (the postmaster's children's time). TERN_PGBENCH_PRESQL is run once
# after seeding (to drop a constraint, say, and see what it cost).
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${TERN_TEST_POSTGRES:?run under scripts/with-postgres.sh}"
bin="${TERN_PG_BIN:?}"
port="${TERN_TEST_POSTGRES##*:}"
relay="${TERN_RELAY_BIN:-target/release/tern-server}"
secs="${TERN_PGBENCH_SECS:-8}"
[ -x "$relay" ] || { echo "statements: $relay not found: cargo build --release -p tern-server" >&2; exit 1; }
psql() { "$bin/psql" -h 127.0.0.1 -p "$port" -U tern -qAtX "$@"; }
postmaster="$(head -n1 "${TERN_TEST_PG_DATA:?}/postmaster.pid")"
# CPU ticks of this server: the postmaster and its processes (utime + stime), and those that
# have exited (the postmaster's cutime + cstime, once it has reaped them).
cpu_ticks() {
  cat /proc/[0-9]*/stat 2>/dev/null |
    awk -v pm="$postmaster" '{ pid = $1; sub(/^.*\) /, "");
      if (pid == pm || $2 == pm) s += $12 + $13 + $14 + $15 } END { print s + 0 }'
}
# Wait until no session is left on database $1, and a little for the postmaster to reap it.
quiet() {
  for _ in $(seq 1 100); do
    [ "$(psql -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$1'")" = 0 ] && break
    sleep 0.05
  done
  sleep 0.2
}
hz=$(getconf CLK_TCK)
scripts=("$@")
[ ${#scripts[@]} -gt 0 ] || scripts=(bench/postgres/*.sql)
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
printf '| script | transactions in %s s | PostgreSQL CPU µs per transaction |\n|---|---:|---:|\n' "$secs"
for script in "${scripts[@]}"; do
  db="bench_$RANDOM$RANDOM"
  psql -d postgres -c "CREATE DATABASE $db"
  # The relay creates the schema on start (its migrations), then stops.
  TERN_LOG=error "$relay" --listen 127.0.0.1:0 --metrics-listen off --db "$work/unused.db" \
    --store "postgres://tern@127.0.0.1:$port/$db" >/dev/null 2>&1 &
  for _ in $(seq 1 100); do
    [ "$(psql -d "$db" -c "SELECT count(*) FROM pg_tables WHERE tablename = 'send_buckets'")" = 1 ] && break
    sleep 0.1
  done
  kill $! 2>/dev/null || true; wait $! 2>/dev/null || true
  psql -v ON_ERROR_STOP=1 -d "$db" <<SQL
INSERT INTO users (username, password_hash, created_at) SELECT 'u' || i, 'x', 1 FROM generate_series(1, 1000) i;
INSERT INTO conversations (kind, direct_key, last_activity, version, created_at)
  SELECT 'direct', 'k' || i, 1, 1, 1 FROM generate_series(1, 500) i;
INSERT INTO members (conversation_id, user_id, role, joined_at, version)
  SELECT (i + 1) / 2, i, 'member', 1, 1 FROM generate_series(1, 1000) i;
-- Twenty messages in each chat, so that the planner sees a table that is not empty.
INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, sent_at, kind)
  SELECT (i % 500) + 1, i, ((i % 500) + 1) * 2, 'seed' || i, 'seeded', 1, 'text'
  FROM generate_series(1, 10000) i;
UPDATE conversations SET last_seq = 10000;
ANALYZE;
${TERN_PGBENCH_PRESQL:-}
SQL
  quiet "$db"
  before=$(cpu_ticks)
  out=$("$bin/pgbench" -h 127.0.0.1 -p "$port" -U tern -n -M prepared -c 1 -T "$secs" -f "$script" "$db" 2>&1) ||
    { echo "$out" >&2; exit 1; }
  quiet "$db"
  after=$(cpu_ticks)
  [ "$after" -gt "$before" ] || { echo "statements: no CPU counted for the server (pid $postmaster)" >&2; exit 1; }
  n=$(echo "$out" | awk '/number of transactions actually processed/ { split($NF, a, "/"); print a[1] }')
  awk -v s="$(basename "$script" .sql)" -v n="$n" -v t="$((after - before))" -v hz="$hz" \
    'BEGIN { printf "| %s | %d | %.0f |\n", s, n, t * 1e6 / hz / n }'
  psql -d postgres -c "DROP DATABASE $db"
done
