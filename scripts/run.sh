#!/usr/bin/env bash
# Run the relay on embedded SQLite (./data/relay.db) on 127.0.0.1:7878.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mkdir -p data
exec cargo run --release --locked -p tern-server -- --listen "${TERN_LISTEN:-127.0.0.1:7878}" --db data/relay.db "$@"
