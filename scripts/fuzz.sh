#!/usr/bin/env bash
# Fuzzes the light-curve reader, the sky-map reader and dm–dt (cargo-fuzz, libFuzzer, nightly),
# SECONDS_EACH seconds per target (default 600), one after the other, from the committed seeds
# in fuzz/seeds/ (new inputs go to fuzz/corpus/, ignored by git). A crash, a hang (an input
# taking over 20 s) or more than 2 GiB of memory stops the run and leaves the input in
# fuzz/artifacts/; fix it and add it to the regression tests.
# Usage: scripts/fuzz.sh [SECONDS_EACH] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-600}
shift || true
targets=("${@:-lightcurve skymap dmdt}")
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --version 0.13.2
for target in ${targets[@]}; do
  mkdir -p "corpus/$target"
  echo "== fuzz $target for $seconds s"
  cargo +nightly fuzz run -O "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -max_len=200000 -print_final_stats=1 2>&1 \
    | grep -E "^#[0-9]+ *DONE|stat::|SUMMARY|ERROR|panicked|Done [0-9]+ runs" || true
  if ls artifacts/"$target"/* >/dev/null 2>&1; then
    echo "fuzz $target: findings in fuzz/artifacts/$target"; exit 1
  fi
done
