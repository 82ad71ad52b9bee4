// skysift's ES module API: every call runs in a worker and returns a promise.
//
//   import { createSkysift } from './js/skysift.js';
//   const sky = await createSkysift({ backend: 'auto' });   // 'auto' | 'webgpu' | 'cpu'
//   sky.backend        // { backend, fallback, reason, adapter, requested, version }
//   const { file, curves } = await sky.readLightCurves(bytes, { band: 'g' });
//   const image = await sky.dmdt(file, 0, { grid: 'scope', normalisation: 'max' });
//   const result = await sky.scoreSkyMap(fitsBytes, { onProgress, signal });
//
// A crash inside the worker (a bug) rejects the call with an Error; the next call starts a
// fresh worker, and whatever the page already shows stays.

const workerUrl = new URL('./worker.js', import.meta.url);

export class SkysiftError extends Error {
  constructor(message, { panic = false } = {}) {
    super(message);
    this.name = 'SkysiftError';
    this.panic = panic;
  }
}

export class Skysift {
  #worker = null;
  #pending = new Map();
  #next = 1;
  #requested;
  backend = null;

  constructor(requested) {
    this.#requested = requested;
  }

  /** Starts the worker (`module`: a compiled wasm module to use instead of fetching it). */
  async start({ module } = {}) {
    this.#worker = new Worker(workerUrl, { type: 'module' });
    this.#worker.onmessage = ({ data }) => {
      const waiting = this.#pending.get(data.id);
      if (!waiting) return;
      if ('progress' in data) {
        waiting.onProgress?.(...data.progress);
        return;
      }
      this.#pending.delete(data.id);
      if ('error' in data) {
        if (data.panic) this.#restartLater();
        waiting.reject(new SkysiftError(data.panic ? `internal error (please report it): ${data.error}` : data.error, { panic: data.panic }));
      } else {
        waiting.resolve(data.result);
      }
    };
    this.#worker.onerror = (event) => {
      event.preventDefault?.();
      const message = event.message || 'the skysift worker failed to load';
      for (const { reject } of this.#pending.values()) reject(new SkysiftError(message, { panic: true }));
      this.#pending.clear();
      this.#restartLater();
    };
    this.backend = await this.#call('init', { requested: this.#requested, module });
    return this;
  }

  // Stops the worker; calls still waiting on it are rejected. The next call starts a new one.
  #restartLater(reason = new SkysiftError('the skysift worker was stopped')) {
    this.#worker?.terminate();
    this.#worker = null;
    for (const { reject } of this.#pending.values()) reject(reason);
    this.#pending.clear();
  }

  async #call(method, params = {}, transfer = [], onProgress = null) {
    if (!this.#worker && method !== 'init') await this.start();
    return new Promise((resolve, reject) => {
      const id = this.#next++;
      this.#pending.set(id, { resolve, reject, onProgress });
      this.#worker.postMessage({ id, method, params }, transfer);
    });
  }

  /** Runs a convolution and a matmul on the active backend: { conv, matmul, maxAbsDiff }. */
  selfCheck() {
    return this.#call('selfCheck');
  }

  /** GWSkyNet's { score, far, fnr } from its ten prepared inputs (arrays in the model's order). */
  gwskynetScore(inputs) {
    return this.#call('gwskynetScore', { inputs });
  }

  /** GWSkyNet's scores for `count` maps at once: ten arrays, each holding the maps' values one after the other. */
  gwskynetScoreBatch(inputs, count) {
    return this.#call('gwskynetScoreBatch', { inputs, count });
  }

  /** The classifier's inputs for every object of a read file: { inputs: Float32Array (concatenated), objects }. */
  classifierInputs(file) {
    return this.#call('classifierInputs', { file });
  }

  /** The classifier alone on `count` concatenated inputs: probabilities, 4 per input. */
  classifyInputs(inputs, count) {
    return this.#call('classifyInputs', { inputs, count });
  }

  /** Reads a light-curve file (ArrayBuffer or Uint8Array): { file, curves: [{object, band, time, mag, err, dropped}] }. */
  readLightCurves(bytes, options = {}) {
    const copy = bytes instanceof ArrayBuffer ? bytes.slice(0) : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    return this.#call('readLightCurves', { bytes: copy, options }, [copy]);
  }

  /**
   * Classifies every object of a read light-curve file with the dm–dt CNN:
   * [{ object, bands, n_points, label, probabilities: {class: p}, period (days or null), warnings }].
   */
  classify(file) {
    return this.#call('classify', { file });
  }

  /** The dm–dt image of curve `index` of a read file; request = { grid, normalisation, smear }. */
  dmdt(file, index, request = {}) {
    return this.#call('dmdt', { file, index, request });
  }

  /** Pairs [i0, j0, i1, j1, ...] of curve `index` that fell in pixel (iDt, iDm). */
  pairsInPixel(file, index, grid, iDt, iDm, limit = 10000) {
    return this.#call('pairsInPixel', { file, index, grid, iDt, iDm, limit });
  }

  release(file) {
    return this.#call('release', { file });
  }

  // Runs `work` so that aborting `signal` stops it at once (the worker is replaced) and rejects
  // with the signal's reason.
  async #abortable(signal, work) {
    signal?.throwIfAborted();
    const abort = () => this.#restartLater(signal.reason ?? new DOMException('aborted', 'AbortError'));
    signal?.addEventListener('abort', abort, { once: true });
    try {
      return await work();
    } catch (e) {
      if (signal?.aborted) throw signal.reason ?? new DOMException('aborted', 'AbortError');
      throw e;
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  /**
   * Partition (Owen) SHAP of GWSkyNet's score over the pixels of `image` ('sky' or 'volume'),
   * as shap's PartitionExplainer computes it; absent pixels are zero, or with `masking:
   * 'blur:K'` / 'blur:WxH' the image blurred by that box (shap's "blur(W,H)"). `inputs` are the ten
   * arrays `scoreSkyMap` returns. Resolves to { shape: [rows, columns, channels], values
   * (Float32Array, channels last), base_value, value, evals, max_evals }: the values add up to
   * value − base_value (the score without the image). onProgress(evals, maxEvals).
   */
  explainImage(inputs, image, { masking = 'zeros', maxEvals = 500, batchSize = 10, onProgress = null, signal } = {}) {
    return this.#abortable(signal, () => this.#call('explainImage', { inputs, image, masking, maxEvals, batchSize }, [], onProgress));
  }

  /**
   * Partition SHAP of the classifier's probability for a class (default: the most probable)
   * over the pixels of the dm–dt input of object number `object` of a read light-curve file:
   * as `explainImage`, shape [Δt bins, Δm bins, bands (blue, red)], the period features held
   * as they are; plus `class`, `object` and `parts`: how much the dm–dt image and the period
   * features each moved the probability (exact Shapley values of the two; see skysift.d.ts).
   */
  explainClassification(file, object = 0, { className = null, masking = 'zeros', maxEvals = 500, batchSize = 10, onProgress = null, signal } = {}) {
    return this.#abortable(signal, () => this.#call('explainClassification', { file, object, className, masking, maxEvals, batchSize }, [], onProgress));
  }

  /**
   * Scores a BAYESTAR sky map (FITS bytes, flat or multi-order, gzip or not) with GWSkyNet:
   * { meta, score, far, fnr, sky, volume: [3], explanation, inputs, seconds: {read, sky, volume: [3], volumeWall,
   * model, explain, total} }; `explanation` holds the exact Shapley values of the ten inputs (zero
   * baseline), `inputs` the ten arrays GWSkyNet read (for `explainImage`), `view` a 720 × 360
   * Mollweide view {density, level, area50, area90} (credible levels, areas in deg²).
   * `sky` is the 180 × 360 image and `volume` the three 262 × 262 images GWSkyNet sees (each
   * divided by its peak); with more than one core, up to seven helper workers render bands of
   * the volume images' rows in parallel (`seconds.volume`: each face's rendering time, summed
   * over its bands). onProgress({step, done, total}) is called between steps; aborting
   * `signal` stops the work at once (the worker is replaced) and rejects with an AbortError.
   */
  async scoreSkyMap(bytes, { onProgress = () => {}, signal } = {}) {
    const copy = bytes instanceof ArrayBuffer ? bytes.slice(0) : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const abort = () => {
      const reason = signal.reason ?? new DOMException('aborted', 'AbortError');
      this.#restartLater(reason);
      for (const helper of this.#helpers) helper.#restartLater(reason);
    };
    signal?.throwIfAborted();
    signal?.addEventListener('abort', abort, { once: true });
    const now = () => performance.now() / 1000;
    let file = null;
    try {
      const t0 = now();
      const steps = ['read', 'sky image', 'volume image 1', 'volume image 2', 'volume image 3', 'GWSkyNet'];
      const helpersWanted = volumeHelpersWanted();
      // Helpers not started yet (a first map, unless prepareSkyMaps ran) start now, beside the
      // read and the sky image, not after them (~25 ms; ~150 ms where they fetch the wasm).
      const helpersReady = this.#volumeHelpers(helpersWanted);
      helpersReady.catch(() => {}); // a failed start is reported where it is awaited
      const step = async (k, work) => {
        onProgress({ step: steps[k], done: k, total: steps.length });
        const result = await work();
        signal?.throwIfAborted();
        return result;
      };
      const seconds = { volume: [] };
      let t = now();
      const read = await step(0, () => this.#call('readSkyMap', { bytes: copy }, [copy]));
      file = read.file;
      seconds.read = now() - t;
      if (read.meta.unusable) throw new SkysiftError(read.meta.unusable);
      // Helpers get the map in its compact multi-order form, not the file: a flat map's FITS
      // takes as long to read again as a volume image takes to render.
      const compact = helpersWanted > 0 ? await this.#call('compactSkyMap', { file }) : null;
      t = now();
      const skyImage = await step(1, () => this.#call('prepareSky', { file }));
      seconds.sky = now() - t;
      // The three volume images are independent, and so are their rows: with cores to spare,
      // helper workers render bands of rows while this one renders others, whichever is free
      // taking the next band; each face is put together and normalised here once all its
      // bands are in (the same values as one worker's, exactly).
      const volume = [];
      const tv = now();
      const helpers = await helpersReady;
      const size = 262, bands = helpers.length ? 8 : 1;
      // Bands of rows still to render, per face. A worker plans a face (what its rays may skip,
      // 6–17% of its rendering) with the first band of it it renders and keeps the plan, so
      // each worker keeps to one face while it has bands, then starts the face with most left.
      const queues = [0, 1, 2].map(() => Array.from({ length: bands }, (_, b) => ({ start: Math.floor((b * size) / bands), end: Math.floor(((b + 1) * size) / bands) })));
      const nextTile = (current) => {
        let face = current;
        if (face === null || queues[face].length === 0) {
          face = [0, 1, 2].reduce((best, f) => (queues[f].length > (best === null ? 0 : queues[best].length) ? f : best), null);
        }
        return face === null ? null : { face, ...queues[face].shift() };
      };
      const raw = [0, 1, 2].map(() => new Float64Array(size * size));
      const left = [bands, bands, bands];
      seconds.volume = [0, 0, 0];
      let done = 0;
      const work = async (who) => {
        let helperFile = null;
        try {
          for (let tile = nextTile(null); tile !== null; tile = nextTile(tile.face)) {
            const { face, start, end } = tile;
            if (who !== this && helperFile === null) helperFile = await who.#openForVolumes(compact);
            const t1 = now();
            const rows = await who.#call('renderVolumeRows', { file: who === this ? file : helperFile, face, start, end });
            signal?.throwIfAborted();
            raw[face].set(rows, start * size);
            seconds.volume[face] += now() - t1;
            if (--left[face] === 0) {
              const result = await this.#call('setVolumeRows', { file, face, raw: raw[face] });
              volume[face] = result.image;
              onProgress({ step: `volume image ${face + 1}`, done: 2 + ++done, total: steps.length });
            }
          }
        } finally {
          if (helperFile !== null) who.release(helperFile).catch(() => {});
        }
      };
      onProgress({ step: 'volume images', done: 2, total: steps.length });
      await Promise.all([this, ...helpers].map(work));
      seconds.volumeWall = now() - tv;
      t = now();
      const { score, far, fnr } = await step(5, () => this.#call('scoreSkyMap', { file }));
      seconds.model = now() - t;
      // Why: exact Shapley values of the ten inputs (one batch of twelve model runs).
      t = now();
      const explanation = await this.#call('explainSkyMap', { file });
      signal?.throwIfAborted();
      seconds.explain = now() - t;
      const inputs = await this.#call('skyMapInputs', { file });
      const view = await this.#call('skyView', { file, width: 720, height: 360 });
      seconds.total = now() - t0;
      onProgress({ step: 'done', done: steps.length, total: steps.length });
      return { meta: read.meta, score, far, fnr, sky: skyImage, volume, explanation, inputs, view, seconds };
    } catch (e) {
      if (signal?.aborted) throw signal.reason ?? new DOMException('aborted', 'AbortError');
      throw e;
    } finally {
      signal?.removeEventListener('abort', abort);
      if (file !== null && this.#worker) this.release(file).catch(() => {});
    }
  }

  terminate() {
    this.#restartLater();
    for (const helper of this.#helpers) helper.terminate();
    // Helpers still starting are stopped once started.
    this.#helpersStarting?.then(() => { for (const helper of this.#helpers) helper.terminate(); }).catch(() => {});
  }

  /**
   * Starts the helper workers that render a sky map's volume images (with cores to spare), so
   * that the first map does not wait for them (~25 ms; ~150 ms where the compiled wasm cannot be
   * passed to them and they fetch it): call it when a sky map is likely to come, e.g. a file
   * dragged over the page. Resolves when they are ready; calling it again, or scoring a map
   * meanwhile, starts no more.
   */
  async prepareSkyMaps() {
    await this.#volumeHelpers(volumeHelpersWanted());
  }

  // Extra workers (CPU backend) that render volume images; started on first use (or by
  // prepareSkyMaps), together, and kept. A call while they start waits for the same start.
  #helpers = [];
  #helpersStarting = null;
  async #volumeHelpers(n) {
    while (this.#helpers.length < n) {
      // Helpers get this worker's compiled wasm: they start in ~25 ms instead of ~150 ms
      // (chromium, 2 cores), and a first map in a fresh page takes about as long as the next.
      this.#helpersStarting ??= this.#call('wasmModule')
        .catch(() => null)
        .then((module) => Promise.all(Array.from({ length: n - this.#helpers.length }, () => startHelper(module))))
        .then((started) => { this.#helpers.push(...started); })
        .finally(() => { this.#helpersStarting = null; });
      await this.#helpersStarting;
    }
    return this.#helpers.slice(0, Math.max(0, n));
  }

  // In a helper: reads the map (compact form), ready to render volume rows; the caller
  // releases the file.
  async #openForVolumes(compact) {
    const { file } = await this.#call('readCompactSkyMap', { bytes: compact });
    try {
      await this.#call('prepareSky', { file });
    } catch (e) {
      this.release(file).catch(() => {});
      throw e;
    }
    return file;
  }
}

/**
 * A sky map (FITS) rather than a light curve? By the name (.fits, .fit, .fts, gzipped or not:
 * a damaged one then gets the sky-map reader's message), else by the bytes, inside gzip too.
 */
export async function isSkyMap(bytes, name = '') {
  if (/\.(fits?|fts)(\.gz)?$/i.test(name)) return true;
  const head = new Uint8Array(bytes, 0, Math.min(bytes.byteLength, 6));
  const text = (b) => String.fromCharCode(...b);
  if (text(head) === 'SIMPLE') return true;
  if (head[0] !== 0x1f || head[1] !== 0x8b) return false;
  try {
    const reader = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip')).getReader();
    const { value } = await reader.read();
    reader.cancel().catch(() => {});
    return value !== undefined && text(value.slice(0, 6)) === 'SIMPLE';
  } catch {
    return false;
  }
}

/**
 * A helper worker on the CPU backend, from `module` (a compiled wasm module) where it can be
 * passed to it, else fetching the wasm itself.
 */
async function startHelper(module) {
  const helper = new Skysift('cpu');
  try {
    return await helper.start({ module });
  } catch (e) {
    if (!module) throw e;
    helper.terminate();
    return new Skysift('cpu').start();
  }
}

/**
 * Helper workers for volume images: one per spare core, at most `MAX_VOLUME_HELPERS` (with this
 * worker, eight render the 24 bands of rows). Each holds its own wasm instance and the map in
 * compact form: 18–26 MB more each (chromium's memory after scoring a map, two helpers against
 * seven: S190718y's NSIDE-1024 map +73 / +201 MB, S190425z's multi-order map +161 / +252 MB).
 */
const MAX_VOLUME_HELPERS = 7;
export function volumeHelpersWanted() {
  return Math.min(MAX_VOLUME_HELPERS, (navigator.hardwareConcurrency || 1) - 1);
}

export async function createSkysift({ backend = 'auto' } = {}) {
  return new Skysift(backend).start();
}
