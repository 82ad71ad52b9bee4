#!/usr/bin/env python3
"""Writes tests/golden/dmdt_cases.json: generated light curves and their numpy dm-dt counts.

Usage: .venv/bin/python tests/golden/make_dmdt_golden.py
The cases are made here (seeded); the counts come from the numpy oracle in dmdt_oracle.py.
"""
import json
from pathlib import Path

import numpy as np

from dmdt_oracle import clean, dmdt_counts

HERE = Path(__file__).resolve().parent
MAHABAL_DT = [1/145, 2/145, 3/145, 4/145, 1/25, 2/25, 3/25, 1.5, 2.5, 3.5, 4.5, 5.5, 7, 10, 20, 30, 60, 90,
              120, 240, 600, 960, 2000, 4000]
MAHABAL_DM = [-8, -5, -3, -2.5, -2, -1.5, -1, -0.5, -0.3, -0.2, -0.1, 0, 0.1, 0.2, 0.3, 0.5, 1, 1.5, 2, 2.5, 3, 5, 8]
SCOPE_DT = [0, 4/145, 1/25, 2/25, 3/25, 0.3, 0.75, 1, 1.5, 2.5, 3.5, 4.5, 5.5, 7, 10, 20, 30, 45, 60, 90, 120, 180,
            240, 360, 500, 650, 2000]
SCOPE_DM = [-8, -4.5, -3, -2.5, -2, -1.5, -1.25, -0.75, -0.5, -0.3, -0.2, -0.1, -0.05, 0, 0.05, 0.1, 0.2, 0.3, 0.5,
            0.75, 1.25, 1.5, 2, 2.5, 3, 4.5, 8]
GRIDS = {'mahabal2017': (MAHABAL_DT, MAHABAL_DM), 'scope': (SCOPE_DT, SCOPE_DM)}


def cases():
    rng = np.random.default_rng(7)
    yield 'two points', [0.0, 1.0], [15.0, 15.2]
    yield 'two points reversed in the file', [1.0, 0.0], [15.2, 15.0]
    yield 'equal times keep file order', [3.0, 3.0, 3.0, 5.0], [15.0, 15.04, 14.9, 15.1]
    # Pairs exactly on edges: dt = 1.5 (a Mahabal edge), dm = 0.1 and dm = 0 (edges of both grids).
    yield 'points on edges', [0.0, 1.5, 3.0, 4.5, 11.5], [10.0, 10.1, 10.1, 10.0, 10.2]
    # Beyond the last edges: dt >= 4000 / 2000, |dm| >= 8, and exactly on the last edges.
    yield 'outside the grid', [0.0, 1.0, 2001.0, 4001.0, 4002.0], [10.0, 18.0, 2.0, 10.0, 18.5]
    yield 'exactly on the last edges', [0.0, 2000.0, 4000.0], [10.0, 18.0, 10.0]
    yield 'missing values dropped', [0.0, 1.0, float('nan'), 2.5, 7.0], [10.0, float('nan'), 11.0, 10.4, 10.2]
    for k in range(6):
        n = int(rng.integers(5, 200))
        t = np.sort(rng.uniform(0, 3000 if k % 2 else 60, n)).round(5)
        m = (15 + rng.normal(0, 0.5 + k, n)).round(4)
        yield f'random {k} ({n} points)', t.tolist(), m.tolist()


def main():
    out = []
    for name, t, m in cases():
        tc, mc = clean(t, m)
        for grid, (dt_edges, dm_edges) in GRIDS.items():
            out.append({
                'name': name,
                'grid': grid,
                # JSON has no NaN: a missing value is written as null.
                't': [None if v != v else v for v in t],
                'm': [None if v != v else v for v in m],
                'counts': dmdt_counts(tc, mc, dt_edges, dm_edges).tolist(),
            })
    text = json.dumps(out, allow_nan=False)
    (HERE / 'dmdt_cases.json').write_text(text + '\n')
    print(f'wrote {len(out)} cases to {HERE / "dmdt_cases.json"}')


if __name__ == '__main__':
    main()
