// The compute worker: owns the wasm module, so long work never blocks the page. Feature
// detection of WebGPU happens here (navigator.gpu exists in dedicated workers too).
import init, { Engine, LightCurves, SkyMapFile, classes, version } from '../../pkg/skysift.js';

// The wasm is compiled here and kept: helper workers get the compiled module from this one
// (`wasmModule`) instead of fetching and compiling its 32 MB again: they start in ~25 ms instead of
// ~150 ms (chromium) and share its compiled code.
const wasmUrl = new URL('../../pkg/skysift_bg.wasm', import.meta.url);
let compiled = null;
let ready = null;

// The smallest module using a SIMD instruction (i8x16.splat): its validation tells whether this
// browser has WebAssembly SIMD, which skysift's wasm is built with (.cargo/config.toml).
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 8, 1, 6, 0, 65, 0, 253, 15, 11]);

async function load(module) {
  if (!WebAssembly.validate(SIMD_PROBE)) {
    throw new Error('this browser has no WebAssembly SIMD, which skysift needs (Chrome or Edge 91, Firefox 89, Safari 16.4 or later)');
  }
  if (module instanceof WebAssembly.Module) {
    try {
      await init({ module_or_path: module });
      compiled = module;
      return;
    } catch {
      // A module that cannot be used here: compile our own.
    }
  }
  try {
    compiled = await WebAssembly.compileStreaming(fetch(wasmUrl));
  } catch {
    // Served without the application/wasm type, say.
    compiled = await WebAssembly.compile(await (await fetch(wasmUrl)).arrayBuffer());
  }
  await init({ module_or_path: compiled });
}
let engine = null;
let backendInfo = null;
const files = new Map();
let nextFile = 1;

// WebGPU usable? Returns the adapter's description, or the reason it is not.
async function detectWebGpu() {
  if (!('gpu' in navigator) || !navigator.gpu) {
    return { ok: false, reason: 'this browser has no WebGPU (navigator.gpu is missing)' };
  }
  let adapter = null;
  try {
    adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { ok: false, reason: `WebGPU adapter request failed: ${e.message ?? e}` };
  }
  if (!adapter) return { ok: false, reason: 'WebGPU is present but offers no adapter' };
  const info = adapter.info ?? {};
  return {
    ok: true,
    adapter: {
      vendor: info.vendor ?? '',
      architecture: info.architecture ?? '',
      device: info.device ?? '',
      description: info.description ?? '',
      isFallbackAdapter: Boolean(adapter.isFallbackAdapter ?? info.isFallbackAdapter),
    },
  };
}

const methods = {
  // The compiled wasm module, for a helper worker's `init`.
  wasmModule() {
    return compiled;
  },

  // requested: 'auto' | 'webgpu' | 'cpu'
  async init({ requested = 'auto' }) {
    const info = { requested, backend: 'cpu', fallback: false, reason: '', adapter: null, version: version() };
    if (requested === 'cpu') {
      info.reason = 'CPU backend requested';
    } else {
      const gpu = await detectWebGpu();
      if (gpu.ok) {
        try {
          engine?.free();
          engine = await Engine.create('webgpu');
          Object.assign(info, { backend: 'webgpu', adapter: gpu.adapter, reason: 'WebGPU adapter found' });
        } catch (e) {
          Object.assign(info, { fallback: true, adapter: gpu.adapter, reason: `WebGPU failed to start: ${e.message ?? e}` });
        }
      } else {
        Object.assign(info, { fallback: true, reason: gpu.reason });
      }
    }
    if (info.backend === 'cpu') {
      engine?.free();
      engine = await Engine.create('cpu');
    }
    backendInfo = info;
    return info;
  },
  backendInfo() {
    return backendInfo;
  },
  async selfCheck() {
    return await requireEngine().selfCheck();
  },
  async gwskynetScore({ inputs }) {
    return await requireEngine().gwskynetScore(inputs.map((a) => new Float32Array(a)));
  },
  // For programs and the benchmarks: many maps at once (each input array holds `count` maps).
  async gwskynetScoreBatch({ inputs, count }) {
    return Array.from(await requireEngine().gwskynetScoreBatch(inputs.map((a) => new Float32Array(a)), count));
  },
  // The classifier alone, on inputs made by `classifierInputs` (concatenated).
  classifierInputs({ file }) {
    return requireFile(file).classifierInputs();
  },
  async classifyInputs({ inputs, count }) {
    return Array.from(await requireEngine().classify(new Float32Array(inputs), count));
  },
  readLightCurves({ bytes, options }) {
    const set = LightCurves.read(new Uint8Array(bytes), options ?? {});
    const id = keep(set);
    const curves = [];
    for (let i = 0; i < set.length; i++) curves.push(set.get(i));
    return { file: id, curves };
  },
  // Class probabilities for every object of a read light-curve file.
  async classify({ file }) {
    const { inputs, objects } = requireFile(file).classifierInputs();
    const p = await requireEngine().classify(inputs, objects.length);
    const names = classes();
    return objects.map((o, k) => {
      const probabilities = Object.fromEntries(names.map((c, j) => [c, p[4 * k + j]]));
      const best = names.reduce((b, c) => (probabilities[c] > probabilities[b] ? c : b), names[0]);
      const label = o.uncertain ? 'uncertain' : best;
      return { ...o, label, probabilities };
    });
  },
  dmdt({ file, index, request }) {
    return requireFile(file).dmdt(index, request ?? {});
  },
  pairsInPixel({ file, index, grid, iDt, iDm, limit = 10000 }) {
    return Array.from(requireFile(file).pairsInPixel(index, grid ?? 'mahabal2017', iDt, iDm, limit));
  },
  // Sky maps: read once, then prepared step by step (the page shows progress between steps).
  readSkyMap({ bytes }) {
    const map = SkyMapFile.read(new Uint8Array(bytes));
    return { file: keep(map), meta: map.meta() };
  },
  // The map in a compact form for helper workers, and read back from it there.
  compactSkyMap({ file }) {
    return requireFile(file).compact();
  },
  readCompactSkyMap({ bytes }) {
    return { file: keep(SkyMapFile.fromCompact(new Uint8Array(bytes))) };
  },
  prepareSky({ file }) {
    return requireFile(file).prepareSky();
  },
  // A volume image in pieces (rows start..end), rendered in whichever workers are free.
  renderVolumeRows({ file, face, start, end }) {
    return requireFile(file).renderVolumeRows(face, start, end);
  },
  setVolumeRows({ file, face, raw }) {
    return requireFile(file).setVolumeRows(face, raw);
  },
  async scoreSkyMap({ file }) {
    return await requireEngine().gwskynetScore(requireFile(file).inputs());
  },
  async explainSkyMap({ file }) {
    return await requireEngine().gwskynetShapley(requireFile(file).inputs());
  },
  skyView({ file, width = 720, height = 360 }) {
    return requireFile(file).skyView(width, height);
  },
  skyMapInputs({ file }) {
    return requireFile(file).inputs();
  },
  // Partition (Owen) attributions of the score to the pixels of the sky or volume images.
  async explainImage({ inputs, image, masking = 'zeros', maxEvals = 500, batchSize = 10 }, progress) {
    const arrays = inputs.map((a) => new Float32Array(a));
    return await requireEngine().gwskynetImageAttribution(arrays, image, masking, maxEvals, batchSize, progress);
  },
  // Partition attributions of one class's probability to the pixels of object `object`'s
  // dm–dt input (the default class: the most probable one).
  async explainClassification({ file, object = 0, className = null, masking = 'zeros', maxEvals = 500, batchSize = 10 }, progress) {
    const { inputs, objects } = requireFile(file).classifierInputs();
    if (object < 0 || object >= objects.length) throw new Error(`object ${object} does not exist (the file has ${objects.length})`);
    const size = inputs.length / objects.length;
    const input = inputs.slice(object * size, (object + 1) * size);
    const names = classes();
    let index;
    if (className === null) {
      const p = await requireEngine().classify(input, 1);
      index = p.indexOf(Math.max(...p));
    } else {
      index = names.indexOf(className);
      if (index < 0) throw new Error(`no class '${className}': the classes are ${names.join(', ')}`);
    }
    const attribution = await requireEngine().dmdtAttribution(input, index, masking, maxEvals, batchSize, progress);
    const parts = await requireEngine().dmdtParts(input, index, masking);
    return { ...attribution, parts, class: names[index], object: objects[object].object ?? null };
  },
  release({ file }) {
    files.get(file)?.free();
    files.delete(file);
    return true;
  },
};

function requireEngine() {
  if (!engine) throw new Error('the backend is not started yet');
  return engine;
}

/** Keeps a file read in this worker; its id for later calls. */
function keep(file) {
  const id = nextFile++;
  files.set(id, file);
  return id;
}

function requireFile(id) {
  const set = files.get(id);
  if (!set) throw new Error(`file ${id} is not loaded (it may have been released)`);
  return set;
}

self.onmessage = async ({ data: { id, method, params } }) => {
  try {
    ready ??= load(method === 'init' ? params?.module : undefined);
    await ready;
    const fn = methods[method];
    if (!fn) throw new Error(`unknown method ${method}`);
    const progress = (done, total) => self.postMessage({ id, progress: [done, total] });
    const result = await fn(params ?? {}, progress);
    self.postMessage({ id, result });
  } catch (e) {
    // A wasm RuntimeError is a panic (a bug): the page restarts this worker.
    const panic = e instanceof WebAssembly.RuntimeError;
    self.postMessage({ id, error: String(e?.message ?? e), panic });
  }
};
