#!/usr/bin/env python3
"""The light-curve classifier (batch 1 and 256), skysift native on the CPU backend, and the
making of its inputs (dm-dt images, periodogram, Fourier fit).
Usage: .venv/bin/python bench/inference.py SKYSIFT_EXE LIGHTCURVES"""
import json
import subprocess
import sys


def run(*args):
    out = subprocess.run(list(args), check=True, capture_output=True, text=True).stdout
    return [json.loads(l) for l in out.splitlines() if l.startswith('{')]


def main():
    exe, curves = sys.argv[1], sys.argv[2]
    print('light-curve classifier alone (skysift native, burn flex CPU backend; ZTF light curves repeated to the batch size)')
    print(f'{"batch":>5} {"median":>10} {"min-max":>22} {"per object":>11}')
    for batch in (1, 256):
        r = run(exe, 'bench', 'classify', curves, '--batch', str(batch), '--reps', '7')[0]
        print(f'{batch:>5} {r["median_s"] * 1e3:>8.2f}ms {r["min_s"] * 1e3:>9.2f}-{r["max_s"] * 1e3:<9.2f}ms {r["median_s"] / batch * 1e3:>9.3f}ms')
    n = r['objects']
    print(f'inputs (dm-dt images of both bands, Lomb-Scargle periodogram, Fourier fit) for the {n} objects of the file: '
          f'{r["inputs_median_s"] * 1e3:.1f} ms ({r["inputs_min_s"] * 1e3:.1f}-{r["inputs_max_s"] * 1e3:.1f}), {r["inputs_median_s"] / n * 1e3:.2f} ms per object')


if __name__ == '__main__':
    main()
