#!/usr/bin/env python3
"""Sky map → GWSkyNet score, per map: skysift native (CLI), skysift wasm in chromium (CPU and
WebGPU backends, through the page's worker API) and the Python gwskynet pipeline, side by side.

Usage: .venv/bin/python bench/skymap.py SKYSIFT_EXE PYTHON_REFERENCE MAP...
The Python pipeline runs once per map (it takes minutes); skysift native three times (median).
Scores are checked to agree (1e-5) before timings are printed.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def lines(cmd, **kw):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout
    return [json.loads(l) for l in out.splitlines() if l.startswith('{')]


def main():
    exe, python, maps = sys.argv[1], sys.argv[2], sys.argv[3:]
    native = {}
    for m in maps:
        runs = [lines([exe, 'skymap', m, '--json'])[0] for _ in range(3)]
        secs = sorted(r['seconds'] for r in runs)
        native[m] = {'score': runs[0]['score'], 'median': secs[1], 'min': secs[0], 'max': secs[2]}
    wasm = {(r['file'], r['backend']): r for r in lines(['node', str(ROOT / 'bench/wasm_skymap.mjs'), *maps], cwd=ROOT)}
    reference = {r['file']: r for r in lines([python, str(ROOT / 'bench/gwskynet_pipeline.py'), *maps],
                                              env={**os.environ, 'OMP_NUM_THREADS': '1'})}
    adapter = next((r.get('adapter') for r in wasm.values() if r['backend'] == 'webgpu'), None)
    print(f'Sky map -> GWSkyNet score, seconds per map; {os.cpu_count()} cores. skysift native renders the volume images on all cores,'
          f' the page (wasm) in up to eight workers (one per core), the Python pipeline on one core (OMP_NUM_THREADS=1).')
    print(f'WebGPU adapter: {adapter or "none"} (SwiftShader is a CPU emulation: its figures say nothing of a GPU).')
    print(f'{"map":<46} {"Python gwskynet":>15} {"skysift native":>22} {"wasm CPU":>10} {"wasm WebGPU":>11} {"Python/native":>13} {"Python/wasm CPU":>15}')
    for m in maps:
        ref, nat = reference[m], native[m]
        cpu, gpu = wasm.get((m, 'cpu')), wasm.get((m, 'webgpu'))
        for name, s in [('native', nat['score']), ('wasm CPU', cpu and cpu['score']), ('wasm WebGPU', gpu and gpu['score'])]:
            if s is not None:
                assert abs(s - ref['score']) <= 1e-5, f'{m}: {name} score {s} vs Python {ref["score"]}'
        name = os.path.relpath(m, ROOT.parent / 'shared/data/skymaps') if 'skymaps' in m else m
        print(f'{name:<46} {ref["seconds"]:>14.1f}s {nat["median"]:>8.2f}s ({nat["min"]:.2f}-{nat["max"]:.2f})'
              f' {cpu["seconds"] if cpu else float("nan"):>9.2f}s {gpu["seconds"] if gpu else float("nan"):>10.2f}s'
              f' {ref["seconds"] / nat["median"]:>13.0f} {ref["seconds"] / cpu["seconds"] if cpu else float("nan"):>15.0f}')
    print('(scores agree to 1e-5 in every column; the Python figure is one run, the others the median of three natively,'
          ' the second of two runs in the page)')


if __name__ == '__main__':
    main()
