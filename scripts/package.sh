#!/usr/bin/env bash
# Build the release installers (.deb and .rpm of the desktop app, the relay binary), install the
# .deb on this machine and check that the installed app starts and answers a WebDriver session.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
SUDO=""; if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

npm ci --no-audit --no-fund
npx tauri build --bundles deb,rpm
cargo build --release --locked -p tern-server

DEB=$(ls target/release/bundle/deb/*.deb | head -n1)
RPM=$(ls target/release/bundle/rpm/*.rpm | head -n1)
echo "package: built $DEB ($(du -h "$DEB" | cut -f1)) and $RPM ($(du -h "$RPM" | cut -f1))"
dpkg-deb --field "$DEB" Package Version Depends Recommends
# Emoji (and, recommended, CJK) glyphs come from fonts the package pulls in, not from whatever
# the desktop happens to have: without them they show as boxes.
dpkg-deb --field "$DEB" Depends | grep -q fonts-noto-color-emoji
dpkg-deb --field "$DEB" Recommends | grep -q fonts-noto-cjk
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "./$DEB"
test -x /usr/bin/tern-desktop
test -f /usr/lib/tern/webext/libtern_webext.so
test -f /usr/share/applications/Tern.desktop
fc-list | grep -qi 'Noto Color Emoji'
echo "package: installed; checking that the installed app starts"
TERN_INSTALLED_APP=/usr/bin/tern-desktop scripts/with-keyring.sh \
  cargo test --locked -p tern-e2e --test installed -- --ignored
