#!/usr/bin/env python3
"""Native burn-wgpu on a real GPU beside burn's CPU backend, same binary, same machine, one run.

The page's WebGPU path in chromium here is SwiftShader (a CPU emulation), so the only honest GPU
figures come from a machine with a GPU: this script runs `skysift` natively with `--backend
webgpu` (wgpu picks Vulkan, Metal or DX12) and `--backend cpu` (burn's flex), checks that the two
agree (and agree with the Python reference's scores), then times the model alone, the classifier
and the explanations on both. onnxruntime (CPU, Python) on the same ONNX file and inputs is timed
beside them when it is installed.

Usage: python3 bench/gpu.py SKYSIFT_EXE ZTF_CSV MAP... [--onnx FILE] [--reference scores.tsv] [--quick]
Needs numpy (and onnxruntime for its column). Exit code 1 when the backends disagree.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
GPU = 'webgpu'  # --gpu-backend cpu smoke-tests this script on a machine without a GPU


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(l) for l in out.splitlines() if l.startswith('{')]


def machine():
    lines = [f'{os.cpu_count()} cores']
    try:
        lines.insert(0, subprocess.run(['nvidia-smi', '--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'],
                                       check=True, capture_output=True, text=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        lines.insert(0, 'no nvidia-smi')
    if os.environ.get('VK_DRIVER_FILES'):
        lines.append(f'Vulkan driver {os.environ["VK_DRIVER_FILES"]}')
    return ', '.join(lines)


def reference_scores(path):
    if not path or not Path(path).exists():
        return {}
    return {r['file']: float(r['score']) for r in csv.DictReader(open(path), delimiter='\t') if r.get('score')}


def reference_for(map_path, scores):
    """The reference row whose file is the tail of this map's path (maps may be copied elsewhere)."""
    for key, score in scores.items():
        if str(map_path).endswith(key):
            return score
    return None


def ort_times(onnx, batch, reps):
    import onnxruntime as ort
    from gwskynet_model import session, timed_runs
    scores, seconds = timed_runs(session(onnx=onnx), batch, reps)
    return {'median_s': seconds[len(seconds) // 2], 'min_s': seconds[0], 'max_s': seconds[-1], 'scores': scores, 'version': ort.__version__}


def agreement(exe, ztf, maps, scores):
    """Largest differences between the backends (and to the Python reference) on real inputs."""
    worst = True
    sky = {b: run([exe, 'skymap', *maps, '--json', '--backend', b]) for b in ('cpu', GPU)}
    d_backends = max(abs(a['score'] - g['score']) for a, g in zip(sky['cpu'], sky[GPU]))
    refs = [(reference_for(m, scores), a['score'], g['score']) for m, a, g in zip(maps, sky['cpu'], sky[GPU])]
    refs = [r for r in refs if r[0] is not None]
    d_ref = max((max(abs(r - a), abs(r - g)) for r, a, g in refs), default=None)
    print(f'GWSkyNet score, {len(maps)} real maps: |wgpu - cpu| <= {d_backends:.1e}'
          + (f'; both within {d_ref:.1e} of the Python reference ({len(refs)} maps; its scores are given to 1e-6)' if refs else ''))
    worst &= d_backends <= 1e-5
    cls = {b: run([exe, 'classify', ztf, '--json', '--backend', b]) for b in ('cpu', GPU)}
    d_cls = max(abs(a['probabilities'][k] - g['probabilities'][k]) for a, g in zip(cls['cpu'], cls[GPU]) for k in a['probabilities'])
    same = sum(a['label'] == g['label'] for a, g in zip(cls['cpu'], cls[GPU]))
    print(f'classifier, {len(cls["cpu"])} ZTF light curves: |wgpu - cpu| <= {d_cls:.1e} on every probability; same label for {same}')
    worst &= d_cls <= 1e-4
    ex = {b: run([exe, 'explain', maps[0], '--image', 'sky', '--json', '--backend', b])[0] for b in ('cpu', GPU)}
    d_phi = max(abs(ex['cpu']['inputs'][k] - ex[GPU]['inputs'][k]) for k in ex['cpu']['inputs'])
    a, g = np.array(ex['cpu']['images']['sky']['values']), np.array(ex[GPU]['images']['sky']['values'])
    print(f'explanations of {Path(maps[0]).name}: ten-input Shapley |wgpu - cpu| <= {d_phi:.1e}; '
          f'sky partition (500 evaluations) <= {np.abs(a - g).max():.1e} (largest |phi| {np.abs(a).max():.1e})')
    worst &= d_phi <= 1e-5
    return worst


def main():
    p = argparse.ArgumentParser()
    p.add_argument('exe')
    p.add_argument('ztf')
    p.add_argument('maps', nargs='+')
    p.add_argument('--onnx')
    p.add_argument('--reference', default=os.path.join(os.environ.get('SKYSIFT_DATA', ''), 'skymaps/reference/scores.tsv'))
    p.add_argument('--quick', action='store_true', help='fewer repetitions (a smoke test of this script)')
    p.add_argument('--gpu-backend', default='webgpu', help='cpu: run the script without a GPU (its figures then mean nothing)')
    args = p.parse_args()
    global GPU
    GPU = args.gpu_backend
    exe = args.exe
    print(f'Native burn-wgpu vs burn CPU (flex), same binary and machine: {machine()}')
    for b in ('cpu', GPU):
        check = subprocess.run([exe, 'check', '--backend', b], capture_output=True, text=True)
        if check.returncode:
            print(f'no {b} backend here: {check.stderr.strip()}')
            return 0
        adapter = next((l for l in check.stdout.splitlines() if l.startswith('adapter:')), None)
        if adapter:
            emulated = ', Cpu;' in adapter
            print(f'wgpu {adapter}' + (' -- a CPU emulation: the wgpu column below is not a GPU' if emulated else ''))
    ok = agreement(exe, args.ztf, args.maps, reference_scores(args.reference))
    reps = 2 if args.quick else 5
    slow = 1 if args.quick else 3
    rows = []

    def bench(name, cmd, n, ort_batch=None):
        got = {b: run(cmd + ['--reps', str(n), '--backend', b])[0] for b in ('cpu', GPU)}
        o = None
        if ort_batch:
            try:
                o = ort_times(args.onnx, ort_batch, max(n, 5))
                want = got['cpu']['scores'][0]
                assert abs(float(o['scores'][0]) - want) < 1e-5, f'onnxruntime {o["scores"][0]} vs skysift {want}'
            except ImportError:
                o = None
        rows.append((name, got['cpu'], got[GPU], o))

    m = args.maps[0]
    bench('GWSkyNet model alone, batch 1', [exe, 'bench', 'gwskynet', '--batch', '1'], reps * 2, 1)
    bench('GWSkyNet model alone, batch 64', [exe, 'bench', 'gwskynet', '--batch', '64'], slow, 64)
    bench('dm-dt classifier alone, batch 1', [exe, 'bench', 'classify', args.ztf, '--batch', '1'], reps * 2)
    bench('dm-dt classifier alone, batch 256', [exe, 'bench', 'classify', args.ztf, '--batch', '256'], reps)
    bench('exact ten-input Shapley (12 evaluations)', [exe, 'bench', 'explain', m], reps * 2)
    bench('sky-image partition SHAP, 500 evaluations', [exe, 'bench', 'explain', m, '--image', 'sky'], slow)
    bench('  the same, whole-model runs (naive)', [exe, 'bench', 'explain', m, '--image', 'sky', '--naive'], slow)
    bench('volume-image partition SHAP, 500 evaluations', [exe, 'bench', 'explain', m, '--image', 'volume'], slow)
    bench('dm-dt partition SHAP, 500 evaluations', [exe, 'bench', 'explain', args.ztf], reps)
    ort_version = next((o['version'] for *_, o in rows if o), None)
    print()
    print(f'{"":<46}{"CPU (flex)":>12}{"wgpu (GPU)":>12}{"CPU/wgpu":>10}' + (f'{"onnxruntime " + ort_version + " CPU":>28}' if ort_version else ''))
    for name, c, g, o in rows:
        line = f'{name:<46}{c["median_s"] * 1e3:>10.1f}ms{g["median_s"] * 1e3:>10.1f}ms{c["median_s"] / g["median_s"]:>9.1f}x'
        if o:
            line += f'{o["median_s"] * 1e3:>26.1f}ms'
        print(line)
    print(f'(medians; CPU runs {slow}-{reps * 2} times, min-max in the JSON lines of `skysift bench`; the first wgpu run compiles shaders)')
    spans = [f'{name.strip()}: cpu {c["min_s"] * 1e3:.1f}-{c["max_s"] * 1e3:.1f}, wgpu {g["min_s"] * 1e3:.1f}-{g["max_s"] * 1e3:.1f} ms' for name, c, g, _ in rows]
    print('min-max: ' + '; '.join(spans))
    if not ok:
        print('THE BACKENDS DISAGREE beyond 1e-5 (GWSkyNet) or 1e-4 (classifier)')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
