#!/usr/bin/env python3
"""Makes the page's example light curves: simulated, seeded, standard library only.

Usage: python3 scripts/make_examples.py   (writes www/examples/*.csv)
"""
import math
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / 'www' / 'examples'


def epochs(rng, n, span_days, season_days=200.0):
    """Irregular night-time epochs in observing seasons, as a ground survey gets them."""
    times = []
    while len(times) < n:
        t = rng.uniform(0, span_days)
        if (t % 365.25) < season_days:
            times.append(58000.0 + math.floor(t) + rng.uniform(0.55, 0.85))
    return sorted(times)


def rr_lyrae(phase):
    """RRab-like shape: fast rise over 15% of the cycle, slow decline (magnitude offset)."""
    if phase < 0.15:
        return 0.4 - 0.8 * (phase / 0.15)
    return -0.4 + 0.8 * ((phase - 0.15) / 0.85) ** 0.8


def write(name, rows, header):
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / name, 'w') as f:
        f.write(header + '\n')
        for r in rows:
            f.write(','.join(f'{v:.5f}' for v in r) + '\n')


def main():
    rng = random.Random(20261122)
    period, mean = 0.56654, 17.5
    rows = []
    for t in epochs(rng, 150, 700):
        err = rng.uniform(0.02, 0.05)
        mag = mean + rr_lyrae(((t - 58000.0) / period) % 1.0) + rng.gauss(0, err)
        rows.append((t, mag, err))
    write('rr-lyrae.csv', rows, 'mjd,mag,magerr')


if __name__ == '__main__':
    main()
