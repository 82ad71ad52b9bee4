#!/usr/bin/env bash
# Installs what this machine lacks to build and test skysift; does nothing that is already done.
# Usage: scripts/setup.sh [build] [browser] [python]   (no argument: everything)
# Everything comes from package registries: crates.io, npm, PyPI, Debian. No other download.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
want="${*:-build browser python}"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [[ $want == *build* ]]; then
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    echo "setup: adding the wasm32-unknown-unknown target" >&2
    rustup target add wasm32-unknown-unknown
  fi
  # wasm-bindgen-cli must match the wasm-bindgen crate exactly (pinned in Cargo.toml).
  wbg=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print}' Cargo.lock)
  if ! wasm-bindgen --version 2>/dev/null | grep -qF "$wbg"; then
    echo "setup: installing wasm-bindgen-cli $wbg (takes a few minutes)" >&2
    cargo install wasm-bindgen-cli --version "$wbg"
  fi
fi

# npm packages (pinned in package-lock.json): the plotting libraries bundled into the page and
# esbuild to bundle them (build), Playwright and axe-core (browser tests).
if [[ $want == *build* || $want == *browser* ]]; then
  if [ ! -d node_modules/esbuild ] || [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup: installing npm packages" >&2
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi

if [[ $want == *browser* ]]; then
  if [ ! -x /usr/bin/chromium ]; then
    echo "setup: installing Debian's chromium" >&2
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
  fi
fi

if [[ $want == *python* ]]; then
  # Test oracles only (numpy for golden dm-dt counts); never used by the page.
  if ! .venv/bin/python -c 'import numpy' 2>/dev/null; then
    echo "setup: creating .venv with the Python test oracles" >&2
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt
  fi
fi
