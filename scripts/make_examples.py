#!/usr/bin/env python3
"""Makes the page's example light curves: simulated, seeded, standard library only.

Errors of 0.07-0.15 mag, as EROS-1's photographic light curves have (median 0.11-0.14 mag
for every class, bright or faint), so that the examples look like the data the classifier was
trained on. (With 0.02-0.05 mag they were cleaner than any EROS-1 star, and the classifier,
which has seen no clean RR Lyrae star, wavered between RR Lyrae and Cepheid.)

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


def cepheid(phase):
    """Classical Cepheid: a quick rise over 30% of the cycle, a slower fall, with a bump."""
    if phase < 0.3:
        return 0.35 - 0.7 * (phase / 0.3)
    return -0.35 + 0.7 * (phase - 0.3) / 0.7 + 0.05 * math.sin(2 * math.pi * (phase - 0.3) / 0.35)


def eclipsing(phase):
    """Algol-type: constant light, a deep primary eclipse and a shallow secondary one."""
    d1 = min(phase, 1 - phase)
    d2 = abs(phase - 0.5)
    return 0.9 * max(0.0, 1 - d1 / 0.06) ** 0.7 + 0.25 * max(0.0, 1 - d2 / 0.06) ** 0.7


def mira(phase):
    """Mira: a large, near-sinusoidal swing."""
    return 1.6 * math.cos(2 * math.pi * phase)


def two_bands(rng, shape, period, mean_b, mean_r, amp_r, n=120, span=1300.0):
    """Blue and red bands observed at the same nights (as EROS did), red with smaller swings."""
    rows = []
    for t in epochs(rng, n, span):
        phase = ((t - 58000.0) / period) % 1.0
        for band, mean, amp in (('B', mean_b, 1.0), ('R', mean_r, amp_r)):
            err = rng.uniform(0.07, 0.15)
            rows.append((t, mean + amp * shape(phase) + rng.gauss(0, err), err, band))
    return rows


def write_bands(name, rows):
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / name, 'w') as f:
        f.write('mjd,mag,magerr,band\n')
        for t, m, e, b in rows:
            f.write(f'{t:.5f},{m:.5f},{e:.5f},{b}\n')


def main():
    rng = random.Random(20261122)
    period, mean = 0.56654, 17.5
    rows = []
    for t in epochs(rng, 150, 700):
        err = rng.uniform(0.07, 0.15)
        mag = mean + rr_lyrae(((t - 58000.0) / period) % 1.0) + rng.gauss(0, err)
        rows.append((t, mag, err))
    write('rr-lyrae.csv', rows, 'mjd,mag,magerr')
    # The gallery: one simulated star of each class, two bands, EROS-like sampling.
    write_bands('cepheid.csv', two_bands(random.Random(1), cepheid, 5.366, 16.2, 15.6, 0.7))
    write_bands('eclipsing-binary.csv', two_bands(random.Random(2), eclipsing, 2.8673, 17.8, 17.6, 0.9))
    write_bands('mira.csv', two_bands(random.Random(3), mira, 332.0, 17.0, 14.8, 0.6))
    write_bands('rr-lyrae-two-bands.csv', two_bands(random.Random(4), rr_lyrae, 0.5827, 19.1, 18.8, 0.8))


if __name__ == '__main__':
    main()
