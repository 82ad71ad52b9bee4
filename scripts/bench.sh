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
echo
# The Python GWSkyNet pipeline, in a venv of its own (ligo.skymap brings astropy, healpy, ...).
[ -x .venv-reference/bin/python ] && .venv-reference/bin/python -c 'import GWSkyNet.GWSkyNet' 2>/dev/null \
  || { python3 -m venv .venv-reference && .venv-reference/bin/pip install -q --disable-pip-version-check -r bench/requirements-reference.txt; }
MAPS="$SKYSIFT_DATA/skymaps"
.venv/bin/python bench/skymap.py "$CARGO_TARGET_DIR/release/skysift" .venv-reference/bin/python \
  "$MAPS/o3a-gracedb/S190412m/bayestar.fits.gz" "$MAPS/o3b-gracedb/S200129m.multiorder.fits" "$MAPS/o3a-gracedb/S190425z/bayestar.fits"
