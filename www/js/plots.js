// Canvas drawings: the light curve (magnitude axis inverted, error bars, pairs highlighted),
// the dm–dt image (one cell per bin, viridis colours, colour bar), images and the sky in
// Mollweide projection. Ticks, the viridis colour map and the projection come from d3
// (npm, bundled into www/vendor/ by scripts/vendor.mjs).
import { geoGraticule, geoMollweide, geoPath, interpolateViridis, ticks } from '../vendor/d3.js';

// Viridis (colour-blind safe), d3's, looked up in 256 steps (images colour every pixel).
const VIRIDIS = Array.from({ length: 256 }, (_, k) => {
  const hex = interpolateViridis(k / 255);
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
});

function viridisRgb(x) {
  return VIRIDIS[Math.round(Math.min(1, Math.max(0, x || 0)) * 255)];
}

export function viridis(x) {
  const [r, g, b] = viridisRgb(x);
  return `rgb(${r},${g},${b})`;
}

// Diverging colours for attributions: orange (towards noise / against the class) through
// light grey (no effect) to blue (towards a real event / for the class); Okabe–Ito ends, so
// colour-blind safe, and the same colours as the bar charts.
const NEGATIVE = [213, 94, 0], NEUTRAL = [242, 242, 242], POSITIVE = [0, 114, 178];

/** An attribution the overlays outline: at least a quarter of the largest, `peak` (> 0). */
const isStrong = (v, peak) => Math.abs(v) >= 0.25 * peak;

export function divergingRgb(x) {
  const t = Math.min(1, Math.max(-1, x));
  const end = t < 0 ? NEGATIVE : POSITIVE;
  return NEUTRAL.map((v, k) => Math.round(v + (end[k] - v) * Math.abs(t)));
}

const BAND_COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00']; // Okabe–Ito

/** Round-numbered ticks in [lo, hi], about `count` of them (d3's). */
function niceTicks(lo, hi, count = 5) {
  return hi > lo ? ticks(lo, hi, count) : [lo];
}

/** Text rotated a quarter turn, centred on (x, y): axis labels. */
function verticalText(ctx, text, x, y) {
  ctx.save();
  ctx.translate(x, y);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.fillText(text, 0, 0);
  ctx.restore();
}

function prepare(canvas) {
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.font = '12px system-ui, sans-serif';
  ctx.fillStyle = '#1b1f24';
  ctx.strokeStyle = '#1b1f24';
  return ctx;
}

/** [min, max] of a long array (spreading it into Math.min overflows the stack past ~100 000). */
export function extent(values) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
  return [lo, hi];
}

const LC_MARGIN = { left: 56, right: 12, top: 12, bottom: 40 };

/** A colour for each band of `curves` (Okabe–Ito, in the order the bands first appear). */
export function bandColours(curves) {
  const colours = new Map();
  for (const c of curves) if (!colours.has(c.band ?? null)) colours.set(c.band ?? null, BAND_COLOURS[colours.size % BAND_COLOURS.length]);
  return colours;
}

/**
 * Light curve with magnitudes increasing downwards; `pairs` = [i0, j0, i1, j1, ...] to highlight.
 * Options: `period` (days) folds the curve, drawing two cycles of phase; `range` [from, to]
 * zooms the horizontal axis (days, or phase when folded); `colour` is the curve's band's;
 * `others` ([{ curve, colour }]), the object's other bands, are drawn behind it, fainter, with a
 * legend. Returns the horizontal axis for mouse work: { from, to, left, width } in canvas pixels.
 */
export function drawLightCurve(canvas, curve, pairs, { period = null, range = null, colour = BAND_COLOURS[0], others = [] } = {}) {
  const ctx = prepare(canvas);
  const m = LC_MARGIN;
  const w = canvas.width - m.left - m.right;
  const h = canvas.height - m.top - m.bottom;
  const { time, mag } = curve;
  const folded = period > 0;
  const all = [curve, ...others.map((o) => o.curve)];
  const spans = all.map((c) => extent(c.time));
  const [tMin, tMax] = [Math.min(...spans.map((s) => s[0])), Math.max(...spans.map((s) => s[1]))];
  const phase = (t) => (((t - tMin) / period) % 1 + 1) % 1;
  // Each point once in time, or twice (phase and phase + 1) when folded.
  const copies = folded ? [0, 1] : [0];
  const xAt = (t, c) => (folded ? phase(t) + c : t);
  const xOf = (i, c) => xAt(time[i], c);
  const [t0, t1] = range ?? (folded ? [0, 2] : [tMin, tMax]);
  let lo = Infinity, hi = -Infinity;
  for (const c of all) c.mag.forEach((v, i) => { const e = c.err ? c.err[i] : 0; lo = Math.min(lo, v - e); hi = Math.max(hi, v + e); });
  const pad = (hi - lo || 1) * 0.05;
  lo -= pad; hi += pad;
  const x = (t) => m.left + ((t - t0) / (t1 - t0 || 1)) * w;
  const y = (v) => m.top + ((v - lo) / (hi - lo)) * h; // brighter (smaller) is up
  ctx.strokeRect(m.left, m.top, w, h);
  ctx.textAlign = 'center';
  for (const t of niceTicks(t0, t1)) { ctx.fillText(String(t), x(t), m.top + h + 16); }
  ctx.fillText(folded ? `phase (period ${period} days; two cycles)` : 'time (days)', m.left + w / 2, canvas.height - 6);
  ctx.textAlign = 'right';
  for (const v of niceTicks(lo, hi)) { ctx.fillText(String(v), m.left - 6, y(v) + 4); }
  verticalText(ctx, 'magnitude', 14, m.top + h / 2);
  ctx.save();
  ctx.beginPath();
  ctx.rect(m.left, m.top, w, h);
  ctx.clip();
  const points = (c, colour, alpha) => {
    ctx.globalAlpha = alpha;
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    for (const k of copies) {
      for (let i = 0; i < c.time.length; i++) {
        const px = x(xAt(c.time[i], k)), py = y(c.mag[i]);
        if (px < m.left - 3 || px > m.left + w + 3) continue;
        if (c.err) { ctx.beginPath(); ctx.moveTo(px, y(c.mag[i] - c.err[i])); ctx.lineTo(px, y(c.mag[i] + c.err[i])); ctx.stroke(); }
        ctx.beginPath(); ctx.arc(px, py, 2.2, 0, 2 * Math.PI); ctx.fill();
      }
    }
    ctx.globalAlpha = 1;
  };
  for (const o of others) points(o.curve, o.colour, 0.35);
  points(curve, colour, 1);
  if (pairs && pairs.length) {
    ctx.strokeStyle = 'rgba(213, 94, 0, 0.55)';
    ctx.lineWidth = 1.2;
    for (let k = 0; k < pairs.length; k += 2) {
      const i = pairs[k], j = pairs[k + 1];
      ctx.beginPath(); ctx.moveTo(x(xOf(i, 0)), y(mag[i])); ctx.lineTo(x(xOf(j, 0)), y(mag[j])); ctx.stroke();
    }
    ctx.lineWidth = 1;
  }
  ctx.restore();
  if (others.length) {
    // Legend: each band's colour and name, the one shown in full first.
    ctx.textAlign = 'left';
    const entries = [[curve, colour, ''], ...others.map((o) => [o.curve, o.colour, ' (faint)'])].map(([c, dot, note]) => [`band ${c.band ?? '?'}${note}`, dot]);
    const width = entries.reduce((sum, [text]) => sum + 24 + ctx.measureText(text).width, 0);
    ctx.fillStyle = 'rgba(255, 255, 255, 0.85)';
    ctx.fillRect(m.left + 2, m.top + 2, width, 20);
    let lx = m.left + 8;
    for (const [text, dot] of entries) {
      ctx.fillStyle = dot;
      ctx.beginPath(); ctx.arc(lx + 4, m.top + 12, 4, 0, 2 * Math.PI); ctx.fill();
      ctx.fillStyle = '#1b1f24';
      ctx.fillText(text, lx + 12, m.top + 16);
      lx += 24 + ctx.measureText(text).width;
    }
  }
  canvas.dataset.bands = String(all.length);
  return { from: t0, to: t1, left: m.left, width: w };
}

const DMDT_MARGIN = { left: 56, right: 80, top: 12, bottom: 44 };

function dmdtLayout(canvas, record) {
  const m = DMDT_MARGIN;
  const nDt = record.dt_edges.length - 1, nDm = record.dm_edges.length - 1;
  const w = canvas.width - m.left - m.right, h = canvas.height - m.top - m.bottom;
  return { m, nDt, nDm, w, h, cw: w / nDt, ch: h / nDm };
}

export const fmt = (v) => (Math.abs(v) >= 1 || v === 0 ? String(+v.toPrecision(3)) : v.toPrecision(2));

/**
 * Draws a dm–dt image (Δt bins left to right, Δm bins bottom to top; pair counts, viridis of
 * log(1 + count)) or, with `attribution` (a [Δt][Δm] matrix on the same grid), attributions
 * (diverging). `overlay`, an attribution matrix on the same grid, outlines on the counts the
 * strongest pixels (`isStrong`): solid blue where they pushed towards the class, dashed orange
 * where they pushed away.
 */
export function drawDmdt(canvas, record, pixel, attribution = null, overlay = null) {
  const ctx = prepare(canvas);
  if (!record) return;
  const { m, nDt, nDm, w, h, cw, ch } = dmdtLayout(canvas, record);
  const values = attribution ?? record.image;
  const max = attribution ? Math.max(1e-300, ...values.flat().map(Math.abs)) : Math.max(0, ...values.flat());
  const scale = (v) => (max > 0 ? Math.log1p(v) / Math.log1p(max) : 0);
  const colour = attribution ? (v) => `rgb(${divergingRgb(v / max).join(',')})` : (v) => viridis(scale(v));
  for (let i = 0; i < nDt; i++) {
    for (let j = 0; j < nDm; j++) {
      ctx.fillStyle = colour(values[i][j]);
      ctx.fillRect(m.left + i * cw, m.top + (nDm - 1 - j) * ch, Math.ceil(cw), Math.ceil(ch));
    }
  }
  let outlined = 0;
  if (overlay) {
    const omax = Math.max(1e-300, ...overlay.flat().map(Math.abs));
    ctx.lineWidth = 2;
    for (let i = 0; i < nDt; i++) {
      for (let j = 0; j < nDm; j++) {
        const v = overlay[i][j];
        if (!isStrong(v, omax)) continue;
        ctx.strokeStyle = v > 0 ? `rgb(${POSITIVE.join(',')})` : `rgb(${NEGATIVE.join(',')})`;
        ctx.setLineDash(v > 0 ? [] : [3, 2]);
        ctx.strokeRect(m.left + i * cw + 1, m.top + (nDm - 1 - j) * ch + 1, cw - 2, ch - 2);
        outlined += 1;
      }
    }
    ctx.setLineDash([]);
    ctx.lineWidth = 1;
  }
  canvas.dataset.outlined = String(outlined);
  ctx.strokeStyle = '#1b1f24';
  ctx.strokeRect(m.left, m.top, w, h);
  ctx.fillStyle = '#1b1f24';
  ctx.textAlign = 'center';
  const every = Math.ceil(nDt / 8);
  for (let i = 0; i <= nDt; i += every) ctx.fillText(fmt(record.dt_edges[i]), m.left + i * cw, m.top + h + 15);
  ctx.fillText('Δt (days, one column per bin)', m.left + w / 2, canvas.height - 8);
  ctx.textAlign = 'right';
  const everyDm = Math.ceil(nDm / 10);
  for (let j = 0; j <= nDm; j += everyDm) ctx.fillText(fmt(record.dm_edges[j]), m.left - 5, m.top + (nDm - j) * ch + 4);
  verticalText(ctx, 'Δm (mag)', 14, m.top + h / 2);
  // Colour bar.
  const bx = canvas.width - m.right + 16, bw = 14;
  const barColour = attribution ? (f) => `rgb(${divergingRgb(1 - 2 * f).join(',')})` : (f) => viridis(1 - f);
  for (let k = 0; k < h; k++) { ctx.fillStyle = barColour(k / h); ctx.fillRect(bx, m.top + k, bw, 1); }
  ctx.strokeRect(bx, m.top, bw, h);
  ctx.fillStyle = '#1b1f24';
  ctx.textAlign = 'left';
  ctx.fillText(attribution ? `+${fmt(max)}` : fmt(max), bx + bw + 4, m.top + 10);
  ctx.fillText(attribution ? `−${fmt(max)}` : '0', bx + bw + 4, m.top + h);
  verticalText(ctx, attribution ? 'effect on the probability' : 'pairs (log scale)', canvas.width - 8, m.top + h / 2);
  if (pixel) {
    ctx.strokeStyle = '#d55e00';
    ctx.lineWidth = 2;
    ctx.strokeRect(m.left + pixel.iDt * cw, m.top + (nDm - 1 - pixel.iDm) * ch, cw, ch);
    ctx.lineWidth = 1;
  }
}

/** The (iDt, iDm) pixel under a mouse event, or null. */
export function dmdtPixelAt(canvas, record, event) {
  const rect = canvas.getBoundingClientRect();
  const px = ((event.clientX - rect.left) / rect.width) * canvas.width;
  const py = ((event.clientY - rect.top) / rect.height) * canvas.height;
  const { m, nDt, nDm, cw, ch } = dmdtLayout(canvas, record);
  const iDt = Math.floor((px - m.left) / cw);
  const iDm = nDm - 1 - Math.floor((py - m.top) / ch);
  return iDt >= 0 && iDt < nDt && iDm >= 0 && iDm < nDm ? { iDt, iDm } : null;
}

/**
 * The outline of an attribution image's strongest pixels (`isStrong`, as on the dm–dt image).
 * `values` has `rows` × `cols` pixels, row 0 first; `wrap` joins the first and last columns
 * (right ascension). Returns the pixels counted and, per sign, the boundary between marked
 * pixels and those not marked alike as polylines of [row, col] corners (pixel (r, c) spans
 * corners r..r+1, c..c+1).
 */
export function attributionEdges(values, rows, cols, wrap = false) {
  let peak = 0;
  for (const v of values) peak = Math.max(peak, Math.abs(v));
  const mark = (r, c) => {
    if (r < 0 || r >= rows) return 0;
    if (c < 0 || c >= cols) { if (!wrap) return 0; c = (c + cols) % cols; }
    const v = values[r * cols + c];
    return peak > 0 && isStrong(v, peak) ? Math.sign(v) : 0;
  };
  const edges = { 1: [], [-1]: [] };
  let count = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const s = mark(r, c);
      if (!s) continue;
      count += 1;
      if (mark(r - 1, c) !== s) edges[s].push([r, c, r, c + 1]);
      if (mark(r + 1, c) !== s) edges[s].push([r + 1, c, r + 1, c + 1]);
      if (mark(r, c - 1) !== s) edges[s].push([r, c, r + 1, c]);
      if (mark(r, c + 1) !== s) edges[s].push([r, c + 1, r + 1, c + 1]);
    }
  }
  // Runs of edges along one line become one polyline, so that dashes run on along it.
  const lines = {};
  for (const sign of [1, -1]) {
    const runs = new Map();
    for (const [r0, c0, r1, c1] of edges[sign]) {
      const key = r0 === r1 ? `h${r0}` : `v${c0}`;
      if (!runs.has(key)) runs.set(key, []);
      runs.get(key).push(r0 === r1 ? c0 : r0);
    }
    lines[sign] = [];
    for (const [key, starts] of runs) {
      const at = Number(key.slice(1));
      starts.sort((a, b) => a - b);
      let from = starts[0];
      for (let k = 0; k < starts.length; k++) {
        if (k + 1 < starts.length && starts[k + 1] === starts[k] + 1) continue;
        const to = starts[k] + 1;
        const points = [];
        for (let t = from; t <= to; t++) points.push(key[0] === 'h' ? [at, t] : [t, at]);
        lines[sign].push(points);
        from = starts[k + 1];
      }
    }
  }
  return { count, lines };
}

/** Strokes attribution edges through `at(row, col) → [x, y]`: a white halo under solid blue
 * (towards a real event) or dashed orange (towards noise), readable on any colour map. */
function strokeEdges(ctx, { lines }, at) {
  for (const sign of [1, -1]) {
    if (!lines[sign].length) continue;
    ctx.beginPath();
    for (const points of lines[sign]) {
      points.forEach(([r, c], k) => {
        const [x, y] = at(r, c);
        if (k === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      });
    }
    ctx.setLineDash([]);
    ctx.lineWidth = 4;
    ctx.strokeStyle = 'rgba(255, 255, 255, 0.9)';
    ctx.stroke();
    ctx.setLineDash(sign > 0 ? [] : [4, 3]);
    ctx.lineWidth = 2;
    ctx.strokeStyle = `rgb(${(sign > 0 ? POSITIVE : NEGATIVE).join(',')})`;
    ctx.stroke();
  }
  ctx.setLineDash([]);
  ctx.lineWidth = 1;
}

/**
 * A row-major image (`width` × `height`, values ≥ 0, peak 1) in viridis, with axis labels:
 * `axes = {x: [left, right, label], y: [bottom, top, label]}`. Row 0 is drawn at the bottom.
 */
export function drawImage(canvas, data, width, height, axes, { diverging = false, overlay = null } = {}) {
  const ctx = prepare(canvas);
  const m = { left: 52, right: diverging ? 84 : 64, top: 10, bottom: 38 };
  const w = canvas.width - m.left - m.right, h = canvas.height - m.top - m.bottom;
  const pixels = new ImageData(width, height);
  let peak = 0;
  for (const v of data) peak = Math.max(peak, diverging ? Math.abs(v) : v);
  const colour = diverging ? (v) => divergingRgb(peak > 0 ? v / peak : 0) : (v) => viridisRgb(peak > 0 ? v / peak : 0);
  for (let row = 0; row < height; row++) {
    for (let col = 0; col < width; col++) {
      const c = colour(data[row * width + col]);
      const k = 4 * ((height - 1 - row) * width + col);
      pixels.data.set([c[0], c[1], c[2], 255], k);
    }
  }
  const off = new OffscreenCanvas(width, height);
  off.getContext('2d').putImageData(pixels, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, m.left, m.top, w, h);
  // Row 0 is drawn at the bottom.
  const outline = overlay ? attributionEdges(overlay, height, width) : null;
  if (outline) strokeEdges(ctx, outline, (r, c) => [m.left + (c / width) * w, m.top + h - (r / height) * h]);
  canvas.dataset.outlined = String(outline ? outline.count : 0);
  ctx.strokeStyle = '#1b1f24';
  ctx.strokeRect(m.left, m.top, w, h);
  ctx.textAlign = 'center';
  const [x0, x1, xLabel] = axes.x, [y0, y1, yLabel] = axes.y;
  for (const v of niceTicks(Math.min(x0, x1), Math.max(x0, x1), 6)) ctx.fillText(fmt(v), m.left + ((v - x0) / (x1 - x0)) * w, m.top + h + 14);
  ctx.fillText(xLabel, m.left + w / 2, canvas.height - 6);
  ctx.textAlign = 'right';
  for (const v of niceTicks(Math.min(y0, y1), Math.max(y0, y1), 5)) ctx.fillText(fmt(v), m.left - 4, m.top + h - ((v - y0) / (y1 - y0)) * h + 4);
  verticalText(ctx, yLabel, 12, m.top + h / 2);
  const bx = canvas.width - m.right + 12, bw = 12;
  const barColour = diverging ? (f) => `rgb(${divergingRgb(1 - 2 * f).join(',')})` : (f) => viridis(1 - f);
  for (let k = 0; k < h; k++) { ctx.fillStyle = barColour(k / h); ctx.fillRect(bx, m.top + k, bw, 1); }
  ctx.strokeRect(bx, m.top, bw, h);
  ctx.fillStyle = '#1b1f24';
  ctx.textAlign = 'left';
  ctx.fillText(diverging ? `+${fmt(peak)}` : 'peak', bx + bw + 3, m.top + 10);
  ctx.fillText(diverging ? `−${fmt(peak)}` : '0', bx + bw + 3, m.top + h);
}

/**
 * The sky map in Mollweide projection (`view` from skysift: density and credible level per
 * cell), viridis, with the 50% (orange) and 90% (white) credible contours and a graticule.
 */
export function drawMollweide(canvas, view, width, height, skyAttribution = null) {
  const ctx = prepare(canvas);
  // The whole sky is an ellipse twice as wide as high: the largest such box that fits, centred,
  // with room for the caption below.
  const room = { w: canvas.width - 20, h: canvas.height - 40 };
  const w = Math.min(room.w, 2 * room.h), h = w / 2;
  const m = { left: (canvas.width - w) / 2, top: 10 + (room.h - h) / 2 };
  // Right ascension 180° in the middle, growing to the left (as skymap.rs draws the view).
  const projection = geoMollweide().rotate([-180, 0]).reflectX(true).scale(w / (4 * Math.SQRT2)).translate([m.left + w / 2, m.top + h / 2]);
  const at = (ra, dec) => projection([ra, dec]);
  const path = geoPath(projection, ctx);
  const { density, level } = view;
  let peak = 0;
  for (const v of density) if (v > peak) peak = v;
  const pixels = new ImageData(width, height);
  const outside = (k) => Number.isNaN(level[k]);
  const edge = (k, t) => {
    if (outside(k) || level[k] > t) return false;
    const r = Math.floor(k / width), c = k % width;
    const around = [[r - 1, c], [r + 1, c], [r, c - 1], [r, c + 1]];
    return around.some(([rr, cc]) => rr >= 0 && rr < height && cc >= 0 && cc < width && !outside(rr * width + cc) && level[rr * width + cc] > t);
  };
  for (let k = 0; k < density.length; k++) {
    let c;
    if (outside(k)) c = [255, 255, 255];
    else if (edge(k, 0.5)) c = [213, 94, 0];
    else if (edge(k, 0.9)) c = [255, 255, 255];
    else c = viridisRgb(peak > 0 ? density[k] / peak : 0);
    pixels.data.set([c[0], c[1], c[2], 255], 4 * k);
  }
  const off = new OffscreenCanvas(width, height);
  off.getContext('2d').putImageData(pixels, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, m.left, m.top, w, h);
  // Graticule: declination every 30°, right ascension every 3 h, pole to pole.
  ctx.strokeStyle = 'rgba(255, 255, 255, 0.35)';
  ctx.beginPath();
  path(geoGraticule().extentMinor([[-180, -90], [180, 90]]).step([45, 30])());
  ctx.stroke();
  // Sky-image attributions (180 × 360, row 0 from declination −90°, column 0 from right
  // ascension 360°): pixel corner (r, c) is at declination r − 90°, right ascension 360° − c.
  const outline = skyAttribution ? attributionEdges(skyAttribution, 180, 360, true) : null;
  if (outline) {
    const ra = (c) => Math.min(359.999, Math.max(0.001, 360 - c)); // keep 0° and 360° on their own sides
    strokeEdges(ctx, outline, (r, c) => at(ra(c), r - 90));
  }
  canvas.dataset.outlined = String(outline ? outline.count : 0);
  ctx.strokeStyle = '#1b1f24';
  ctx.beginPath();
  path({ type: 'Sphere' });
  ctx.stroke();
  ctx.fillStyle = 'rgba(255, 255, 255, 0.8)';
  ctx.textAlign = 'center';
  for (const hours of [3, 6, 9, 12, 15, 18, 21]) {
    const [x, y] = at(hours * 15, 0);
    ctx.fillText(`${hours}h`, x, y - 3);
  }
  ctx.fillStyle = '#1b1f24';
  ctx.fillText('right ascension (grows to the left); declination lines every 30°', m.left + w / 2, canvas.height - 8);
}
