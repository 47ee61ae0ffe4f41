#!/usr/bin/env bash
# Run a command inside a private D-Bus session with an unlocked gnome-keyring Secret Service,
# so tests use the real OS keychain path (the keyring crate over D-Bus) without touching the
# user's own keyring.
set -euo pipefail
if [ -z "${TERN_IN_KEYRING_SESSION:-}" ]; then
  export TERN_IN_KEYRING_SESSION=1
  exec dbus-run-session -- "$0" "$@"
fi
KEYRING_HOME="$(mktemp -d)"
export XDG_RUNTIME_DIR="${KEYRING_HOME}/run"
mkdir -m 700 -p "$XDG_RUNTIME_DIR"
# The daemon keeps its keyring files under a throwaway home.
echo -n "tern-test" | HOME="$KEYRING_HOME" XDG_DATA_HOME="$KEYRING_HOME/data" \
  gnome-keyring-daemon --unlock --components=secrets >/dev/null
trap 'rm -rf "$KEYRING_HOME"' EXIT
"$@"
