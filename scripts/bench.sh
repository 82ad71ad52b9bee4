#!/usr/bin/env bash
# Benchmarks, side by side with the tools users would otherwise pick, in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh build browser python
.venv/bin/python -c 'import light_curve, onnxruntime' 2>/dev/null || .venv/bin/pip install -q --disable-pip-version-check -r bench/requirements.txt
cargo build --release --bin skysift
scripts/build.sh
.venv/bin/python bench/dmdt.py "$CARGO_TARGET_DIR/release/skysift"
echo
.venv/bin/python bench/gwskynet_model.py "$CARGO_TARGET_DIR/release/skysift"
