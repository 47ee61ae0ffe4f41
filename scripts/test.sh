#!/usr/bin/env bash
# Run every Tern test: unit, relay integration and end-to-end. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Dependency policy (licenses, bans, sources, advisories) and the deploy files: seconds each.
scripts/deny.sh
scripts/check-deploy.sh
# The UI's pure logic (store deltas, keyed rows): plain Node, no packages.
if command -v node >/dev/null; then
  node --test tests/ui/*.test.mjs
else
  echo "warning: node not found, the UI unit tests (tests/ui/) did not run" >&2
fi
# End-to-end tests start the relay and CLI binaries as real processes; the desktop app loads
# its web-process extension (a library, which `--bins` does not build) from beside itself.
cargo build --workspace --bins --locked
cargo build --locked -p tern-webext
# Every test runs inside a private D-Bus session with an unlocked gnome-keyring, so tokens go
# through the real OS keychain path.
scripts/with-keyring.sh cargo test --workspace --locked "$@"
# The relay's integration tests again, on PostgreSQL: a private server for this run, a fresh
# database per relay under test (scripts/with-postgres.sh).
scripts/with-postgres.sh cargo test -p tern-server --locked "$@"
# A cluster as deployed: three relay processes on that PostgreSQL with a private NATS between
# them, behind HAProxy with deploy/cluster/haproxy-tern.cfg, and engine clients (which need the
# keychain) that know only the front.
scripts/with-postgres.sh scripts/with-keyring.sh cargo test -p tern-e2e --test cluster --locked "$@"
