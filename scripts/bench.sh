#!/usr/bin/env bash
# Benchmarks, side by side with the tools users would otherwise pick, in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh build browser python
.venv/bin/python -c 'import light_curve, onnxruntime, shap' 2>/dev/null || .venv/bin/pip install -q --disable-pip-version-check -r bench/requirements.txt
# onnxruntime-web for the in-browser model rows: bench only, so not in package.json (139 MB).
[ -f node_modules/onnxruntime-web/package.json ] || npm install --no-save --no-audit --no-fund --loglevel=error onnxruntime-web@1.30.0
cargo build --release --bin skysift
scripts/build.sh
# The Python GWSkyNet pipeline, in a venv of its own (ligo.skymap brings astropy, healpy, ...).
[ -x .venv-reference/bin/python ] && .venv-reference/bin/python -c 'import GWSkyNet.GWSkyNet' 2>/dev/null \
  || { python3 -m venv .venv-reference && .venv-reference/bin/pip install -q --disable-pip-version-check -r bench/requirements-reference.txt; }
# Everything below is printed and written to BENCHMARKS.md.
exec > >(tee BENCHMARKS.md.new) 2>&1
echo "# Benchmarks"
echo
echo "Made by \`npm run bench\` on $(date -u +%Y-%m-%d): $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB;"
echo "$(rustc --version), $(.venv/bin/python --version), $(chromium --version 2>/dev/null | head -1), numpy $(.venv/bin/python -c 'import numpy; print(numpy.__version__)')."
echo "No GPU here: the browser's WebGPU adapter is SwiftShader, a CPU emulation."
echo
echo '```'
EXE="$CARGO_TARGET_DIR/release/skysift"
MAPS="$SKYSIFT_DATA/skymaps"
ZTF="$SKYSIFT_DATA/lightcurves/ztf-alerce/periodic_light_curves.csv"
# Each section after the command that reproduces it (paths as on this machine).
section() {
  echo "\$ ${*/#$HOME/\~}"
  "$@"
  echo
}
section .venv/bin/python bench/dmdt.py "$EXE"
section .venv/bin/python bench/gwskynet_model.py "$EXE" "$ZTF"
section .venv/bin/python bench/skymap.py "$EXE" .venv-reference/bin/python \
  "$MAPS/o3a-gracedb/S190412m/bayestar.fits.gz" "$MAPS/o3b-gracedb/S200129m.multiorder.fits" "$MAPS/o3a-gracedb/S190425z/bayestar.fits"
section .venv/bin/python bench/inference.py "$EXE" "$ZTF"
section .venv/bin/python bench/period.py "$EXE" .venv-reference/bin/python "$ZTF"
section .venv/bin/python bench/explain.py "$EXE" www/examples/rr-lyrae.csv \
  "$MAPS/o3b-gracedb/S200129m.multiorder.fits" "$MAPS/o3a-gracedb/S190425z/bayestar.fits"
echo '```'
echo
# Native burn-wgpu: measured here when wgpu finds a real GPU, else the last run on a lent GPU machine.
if "$EXE" check --backend webgpu 2>/dev/null | grep -Eq '^adapter:.*(DiscreteGpu|IntegratedGpu)'; then
  echo "## On this machine's GPU: native burn-wgpu, and the page's wasm on WebGPU"
  echo
  echo '```'
  section .venv/bin/python bench/gpu.py "$EXE" "$ZTF" "$MAPS/o3b-gracedb/S200129m.multiorder.fits" \
    "$MAPS/o3a-gracedb/S190412m/bayestar.fits.gz" "$MAPS/o3a-gracedb/S190425z/bayestar.fits.gz" "$MAPS/mdc-mock/bayestar.multiorder.fits"
  # The page's wasm on this GPU through Dawn (Chrome's WebGPU) in Node: bench only, not in package.json.
  [ -f node_modules/webgpu/package.json ] || npm install --no-save --no-audit --no-fund --loglevel=error webgpu@0.6.2 onnxruntime-web@1.30.0
  section node bench/wasm_gpu_node.mjs "$ZTF" "$MAPS/o3b-gracedb/S200129m.multiorder.fits"
  echo '```'
else
  echo "## On a real GPU: native burn-wgpu, and the page's wasm on WebGPU (no GPU here: wgpu offers $("$EXE" check --backend webgpu 2>&1 | sed -n 's/^adapter: //p'); the last run on a lent GPU machine, from bench/gpu-results.md)"
  echo
  cat bench/gpu-results.md
fi
echo
echo "wasm size: $(ls -l pkg/skysift_bg.wasm | awk '{printf "%.1f MB", $5/1e6}') raw, $(gzip -c pkg/skysift_bg.wasm | wc -c | awk '{printf "%.1f MB", $1/1e6}') gzip."
mv BENCHMARKS.md.new BENCHMARKS.md
