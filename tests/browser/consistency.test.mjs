// WebGPU and the CPU give the same results on every real input of ../shared: the classifier on
// every EROS-1 train light curve and the 25 ZTF ones (EROS test is kept for the reported
// evaluation), GWSkyNet's score on the prepared inputs of all 61 real sky maps (preparing the inputs does not depend
// on the backend: it is the same Rust code on the CPU, checked against the reference by
// tests/pipeline_reference.rs). Reports the largest differences. Here WebGPU is SwiftShader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch, openPage, waitReady, resultsDir, root, dataDir } from './helpers.mjs';

test('WebGPU and the CPU agree (1e-4) on every real light curve and sky map', async (t) => {
  const refDir = join(dataDir, 'skymaps/reference');
  const eros = join(dataDir, 'lightcurves/eros1/train_varlength_features.csv.gz');
  const ztf = join(dataDir, 'lightcurves/ztf-alerce/periodic_light_curves.csv');
  if (!existsSync(join(refDir, 'scores.tsv')) || !existsSync(eros)) return t.skip(`no real data at ${dataDir}`);
  // The reference inputs as raw float32 files the page can fetch (ten arrays, concatenated).
  const out = join(resultsDir, 'consistency');
  mkdirSync(out, { recursive: true });
  const names = JSON.parse(execFileSync(join(root, '.venv/bin/python'), ['-c', `
import json, sys, glob, os, numpy as np
names = []
for npz in sorted(glob.glob(os.path.join(sys.argv[1], '*.npz'))):
    z = np.load(npz)
    name = os.path.basename(npz)[:-4]
    np.concatenate([z[f'arr_{k}'].astype(np.float32).ravel() for k in range(10)]).tofile(os.path.join(sys.argv[2], name + '.bin'))
    names.append(name)
print(json.dumps(names))`, refDir, out], { encoding: 'utf8' }));
  assert.ok(names.length >= 61, `${names.length} maps`);
  const session = await launch({ webgpu: true });
  try {
    const { page, log } = await openPage(session, '/www/?backend=webgpu');
    await waitReady(page);
    const curves = [readFileSync(eros), readFileSync(ztf)].map((b) => b.toString('base64'));
    const r = await page.evaluate(async ({ names, curves }) => {
      const { createSkysift } = await import('./js/skysift.js');
      const cpu = await createSkysift({ backend: 'cpu' });
      const gpu = window.skysift;
      const sizes = [180 * 360, 1, 262 * 262 * 3, 3, 1, 1, 1, 1, 1, 1];
      let worstScore = 0, worstP = 0, objects = 0;
      for (const name of names) {
        const all = new Float32Array(await (await fetch(`/test-results/consistency/${name}.bin`)).arrayBuffer());
        const arrays = [];
        let at = 0;
        for (const n of sizes) { arrays.push(all.slice(at, at + n)); at += n; }
        const [a, b] = [await gpu.gwskynetScore(arrays), await cpu.gwskynetScore(arrays)];
        worstScore = Math.max(worstScore, Math.abs(a.score - b.score));
      }
      for (const text of curves) {
        const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
        const [fa, fb] = [await gpu.readLightCurves(bytes), await cpu.readLightCurves(bytes)];
        const [pa, pb] = [await gpu.classify(fa.file), await cpu.classify(fb.file)];
        pa.forEach((o, k) => {
          objects += 1;
          for (const [c, p] of Object.entries(o.probabilities)) worstP = Math.max(worstP, Math.abs(p - pb[k].probabilities[c]));
        });
      }
      cpu.terminate();
      return { backend: gpu.backend.backend, worstScore, worstP, objects };
    }, { names, curves });
    assert.equal(r.backend, 'webgpu');
    console.log(`WebGPU vs CPU: GWSkyNet scores on ${names.length} real maps differ by at most ${r.worstScore.toExponential(2)}; class probabilities of ${r.objects} real objects by at most ${r.worstP.toExponential(2)}`);
    assert.ok(r.worstScore <= 1e-4 && r.worstP <= 1e-4);
    assert.ok(r.objects > 1000);
    assert.deepEqual(log.errors, []);
  } finally {
    await session.close();
  }
});
