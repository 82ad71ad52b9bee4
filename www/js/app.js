// The page: loads files, asks the worker for results, draws them. Text from files is only
// ever set with textContent, never as HTML.
import { createSkysift } from './skysift.js';
import { drawLightCurve, drawDmdt, dmdtPixelAt, fmt } from './plots.js';

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
  // A failed read keeps what is on screen: state changes only after success.
  try {
    const { file, curves } = await sky.readLightCurves(bytes);
    if (state.file !== null) sky.release(state.file).catch(() => {});
    Object.assign(state, { file, curves, index: 0 });
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
    await showCurve();
  } catch (e) {
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
    document.body.dataset.ready = 'true';
  } catch (e) {
    showMessage(e.message);
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

function redraw() {
  const curve = state.curves[state.index];
  drawLightCurve($('lc-canvas'), curve, state.highlight?.pairs ?? null);
  drawDmdt($('dmdt-canvas'), state.record, state.highlight?.pixel ?? null);
  $('lc-canvas').setAttribute('aria-label', `Light curve of ${curve.time.length} points, magnitudes ${Math.min(...curve.mag).toFixed(2)} to ${Math.max(...curve.mag).toFixed(2)}`);
}

async function hoverDmdt(event) {
  if (!state.record) return;
  const pixel = dmdtPixelAt($('dmdt-canvas'), state.record, event);
  const key = pixel && `${pixel.iDt},${pixel.iDm}`;
  if (key === state.highlight?.key) return;
  if (!pixel) {
    state.highlight = null;
  } else {
    const pairs = await sky.pairsInPixel(state.file, state.index, state.record.grid === 'custom' ? null : state.record.grid, pixel.iDt, pixel.iDm, 2000);
    state.highlight = { key, pixel, pairs };
  }
  showHighlight();
}

function wireInputs() {
  $('file').addEventListener('change', async (e) => {
    const f = e.target.files[0];
    if (f) await loadBytes(await f.arrayBuffer(), f.name);
    e.target.value = '';
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', async (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    for (const f of e.dataTransfer.files) await loadBytes(await f.arrayBuffer(), f.name);
  });
  $('paste-go').addEventListener('click', () => loadBytes(new TextEncoder().encode($('paste').value), 'pasted data'));
  $('example').addEventListener('click', loadExample);
  $('curve-select').addEventListener('change', (e) => { state.index = Number(e.target.value); showCurve(); });
  $('grid-select').addEventListener('change', showCurve);
  $('dmdt-canvas').addEventListener('mousemove', hoverDmdt);
  $('dmdt-canvas').addEventListener('mouseleave', () => {
    state.highlight = null;
    if (state.record) showHighlight();
  });
}

async function loadExample() {
  const url = new URL('../examples/rr-lyrae.csv', import.meta.url);
  const response = await fetch(url);
  await loadBytes(await response.arrayBuffer(), 'example: simulated RR Lyrae star');
}

async function main() {
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
  await loadExample();
}

main();
