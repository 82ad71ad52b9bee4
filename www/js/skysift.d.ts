// TypeScript types for skysift's ES-module API (www/js/skysift.js) and its custom element
// (www/js/element.js). Every call runs in a worker and returns a promise.

export type BackendName = 'auto' | 'webgpu' | 'cpu';

export interface BackendInfo {
  requested: BackendName;
  backend: 'webgpu' | 'cpu';
  /** True when WebGPU was wanted but the CPU runs; `reason` says why. */
  fallback: boolean;
  reason: string;
  adapter: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter: boolean } | null;
  version: string;
}

export interface LightCurve {
  object: string | null;
  band: string | null;
  time: number[];
  mag: number[];
  err: number[] | null;
  /** Rows dropped by cleaning (missing or non-finite values). */
  dropped: number;
}

export interface ReadOptions {
  time?: string;
  mag?: string;
  err?: string;
  band_column?: string;
  object_column?: string;
  /** Keep only this band. */
  band?: string;
}

export type GridName = 'mahabal2017' | 'scope';

export interface DmdtRequest {
  grid?: GridName | { dt: AxisSpec; dm: AxisSpec };
  normalisation?: 'counts' | 'pairs255' | 'dt' | 'max' | 'l2';
  smear?: boolean;
}

export type AxisSpec =
  | { kind: 'edges'; edges: number[] }
  | { kind: 'linear'; start: number; end: number; bins: number }
  | { kind: 'log'; start: number; end: number; bins: number };

export interface DmdtRecord {
  object: string | null;
  band: string | null;
  grid: string;
  dt_edges: number[];
  dm_edges: number[];
  /** Pair counts, an array over Δt bins of arrays over Δm bins. */
  counts: number[][];
  normalisation: string;
  image: number[][];
  n_points: number;
  n_pairs: number;
  n_in_grid: number;
  dropped: number;
}

/** How much each part of the classifier's input moved P(class): exact Shapley values of two
 * players, against an average training star with an empty dm–dt image (`base_value`);
 * `image + features = value − base_value`. */
export interface InputParts {
  base_value: number;
  value: number;
  /** The dm–dt image. */
  image: number;
  /** The period features and the folded light curve. */
  features: number;
}

export type ClassName = 'eclipsing binary' | 'Cepheid' | 'RR Lyrae' | 'Mira/LPV';

export interface Classification {
  object: string | null;
  bands: string[];
  n_points: number;
  /** The most probable class, or 'uncertain' with too few points. */
  label: ClassName | 'uncertain';
  probabilities: Record<ClassName, number>;
  /** The periodogram's best period in days (null when none was found); the model reads it. */
  period: number | null;
  warnings: string[];
  uncertain: boolean;
}

export interface ShapleyValues {
  names: string[];
  value: number;
  logit: number;
  base_value: number;
  base_logit: number;
  /** φ on the score: they add up to value − base_value. */
  phi: number[];
  phi_logit: number[];
  additivity_error: number;
}

export interface SkyMapMeta {
  creator: string | null;
  object: string | null;
  date_obs: string | null;
  instruments: string[];
  distmean: number | null;
  diststd: number | null;
  log_bci: number | null;
  log_bsn: number | null;
  ordering: string;
  nside: number | null;
  pixels: number;
  /** Why GWSkyNet cannot score the map, or null. */
  unusable: string | null;
}

export interface SkyMapResult {
  meta: SkyMapMeta;
  score: number;
  far: number;
  fnr: number;
  /** 180 × 360 sky image, row-major, divided by its peak. */
  sky: Float32Array;
  /** Three 262 × 262 volume images. */
  volume: Float32Array[];
  explanation: ShapleyValues;
  /** GWSkyNet's ten inputs, in the model's order (for `explainImage`). */
  inputs: Float32Array[];
  /** 720 × 360 Mollweide view (row 0 north, RA 180° in the middle, growing to the left): density and
   * credible level per cell (NaN outside the ellipse); 50% and 90% credible areas in deg². */
  view: { density: Float32Array; level: Float32Array; area50: number; area90: number };
  seconds: { read: number; sky: number; volume: number[]; volumeWall: number; model: number; explain: number; total: number };
}

export interface Attribution {
  /** [rows, columns, channels]. */
  shape: [number, number, number];
  /** One value per pixel, channels last: they add up to value − base_value. */
  values: Float32Array;
  base_value: number;
  value: number;
  evals: number;
  max_evals: number;
}

export interface ExplainOptions {
  /** What stands in for left-out pixels: 'zeros' (default), 'blur:K' or 'blur:WxH' (a box blur, as shap's "blur(W,H)"). */
  masking?: 'zeros' | `blur:${number}` | `blur:${number}x${number}`;
  /** Model evaluations to spend (shap's max_evals; default 500). */
  maxEvals?: number;
  /** Masked images per model call (default 10, shap's). */
  batchSize?: number;
  onProgress?: (evals: number, maxEvals: number) => void;
  signal?: AbortSignal;
}

export class SkysiftError extends Error {
  /** True for an internal error (a bug): the worker was restarted. */
  panic: boolean;
}

export class Skysift {
  backend: BackendInfo;
  selfCheck(): Promise<{ conv: number[]; matmul: number[]; maxAbsDiff: number }>;
  gwskynetScore(inputs: ArrayLike<number>[]): Promise<{ score: number; far: number; fnr: number }>;
  gwskynetScoreBatch(inputs: ArrayLike<number>[], count: number): Promise<number[]>;
  classifierInputs(file: number): Promise<{ inputs: Float32Array; objects: Omit<Classification, 'label' | 'probabilities'>[] }>;
  classifyInputs(inputs: Float32Array, count: number): Promise<number[]>;
  readLightCurves(bytes: ArrayBuffer | Uint8Array, options?: ReadOptions): Promise<{ file: number; curves: LightCurve[] }>;
  classify(file: number): Promise<Classification[]>;
  dmdt(file: number, index: number, request?: DmdtRequest): Promise<DmdtRecord>;
  pairsInPixel(file: number, index: number, grid: GridName | null, iDt: number, iDm: number, limit?: number): Promise<number[]>;
  release(file: number): Promise<boolean>;
  scoreSkyMap(bytes: ArrayBuffer | Uint8Array, options?: { onProgress?: (p: { step: string; done: number; total: number }) => void; signal?: AbortSignal }): Promise<SkyMapResult>;
  /** Starts the workers that help render a sky map's volume images, before the first map comes. */
  prepareSkyMaps(): Promise<void>;
  explainImage(inputs: Float32Array[], image: 'sky' | 'volume', options?: ExplainOptions): Promise<Attribution>;
  explainClassification(file: number, object?: number, options?: ExplainOptions & { className?: ClassName | null }): Promise<Attribution & { class: ClassName; object: string | null; parts: InputParts }>;
  terminate(): void;
}

export function createSkysift(options?: { backend?: BackendName }): Promise<Skysift>;

/** A sky map (FITS, by name or bytes, also inside gzip) rather than a light curve? */
export function isSkyMap(bytes: ArrayBuffer, name?: string): Promise<boolean>;

/** What `<skysift-classifier>` and the iframe's postMessage protocol give back. */
export type AnalysisResult =
  | { kind: 'lightcurve'; name: string; objects: Classification[] }
  | { kind: 'skymap'; name: string; score: number; far: number; fnr: number; verdict: 'astrophysical' | 'noise'; meta: SkyMapMeta; explanation: ShapleyValues };

export declare class SkysiftClassifier extends HTMLElement {
  readonly result: AnalysisResult | null;
  load(bytes: ArrayBuffer, name?: string): Promise<AnalysisResult>;
}

declare global {
  interface HTMLElementTagNameMap {
    'skysift-classifier': SkysiftClassifier;
  }
}
