#!/usr/bin/env bash
# Check the files in deploy/ with the tools that read them, where this machine has them: the
# systemd unit with `systemd-analyze verify` and an offline `systemd-analyze security` that
# fails above an exposure of 2.0, and the nginx example with `nginx -t` against a throwaway
# certificate. A missing tool is reported and skipped, not installed.
set -euo pipefail
cd "$(dirname "$0")/.."

# The highest `systemd-analyze security` exposure accepted, in tenths (20 = 2.0, "OK").
MAX_EXPOSURE=20

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if command -v systemd-analyze >/dev/null; then
  # verify checks that ExecStart exists; the relay binary is not installed here.
  sed 's#^ExecStart=.*#ExecStart=/bin/true#' deploy/tern-server.service >"$tmp/tern-server.service"
  systemd-analyze verify "$tmp/tern-server.service"
  echo "check-deploy: tern-server.service verifies"
  # --offline (systemd 252+) rates the file itself rather than a loaded unit.
  if systemd-analyze security --offline=yes --threshold="$MAX_EXPOSURE" \
      deploy/tern-server.service >"$tmp/security.txt" 2>&1; then
    echo "check-deploy: $(grep -o 'Overall exposure level.*' "$tmp/security.txt")"
  elif grep -q 'Overall exposure level' "$tmp/security.txt"; then
    grep -v '^✓' "$tmp/security.txt" >&2
    echo "check-deploy: tern-server.service is more exposed than" \
      "$((MAX_EXPOSURE / 10)).$((MAX_EXPOSURE % 10))" >&2
    exit 1
  else
    echo "check-deploy: this systemd-analyze cannot rate a unit file offline; skipped" >&2
  fi
else
  echo "check-deploy: systemd-analyze not found; unit not checked" >&2
fi

if command -v nginx >/dev/null && command -v openssl >/dev/null; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=chat.example.org \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
  sed -e "s#/etc/letsencrypt/live/chat.example.org/fullchain.pem#$tmp/cert.pem#" \
      -e "s#/etc/letsencrypt/live/chat.example.org/privkey.pem#$tmp/key.pem#" \
      deploy/nginx-tern.conf >"$tmp/tern.conf"
  cat >"$tmp/nginx.conf" <<EOF
pid $tmp/nginx.pid;
error_log $tmp/error.log;
events {}
http {
    access_log off;
    include $tmp/tern.conf;
}
EOF
  nginx -t -q -p "$tmp" -e "$tmp/error.log" -c "$tmp/nginx.conf"
  echo "check-deploy: nginx-tern.conf passes nginx -t"
else
  echo "check-deploy: nginx or openssl not found; nginx example not checked" >&2
fi
