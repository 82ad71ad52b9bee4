#!/usr/bin/env python3
"""skysift's dm-dt counts against numpy on every real light curve in the shared data.

Usage: .venv/bin/python tests/dmdt_reference.py PATH/TO/skysift
Reads $SKYSIFT_DATA (default ../shared/data): EROS-1 train and test (bands b and r) and the
ZTF/ALeRCE light curves (g and r), parses them here independently of skysift, counts pairs
with numpy (tests/golden/dmdt_oracle.py), runs `skysift dmdt --json` on the same files for
both named grids, and demands identical integer counts. Only the light curves are used, never
labels, so the EROS split rule is respected. Exits non-zero on any difference.
"""
import csv
import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / 'golden'))
from dmdt_oracle import clean, dmdt_counts  # noqa: E402
from make_dmdt_golden import GRIDS  # noqa: E402

DATA = Path(os.environ.get('SKYSIFT_DATA', Path(__file__).resolve().parent.parent.parent / 'shared' / 'data'))


def numbers(cell):
    cell = cell.strip().strip('[]')
    return [float(v) for v in cell.split(',')] if cell.strip() else []


def eros_curves(path):
    """{(object, band): (t, m, e)} from an EROS *_varlength_features.csv.gz file."""
    curves = {}
    with gzip.open(path, 'rt') as f:
        for row in csv.DictReader(f):
            obj = row['']
            for band in ('b', 'r'):
                curves[(obj, band)] = tuple(numbers(row[f'{k}_points_{band}']) for k in ('time', 'light', 'error'))
    return curves


def ztf_curves(path):
    curves = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            band = {'1': 'g', '2': 'r', '3': 'i'}[row['fid']]
            t, m, e = curves.setdefault((row['oid'], band), ([], [], []))
            t.append(float(row['mjd']))
            m.append(float(row['magpsf']))
            e.append(float(row['sigmapsf']))
    return curves


def skysift_counts(exe, path, grid):
    out = subprocess.run([exe, 'dmdt', str(path), '--grid', grid, '--json'], check=True, capture_output=True, text=True).stdout
    return {(r['object'], r['band']): r['counts'] for r in map(json.loads, io.StringIO(out))}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    exe = sys.argv[1]
    files = [
        (DATA / 'lightcurves/eros1/train_varlength_features.csv.gz', eros_curves),
        (DATA / 'lightcurves/eros1/test_varlength_features.csv.gz', eros_curves),
        (DATA / 'lightcurves/ztf-alerce/periodic_light_curves.csv', ztf_curves),
    ]
    if not all(p.exists() for p, _ in files):
        print(f'dm-dt reference check skipped: the shared data is not at {DATA} (set SKYSIFT_DATA)')
        return
    compared = failed = 0
    for path, reader in files:
        reference = reader(path)
        for grid, (dt_edges, dm_edges) in GRIDS.items():
            ours = skysift_counts(exe, path, grid)
            if set(ours) != set(reference):
                print(f'FAIL {path.name} {grid}: skysift found {len(ours)} light curves, the reference {len(reference)}')
                failed += 1
                continue
            for key, (t, m, e) in reference.items():
                tc, mc = clean(t, m, e)
                want = dmdt_counts(tc, mc, dt_edges, dm_edges).tolist()
                compared += 1
                if ours[key] != want:
                    failed += 1
                    if failed <= 10:
                        print(f'FAIL {path.name} {grid} {key}: counts differ')
        print(f'{path.name}: {len(reference)} light curves x {len(GRIDS)} grids compared')
    print(f'dm-dt vs numpy on real light curves: {compared - failed} passed, {failed} failed')
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
