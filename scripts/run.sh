#!/usr/bin/env bash
# Run Tern: the relay on embedded SQLite (./data/relay.db, 127.0.0.1:7878) and the desktop app
# pointed at it. Stopping the app (Quit in the tray menu, or Ctrl+C here) stops the relay too.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# tern-webext is the web process's extension, a library the app loads from beside itself.
cargo build --release --locked -p tern-server -p tern-desktop -p tern-webext
mkdir -p data
LISTEN="${TERN_LISTEN:-127.0.0.1:7878}"
target/release/tern-server --listen "$LISTEN" --db data/relay.db &
RELAY=$!
trap 'kill $RELAY 2>/dev/null; wait $RELAY 2>/dev/null' EXIT INT TERM
TERN_RELAY="http://$LISTEN" target/release/tern-desktop
