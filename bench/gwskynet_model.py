#!/usr/bin/env python3
"""GWSkyNet model alone: skysift (burn, CPU backend, native) vs Python onnxruntime, batch 1 and 64;
then in chromium, batch 1: skysift's wasm (CPU, WebGPU) vs onnxruntime-web (wasm, WebGPU).

Usage: .venv/bin/python bench/gwskynet_model.py SKYSIFT_EXE LIGHTCURVES
Both run the same ONNX file (from the pinned gwskynet 2.6.0 wheel, which the build cached)
on the same made-up inputs (see gwskynet::synthetic_inputs),
and their scores are checked to agree before the timings are printed.
"""
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import onnxruntime as ort

WHEEL = Path(os.environ.get('SKYSIFT_MODEL_CACHE', Path.home() / '.cache/skysift/models')) / 'gwskynet-2.6.0-py3-none-any.whl'
SHAPES = [(180, 360, 1), (1,), (262, 262, 3), (3,), (1,), (1,), (1,), (1,), (1,), (1,)]


def onnx_bytes():
    """GWSkyNet's ONNX file, from the pinned wheel the build cached."""
    with zipfile.ZipFile(WHEEL) as z:
        return z.read('GWSkyNet/GWSkyNet_data/models/GWSkyNet_v2.6.0.onnx')


def session(options=None, onnx=None):
    """An onnxruntime session (CPU) on GWSkyNet's ONNX file (from the cached wheel, or the file `onnx`)."""
    model = Path(onnx).read_bytes() if onnx else onnx_bytes()
    return ort.InferenceSession(model, options, providers=['CPUExecutionProvider'])


def timed_runs(runner, batch, reps):
    """onnxruntime on a batch of the made-up inputs: its scores and the seconds of `reps` runs, sorted."""
    feed = dict(zip([i.name for i in runner.get_inputs()], inputs(batch)))
    scores = runner.run(None, feed)[0].ravel()
    seconds = []
    for _ in range(reps):
        t0 = time.perf_counter()
        runner.run(None, feed)
        seconds.append(time.perf_counter() - t0)
    return scores, sorted(seconds)


def wave(n, offset, d):
    i = np.arange(n, dtype=np.int64) + offset
    return ((i * 7919) % 1000).astype(np.float32) / np.float32(d)


def inputs(batch):
    per_map = []
    for seed in range(batch):
        # Images divided by 1e4 (mid-range scores), scalars by 1e3, as gwskynet::synthetic_inputs.
        arrays = [wave(int(np.prod(s)), seed + k, 1e4 if k in (0, 2) else 1e3).reshape(s) for k, s in enumerate(SHAPES)]
        arrays[3] = np.array([1.0, 1.0, 0.0], dtype=np.float32)
        per_map.append(arrays)
    return [np.stack([m[k] for m in per_map]) for k in range(len(SHAPES))]


def dump(out):
    """Writes the ONNX file and the batch-1 inputs (raw float32) for the in-browser rows."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / 'gwskynet.onnx').write_bytes(onnx_bytes())
    names = ['input_1', 'input_10', 'input_2', 'input_3', 'input_4', 'input_5', 'input_6', 'input_7', 'input_8', 'input_9']
    for name, a in zip(names, inputs(1)):
        a.astype(np.float32).tofile(out / f'{name}.bin')
    for name, a in zip(names, inputs(64)):
        a.astype(np.float32).tofile(out / f'{name}.64.bin')


def browser_rows(exe, curves):
    """burn wasm (CPU, WebGPU) vs onnxruntime-web (wasm, WebGPU), batch 1 and 64, in chromium; then
    the dm-dt classifier in chromium, batch 1 and 256."""
    out = ROOT / 'test-results' / 'bench-model'
    dump(out)
    lines = subprocess.run(['node', str(ROOT / 'bench/wasm_model.mjs'), str(out), curves], check=True, capture_output=True, text=True, cwd=ROOT).stdout
    rows = [json.loads(l) for l in lines.splitlines() if l.startswith('{')]
    native = {b: json.loads(subprocess.run([exe, 'bench', 'gwskynet', '--batch', str(b), '--reps', '3'], check=True, capture_output=True, text=True).stdout) for b in (1, 64)}
    print('In chromium (single-threaded wasm; WebGPU is SwiftShader here, a CPU emulation); ratio to skysift native:')
    for r in rows:
        if 'seconds' in r:
            backend = 'WebGPU (SwiftShader)' if r['webgpu_flag'] else 'CPU'
            print(f'       page, first visit: load to the example\'s probabilities on screen ({backend}): {r["seconds"]:.2f} s')
            continue
        if r.get('model') == 'classifier':
            continue
        if 'error' in r:
            print(f'{r["batch"]:>5}  {r["tool"]:<34} failed: {r["error"]}')
            continue
        want = native[r['batch']]['scores'][0]
        wrong = abs(r['score'] - want) > 1e-4
        note = f'WRONG: score {r["score"]:.6f}, not {want:.6f}' if wrong else f'score {r["score"]:.6f}'
        print(f'{r["batch"]:>5}  {r["tool"]:<34} {r["median_s"] * 1e3:9.2f}ms {r["min_s"] * 1e3:9.2f}-{r["max_s"] * 1e3:<9.2f}ms {r["median_s"] / native[r["batch"]]["median_s"]:7.2f}  ({note}; {r["reps"]} runs)')
    print()
    print('light-curve classifier alone in chromium (inputs made beforehand; ZTF light curves repeated to the batch size)')
    for r in rows:
        if r.get('model') == 'classifier':
            print(f'{r["batch"]:>5}  {r["tool"]:<34} {r["median_s"] * 1e3:9.2f}ms {r["min_s"] * 1e3:9.2f}-{r["max_s"] * 1e3:<9.2f}ms  per object {r["median_s"] / r["batch"] * 1e3:.3f}ms ({r["reps"]} runs)')


ROOT = Path(__file__).resolve().parent.parent


def main():
    exe = sys.argv[1]
    opts = ort.SessionOptions()
    runner = session(opts)
    print(f'GWSkyNet model alone; onnxruntime {ort.__version__} ({opts.intra_op_num_threads or os.cpu_count()} threads by default), {os.cpu_count()} cores')
    print(f'{"batch":>5}  {"tool":<28} {"median":>10} {"min-max":>21} {"x skysift":>9}')
    for batch in (1, 64):
        reps = 9 if batch == 1 else 3
        ref, seconds = timed_runs(runner, batch, reps)
        ours = json.loads(subprocess.run([exe, 'bench', 'gwskynet', '--batch', str(batch), '--reps', str(reps)],
                                         check=True, capture_output=True, text=True).stdout)
        diff = float(np.max(np.abs(np.asarray(ours['scores']) - ref)))
        assert diff < 1e-5, f'scores differ by {diff}'
        rows = [('skysift native (burn flex)', ours['median_s'], ours['min_s'], ours['max_s']),
                ('onnxruntime (Python)', seconds[len(seconds) // 2], seconds[0], seconds[-1])]
        for tool, med, lo, hi in rows:
            print(f'{batch:>5}  {tool:<28} {med * 1e3:>8.2f}ms {lo * 1e3:>9.2f}-{hi * 1e3:<9.2f}ms {med / ours["median_s"]:>9.2f}')
        print(f'       (largest score difference between the two: {diff:.1e}; scores {ref.min():.3f}-{ref.max():.3f})')
    browser_rows(exe, sys.argv[2])


if __name__ == '__main__':
    main()
