// GWSkyNet alone in headless chromium, batch 1: skysift (burn wasm, CPU and WebGPU backends,
// through the page's worker API) and onnxruntime-web (npm, its wasm and WebGPU execution
// providers) on the same ONNX file and the same made-up inputs. Prints one JSON line per tool.
// Then the dm–dt classifier alone, batch 1 and 256 (light curves of LIGHTCURVES repeated).
// Usage: node bench/wasm_model.mjs DIR LIGHTCURVES  (DIR under the repository, holding gwskynet.onnx,
// input_K.bin (one map) and input_K.64.bin (64 maps), written by bench/gwskynet_model.py)
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { launch, openPage, root, waitReady } from '../tests/browser/helpers.mjs';

const dir = '/' + relative(root, resolve(process.argv[2]));
const curves = readFileSync(process.argv[3], 'utf8');
const REPS = 9;
for (const webgpu of [false, true]) {
  const session = await launch({ webgpu });
  try {
    const { page } = await openPage(session, `/www/?backend=${webgpu ? 'webgpu' : 'cpu'}`);
    await waitReady(page);
    // A first visit (fresh profile, nothing cached): navigation to the example's probabilities
    // on screen, wasm download (from 127.0.0.1) and compilation included.
    const first = await page.evaluate(() => performance.getEntriesByName('first-prediction')[0]?.startTime ?? null);
    console.log(JSON.stringify({ webgpu_flag: webgpu, tool: 'page: load to first prediction', seconds: first / 1000 }));
    const rows = await page.evaluate(async ({ dir, webgpu, REPS, curves }) => {
      const sizes = [180 * 360, 1, 262 * 262 * 3, 3, 1, 1, 1, 1, 1, 1];
      const shapes = [[1, 180, 360, 1], [1, 1], [1, 262, 262, 3], [1, 3], [1, 1], [1, 1], [1, 1], [1, 1], [1, 1], [1, 1]];
      const names = ['input_1', 'input_10', 'input_2', 'input_3', 'input_4', 'input_5', 'input_6', 'input_7', 'input_8', 'input_9'];
      const arrays = [];
      for (const [k, name] of names.entries()) {
        const a = new Float32Array(await (await fetch(`${dir}/${name}.bin`)).arrayBuffer());
        if (a.length !== sizes[k]) throw new Error(`${name}: ${a.length} values`);
        arrays.push(a);
      }
      const time = async (f, reps = REPS) => {
        await f(); // warm-up: loads the model, compiles shaders
        const s = [];
        let out;
        for (let k = 0; k < reps; k++) { const t = performance.now(); out = await f(); s.push((performance.now() - t) / 1000); }
        s.sort((a, b) => a - b);
        return { median_s: s[Math.floor(s.length / 2)], min_s: s[0], max_s: s[s.length - 1], reps, score: out };
      };
      const arrays64 = [];
      for (const name of names) arrays64.push(new Float32Array(await (await fetch(`${dir}/${name}.64.bin`)).arrayBuffer()));
      const out = [];
      const sky = window.skysift;
      out.push({ batch: 1, tool: `skysift burn wasm (${sky.backend.backend})`, ...(await time(async () => (await sky.gwskynetScore(arrays)).score)) });
      // Batch 64 on SwiftShader takes about a minute a run: one run there.
      out.push({ batch: 64, tool: `skysift burn wasm (${sky.backend.backend})`, ...(await time(async () => (await sky.gwskynetScoreBatch(arrays64, 64))[0], webgpu ? 1 : 3)) });
      const ort = await import('/node_modules/onnxruntime-web/dist/ort.all.min.mjs');
      ort.env.wasm.numThreads = 1; // threads need a cross-origin-isolated page, which static hosting rarely gives
      ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';
      const ep = webgpu ? 'webgpu' : 'wasm';
      try {
        const session = await ort.InferenceSession.create(`${dir}/gwskynet.onnx`, { executionProviders: [ep] });
        const feeds = Object.fromEntries(names.map((n, k) => [n, new ort.Tensor('float32', arrays[k], shapes[k])]));
        const tool = `onnxruntime-web ${ort.env.versions?.web ?? ''} (${ep})`;
        out.push({ batch: 1, tool, ...(await time(async () => (await session.run(feeds))[session.outputNames[0]].data[0])) });
        const feeds64 = Object.fromEntries(names.map((n, k) => [n, new ort.Tensor('float32', arrays64[k], [64, ...shapes[k].slice(1)])]));
        out.push({ batch: 64, tool, ...(await time(async () => (await session.run(feeds64))[session.outputNames[0]].data[0], 3)) });
      } catch (e) {
        out.push({ batch: 1, tool: `onnxruntime-web (${ep})`, error: String(e.message ?? e).slice(0, 200) });
      }
      // The dm–dt classifier alone (its inputs made beforehand), batch 1 and 256.
      const { file } = await sky.readLightCurves(new TextEncoder().encode(curves));
      const { inputs, objects } = await sky.classifierInputs(file);
      const size = inputs.length / objects.length;
      const tiled = new Float32Array(256 * size);
      for (let k = 0; k < 256; k++) tiled.set(inputs.subarray((k % objects.length) * size, (k % objects.length + 1) * size), k * size);
      for (const batch of [1, 256]) {
        out.push({ model: 'classifier', batch, tool: `skysift burn wasm (${sky.backend.backend})`,
          ...(await time(async () => (await sky.classifyInputs(tiled.slice(0, batch * size), batch))[0], webgpu && batch > 1 ? 3 : REPS)) });
      }
      return out;
    }, { dir, webgpu, REPS, curves });
    for (const r of rows) console.log(JSON.stringify({ webgpu_flag: webgpu, ...r }));
  } finally {
    await session.close();
  }
}
