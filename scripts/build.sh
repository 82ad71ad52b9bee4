#!/usr/bin/env bash
# Builds the release wasm and its JS bindings into pkg/, and the page's vendored plotting
# libraries into www/vendor/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh build
node scripts/vendor.mjs
cargo build --lib --profile wasm-release --target wasm32-unknown-unknown
# The name section (function names, for profiles and stack traces) is 6 MB of the 32 MB module
# and 1.1 MB of its 5.5 MB gzipped: left out of what the page downloads, unless
# SKYSIFT_WASM_NAMES=1 (e.g. for `node --cpu-prof`).
names=(--remove-name-section)
[[ "${SKYSIFT_WASM_NAMES:-}" == 1 ]] && names=()
wasm-bindgen --target web "${names[@]}" --out-dir pkg "$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm-release/skysift.wasm"
ls -l pkg/skysift_bg.wasm | awk '{printf "build: pkg/skysift_bg.wasm %.1f MB raw", $5/1e6}'
gzip -c pkg/skysift_bg.wasm | wc -c | awk '{printf ", %.1f MB gzip\n", $1/1e6}'
