#!/usr/bin/env bash
# Attachment transfer figures on loopback (docs/benchmarks.md, "Attachments"): a 100 MiB file
# uploaded and downloaded through the relay with the `tern` CLI, beside `curl` fetching the
# same file from a static file server; then the relay's memory while 10 uploads of 100 MiB run
# at once. Needs release builds (cargo build --release -p tern-server -p tern-cli) and a
# keychain: scripts/with-keyring.sh bench/attachments.sh
set -euo pipefail
cd "$(dirname "$0")/.."
server=target/release/tern-server; tern=target/release/tern
work="$(mktemp -d)"; trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
TERN_LOG=warn "$server" --listen 127.0.0.1:$port --db "$work/relay.db" --metrics-listen off \
  --max-attachment-mib 200 --attachment-quota-mib 4096 --register-burst 100 >/dev/null 2>&1 &
relay=$!
sleep 1
export TERN_RELAY=http://127.0.0.1:$port TERN_PASSWORD="correct horse battery"
dd if=/dev/urandom of="$work/file.bin" bs=1M count=100 status=none
for u in alice bob; do
  TERN_DATA_DIR="$work/$u" "$tern" register $u >/dev/null
  TERN_DATA_DIR="$work/$u" "$tern" login $u >/dev/null
done
conv=$(TERN_DATA_DIR="$work/alice" "$tern" --json direct bob | python3 -c 'import json,sys; print(json.load(sys.stdin)["conversation_id"])')
t0=$(date +%s.%N)
TERN_DATA_DIR="$work/alice" "$tern" send-file "$conv" "$work/file.bin" >/dev/null 2>&1
t1=$(date +%s.%N)
TERN_DATA_DIR="$work/bob" "$tern" listen --for 2 >/dev/null 2>&1 || true
seq=$(TERN_DATA_DIR="$work/bob" "$tern" --json history "$conv" | python3 -c 'import json,sys; print([json.loads(l)["seq"] for l in sys.stdin if json.loads(l).get("attachment")][-1])')
t2=$(date +%s.%N)
TERN_DATA_DIR="$work/bob" "$tern" download "$conv" "$seq" >/dev/null
t3=$(date +%s.%N)
(cd "$work" && python3 -u -m http.server 0 --bind 127.0.0.1 >"$work/http.log" 2>&1) &
sleep 1
hport=$(grep -o 'port [0-9]*' "$work/http.log" | head -1 | cut -d' ' -f2)
t4=$(date +%s.%N)
curl -s -o /dev/null "http://127.0.0.1:$hport/file.bin"
t5=$(date +%s.%N)
btoken=$(curl -s -X POST -H 'content-type: application/json' -d '{"username":"bob","password":"correct horse battery","device_name":"bench"}' "$TERN_RELAY/v1/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
blob=$(TERN_DATA_DIR="$work/bob" "$tern" --json history "$conv" | python3 -c 'import json,sys; print([json.loads(l)["attachment"]["blob_id"] for l in sys.stdin if json.loads(l).get("attachment")][-1])')
t6=$(date +%s.%N)
curl -s -o /dev/null -H "authorization: Bearer $btoken" "$TERN_RELAY/v1/blobs/$blob"
t7=$(date +%s.%N)
python3 - "$t0" "$t1" "$t2" "$t3" "$t4" "$t5" "$t6" "$t7" <<'P'
import sys
t = list(map(float, sys.argv[1:]))
mb = 100 * 1.048576
print(f"upload (tern send-file, incl. hashing and staging): {mb/(t[1]-t[0]):.0f} MB/s ({t[1]-t[0]:.2f} s)")
print(f"download (tern download, incl. hash check): {mb/(t[3]-t[2]):.0f} MB/s ({t[3]-t[2]:.2f} s)")
print(f"curl from a static file server (python http.server): {mb/(t[5]-t[4]):.0f} MB/s ({t[5]-t[4]:.2f} s)")
print(f"curl from the relay (GET /v1/blobs): {mb/(t[7]-t[6]):.0f} MB/s ({t[7]-t[6]:.2f} s)")
P
# Ten concurrent 100 MiB uploads straight over HTTP; sample the relay's RSS meanwhile.
token=$(curl -s -X POST -H 'content-type: application/json' -d '{"username":"alice","password":"correct horse battery","device_name":"bench"}' "$TERN_RELAY/v1/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
sha=$(sha256sum "$work/file.bin" | cut -d' ' -f1)
rss() { awk '/VmRSS/ {print $2}' /proc/$relay/status; }
before=$(rss); peak=$before
for i in $(seq 10); do
  id=$(curl -s -X POST -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d "{\"size\":104857600,\"sha256\":\"$sha\",\"content_type\":\"application/octet-stream\"}" "$TERN_RELAY/v1/uploads" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["upload_id"])')
  curl -s -o /dev/null -X PATCH -H "authorization: Bearer $token" -H 'upload-offset: 0' \
    --data-binary @"$work/file.bin" "$TERN_RELAY/v1/uploads/$id" &
done
while [ "$(jobs -r | wc -l)" -gt 2 ]; do r=$(rss); [ "$r" -gt "$peak" ] && peak=$r; sleep 0.05; done
wait_for_curl() { while pgrep -P $$ curl >/dev/null; do r=$(rss); [ "$r" -gt "$peak" ] && peak=$r; sleep 0.05; done; }
wait_for_curl
echo "relay RSS during 10 concurrent 100 MiB uploads: before $((before/1024)) MiB, peak $((peak/1024)) MiB, growth $(((peak-before)/1024)) MiB"
