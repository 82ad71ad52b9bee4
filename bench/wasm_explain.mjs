// Times explanations in headless chromium through the page's own API (the worker), on the CPU
// and WebGPU backends: the exact ten-input Shapley values and 500-evaluation partition SHAP
// over the sky image of each map, and partition SHAP over the dm–dt image of a light curve.
// Prints one JSON line per measurement. Usage: node bench/wasm_explain.mjs LIGHTCURVE MAP...
import { readFileSync } from 'node:fs';
import { launch, openPage, waitReady } from '../tests/browser/helpers.mjs';

const [curve, ...maps] = process.argv.slice(2);
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median_s: s[Math.floor(s.length / 2)], min_s: s[0], max_s: s[s.length - 1], reps: s.length };
};
for (const backend of ['cpu', 'webgpu']) {
  const session = await launch({ webgpu: backend === 'webgpu' });
  try {
    const { page } = await openPage(session, `/www/?backend=${backend}`);
    await waitReady(page);
    const text = readFileSync(curve, 'utf8');
    const lc = await page.evaluate(async ({ text, backend }) => {
      const { createSkysift } = await import('./js/skysift.js');
      const sky = await createSkysift({ backend });
      const { file } = await sky.readLightCurves(new TextEncoder().encode(text));
      const seconds = [];
      let evals = 0;
      for (let k = 0; k < 6; k++) {
        const t = performance.now();
        evals = (await sky.explainClassification(file, 0)).evals;
        if (k > 0) seconds.push((performance.now() - t) / 1000); // the first run also loads the model
      }
      sky.terminate();
      return { backend: sky.backend.backend, seconds, evals };
    }, { text, backend });
    console.log(JSON.stringify({ file: curve, what: 'dm–dt partition', backend: lc.backend, evals: lc.evals, ...stats(lc.seconds) }));
    for (const file of maps) {
      const bytes = [...readFileSync(file)];
      const r = await page.evaluate(async ({ bytes, backend, runs }) => {
        const { createSkysift } = await import('./js/skysift.js');
        const sky = await createSkysift({ backend });
        const data = new Uint8Array(bytes);
        const exact = [];
        let result;
        for (let k = 0; k < 3; k++) {
          result = await sky.scoreSkyMap(data);
          if (k > 0) exact.push(result.seconds.explain);
        }
        const partition = [];
        let evals = 0;
        // SwiftShader takes a minute and a half for this: one run there, on the first map only
        // (its figure says nothing of a GPU; bench/gpu-results.md has a real GPU's).
        for (let k = 0; k < runs; k++) {
          const t = performance.now();
          evals = (await sky.explainImage(result.inputs, 'sky', { maxEvals: 500 })).evals;
          partition.push((performance.now() - t) / 1000);
        }
        sky.terminate();
        return { backend: sky.backend.backend, exact, partition, evals };
      }, { bytes, backend, runs: backend === 'cpu' ? 3 : file === maps[0] ? 1 : 0 });
      console.log(JSON.stringify({ file, what: 'exact Shapley', backend: r.backend, evals: 12, ...stats(r.exact) }));
      if (r.partition.length) console.log(JSON.stringify({ file, what: 'sky partition', backend: r.backend, evals: r.evals, ...stats(r.partition) }));
    }
  } finally {
    await session.close();
  }
}
