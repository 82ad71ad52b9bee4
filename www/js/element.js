// <skysift-classifier>: skysift as a custom element, for pages that embed it.
//
//   <script type="module" src="/path/to/skysift/www/js/element.js"></script>
//   <skysift-classifier src="star.csv" mode="compact"></skysift-classifier>
//
// Attributes: `src` (a light curve or a sky map, fetched from this page's origin: the page's
// Content-Security-Policy decides what may be fetched), `kind` ("lightcurve" | "skymap"; by
// default told from the file's bytes), `mode` ("compact": the answer in one line; "full": with
// every class's probability or the sky map's rates), `backend` ("auto" | "webgpu" | "cpu").
// Method `load(bytes, name)` classifies bytes given by the page. Events: `skysift-result`
// (detail: the result) and `skysift-error` (detail: {message}). Everything read from a file is
// shown as text. All elements of a page share one skysift worker.
import { createSkysift, isSkyMap } from './skysift.js';
import { barItems } from './bars.js';

const engines = new Map();
function engine(backend) {
  if (!engines.has(backend)) engines.set(backend, createSkysift({ backend }));
  return engines.get(backend);
}

const STYLE = `
  :host { display: block; font-family: system-ui, sans-serif; border: 1px solid #d6dbe1; border-radius: 0.4rem; padding: 0.5rem 0.7rem; background: white; color: #1b1f24; }
  .status { color: #5b6570; font-size: 0.9rem; }
  .error { color: #8a3b00; }
  .answer { font-weight: 600; }
  ul { list-style: none; padding: 0; margin: 0.3rem 0 0; }
  li { display: grid; grid-template-columns: 8rem 1fr 3.2rem; gap: 0.4rem; align-items: center; font-size: 0.85rem; }
  .bar { height: 0.7rem; background: #e8eef5; border-radius: 0.2rem; overflow: hidden; }
  .bar span { display: block; height: 100%; background: #0b62a4; }
  .warn { color: #8a3b00; font-size: 0.85rem; }
  .credit { color: #5b6570; font-size: 0.75rem; margin-top: 0.3rem; }
`;

/**
 * Classifies a light curve or scores a sky map with a skysift instance: `{kind, name, objects}`
 * for light curves (as `Skysift.classify`), `{kind, name, score, far, fnr, verdict, meta,
 * explanation}` for sky maps.
 */
export async function analyse(sky, bytes, name = 'file', kind = null) {
  const isMap = kind ? kind === 'skymap' : await isSkyMap(bytes, name);
  if (isMap) {
    const r = await sky.scoreSkyMap(bytes);
    return { kind: 'skymap', name, score: r.score, far: r.far, fnr: r.fnr, verdict: r.score >= 0.5 ? 'astrophysical' : 'noise', meta: r.meta, explanation: r.explanation };
  }
  const { file } = await sky.readLightCurves(bytes);
  try {
    return { kind: 'lightcurve', name, objects: await sky.classify(file) };
  } finally {
    sky.release(file).catch(() => {});
  }
}

export class SkysiftClassifier extends HTMLElement {
  static observedAttributes = ['src', 'mode'];
  #root;
  #body;
  #last = null;
  #loading = 0;

  constructor() {
    super();
    this.#root = this.attachShadow({ mode: 'open' });
    // A constructed style sheet, not a <style> element: strict Content-Security-Policies
    // (style-src 'self', as skysift's own pages have) allow it.
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(STYLE);
    this.#root.adoptedStyleSheets = [sheet];
    this.#body = document.createElement('div');
    this.#body.setAttribute('role', 'status');
    this.#body.setAttribute('aria-live', 'polite');
    this.#root.append(this.#body);
  }

  /** The last result, or null. */
  get result() {
    return this.#last;
  }

  attributeChangedCallback(name, old, value) {
    if (name === 'src' && value && value !== old) this.#fetchAndLoad(value);
    if (name === 'mode' && this.#last) this.#render(this.#last);
  }

  async #fetchAndLoad(src) {
    const ticket = ++this.#loading;
    this.#status(`loading ${src}…`);
    try {
      const response = await fetch(new URL(src, document.baseURI));
      if (!response.ok) throw new Error(`${src}: ${response.status} ${response.statusText}`);
      const bytes = await response.arrayBuffer();
      if (ticket === this.#loading) await this.load(bytes, src.split('/').pop());
    } catch (e) {
      if (ticket === this.#loading) this.#fail(e);
    }
  }

  /** Classifies `bytes` (ArrayBuffer); resolves to the result, also sent as `skysift-result`. */
  async load(bytes, name = 'file') {
    this.#status(`analysing ${name}…`);
    try {
      const sky = await engine(this.getAttribute('backend') ?? 'auto');
      const result = await analyse(sky, bytes, name, this.getAttribute('kind'));
      this.#last = result;
      this.#render(result);
      this.dataset.state = 'ready';
      this.dispatchEvent(new CustomEvent('skysift-result', { detail: result, bubbles: true, composed: true }));
      return result;
    } catch (e) {
      this.#fail(e);
      throw e;
    }
  }

  #status(text) {
    const p = document.createElement('p');
    p.className = 'status';
    p.textContent = text;
    this.#body.replaceChildren(p);
    this.dataset.state = 'working';
  }

  #fail(e) {
    const p = document.createElement('p');
    p.className = 'error';
    p.textContent = `skysift: ${e.message ?? e}`;
    this.#body.replaceChildren(p);
    this.dataset.state = 'error';
    this.dispatchEvent(new CustomEvent('skysift-error', { detail: { message: String(e.message ?? e) }, bubbles: true, composed: true }));
  }

  #render(result) {
    const full = this.getAttribute('mode') === 'full';
    const nodes = [];
    const line = (text, className) => {
      const p = document.createElement('p');
      p.textContent = text;
      if (className) p.className = className;
      nodes.push(p);
    };
    if (result.kind === 'skymap') {
      const who = result.meta.object ? `event ${result.meta.object}: ` : '';
      line(`${who}${result.verdict === 'astrophysical' ? 'likely a real astrophysical event' : 'likely noise (a glitch)'} — GWSkyNet score ${result.score.toFixed(3)}`, 'answer');
      if (full) line(`False-alarm rate ${(100 * result.far).toFixed(1)}%, false-negative rate ${(100 * result.fnr).toFixed(1)}% at this score.`);
      line('GWSkyNet II (Cabero et al. 2020; Chan et al. 2024), GPL-2.0-or-later, run by skysift in this browser.', 'credit');
    } else {
      for (const o of result.objects) {
        const who = o.object ? `${o.object}: ` : '';
        const p = o.probabilities[o.label];
        line(o.label === 'uncertain' ? `${who}too few points to classify` : `${who}${o.label} (${Math.round(100 * p)}%)`, 'answer');
        if (full) {
          const ul = document.createElement('ul');
          const rows = Object.entries(o.probabilities).sort((a, b) => b[1] - a[1]).map(([c, v]) => ({ label: c, value: v, text: `${(100 * v).toFixed(1)}%` }));
          ul.append(...barItems(rows));
          nodes.push(ul);
        }
        if (o.warnings.length) line(`Take with care: ${o.warnings.join('; ')}.`, 'warn');
      }
      line('dm–dt classifier trained by skysift on EROS-1; runs in this browser.', 'credit');
    }
    this.#body.replaceChildren(...nodes);
  }
}

if (!customElements.get('skysift-classifier')) customElements.define('skysift-classifier', SkysiftClassifier);
