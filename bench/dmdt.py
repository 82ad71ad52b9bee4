#!/usr/bin/env python3
"""dm-dt benchmark: skysift native and wasm (chromium) vs Python light-curve's DmDt vs numpy.

Usage: .venv/bin/python bench/dmdt.py SKYSIFT_EXE [--sizes 100,1000,10000] [--grid mahabal2017]
Light curves are simulated (seeded) and written to a temporary folder; every tool counts the
pairs of the same points on the same grid, and the counts are checked to agree before any
figure is printed. Each figure is the median of several runs (min-max beside it); ratios are
time / skysift native time (above 1: slower than skysift native).
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / 'tests' / 'golden'))
from dmdt_oracle import dmdt_counts  # noqa: E402
from make_dmdt_golden import GRIDS  # noqa: E402


def simulate(n, seed):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 3000, n))
    m = 15 + 0.5 * np.sin(2 * np.pi * t / 0.61) + rng.normal(0, 0.05, n)
    return t, m


def timed(fn, reps):
    out, seconds = None, []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        seconds.append(time.perf_counter() - t0)
    seconds.sort()
    return out, {'median_s': seconds[len(seconds) // 2], 'min_s': seconds[0], 'max_s': seconds[-1], 'reps': reps}


def reps_for(n):
    return 21 if n <= 100 else 9 if n <= 1000 else 3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('exe')
    ap.add_argument('--sizes', default='100,1000,10000')
    ap.add_argument('--grid', default='mahabal2017')
    ap.add_argument('--no-wasm', action='store_true')
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(',')]
    dt_edges, dm_edges = (np.asarray(e, dtype=np.float64) for e in GRIDS[args.grid])
    import light_curve
    lc_dmdt = light_curve.DmDt(dt=dt_edges, dm=dm_edges, dt_type='asis', dm_type='asis', n_jobs=1)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for n in sizes:
            t, m = simulate(n, seed=n)
            path = Path(tmp) / f'lc{n}.csv'
            np.savetxt(path, np.column_stack([t, m]), delimiter=',', header='time,mag', comments='', fmt='%.17g')
            files[n] = (path, t, m)
        native = {}
        for n, (path, _, _) in files.items():
            out = subprocess.run([args.exe, 'bench', 'dmdt', str(path), '--grid', args.grid, '--reps', str(reps_for(n))],
                                 check=True, capture_output=True, text=True).stdout
            native[n] = json.loads(out)
        wasm = {}
        if not args.no_wasm:
            for n, (path, _, _) in files.items():
                out = subprocess.run(['node', str(HERE / 'wasm_dmdt.mjs'), args.grid, str(reps_for(n)), str(path)],
                                     check=True, capture_output=True, text=True).stdout
                wasm[n] = json.loads(out.strip().splitlines()[-1])
        for n, (path, t, m) in files.items():
            ref = dmdt_counts(t, m, dt_edges, dm_edges)
            lc_counts, lc_time = timed(lambda: lc_dmdt.points(t, m, sorted=True), reps_for(n))
            np_counts, np_time = timed(lambda: dmdt_counts(t, m, dt_edges, dm_edges), 1 if n >= 10000 else reps_for(n))
            assert np.array_equal(np.asarray(lc_counts, dtype=np.int64), ref), f'light-curve disagrees at n={n}'
            assert native[n]['n_in_grid'] == int(ref.sum()), f'skysift native disagrees at n={n}'
            if n in wasm:
                assert wasm[n]['n_in_grid'] == int(ref.sum()), f'skysift wasm disagrees at n={n}'
            base = native[n]['median_s']
            for tool, r in [('skysift native', native[n]), ('skysift wasm (chromium)', wasm.get(n)),
                            ('light-curve DmDt (Python)', lc_time), ('numpy histogram2d', np_time)]:
                if r:
                    rows.append((n, tool, r['median_s'], r['min_s'], r['max_s'], r['reps'], r['median_s'] / base))

    print(f'dm-dt benchmark, grid {args.grid}; {platform.processor() or platform.machine()}, {os.cpu_count()} cores, '
          f'Python {platform.python_version()}, numpy {np.__version__}, light-curve {light_curve.__version__}')
    print(f'{"n":>6}  {"tool":<26} {"median":>11} {"min-max":>23} {"runs":>4} {"x native":>9}')
    for n, tool, med, lo, hi, reps, ratio in rows:
        print(f'{n:>6}  {tool:<26} {med * 1e3:>9.3f}ms {lo * 1e3:>10.3f}-{hi * 1e3:<10.3f}ms {reps:>4} {ratio:>9.2f}')


if __name__ == '__main__':
    main()
