#!/usr/bin/env bash
# Run a command inside a private D-Bus session with an unlocked gnome-keyring Secret Service,
# so tests use the real OS keychain path (the keyring crate over D-Bus) without touching the
# user's own keyring.
#
# The Secret Service is started the way a desktop starts it: by D-Bus activation, from a
# service file of this session that runs gnome-keyring-daemon unlocked over a throwaway home.
# If the daemon goes away (it has been seen to die under many parallel clients), the next
# request starts it again over the same keyring file, so stored tokens survive, as they do
# when a user's keyring daemon restarts.
set -euo pipefail
if [ -z "${TERN_IN_KEYRING_SESSION:-}" ]; then
  export TERN_IN_KEYRING_SESSION=1
  TERN_KEYRING_HOME="$(mktemp -d)"
  export TERN_KEYRING_HOME
  mkdir -m 700 -p "$TERN_KEYRING_HOME/run" "$TERN_KEYRING_HOME/services"
  cat >"$TERN_KEYRING_HOME/start-keyring" <<'EOF'
#!/bin/sh
# Started by the session bus when org.freedesktop.secrets is asked for.
export HOME="$TERN_KEYRING_HOME" XDG_DATA_HOME="$TERN_KEYRING_HOME/data"
export XDG_RUNTIME_DIR="$TERN_KEYRING_HOME/run"
printf '%s' tern-test | exec gnome-keyring-daemon --unlock --foreground --components=secrets
EOF
  chmod +x "$TERN_KEYRING_HOME/start-keyring"
  cat >"$TERN_KEYRING_HOME/services/org.freedesktop.secrets.service" <<EOF
[D-BUS Service]
Name=org.freedesktop.secrets
Exec=$TERN_KEYRING_HOME/start-keyring
EOF
  # This session's service directory comes first, so it wins over the system's file
  # (which starts a locked daemon over the real home); the rest is the standard session bus.
  cat >"$TERN_KEYRING_HOME/session.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <servicedir>$TERN_KEYRING_HOME/services</servicedir>
  <include>/usr/share/dbus-1/session.conf</include>
</busconfig>
EOF
  # Removed once the session bus is gone (it watches its service directory).
  trap 'rm -rf "$TERN_KEYRING_HOME"' EXIT
  dbus-run-session --config-file="$TERN_KEYRING_HOME/session.conf" -- "$0" "$@"
  exit
fi
export XDG_RUNTIME_DIR="$TERN_KEYRING_HOME/run"
# Start it now, so the first test does not wait for it.
dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
  org.freedesktop.DBus.StartServiceByName string:org.freedesktop.secrets uint32:0 >/dev/null
"$@"
