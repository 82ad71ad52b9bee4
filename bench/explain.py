#!/usr/bin/env python3
"""Explanations, side by side: skysift native (with the model's branch structure, and naive:
every evaluation a whole-model run), skysift wasm in chromium (CPU, WebGPU), and Python shap
0.49 on GWSkyNet's ONNX model with onnxruntime, on the same inputs (dumped by `skysift skymap
--dump-inputs`). Rows: exact ten-input Shapley values (shap's ExactExplainer evaluates all 2^10
coalitions), 500-evaluation partition SHAP over the sky image (shap's PartitionExplainer with
an all-zero Image masker), and partition SHAP over a light curve's dm–dt image (no Python row:
the classifier is skysift's own, not an ONNX file).

Usage: .venv/bin/python bench/explain.py SKYSIFT_EXE LIGHTCURVE MAP...
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import shap

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'bench'))
from gwskynet_model import session as onnx_session  # noqa: E402


def lines(cmd, **kw):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout
    return [json.loads(l) for l in out.splitlines() if l.startswith('{')]


def python_rows(session, x, reps):
    """Seconds of shap's exact explainer and partition explainer on the map's inputs."""
    names = [i.name for i in session.get_inputs()]
    base = [np.zeros_like(a) for a in x]

    def game(z):
        z = np.asarray(z) > 0.5
        feed = {n: np.stack([x[k] if row[k] else base[k] for row in z]) for k, n in enumerate(names)}
        return session.run(None, feed)[0].ravel().astype(np.float64)

    def sky_model(images):
        images = images.reshape((-1,) + x[0].shape)
        feed = {n: (images if k == 0 else np.repeat(x[k][None], len(images), 0)) for k, n in enumerate(names)}
        return session.run(None, feed)[0].ravel().astype(np.float64)

    exact, partition = [], []
    for _ in range(reps):
        t = time.perf_counter()
        shap.explainers.Exact(game, shap.maskers.Independent(np.zeros((1, 10))))(np.ones((1, 10)), silent=True)
        exact.append(time.perf_counter() - t)
        t = time.perf_counter()
        shap.PartitionExplainer(sky_model, shap.maskers.Image(np.zeros(x[0].shape, dtype=np.float32), x[0].shape))(x[0][None], max_evals=500, silent=True)
        partition.append(time.perf_counter() - t)
    return sorted(exact), sorted(partition)


def fmt(s):
    return f'{s["median_s"]:.3f}s ({s["min_s"]:.3f}-{s["max_s"]:.3f})' if s else '-'


def main():
    exe, curve, maps = sys.argv[1], sys.argv[2], sys.argv[3:]
    session = onnx_session()
    wasm = {(r['file'], r['what'], r['backend']): r for r in lines(['node', str(ROOT / 'bench/wasm_explain.mjs'), curve, *maps], cwd=ROOT)}
    rows = []
    for m in maps:
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([exe, 'skymap', m, '--dump-inputs', d, '--json'], check=True, capture_output=True)
            (sub,) = Path(d).iterdir()
            x = [np.load(sub / f'input_{k}.npy')[0] for k in (1, 10, 2, 3, 4, 5, 6, 7, 8, 9)]
        exact, partition = python_rows(session, x, 3)
        py = lambda s: {'median_s': s[len(s) // 2], 'min_s': s[0], 'max_s': s[-1]}
        name = m.split('skymaps/')[-1]
        for what, naive_what, extra, reps, p in [('exact Shapley', 'exact Shapley, whole-model runs', [], '7', py(exact)),
                                                  ('sky partition', 'sky partition, whole-model runs', ['--image', 'sky'], '3', py(partition))]:
            native = lines([exe, 'bench', 'explain', m, '--reps', reps, *extra])[0]
            naive = lines([exe, 'bench', 'explain', m, '--reps', reps if what == 'exact Shapley' else '1', '--naive', *extra])[0]
            rows.append((name, what, native, naive, wasm.get((m, what, 'cpu')), wasm.get((m, what, 'webgpu')), p))
    native = lines([exe, 'bench', 'explain', curve, '--reps', '7'])[0]
    rows.append((Path(curve).name, 'dm–dt partition', native, None, wasm.get((curve, 'dm–dt partition', 'cpu')), wasm.get((curve, 'dm–dt partition', 'webgpu')), None))
    print(f'Explanations, seconds (median of several runs, min-max); {os.cpu_count()} cores; shap {shap.__version__}, onnxruntime {ort.__version__} on the ONNX model.')
    print('"naive": skysift native with every evaluation a whole-model run (no reuse of the model\'s branches). WebGPU here is SwiftShader (CPU emulation; its sky partition on the first map only); bench/gpu-results.md has a real GPU.')
    print(f'{"input":<38} {"explanation":<16} {"skysift native":>22} {"naive":>22} {"wasm CPU":>22} {"wasm WebGPU":>22} {"Python shap":>22} {"shap/native":>11}')
    for name, what, nat, naive, cpu, gpu, p in rows:
        ratio = f'{p["median_s"] / nat["median_s"]:.1f}' if p else '-'
        print(f'{name:<38} {what:<16} {fmt(nat):>22} {fmt(naive):>22} {fmt(cpu):>22} {fmt(gpu):>22} {fmt(p):>22} {ratio:>11}')
    print('(partition SHAP: 500 evaluations, batches of 10, all-zero masking, as shap\'s defaults; exact Shapley: 12 model runs for skysift, 1024 coalitions for shap)')


if __name__ == '__main__':
    main()
