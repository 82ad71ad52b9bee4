// The page's own wasm (pkg/) on WebGPU without a browser: Node with Dawn (npm `webgpu`, the
// WebGPU implementation Chrome ships) gives it navigator.gpu. For a machine with a GPU and no
// browser (a lent GPU machine): the wasm's WebGPU path on a real GPU, beside its CPU path, in one
// run. Not a test and not the page: one thread, no workers, no DOM.
// Usage: node bench/wasm_gpu_node.mjs LIGHTCURVE MAP...   (needs `npm install --no-save webgpu`)
// Prints one JSON line per measurement, and the adapter Dawn found.
import { readFileSync } from 'node:fs';

const [curvePath, ...maps] = process.argv.slice(2);
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median_s: s[Math.floor(s.length / 2)], min_s: s[0], max_s: s[s.length - 1], reps: s.length };
};
const timed = async (reps, work) => {
  let last;
  const seconds = [];
  for (let k = 0; k < reps; k++) {
    const t = performance.now();
    last = await work();
    seconds.push((performance.now() - t) / 1000);
  }
  return { ...stats(seconds), last };
};

// wgpu looks for navigator.gpu on a Window or a WorkerGlobalScope; Node has neither.
let adapter = null;
try {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create([]);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  globalThis.Window = class Window {};
  const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  adapter = a ? { vendor: a.info?.vendor, architecture: a.info?.architecture, device: a.info?.device, description: a.info?.description } : null;
} catch (e) {
  adapter = { error: String(e.message || e) };
}
console.log(JSON.stringify({ adapter, node: process.version }));

const wasm = await import('../pkg/skysift.js');
wasm.initSync({ module: readFileSync(new URL('../pkg/skysift_bg.wasm', import.meta.url)) });
const noProgress = () => {};

// The light curve's classifier input, made once (CPU).
const curves = wasm.LightCurves.read(readFileSync(curvePath), undefined);
const { inputs: flat, objects } = curves.classifierInputs();
const size = flat.length / objects.length;
const objectInput = (k) => flat.subarray(k * size, (k + 1) * size);

// Each map's ten inputs, made once (CPU work, the same for both backends).
const prepared = [];
for (const path of maps) {
  const t = performance.now();
  const file = wasm.SkyMapFile.read(readFileSync(path));
  file.prepareSky();
  for (const face of [0, 1, 2]) file.prepareVolume(face);
  prepared.push({ path, inputs: file.inputs(), seconds: (performance.now() - t) / 1000 });
  console.log(JSON.stringify({ file: path, what: 'ten inputs (CPU, one thread)', median_s: prepared.at(-1).seconds, reps: 1 }));
}

const results = {};
for (const backend of adapter && !adapter.error ? ['cpu', 'webgpu'] : ['cpu']) {
  const engine = await wasm.Engine.create(backend);
  const check = await engine.selfCheck();
  console.log(JSON.stringify({ backend, self_check_max_abs_diff: check.maxAbsDiff }));
  const out = (what, r, extra = {}) => console.log(JSON.stringify({ backend, what, ...extra, median_s: r.median_s, min_s: r.min_s, max_s: r.max_s, reps: r.reps }));
  // The classifier, batch 1 and 256 (ZTF inputs repeated), after a warm-up.
  for (const batch of [1, 256]) {
    const input = new Float32Array(size * batch);
    for (let k = 0; k < batch; k++) input.set(objectInput(k % objects.length), k * size);
    await engine.classify(input, batch);
    const r = await timed(batch === 1 ? 9 : 5, () => engine.classify(input, batch));
    out(`dm-dt classifier, batch ${batch}`, r);
    results[`${backend}:classify${batch}`] = Array.from(r.last.slice(0, 4 * Math.min(batch, objects.length)));
  }
  const dmdt = await timed(3, () => engine.dmdtAttribution(objectInput(0), 0, 'zeros', 500, 10, noProgress));
  out('dm-dt partition SHAP, 500 evaluations', dmdt);
  for (const { path, inputs } of prepared) {
    await engine.gwskynetScore(inputs);
    const score = await timed(9, () => engine.gwskynetScore(inputs));
    out('GWSkyNet score', score, { file: path, score: score.last.score });
    results[`${backend}:${path}:score`] = score.last.score;
    const shapley = await timed(5, () => engine.gwskynetShapley(inputs));
    out('exact ten-input Shapley', shapley, { file: path });
    results[`${backend}:${path}:phi`] = Array.from(shapley.last.phi);
    const sky = await timed(3, () => engine.gwskynetImageAttribution(inputs, 'sky', 'zeros', 500, 10, noProgress));
    out('sky-image partition SHAP, 500 evaluations', sky, { file: path, evals: sky.last.evals });
    results[`${backend}:${path}:sky`] = Array.from(sky.last.values);
  }
  engine.free();
}

// The two backends agree?
if (results['webgpu:classify1']) {
  const diff = (a, b) => Math.max(...a.map((x, i) => Math.abs(x - b[i])));
  const agree = { classifier: Math.max(diff(results['cpu:classify1'], results['webgpu:classify1']), diff(results['cpu:classify256'], results['webgpu:classify256'])) };
  for (const { path } of prepared) {
    agree[`${path} score`] = Math.abs(results[`cpu:${path}:score`] - results[`webgpu:${path}:score`]);
    agree[`${path} shapley`] = diff(results[`cpu:${path}:phi`], results[`webgpu:${path}:phi`]);
    agree[`${path} sky partition`] = diff(results[`cpu:${path}:sky`], results[`webgpu:${path}:sky`]);
  }
  console.log(JSON.stringify({ largest_differences_webgpu_vs_cpu: agree }));
}
process.exit(0);
