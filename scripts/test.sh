#!/usr/bin/env bash
# Every test: native Rust tests, golden dm-dt checks against numpy, the wasm build, and the
# browser tests in headless chromium (with and without WebGPU). Any failure fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh
start=$SECONDS
echo "== native tests (cargo test --release)"
cargo test --release
echo "== dm-dt against numpy on the real light curves"
cargo build --release --bin skysift
.venv/bin/python tests/dmdt_reference.py "$CARGO_TARGET_DIR/release/skysift"
echo "== wasm build"
scripts/build.sh
echo "== page scripts without a browser"
node --test tests/js/
echo "== browser tests"
node --test --test-concurrency=1 tests/browser/
echo "== all tests passed in $((SECONDS - start)) s"
