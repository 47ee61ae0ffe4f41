#!/usr/bin/env bash
# Run every Tern test: unit, relay integration and end-to-end. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --workspace --locked "$@"
