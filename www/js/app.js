// The page: loads files, asks the worker for results, draws them. Text from files is only
// ever set with textContent, never as HTML.
import { createSkysift, isSkyMap } from './skysift.js';
import { barItems, signed } from './bars.js';
import { bandColours, drawLightCurve, drawDmdt, drawImage, drawMollweide, dmdtPixelAt, extent, fmt } from './plots.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const requested = ['cpu', 'webgpu'].includes(params.get('backend')) ? params.get('backend') : 'auto';

const state = { file: null, curves: [], index: 0, record: null, highlight: null };
let sky = null;

function showMessage(text) {
  const box = $('message');
  box.textContent = text;
  box.hidden = !text;
}

function describeBackend(info) {
  const badge = $('backend');
  badge.className = `backend ${info.backend}${info.fallback ? ' fallback' : ''}`;
  badge.textContent = info.backend === 'webgpu' ? 'WebGPU' : info.fallback ? 'CPU (fallback)' : 'CPU';
  const adapter = info.adapter
    ? ` Adapter: ${[info.adapter.vendor, info.adapter.architecture, info.adapter.device, info.adapter.description].filter(Boolean).join(' / ') || 'no details given'}${info.adapter.isFallbackAdapter ? ' (a software fallback adapter)' : ''}.`
    : '';
  $('backend-detail').textContent = `Running on the ${info.backend === 'webgpu' ? 'WebGPU' : 'CPU'} backend (asked for: ${info.requested}). ${info.reason}.${adapter}`;
  $('version').textContent = info.version;
  document.body.dataset.backend = info.backend;
  document.body.dataset.fallback = String(info.fallback);
}

async function loadBytes(bytes, name) {
  if (await isSkyMap(bytes, name)) return loadSkyMap(bytes, name);
  return loadLightCurve(bytes, name);
}

let skyMapRun = null;

// The session's results table: one row per classified object or scored sky map, or per error.
const results = [];

function addResults(rows) {
  results.push(...rows);
  renderResults();
}

function renderResults() {
  $('results').hidden = results.length === 0;
  const num = (v, digits) => (typeof v === 'number' ? v.toFixed(digits) : '');
  $('results-table').tBodies[0].replaceChildren(...results.map((r) => {
    const tr = document.createElement('tr');
    if (r.error) tr.className = 'error';
    const cells = [r.file, r.kind, r.object ?? '', r.error ? 'error' : r.result ?? '', num(r.value, 4), num(r.far, 4), num(r.fnr, 4), r.error ?? r.notes ?? ''];
    tr.append(...cells.map((text, k) => {
      const td = document.createElement('td');
      td.textContent = text;
      if (k >= 4 && k <= 6) td.className = 'num';
      return td;
    }));
    return tr;
  }));
  document.body.dataset.results = String(results.length);
}

const COLUMNS = ['file', 'kind', 'object', 'result', 'value', 'far', 'fnr', 'notes', 'error'];

/** CSV (RFC 4180); cells a spreadsheet would run as a formula get a leading apostrophe. */
function resultsCsv() {
  const cell = (v) => {
    let text = v === undefined || v === null ? '' : String(v);
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return [COLUMNS.join(','), ...results.map((r) => COLUMNS.map((c) => cell(r[c])).join(','))].join('\r\n') + '\r\n';
}

function download(text, name, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** Scores a sky map, showing progress; a failure or a stop keeps the previous result. */
async function loadSkyMap(bytes, name) {
  skyMapRun?.abort();
  const run = new AbortController();
  skyMapRun = run;
  const section = $('skymap');
  section.hidden = false;
  const box = $('skymap-message');
  box.hidden = true;
  $('skymap-progress').hidden = false;
  document.body.dataset.skymap = 'working';
  const onProgress = ({ step, done, total }) => {
    $('skymap-bar').max = total;
    $('skymap-bar').value = done;
    $('skymap-step').textContent = done < total ? `${name}: ${step}…` : '';
  };
  try {
    const result = await sky.scoreSkyMap(bytes, { onProgress, signal: run.signal });
    showSkyMap(result, name);
    addResults([{ file: name, kind: 'sky map', object: result.meta.object ?? '', result: result.score >= 0.5 ? 'astrophysical' : 'noise',
      value: result.score, far: result.far, fnr: result.fnr, notes: '' }]);
    document.body.dataset.skymap = 'ready';
  } catch (e) {
    if (e.name !== 'AbortError') addResults([{ file: name, kind: 'sky map', error: e.message }]);
    else await restoreLightCurve();
    box.textContent = e.name === 'AbortError' ? `${name}: stopped.` : `${name}: ${e.message}`;
    box.hidden = false;
    document.body.dataset.skymap = e.name === 'AbortError' ? 'stopped' : 'error';
  } finally {
    if (skyMapRun === run) {
      $('skymap-progress').hidden = true;
      skyMapRun = null;
    }
  }
  section.scrollIntoView?.({ block: 'nearest' });
}

/** Diverging bars of the ten Shapley values, largest first, the value written beside each. */
function showShapley(e) {
  const order = e.phi.map((p, i) => i).sort((a, b) => Math.abs(e.phi[b]) - Math.abs(e.phi[a]));
  const scale = Math.max(1e-12, ...e.phi.map(Math.abs));
  $('shapley').replaceChildren(...barItems(order.map((i) => ({ label: e.names[i], value: e.phi[i], text: signed(e.phi[i], 4) })), { scale, diverging: true }));
  $('shapley').dataset.sum = String(e.phi.reduce((a, b) => a + b, 0));
  $('shapley').dataset.base = String(e.base_value);
}

function showSkyMap(result, name) {
  const { meta, score, far, fnr, seconds } = result;
  window.lastSkyMap = { name, score, far, fnr, seconds, meta, explanation: result.explanation };
  explainRun?.abort();
  currentSkyMap = { name, inputs: result.inputs, extent: meta.distmean + 2.5 * meta.diststd, view: result.view, sky: result.sky, volume: result.volume, why: {} };
  $('sky-why').hidden = true;
  $('vol-why').hidden = true;
  $('explain-summary').textContent = '';
  delete document.body.dataset.explained;
  const pct = (x) => `${(100 * x).toFixed(x < 0.01 && x > 0 ? 2 : 1)}%`;
  const verdict = $('verdict');
  const strong = document.createElement('strong');
  strong.textContent = score >= 0.5 ? 'Likely a real astrophysical event.' : 'Likely noise (an instrumental glitch).';
  const detail = document.createElement('span');
  detail.textContent = ` GWSkyNet score ${score.toFixed(4)} (0 = noise, 1 = astrophysical). In the GWSkyNet team's tests, ${pct(far)} of noise events scored at least this high (false-alarm rate) and ${pct(fnr)} of real events scored lower (false-negative rate).`;
  verdict.replaceChildren(strong, detail);
  verdict.dataset.score = String(score);
  const facts = [meta.object && `event ${meta.object}`, meta.date_obs && `observed ${meta.date_obs}`, meta.instruments.length && `detectors ${meta.instruments.join(', ')}`,
    meta.distmean && `distance ${Math.round(meta.distmean)} ± ${Math.round(meta.diststd)} Mpc`].filter(Boolean).join('; ');
  const took = `Prepared and scored in ${seconds.total.toFixed(2)} s on the ${sky.backend.backend === 'webgpu' ? 'WebGPU' : 'CPU'} backend (sky image ${seconds.sky.toFixed(2)} s, volume images ${seconds.volumeWall.toFixed(2)} s — each ${seconds.volume.map((t) => t.toFixed(2)).join(', ')} s, side by side where cores allow — model ${seconds.model.toFixed(2)} s, explanation ${seconds.explain.toFixed(2)} s).`;
  $('skymap-info').textContent = `${name}: ${facts || 'no header facts'}; ${meta.pixels} pixels (${meta.ordering}). ${took}`;
  showShapley(result.explanation);
  drawSkyViews();
  const area = (a) => (a >= 100 ? Math.round(a).toLocaleString('en') : a.toPrecision(3));
  $('moll-caption').textContent = `Where on the sky the source is, in Mollweide projection: the 50% credible region (orange line) covers ${area(result.view.area50)} square degrees, the 90% region (white line) ${area(result.view.area90)}.`;
  $('moll-canvas').setAttribute('aria-label', `Sky map of ${name}: 90% credible region of ${area(result.view.area90)} square degrees`);
  $('moll-canvas').dataset.area90 = String(result.view.area90);
  $('sky-canvas').setAttribute('aria-label', `Sky image of ${name}; score ${score.toFixed(4)}`);
}

const FACES = [['axis 2', 'axis 1'], ['axis 1', 'axis 3'], ['axis 2', 'axis 3']];

/** One face (0–2) of channels-last volume attributions (262 × 262 × 3). */
function volumeFace(values, face) {
  const out = new Float32Array(values.length / 3);
  for (let p = 0; p < out.length; p++) out[p] = values[p * 3 + face];
  return out;
}

/**
 * The sky map's Mollweide view, sky image and volume images, with the strongest pixels of their
 * partition explanations outlined when there are some and the switch is on.
 */
function drawSkyViews() {
  const map = currentSkyMap;
  if (!map) return;
  const on = $('sky-overlay').checked;
  const sky = on ? map.why.sky ?? null : null;
  const volume = on ? map.why.volume ?? null : null;
  drawMollweide($('moll-canvas'), map.view, 720, 360, sky);
  drawImage($('sky-canvas'), map.sky, 360, 180, { x: [360, 0, 'right ascension (°)'], y: [-90, 90, 'declination (°)'] }, { overlay: sky });
  map.volume.forEach((image, k) => {
    drawImage($(`vol-canvas-${k}`), image, 262, 262, { x: [-map.extent, map.extent, `${FACES[k][0]} (Mpc)`], y: [-map.extent, map.extent, `${FACES[k][1]} (Mpc)`] },
      { overlay: volume && volumeFace(volume, k) });
  });
  const shown = [sky && 'the sky map and the sky image', volume && 'the volume images'].filter(Boolean);
  $('sky-overlay-note').textContent = shown.length
    ? `Outlined on ${shown.join(' and on ')}: the pixels with at least a quarter of the largest attribution.`
    : on ? 'Explain the sky image or the volume images below to see their strongest pixels outlined here.' : '';
}

let currentSkyMap = null;
let explainRun = null;

/** Partition SHAP over the pixels of the sky image or the volume images, with progress and stop. */
async function explainSkyImage(image) {
  if (!currentSkyMap) return;
  explainRun?.abort();
  const run = new AbortController();
  explainRun = run;
  const { name, inputs, extent } = currentSkyMap;
  const maxEvals = Number($('explain-evals').value);
  $('explain-progress').hidden = false;
  $('explain-bar').max = maxEvals;
  $('explain-bar').value = 0;
  $('explain-step').textContent = `${image} image: starting…`;
  document.body.dataset.explained = 'working';
  const onProgress = (done, total) => {
    $('explain-bar').value = done;
    $('explain-step').textContent = `${image} image: ${done} of ${total} model runs…`;
  };
  const t0 = performance.now();
  try {
    const masking = $('explain-masking').value;
    const a = await sky.explainImage(inputs, image, { maxEvals, masking, onProgress, signal: run.signal });
    const seconds = (performance.now() - t0) / 1000;
    const [rows, columns, channels] = a.shape;
    let positive = 0, negative = 0, sum = 0;
    for (const v of a.values) { sum += v; if (v > 0) positive += v; else negative += v; }
    if (image === 'sky') {
      drawImage($('sky-why-canvas'), a.values, columns, rows, { x: [360, 0, 'right ascension (°)'], y: [-90, 90, 'declination (°)'] }, { diverging: true });
      $('sky-why').hidden = false;
    } else {
      for (let k = 0; k < channels; k++) {
        drawImage($(`vol-why-canvas-${k}`), volumeFace(a.values, k), columns, rows, { x: [-extent, extent, `${FACES[k][0]} (Mpc)`], y: [-extent, extent, `${FACES[k][1]} (Mpc)`] }, { diverging: true });
      }
      $('vol-why').hidden = false;
    }
    if (currentSkyMap?.inputs === inputs) {
      currentSkyMap.why[image] = a.values;
      drawSkyViews();
    }
    const sign = (v) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(4)}`;
    $('explain-summary').textContent = `${name}, ${image === 'sky' ? 'sky image' : 'volume images'}: ${masking === 'zeros' ? 'without it' : 'blurred'} the score would be ${a.base_value.toFixed(4)}; its pixels add ${sign(sum)} to reach ${a.value.toFixed(4)} (${sign(positive)} towards a real event, ${sign(negative)} towards noise). ${a.evals} model runs, ${seconds.toFixed(2)} s on the ${sky.backend.backend === 'webgpu' ? 'WebGPU' : 'CPU'} backend.`;
    $('explain-summary').dataset.sum = String(sum);
    $('explain-summary').dataset.base = String(a.base_value);
    $('explain-summary').dataset.value = String(a.value);
    $('explain-summary').dataset.seconds = String(seconds);
    window.lastImageAttribution = { image, shape: a.shape, values: a.values, base_value: a.base_value, value: a.value, evals: a.evals, sum, seconds };
    document.body.dataset.explained = image;
  } catch (e) {
    $('explain-summary').textContent = e.name === 'AbortError' ? `${name}: explanation stopped.` : `${name}: the explanation failed: ${e.message}`;
    if (e.name === 'AbortError') await restoreLightCurve();
    document.body.dataset.explained = e.name === 'AbortError' ? 'stopped' : 'error';
  } finally {
    if (explainRun === run) {
      $('explain-progress').hidden = true;
      explainRun = null;
    }
  }
}

/** Partition SHAP of the shown object's class over its dm–dt pixels (fast: a fraction of a second). */
async function explainClass(objectIndex, label) {
  const box = $('class-why');
  state.classMatrix = null;
  $('class-why-bars').replaceChildren();
  $('dmdt-why').hidden = true;
  if (label === 'uncertain') {
    box.textContent = 'Too few points to explain.';
    return;
  }
  box.textContent = 'Working out which pairs of points mattered…';
  const file = state.file;
  try {
    const [a, grid] = await Promise.all([
      sky.explainClassification(file, objectIndex),
      sky.dmdt(file, state.index, { grid: 'mahabal2017', normalisation: 'counts' }),
    ]);
    if (state.file !== file) return; // another file was loaded meanwhile
    const [nDt, nDm, bands] = a.shape;
    const matrix = Array.from({ length: nDt }, (_, i) => Array.from({ length: nDm }, (_, j) => {
      let v = 0;
      for (let b = 0; b < bands; b++) v += a.values[(i * nDm + j) * bands + b];
      return v;
    }));
    const byDt = matrix.map((row) => row.reduce((x, y) => x + y, 0));
    drawDmdt($('dmdt-why-canvas'), grid, null, matrix);
    $('dmdt-why').hidden = false;
    state.classMatrix = matrix;
    if (state.record) redraw();
    const sum = byDt.reduce((x, y) => x + y, 0);
    const p = a.parts;
    box.textContent = `P(${a.class}) is ${(100 * a.value).toFixed(1)}%. For an average star with an empty dm–dt image it would be ${(100 * p.base_value).toFixed(1)}%: `
      + `the period and the folded light curve move it by ${signed(100 * p.features, 1)} points, the dm–dt image by ${signed(100 * p.image, 1)}. `
      + `Within the image (its pairs against none, the period kept: ${(100 * a.base_value).toFixed(1)}% → ${(100 * a.value).toFixed(1)}%), the time scales that mattered most (pairs of points this far apart):`;
    box.dataset.parts = JSON.stringify(p);
    const order = byDt.map((v, i) => i).sort((x, y) => Math.abs(byDt[y]) - Math.abs(byDt[x])).slice(0, 5);
    const scale = Math.max(1e-12, ...order.map((i) => Math.abs(byDt[i])));
    $('class-why-bars').replaceChildren(...barItems(order.map((i) => ({
      label: `${fmt(grid.dt_edges[i])}–${fmt(grid.dt_edges[i + 1])} days`, value: byDt[i], text: `${signed(100 * byDt[i], 1)} pts`,
    })), { scale, diverging: true }));
    $('class-why-bars').dataset.sum = String(sum);
    $('class-why-bars').dataset.base = String(a.base_value);
    $('class-why-bars').dataset.value = String(a.value);
    $('class-why-bars').dataset.class = a.class;
    window.lastClassAttribution = a;
    $('dmdt-why-canvas').setAttribute('aria-label', `Attributions of P(${a.class}) on the dm–dt image: the most important time scale is ${fmt(grid.dt_edges[order[0]])}–${fmt(grid.dt_edges[order[0] + 1])} days`);
  } catch (e) {
    box.textContent = `Could not explain: ${e.message}`;
  }
}

/**
 * A stop replaces the worker, and with it the light-curve file it had read: read the shown
 * file again so that hovering and explaining keep working (nothing on screen changes).
 */
async function restoreLightCurve() {
  if (!state.bytes) return;
  try {
    const { file } = await sky.readLightCurves(state.bytes.slice(0));
    state.file = file;
    state.explained = `${file}:${state.explained?.split(':')[1] ?? ''}`;
  } catch (e) {
    showMessage(`The light curve could not be read again after the stop: ${e.message}`);
  }
}

async function loadLightCurve(bytes, name) {
  // A failed read keeps what is on screen: state changes only after success.
  try {
    const kept = bytes.slice(0);
    const { file, curves } = await sky.readLightCurves(bytes);
    // A file whose first curve cannot make a dm–dt image (too many points, say) is an error,
    // and what is on screen stays.
    try {
      await sky.dmdt(file, 0, { grid: $('grid-select').value, normalisation: 'counts' });
    } catch (e) {
      sky.release(file).catch(() => {});
      throw e;
    }
    if (state.file !== null) sky.release(state.file).catch(() => {});
    Object.assign(state, { file, curves, index: 0, bytes: kept });
    view.range = null;
    showMessage('');
    $('file-info').textContent = `${name}: ${curves.length} light curve${curves.length === 1 ? '' : 's'}.`;
    const select = $('curve-select');
    select.replaceChildren(
      ...curves.map((c, i) => {
        const option = document.createElement('option');
        option.value = String(i);
        option.textContent = `${[c.object, c.band && `band ${c.band}`].filter(Boolean).join(', ') || 'light curve'} (${c.time.length} points)`;
        return option;
      }),
    );
    select.disabled = curves.length < 2;
    state.classes = await sky.classify(file).catch((e) => ({ error: e.message }));
    addResults(state.classes.error
      ? [{ file: name, kind: 'light curve', notes: `not classified: ${state.classes.error}` }]
      : state.classes.map((o) => ({ file: name, kind: 'light curve', object: o.object ?? '', result: o.label, value: o.probabilities[o.label] ?? null,
        probabilities: o.probabilities, notes: o.warnings.join('; ') })));
    await showCurve();
  } catch (e) {
    addResults([{ file: name, kind: 'light curve', error: e.message }]);
    showMessage(`${name}: ${e.message}`);
  }
}

async function showCurve() {
  const curve = state.curves[state.index];
  if (!curve) return;
  try {
    const grid = $('grid-select').value;
    state.record = await sky.dmdt(state.file, state.index, { grid, normalisation: 'counts' });
    state.highlight = null;
    showHighlight();
    showClassification(curve);
    document.body.dataset.ready = 'true';
  } catch (e) {
    showMessage(e.message);
  }
}

/** The classifier's answer for the object of the shown curve: bars, verdict and warnings. */
function showClassification(curve) {
  const box = $('classification');
  const c = state.classes;
  box.hidden = !c;
  if (!c) return;
  const warnings = $('class-warnings');
  if (c.error) {
    $('class-verdict').textContent = `Not classified: ${c.error}`;
    $('class-why').textContent = '';
    $('class-why-bars').replaceChildren();
    $('dmdt-why').hidden = true;
    $('class-bars').replaceChildren();
    warnings.hidden = true;
    box.dataset.label = '';
    return;
  }
  const mine = c.find((o) => o.object === curve.object) ?? c[0];
  const entries = Object.entries(mine.probabilities).sort((a, b) => b[1] - a[1]);
  const who = mine.object ? `${mine.object}: ` : '';
  $('class-verdict').textContent = mine.label === 'uncertain'
    ? `${who}too few points (${mine.n_points}) to classify; the bars below mean little.`
    : `${who}most likely ${mine.label} (${(100 * mine.probabilities[mine.label]).toFixed(0)}%), from ${mine.n_points} points${mine.bands.includes('(none)') ? '' : ` in band${mine.bands.length > 1 ? 's' : ''} ${mine.bands.join(' + ')}`}.`;
  $('class-bars').replaceChildren(...barItems(entries.map(([name, p]) => ({ label: name, value: p, text: `${(100 * p).toFixed(1)}%`, best: name === mine.label }))));
  warnings.textContent = mine.warnings.length ? `Take this answer with care: ${mine.warnings.join('; ')}.` : '';
  warnings.hidden = !mine.warnings.length;
  const period = $('class-period');
  period.hidden = !mine.period;
  period.dataset.period = mine.period ?? '';
  if (mine.period) period.firstElementChild.textContent = `The periodogram's best period: ${formatPeriod(mine.period)} days${mine.label === 'eclipsing binary' ? ' (for an eclipsing binary often half the orbit: fold at twice it to see both eclipses)' : ''}.`;
  box.dataset.label = mine.label;
  // For the benchmark of load-to-first-prediction (bench/wasm_model.mjs).
  if (!performance.getEntriesByName('first-prediction').length) performance.mark('first-prediction');
  const objectIndex = Math.max(0, c.indexOf(mine));
  if (state.explained !== `${state.file}:${objectIndex}`) {
    state.explained = `${state.file}:${objectIndex}`;
    explainClass(objectIndex, mine.label);
  }
}

/** Draws both plots and says in text what they show (for screen readers, and the tests). */
function showHighlight() {
  const r = state.record, h = state.highlight;
  $('dmdt-canvas').dataset.hover = h ? `${h.pixel.iDt},${h.pixel.iDm},${h.pairs.length / 2}` : '';
  $('dmdt-caption').textContent = h
    ? `Pixel Δt ${fmt(r.dt_edges[h.pixel.iDt])}–${fmt(r.dt_edges[h.pixel.iDt + 1])} d, Δm ${fmt(r.dm_edges[h.pixel.iDm])}–${fmt(r.dm_edges[h.pixel.iDm + 1])} mag: ${r.counts[h.pixel.iDt][h.pixel.iDm]} pairs.`
    : `${r.n_pairs} pairs from ${r.n_points} points; ${r.n_in_grid} fall inside the ${r.grid} grid. Hover a pixel to see its pairs on the light curve.`;
  $('lc-caption').textContent = h
    ? `Magnitude against time; the ${h.pairs.length / 2} pairs of the hovered dm–dt pixel are joined by lines.`
    : 'Magnitude against time (brighter is up).';
  redraw();
}

/**
 * The classifier's attributions to outline on the dm–dt image, when asked for and drawn on the
 * same grid (the classifier reads Mahabal et al. 2017's); otherwise null, with a note saying why.
 */
function overlayMatrix() {
  const note = $('dmdt-overlay-note');
  const wanted = $('dmdt-overlay').checked;
  const a = state.classMatrix;
  let why = '';
  if (wanted && !a) why = 'The explanation of the class is not ready yet.';
  else if (wanted && state.record?.grid !== 'mahabal2017') why = 'The classifier reads the mahabal2017 grid: choose it to see the outlines.';
  note.textContent = why;
  note.hidden = !why;
  return wanted && !why ? a : null;
}

/** The light curve's view: folded at `period` (days) or not, zoomed to `range` or not. */
const view = { period: null, range: null, axis: null, drag: null };

function redraw() {
  const curve = state.curves[state.index];
  // The object's other bands are drawn too, behind, each in its band's colour.
  const colours = bandColours(state.curves);
  const others = state.curves
    .filter((c, i) => i !== state.index && (c.object ?? null) === (curve.object ?? null) && (c.band ?? null) !== (curve.band ?? null))
    .map((c) => ({ curve: c, colour: colours.get(c.band ?? null) }));
  view.axis = drawLightCurve($('lc-canvas'), curve, state.highlight?.pairs ?? null, { period: view.period, range: view.range, colour: colours.get(curve.band ?? null), others });
  $('lc-canvas').dataset.view = JSON.stringify({ period: view.period, range: view.axis && [view.axis.from, view.axis.to] });
  drawDmdt($('dmdt-canvas'), state.record, state.highlight?.pixel ?? null, null, overlayMatrix());
  const otherBands = others.length ? `; the object's other band${others.length > 1 ? 's' : ''} (${others.map((o) => o.curve.band).join(', ')}) drawn faintly` : '';
  $('lc-canvas').setAttribute('aria-label', `Light curve of ${curve.time.length} points${curve.band ? ` in band ${curve.band}` : ''}, magnitudes ${extent(curve.mag).map((m) => m.toFixed(2)).join(' to ')}${otherBands}`);
}

async function hoverDmdt(event) {
  if (!state.record) return;
  const pixel = dmdtPixelAt($('dmdt-canvas'), state.record, event);
  const key = pixel && `${pixel.iDt},${pixel.iDm}`;
  if (key === state.highlight?.key) return;
  if (!pixel) {
    state.highlight = null;
  } else {
    try {
      const pairs = await sky.pairsInPixel(state.file, state.index, state.record.grid === 'custom' ? null : state.record.grid, pixel.iDt, pixel.iDm, 2000);
      state.highlight = { key, pixel, pairs };
    } catch (e) {
      showMessage(e.message);
      return;
    }
  }
  showHighlight();
}

/** The horizontal axis value (days or phase) under a mouse event on the light curve. */
function axisValueAt(event) {
  const canvas = $('lc-canvas');
  const rect = canvas.getBoundingClientRect();
  const px = ((event.clientX - rect.left) / rect.width) * canvas.width;
  const { from, to, left, width } = view.axis;
  return from + ((px - left) / width) * (to - from);
}

/** A period with the digits a fold needs (5 significant figures). */
function formatPeriod(days) {
  return Number(days.toPrecision(5)).toString();
}

function wireLightCurveView() {
  const canvas = $('lc-canvas');
  $('fold-found').addEventListener('click', () => {
    const input = $('fold-period');
    input.value = formatPeriod(Number($('class-period').dataset.period));
    input.dispatchEvent(new Event('input'));
  });
  $('fold-period').addEventListener('input', (e) => {
    const p = Number(e.target.value);
    view.period = Number.isFinite(p) && p > 0 ? p : null;
    view.range = null;
    if (state.record) redraw();
  });
  $('zoom-reset').addEventListener('click', () => { view.range = null; if (state.record) redraw(); });
  canvas.addEventListener('dblclick', () => { view.range = null; if (state.record) redraw(); });
  canvas.addEventListener('mousedown', (e) => { if (view.axis) view.drag = axisValueAt(e); });
  canvas.addEventListener('mouseup', (e) => {
    if (view.drag === null || !view.axis) return;
    const [a, b] = [view.drag, axisValueAt(e)].sort((p, q) => p - q);
    view.drag = null;
    if (b - a > (view.axis.to - view.axis.from) / 200) {
      view.range = [a, b];
      redraw();
    }
  });
  // Keyboard: arrows pan, + and − zoom, 0 shows all.
  canvas.addEventListener('keydown', (e) => {
    if (!view.axis) return;
    const { from, to } = view.axis;
    const span = to - from;
    const moves = { ArrowLeft: [-0.2, -0.2], ArrowRight: [0.2, 0.2], '+': [0.25, -0.25], '=': [0.25, -0.25], '-': [-0.5, 0.5] };
    if (e.key === '0') view.range = null;
    else if (moves[e.key]) view.range = [from + moves[e.key][0] * span, to + moves[e.key][1] * span];
    else return;
    e.preventDefault();
    redraw();
  });
}

function wireInputs() {
  wireLightCurveView();
  $('file').addEventListener('change', async (e) => {
    for (const f of [...e.target.files]) await loadBytes(await f.arrayBuffer(), f.name);
    e.target.value = '';
  });
  const drop = $('drop');
  // A sky map may be coming (anything dragged but text, or a hover on the sky-map example):
  // start the volume images' helper workers now rather than after the drop.
  const prepareSkyMaps = () => sky?.prepareSkyMaps().catch(() => {});
  drop.addEventListener('dragenter', (e) => {
    if ([...e.dataTransfer.items].some((item) => item.kind === 'file' && !item.type.startsWith('text/'))) prepareSkyMaps();
  });
  for (const event of ['pointerenter', 'focus']) $('example-skymap').addEventListener(event, prepareSkyMaps);
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', async (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    for (const f of e.dataTransfer.files) await loadBytes(await f.arrayBuffer(), f.name);
  });
  $('paste-go').addEventListener('click', () => loadLightCurve(new TextEncoder().encode($('paste').value), 'pasted data'));
  // The gallery: light curves simulated by scripts/make_examples.py, and a BAYESTAR map of a
  // simulated binary-black-hole merger (scripts/make_skymap_example.sh).
  for (const button of $('gallery').querySelectorAll('button[data-src]')) {
    button.addEventListener('click', async () => {
      const response = await fetch(new URL(`../examples/${button.dataset.src}`, import.meta.url));
      await loadBytes(await response.arrayBuffer(), `example: simulated ${button.dataset.name}`);
    });
  }
  $('skymap-cancel').addEventListener('click', () => skyMapRun?.abort());
  $('explain-sky').addEventListener('click', () => explainSkyImage('sky'));
  $('sky-overlay').addEventListener('change', drawSkyViews);
  $('explain-volume').addEventListener('click', () => explainSkyImage('volume'));
  $('explain-cancel').addEventListener('click', () => explainRun?.abort());
  $('export-csv').addEventListener('click', () => download(resultsCsv(), 'skysift-results.csv', 'text/csv'));
  $('export-json').addEventListener('click', () => download(JSON.stringify(results, null, 2), 'skysift-results.json', 'application/json'));
  $('results-clear').addEventListener('click', () => { results.length = 0; renderResults(); });
  $('curve-select').addEventListener('change', (e) => { state.index = Number(e.target.value); showCurve(); });
  $('grid-select').addEventListener('change', showCurve);
  $('dmdt-overlay').addEventListener('change', () => { if (state.record) redraw(); });
  $('dmdt-canvas').addEventListener('mousemove', hoverDmdt);
  $('dmdt-canvas').addEventListener('mouseleave', () => {
    state.highlight = null;
    if (state.record) showHighlight();
  });
}

async function loadExample() {
  const url = new URL('../examples/rr-lyrae.csv', import.meta.url);
  const response = await fetch(url);
  await loadLightCurve(await response.arrayBuffer(), 'example: simulated RR Lyrae star');
}

/** Offline use after the first visit (www/sw.js); a page without service workers works as before. */
function registerOffline() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register(new URL('../sw.js', import.meta.url), { scope: new URL('../', import.meta.url).pathname })
    .then(() => navigator.serviceWorker.ready)
    .then(() => { document.body.dataset.offline = 'ready'; })
    .catch((e) => { document.body.dataset.offline = `unavailable: ${e.message}`; });
}

async function main() {
  registerOffline();
  wireInputs();
  try {
    sky = await createSkysift({ backend: requested });
  } catch (e) {
    $('backend').textContent = 'failed to start';
    showMessage(`skysift could not start: ${e.message}`);
    return;
  }
  describeBackend(sky.backend);
  window.skysift = sky; // for the console and the browser tests
  const check = await sky.selfCheck().catch((e) => ({ error: e.message }));
  $('self-check').textContent = check.error
    ? `Self-check failed: ${check.error}`
    : `Self-check (a convolution and a matrix product): largest difference from exact arithmetic ${check.maxAbsDiff.toExponential(2)}.`;
  // ?src=URL opens that file instead of the example (a file of this site: the page's
  // Content-Security-Policy lets it fetch nothing else).
  const src = params.get('src');
  if (src) {
    try {
      const url = new URL(src, location.href);
      const response = await fetch(url);
      if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
      await loadBytes(await response.arrayBuffer(), url.pathname.split('/').pop() || src);
      return;
    } catch (e) {
      await loadExample();
      showMessage(`Could not open ${src} (only files of this site can be opened): ${e.message}`);
      return;
    }
  }
  await loadExample();
}

main();
