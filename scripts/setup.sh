#!/usr/bin/env bash
# Install what building and testing Tern needs on Debian/Ubuntu. Idempotent: installs only what
# is missing. Needs Rust (cargo) and Node; uses apt-get (as root or through sudo).
set -euo pipefail

# Debian packages: build (WebKitGTK for the desktop shell, tray library), test (Xvfb, WebDriver,
# a Secret Service, D-Bus session tools).
APT_PACKAGES=(
  pkg-config build-essential
  # keychain: the keyring crate talks to the Secret Service over libdbus
  libdbus-1-dev
  # tests: a private session bus with a real Secret Service
  dbus dbus-bin gnome-keyring
  # desktop app: WebKitGTK (pulls GTK, libsoup3), the tray library (build and run)
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev libayatana-appindicator3-1 librsvg2-dev
  # desktop tests: a virtual display, WebDriver for WebKitGTK, a D-Bus notification daemon
  xvfb xauth webkit2gtk-driver python3-dbus python3-gi gir1.2-glib-2.0
  # desktop tests: gdbus, to read the tray item's icon as a tray host does; xwininfo, to read
  # the native window's title as a window manager does
  libglib2.0-bin x11-utils
  # relay tests on PostgreSQL: the server binaries (scripts/with-postgres.sh starts a private
  # instance in a temporary folder; the package's own service is not used)
  postgresql
  # relay cluster tests: the NATS server between relays (each test starts a private one on a
  # free port; the package's service is not used) and HAProxy in front of them
  nats-server haproxy
  # relay tests on an S3-compatible object store: a Python virtual environment for moto's
  # server (installed below from PyPI; each test starts a private one on a free port)
  python3-venv
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  # Some names differ between releases (dbus-bin is split out of dbus only on newer ones):
  # install what this release has.
  available=()
  for p in "${missing[@]}"; do
    if apt-cache show "$p" >/dev/null 2>&1; then available+=("$p"); else echo "setup: $p is not in this release; skipping"; fi
  done
  echo "setup: installing ${available[*]}"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${available[@]}"
fi

# An S3-compatible server for the object-store tests (server/tests/object_store.rs), in a
# virtual environment of its own; pinned, so every run tests against the same server.
MOTO_VERSION=5.2.5
TOOLS_DIR="${TERN_TOOLS_DIR:-$HOME/.cache/tern-tools}"
MOTO_DIR="$TOOLS_DIR/moto-$MOTO_VERSION"
if [ ! -x "$MOTO_DIR/bin/moto_server" ]; then
  echo "setup: installing moto $MOTO_VERSION (S3-compatible test server) into $MOTO_DIR"
  rm -rf "$MOTO_DIR"
  python3 -m venv "$MOTO_DIR"
  "$MOTO_DIR/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi
# The tests look for "$TOOLS_DIR/moto/bin/moto_server".
ln -sfn "$MOTO_DIR" "$TOOLS_DIR/moto"

command -v cargo >/dev/null || { echo "setup: cargo not found; install Rust from https://rustup.rs" >&2; exit 1; }
echo "setup: ok"
