#!/usr/bin/env bash
# Run a command with a private PostgreSQL server: initdb into a temporary folder, the server on
# a free loopback port (fsync off: it is thrown away; TERN_PG_DURABLE=1 keeps PostgreSQL's
# durable defaults, for benchmarks), stopped and deleted when the command ends. Exports TERN_TEST_POSTGRES=127.0.0.1:<port>; the relay tests then give each relay a
# fresh database there (crates/tern-testkit/src/postgres.rs). Never touches a server that is
# already running. Uses Debian's postgresql package (scripts/setup.sh installs it).
set -euo pipefail
bin="${TERN_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}"
[ -x "$bin/postgres" ] || { echo "with-postgres: no PostgreSQL server found; run scripts/setup.sh" >&2; exit 1; }
dir="$(mktemp -d /tmp/tern-pg.XXXXXX)"
run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cleanup() {
  run "$bin/pg_ctl" stop -D "$dir/data" -m immediate -s >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
run "$bin/initdb" -D "$dir/data" -A trust -U tern -E UTF8 --no-sync >/dev/null
durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
[ "${TERN_PG_DURABLE:-}" = 1 ] && durability=""
opts="-p $port -k $dir -c listen_addresses=127.0.0.1 $durability -c max_connections=500"
run "$bin/pg_ctl" start -D "$dir/data" -s -w -l "$dir/server.log" \
  -o "$opts" >/dev/null
export TERN_TEST_POSTGRES="127.0.0.1:$port"
export TERN_PG_BIN="$bin"
# What a test of a database outage needs to stop and start this server again
# (crates/tern-testkit/src/postgres.rs).
export TERN_TEST_PG_DATA="$dir/data"
export TERN_TEST_PG_LOG="$dir/server.log"
export TERN_TEST_PG_OPTS="$opts"
"$@"
