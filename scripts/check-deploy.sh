#!/usr/bin/env bash
# Check the files in deploy/ with the tools that read them, where this machine has them: the
# systemd units (the single relay's and the cluster's template) with `systemd-analyze verify`
# and an offline `systemd-analyze security` that fails above an exposure of 2.0, the nginx
# example with `nginx -t` and the cluster's HAProxy front with `haproxy -c`, both against a
# throwaway certificate. A missing tool is reported and skipped, not installed.
set -euo pipefail
cd "$(dirname "$0")/.."

# The highest `systemd-analyze security` exposure accepted, in tenths (20 = 2.0, "OK").
MAX_EXPOSURE=20

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The unit's file name as systemd would see it, and the file.
check_unit() {
  local name=$1 file=$2
  # verify checks that ExecStart exists; the relay binary is not installed here.
  sed 's#^ExecStart=.*#ExecStart=/bin/true#' "$file" >"$tmp/$name"
  systemd-analyze verify "$tmp/$name"
  echo "check-deploy: $name verifies"
  # --offline (systemd 252+) rates the file itself rather than a loaded unit.
  if systemd-analyze security --offline=yes --threshold="$MAX_EXPOSURE" \
      "$tmp/$name" >"$tmp/security.txt" 2>&1; then
    echo "check-deploy: $name: $(grep -o 'Overall exposure level.*' "$tmp/security.txt")"
  elif grep -q 'Overall exposure level' "$tmp/security.txt"; then
    grep -v '^✓' "$tmp/security.txt" >&2
    echo "check-deploy: $name is more exposed than" \
      "$((MAX_EXPOSURE / 10)).$((MAX_EXPOSURE % 10))" >&2
    exit 1
  else
    echo "check-deploy: this systemd-analyze cannot rate a unit file offline; skipped" >&2
  fi
}

if command -v systemd-analyze >/dev/null; then
  check_unit tern-server.service deploy/tern-server.service
  # A template is checked as one of its instances.
  check_unit tern-relay@1.service deploy/cluster/tern-relay@.service
else
  echo "check-deploy: systemd-analyze not found; units not checked" >&2
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

if command -v haproxy >/dev/null && command -v openssl >/dev/null; then
  [ -f "$tmp/key.pem" ] || openssl req -x509 -newkey rsa:2048 -nodes -days 1 \
    -subj /CN=chat.example.org -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
  cat "$tmp/cert.pem" "$tmp/key.pem" >"$tmp/front.pem"
  relays=(TERN_RELAY_1=10.0.0.11:7878 TERN_RELAY_2=10.0.0.12:7878 TERN_RELAY_3=10.0.0.13:7878)
  env "${relays[@]}" TERN_FRONT=127.0.0.1:8080 \
    haproxy -c -q -f deploy/cluster/haproxy-tern.cfg
  env "${relays[@]}" TERN_FRONT=0.0.0.0:443 TERN_TLS_CERT="$tmp/front.pem" \
    haproxy -c -q -f deploy/cluster/haproxy-tern.cfg
  echo "check-deploy: cluster/haproxy-tern.cfg passes haproxy -c (plain and TLS)"
else
  echo "check-deploy: haproxy or openssl not found; the cluster front not checked" >&2
fi
