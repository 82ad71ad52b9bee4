#!/usr/bin/env bash
# Makes the page's example sky map, www/examples/simulated-bbh.fits.gz: a BAYESTAR sky map of a
# simulated binary-black-hole merger (H1, L1, V1 at design sensitivity), localised offline with
# ligo.skymap's own tools by ../shared/reference/simulate_bayestar.sh (seeded). The first map the
# localisation writes is kept. Needs ligo.skymap in .venv-reference (bench/requirements-reference.txt).
# Took about 3 minutes here.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv-reference/bin/python ] || { python3 -m venv .venv-reference && .venv-reference/bin/pip install -q -r bench/requirements-reference.txt; }
work=$(mktemp -d)
PATH="$PWD/.venv-reference/bin:$PATH" bash "${SKYSIFT_REFERENCE:-../shared/reference}/simulate_bayestar.sh" "$work" bbh_astro 20 1 > "$work/log" 2>&1
first=$(ls "$work"/maps/*.fits | sort -V | head -1)
gzip -9 -n -c "$first" > www/examples/simulated-bbh.fits.gz
echo "www/examples/simulated-bbh.fits.gz from $(basename "$first") ($(wc -c < www/examples/simulated-bbh.fits.gz) bytes)"
rm -rf "$work"
