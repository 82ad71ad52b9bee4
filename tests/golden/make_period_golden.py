#!/usr/bin/env python3
"""Writes tests/golden/period_cases.json: astropy's Lomb-Scargle power and three-term Fourier
model for made-up light curves, the oracle of src/period.rs.

Usage: .venv-reference/bin/python tests/golden/make_period_golden.py   (astropy 8.0.2)
`LombScargle(t, y, dy)` with its defaults (fit_mean=True, center_data=True, "standard"
normalisation) is the generalised, weighted periodogram skysift computes; `method="slow"`
evaluates it directly, without the approximations of the fast methods. The curves are made here
(seeded): irregular EROS-like sampling, a sine with harmonics, an eclipse-like dip, pure noise,
unequal errors.
"""
import json
from pathlib import Path

import numpy as np
from astropy.timeseries import LombScargle

HERE = Path(__file__).resolve().parent
MAX_FREQUENCY, OVERSAMPLING = 4.0, 5.0


def curves(rng):
    for period, shape, n in [(0.5673, "rrlyrae", 120), (3.21, "sine", 80), (1.7, "eclipse", 150), (None, "noise", 60), (240.0, "sine", 40)]:
        t = np.sort(rng.uniform(0, 1300, n)) + 48000.0
        dy = rng.uniform(0.01, 0.2, n)
        if shape == "noise":
            y = rng.normal(0, 1, n)
        else:
            x = 2 * np.pi * t / period
            if shape == "eclipse":
                y = 0.8 * np.exp(-0.5 * (((x / (2 * np.pi)) % 1 - 0.5) / 0.04) ** 2)
            else:
                y = 0.4 * np.cos(x) + (0.15 * np.cos(2 * x + 0.7) + 0.07 * np.cos(3 * x + 2.0) if shape == "rrlyrae" else 0)
        y = 17.0 + y + rng.normal(0, 1, n) * dy
        yield shape, period, t, y, dy


def main():
    rng = np.random.default_rng(20261122)
    cases = []
    for shape, period, t, y, dy in curves(rng):
        span = t[-1] - t[0]
        f_min = 1 / span
        step = f_min / OVERSAMPLING
        grid = f_min + step * np.arange(int(np.floor((MAX_FREQUENCY - f_min) / step)) + 1)
        # The whole grid is computed; a few hundred frequencies spread over it, and the peak, are kept.
        ls = LombScargle(t, y, dy)
        power_all = ls.power(grid, method="slow")
        pick = sorted({int(k) for k in np.linspace(0, len(grid) - 1, 300)} | {int(np.argmax(power_all))})
        power = power_all[pick]
        best = float(grid[int(np.argmax(power_all))])
        fit = LombScargle(t, y, dy, nterms=3).model_parameters(best)
        cases.append({
            "shape": shape, "period": period, "time": t.tolist(), "mag": y.tolist(), "err": dy.tolist(),
            "grid_len": len(grid), "indices": pick, "power": power.tolist(),
            "best_frequency": best, "fourier_offset_and_terms": fit.tolist(),
        })
    (HERE / "period_cases.json").write_text(json.dumps({"astropy": "8.0.2", "cases": cases}))


if __name__ == "__main__":
    main()
