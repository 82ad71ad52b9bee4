// End-to-end tests of the page in headless chromium, without and with WebGPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, openPage, waitReady, resultsDir, root, dataDir } from './helpers.mjs';

const cli = join(process.env.CARGO_TARGET_DIR ?? join(process.env.HOME, '.cache/skysift/target'), 'release/skysift');

/** The values of a little-endian float32 .npy file (format 1.0, as `skysift skymap --dump-inputs` writes). */
function readNpy(path) {
  const bytes = readFileSync(path);
  const headerLength = bytes.readUInt16LE(8);
  assert.match(bytes.toString('latin1', 10, 10 + headerLength), /'descr': '<f4'/);
  const data = bytes.subarray(10 + headerLength);
  return new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
}

test('without WebGPU the page falls back to the CPU and says why', async () => {
  const session = await launch({ webgpu: false });
  try {
    const { page, log } = await openPage(session, '/www/');
    await waitReady(page);
    assert.equal(await page.getAttribute('body', 'data-backend'), 'cpu');
    assert.equal(await page.getAttribute('body', 'data-fallback'), 'true');
    const detail = await page.textContent('#backend-detail');
    assert.match(detail, /CPU backend/);
    assert.match(detail, /WebGPU/, 'the reason for the fallback is shown');
    await page.waitForFunction(() => document.querySelector('#self-check').textContent.length > 0);
    assert.match(await page.textContent('#self-check'), /largest difference from exact arithmetic/);
    const check = await page.evaluate(() => window.skysift.selfCheck());
    assert.ok(check.maxAbsDiff < 1e-4, `CPU self-check differs by ${check.maxAbsDiff}`);
    await page.screenshot({ path: join(resultsDir, 'page-cpu.png'), fullPage: true });
    assert.deepEqual(log.errors, []);
    assert.deepEqual(log.external, [], 'no request leaves 127.0.0.1');
  } finally {
    await session.close();
  }
});

test('with WebGPU the page runs on it, and WebGPU and CPU agree to 1e-4', async () => {
  const session = await launch({ webgpu: true });
  try {
    const { page, log } = await openPage(session, '/www/?backend=webgpu');
    await waitReady(page);
    const info = await page.evaluate(() => window.skysift.backend);
    assert.equal(info.backend, 'webgpu', `expected WebGPU, got ${JSON.stringify(info)}`);
    assert.equal(info.fallback, false);
    assert.ok(info.adapter, 'adapter information is reported');
    assert.match(await page.textContent('#backend'), /WebGPU/);
    const result = await page.evaluate(async () => {
      const { createSkysift } = await import('./js/skysift.js');
      const cpu = await createSkysift({ backend: 'cpu' });
      const [a, b] = [await window.skysift.selfCheck(), await cpu.selfCheck()];
      cpu.terminate();
      const diff = (x, y) => Math.max(...x.map((v, i) => Math.abs(v - y[i])));
      return { webgpu: a.maxAbsDiff, cpu: b.maxAbsDiff, between: Math.max(diff(a.conv, b.conv), diff(a.matmul, b.matmul)), n: a.conv.length + a.matmul.length };
    });
    console.log(`self-check: WebGPU vs CPU max abs diff ${result.between} over ${result.n} values`);
    assert.equal(result.n, 3 * 64 + 16 * 8);
    assert.ok(result.between <= 1e-4, `WebGPU and CPU differ by ${result.between}`);
    assert.ok(result.webgpu <= 1e-4 && result.cpu <= 1e-4);
    await page.screenshot({ path: join(resultsDir, 'page-webgpu.png'), fullPage: true });
    assert.deepEqual(log.errors, []);
    assert.deepEqual(log.external, []);
  } finally {
    await session.close();
  }
});

test('?backend=cpu forces the CPU even when WebGPU is there', async () => {
  const session = await launch({ webgpu: true });
  try {
    const { page } = await openPage(session, '/www/?backend=cpu');
    await waitReady(page);
    const info = await page.evaluate(() => window.skysift.backend);
    assert.equal(info.backend, 'cpu');
    assert.equal(info.fallback, false);
    assert.equal(info.requested, 'cpu');
  } finally {
    await session.close();
  }
});

test('the page gives the same dm-dt counts as the CLI, and a bad file leaves the result in place', async () => {
  const session = await launch({ webgpu: false });
  try {
    const { page, log } = await openPage(session, '/www/');
    await waitReady(page);
    const example = join(root, 'www/examples/rr-lyrae.csv');
    const fromCli = JSON.parse(execFileSync(cli, ['dmdt', example, '--grid', 'scope', '--json'], { encoding: 'utf8' }));
    const fromPage = await page.evaluate(async () => {
      const bytes = await (await fetch('./examples/rr-lyrae.csv')).arrayBuffer();
      const { file } = await window.skysift.readLightCurves(bytes);
      return window.skysift.dmdt(file, 0, { grid: 'scope' });
    });
    assert.deepEqual(fromPage.counts, fromCli.counts);
    assert.equal(fromPage.n_pairs, fromCli.n_pairs);

    // A real multi-object, two-band file (ZTF/ALeRCE, from ../shared): every light curve the
    // same in the page's wasm as in the native CLI.
    const ztf = join(dataDir, 'lightcurves/ztf-alerce/periodic_light_curves.csv');
    if (existsSync(ztf)) {
      const cliLines = execFileSync(cli, ['dmdt', ztf, '--grid', 'scope', '--json'], { encoding: 'utf8' }).trim().split('\n').map((l) => JSON.parse(l));
      const pageRecords = await page.evaluate(async (text) => {
        const { file, curves } = await window.skysift.readLightCurves(new TextEncoder().encode(text));
        const out = [];
        for (let i = 0; i < curves.length; i++) out.push(await window.skysift.dmdt(file, i, { grid: 'scope' }));
        return out;
      }, readFileSync(ztf, 'utf8'));
      assert.equal(pageRecords.length, cliLines.length);
      assert.ok(pageRecords.length >= 40);
      pageRecords.forEach((r, i) => {
        assert.equal(`${r.object}/${r.band}`, `${cliLines[i].object}/${cliLines[i].band}`);
        assert.deepEqual(r.counts, cliLines[i].counts, `${r.object} band ${r.band}`);
      });
    }

    // Hovering a dm-dt pixel picks out exactly the pairs counted in it.
    const target = await page.evaluate(async () => {
      const bytes = await (await fetch('./examples/rr-lyrae.csv')).arrayBuffer();
      const { file } = await window.skysift.readLightCurves(bytes);
      const r = await window.skysift.dmdt(file, 0, { grid: 'mahabal2017' });
      let best = { iDt: 0, iDm: 0, count: -1 };
      r.counts.forEach((row, iDt) => row.forEach((count, iDm) => { if (count > best.count && count < 2000) best = { iDt, iDm, count }; }));
      const canvas = document.getElementById('dmdt-canvas');
      const rect = canvas.getBoundingClientRect();
      const scale = rect.width / canvas.width;
      const nDt = r.dt_edges.length - 1, nDm = r.dm_edges.length - 1;
      const cw = (canvas.width - 56 - 80) / nDt, ch = (canvas.height - 12 - 44) / nDm;
      return { ...best, x: rect.left + (56 + (best.iDt + 0.5) * cw) * scale, y: rect.top + (12 + (nDm - 1 - best.iDm + 0.5) * ch) * scale };
    });
    assert.ok(target.count > 0);
    await page.mouse.move(target.x, target.y);
    await page.waitForFunction((want) => document.getElementById('dmdt-canvas').dataset.hover === want, `${target.iDt},${target.iDm},${target.count}`);
    assert.match(await page.textContent('#lc-caption'), new RegExp(`the ${target.count} pairs of the hovered`));
    await page.screenshot({ path: join(resultsDir, 'page-hover.png'), fullPage: true });
    await page.mouse.move(1, 1); // leaving the image clears the highlight and its captions
    await page.waitForFunction(() => document.getElementById('dmdt-canvas').dataset.hover === '');
    assert.equal(await page.textContent('#lc-caption'), 'Magnitude against time (brighter is up).');

    const before = await page.textContent('#file-info');
    await page.setInputFiles('#file', { name: 'junk.csv', mimeType: 'text/csv', buffer: Buffer.from('time,mag\n1,abc\n2,3\n') });
    await page.waitForSelector('#message:not([hidden])');
    assert.match(await page.textContent('#message'), /junk\.csv: line 2, column 'mag': 'abc' is not a number/);
    assert.equal(await page.textContent('#file-info'), before, 'the previous result stays');
    // Hostile text from a file is shown as text, never run.
    await page.setInputFiles('#file', { name: '<img src=x onerror=alert(1)>.csv', mimeType: 'text/csv', buffer: Buffer.from('<img src=x onerror=alert(1)>\n1\n') });
    await page.waitForFunction(() => document.querySelector('#message').textContent.includes('<img'));
    assert.equal(await page.locator('#message img').count(), 0);
    await page.screenshot({ path: join(resultsDir, 'page-bad-file.png'), fullPage: true });
    assert.deepEqual(log.errors, []);
  } finally {
    await session.close();
  }
});

test('GWSkyNet gives the reference scores on WebGPU and on the CPU in the browser', async (t) => {
  const refDir = join(dataDir, 'skymaps/reference');
  if (!existsSync(join(refDir, 'scores.tsv'))) return t.skip(`no reference data at ${refDir}`);
  const rows = readFileSync(join(refDir, 'scores.tsv'), 'utf8').trim().split('\n').slice(1)
    .map((l) => l.split('\t')).filter((f) => f[1] !== '');
  // Three maps across the score range: a glitch, an ambiguous one, a confident real event.
  const picked = ['o3a-gracedb/S190718y/bayestar.fits.gz', 'o3a-gracedb/S190425z/bayestar.fits', 'o3a-gracedb/S190521g/bayestar.fits']
    .map((file) => rows.find((r) => r[0] === file));
  const python = join(root, '.venv/bin/python');
  const maps = picked.map(([file, score]) => {
    const npz = join(refDir, `${file.replaceAll('/', '__').replaceAll(',', '_')}.npz`);
    const arrays = JSON.parse(execFileSync(python, ['-c',
      'import sys, json, numpy as np; z = np.load(sys.argv[1]); print(json.dumps([z[f"arr_{k}"].ravel().tolist() for k in range(10)]))', npz],
    { encoding: 'utf8', maxBuffer: 256 << 20 }));
    return { file, score: Number(score), arrays };
  });
  const session = await launch({ webgpu: true });
  try {
    const { page, log } = await openPage(session, '/www/?backend=webgpu');
    await waitReady(page);
    const results = await page.evaluate(async (maps) => {
      const { createSkysift } = await import('./js/skysift.js');
      const cpu = await createSkysift({ backend: 'cpu' });
      const out = [];
      for (const m of maps) {
        out.push({ file: m.file, webgpu: await window.skysift.gwskynetScore(m.arrays), cpu: await cpu.gwskynetScore(m.arrays) });
      }
      cpu.terminate();
      return { backend: window.skysift.backend.backend, out };
    }, maps);
    assert.equal(results.backend, 'webgpu');
    for (const [i, r] of results.out.entries()) {
      console.log(`GWSkyNet ${r.file}: webgpu ${r.webgpu.score.toFixed(7)}, cpu ${r.cpu.score.toFixed(7)}, reference ${maps[i].score}`);
      assert.ok(Math.abs(r.webgpu.score - r.cpu.score) <= 1e-5, `${r.file}: WebGPU and CPU differ`);
      assert.ok(Math.abs(r.cpu.score - maps[i].score) <= 1e-5, `${r.file}: CPU differs from the reference`);
      assert.ok(Math.abs(r.webgpu.score - maps[i].score) <= 1e-5, `${r.file}: WebGPU differs from the reference`);
    }
    assert.deepEqual(log.errors, []);
  } finally {
    await session.close();
  }
});

test('a file that is not text dragged over the page starts the sky maps\' helper workers before the drop; text does not', async () => {
  const session = await launch({ webgpu: false });
  try {
    const { page, log } = await openPage(session, '/www/?backend=cpu');
    await waitReady(page);
    const helpers = await page.evaluate(async () => (await import('./js/skysift.js')).volumeHelpersWanted());
    const before = page.workers().length;
    const dragEnter = (name, type) => page.evaluate(([name, type]) => {
      const data = new DataTransfer();
      data.items.add(new File(['x'], name, { type }));
      document.getElementById('drop').dispatchEvent(new DragEvent('dragenter', { dataTransfer: data, bubbles: true }));
    }, [name, type]);
    await dragEnter('curve.csv', 'text/csv');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(page.workers().length, before, 'a light curve dragged over the page started workers');
    await dragEnter('bayestar.fits.gz', 'application/gzip');
    const deadline = Date.now() + 30000;
    while (page.workers().length < before + helpers && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(page.workers().length, before + helpers, `${helpers} helper worker(s) expected`);
    // Again, and with a map scored meanwhile: no more workers, the same score as a later run.
    await dragEnter('bayestar.fits.gz', 'application/gzip');
    const [first, second] = await page.evaluate(async () => {
      const bytes = await (await fetch('examples/simulated-bbh.fits.gz')).arrayBuffer();
      const prepared = window.skysift.prepareSkyMaps();
      const a = await window.skysift.scoreSkyMap(bytes);
      await prepared;
      const b = await window.skysift.scoreSkyMap(bytes);
      return [a.score, b.score];
    });
    assert.equal(first, second);
    assert.equal(page.workers().length, before + helpers);
    assert.deepEqual(log.errors, []);
  } finally {
    await session.close();
  }
});

test('with many cores, seven helper workers render the volume images in bands: the same inputs, bit for bit, as one worker alone', async () => {
  // Chromium is told it has 8 or 1 cores (this machine may have 2): the split of the work,
  // not its speed, is what is checked.
  const run = async (cores) => {
    const session = await launch({ webgpu: false });
    try {
      const { page, log } = await openPage(session, '/www/?backend=cpu', {
        prepare: (context) => context.addInitScript(`Object.defineProperty(navigator, 'hardwareConcurrency', { get: () => ${cores} });`),
      });
      await waitReady(page);
      const before = page.workers().length;
      const result = await page.evaluate(async () => {
        const { createSkysift, volumeHelpersWanted } = await import('./js/skysift.js');
        const sky = await createSkysift({ backend: 'cpu' });
        const bytes = await (await fetch('examples/simulated-bbh.fits.gz')).arrayBuffer();
        const r = await sky.scoreSkyMap(bytes);
        return { helpers: volumeHelpersWanted(), score: r.score, inputs: r.inputs.map((values) => Array.from(values)), volume: r.volume.map((values) => Array.from(values)) };
      });
      const workers = page.workers().length - before;
      assert.deepEqual(log.errors, []);
      return { ...result, workers };
    } finally {
      await session.close();
    }
  };
  const many = await run(8);
  const one = await run(1);
  assert.equal(many.helpers, 7);
  assert.equal(one.helpers, 0);
  // The new Skysift's own worker, and its seven helpers.
  assert.equal(many.workers, 8);
  assert.equal(one.workers, 1);
  assert.equal(many.score, one.score);
  assert.equal(many.inputs.length, 10);
  many.inputs.forEach((values, k) => assert.deepEqual(values, one.inputs[k], `input ${k}`));
  many.volume.forEach((values, k) => assert.deepEqual(values, one.volume[k], `volume image ${k}`));
});

test('a real sky map dropped on the page gets the CLI\'s score; a map GWSkyNet cannot use, or a stop, keeps the result', async (t) => {
  const mapPath = join(dataDir, 'skymaps/o3b-gracedb/S200129m.multiorder.fits');
  const slowPath = join(dataDir, 'skymaps/o3a-gracedb/S190412m/bayestar.fits');
  const o1Path = join(dataDir, 'skymaps/edge-cases/GW151226-bayestar.fits');
  if (!existsSync(mapPath)) return t.skip(`no sky maps at ${dataDir}`);
  const fromCli = JSON.parse(execFileSync(cli, ['skymap', mapPath, '--json'], { encoding: 'utf8' }));
  const session = await launch({ webgpu: false });
  try {
    const { page, log } = await openPage(session, '/www/');
    await waitReady(page);
    const drop = async (path, name = path.split('/').pop()) => {
      await page.evaluate(() => { document.body.dataset.skymap = ''; });
      await page.setInputFiles('#file', { name, mimeType: 'application/octet-stream', buffer: readFileSync(path) });
    };
    await drop(mapPath);
    await page.waitForSelector('body[data-skymap="ready"]', { timeout: 300000 });
    const shown = await page.evaluate(() => window.lastSkyMap);
    console.log(`sky map in the page (CPU): score ${shown.score.toFixed(7)} vs CLI ${fromCli.score.toFixed(7)}; ${shown.seconds.total.toFixed(2)} s in the page, ${fromCli.seconds.toFixed(2)} s native`);
    assert.ok(Math.abs(shown.score - fromCli.score) <= 1e-5, 'page and CLI scores differ');
    assert.ok(Math.abs(shown.far - fromCli.far) <= 1e-6 && Math.abs(shown.fnr - fromCli.fnr) <= 1e-6);
    assert.equal(shown.meta.object, fromCli.object);
    // Its ten inputs are the CLI's: the volume images rendered in bands of rows by the page's
    // workers, each planning a face once for all its bands, against one native pass.
    const dumpDir = mkdtempSync(join(tmpdir(), 'skysift-inputs-'));
    try {
      execFileSync(cli, ['skymap', mapPath, '--dump-inputs', dumpDir]);
      const [mapDir] = readdirSync(dumpDir);
      const pageInputs = await page.evaluate(async (bytes) => {
        const result = await window.skysift.scoreSkyMap(new Uint8Array(bytes));
        return result.inputs.map((values) => Array.from(values));
      }, [...readFileSync(mapPath)]);
      // In the model's order: its input names sorted as text (input_1, input_10, input_2, …).
      const names = Array.from({ length: 10 }, (_, k) => `input_${k + 1}`).sort();
      assert.equal(pageInputs.length, names.length);
      pageInputs.forEach((values, k) => {
        const cliValues = readNpy(join(dumpDir, mapDir, `${names[k]}.npy`));
        assert.equal(values.length, cliValues.length, `${names[k]}: size`);
        const peak = cliValues.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        const worst = values.reduce((m, v, i) => Math.max(m, Math.abs(v - cliValues[i])), 0);
        assert.ok(worst <= 1e-6 * Math.max(peak, 1e-30), `${names[k]}: the page's differs from the CLI's by ${worst} (peak ${peak})`);
      });
    } finally {
      rmSync(dumpDir, { recursive: true, force: true });
    }
    const verdict = await page.textContent('#verdict');
    assert.match(verdict, /Likely a real astrophysical event\. GWSkyNet score 0\.99\d\d/);
    // The explanation: ten exact Shapley values that add up to score − baseline, as the CLI's.
    assert.equal(await page.locator('#shapley li').count(), 10);
    const explained = JSON.parse(execFileSync(cli, ['explain', mapPath, '--json'], { encoding: 'utf8' }));
    const [sum, base] = await page.$eval('#shapley', (ul) => [Number(ul.dataset.sum), Number(ul.dataset.base)]);
    assert.ok(Math.abs(sum - (shown.score - base)) <= 1e-5, `Σφ ${sum} vs ${shown.score - base}`);
    assert.ok(Math.abs(base - explained.base_value) <= 1e-5);
    const pagePhi = await page.evaluate(() => window.lastSkyMap.explanation);
    pagePhi.names.forEach((name, i) => assert.ok(Math.abs(pagePhi.phi[i] - explained.inputs[name]) <= 1e-5, name));
    console.log(`explanation in the page: ${shown.seconds.explain.toFixed(3)} s (CPU); CLI ${explained.seconds.toFixed(3)} s`);
    await page.screenshot({ path: join(resultsDir, 'page-skymap.png'), fullPage: true });

    // The page's own example sky map (simulated by the project) is scored too.
    await page.evaluate(() => { document.body.dataset.skymap = ''; });
    await page.click('#example-skymap');
    await page.waitForSelector('body[data-skymap="ready"]', { timeout: 300000 });
    assert.match(await page.textContent('#skymap-info'), /example: simulated binary black hole/);
    const exampleScore = await page.evaluate(() => window.lastSkyMap.score);
    const exampleCli = JSON.parse(execFileSync(cli, ['skymap', join(root, 'www/examples/simulated-bbh.fits.gz'), '--json'], { encoding: 'utf8' }));
    assert.ok(Math.abs(exampleScore - exampleCli.score) <= 1e-5);
    await drop(mapPath);
    await page.waitForSelector('body[data-skymap="ready"]', { timeout: 300000 });

    // The O1 map is not BAYESTAR's: a message naming the problem, and the verdict stays.
    await drop(o1Path);
    await page.waitForSelector('body[data-skymap="error"]', { timeout: 60000 });
    assert.match(await page.textContent('#skymap-message'), /GW151226-bayestar\.fits: GWSkyNet only scores sky maps made by BAYESTAR/);
    assert.equal(await page.textContent('#verdict'), verdict);
    // A truncated file: the same.
    await page.evaluate(() => { document.body.dataset.skymap = ''; });
    await page.setInputFiles('#file', { name: 'cut.fits', mimeType: 'application/octet-stream', buffer: readFileSync(mapPath).subarray(0, 20000) });
    await page.waitForSelector('body[data-skymap="error"]', { timeout: 60000 });
    assert.match(await page.textContent('#skymap-message'), /cut\.fits: /);
    assert.equal(await page.textContent('#verdict'), verdict);

    // Stopping a long run: the result stays, and the page still works afterwards.
    await drop(slowPath);
    await page.waitForFunction(() => /volume image/.test(document.getElementById('skymap-step').textContent), null, { timeout: 60000 });
    await page.click('#skymap-cancel');
    await page.waitForSelector('body[data-skymap="stopped"]', { timeout: 60000 });
    assert.match(await page.textContent('#skymap-message'), /stopped/);
    assert.equal(await page.textContent('#verdict'), verdict);
    await drop(mapPath);
    await page.waitForSelector('body[data-skymap="ready"]', { timeout: 300000 });
    assert.ok(Math.abs((await page.evaluate(() => window.lastSkyMap.score)) - fromCli.score) <= 1e-5);
    assert.deepEqual(log.errors, []);
    assert.deepEqual(log.external, []);
  } finally {
    await session.close();
  }
});

test('the classifier gives the CLI\'s probabilities in the page, on WebGPU and on the CPU (1e-4)', async () => {
  const example = join(root, 'www/examples/rr-lyrae.csv');
  const fromCli = JSON.parse(execFileSync(cli, ['classify', example, '--json'], { encoding: 'utf8' }));
  const ztf = join(dataDir, 'lightcurves/ztf-alerce/periodic_light_curves.csv');
  const session = await launch({ webgpu: true });
  try {
    const { page, log } = await openPage(session, '/www/?backend=webgpu');
    await waitReady(page);
    // The example opens classified.
    await page.waitForSelector('#classification:not([hidden])');
    assert.equal(await page.getAttribute('#classification', 'data-label'), fromCli.label);
    assert.equal(await page.locator('#class-bars li').count(), 4);
    const texts = existsSync(ztf) ? [readFileSync(example, 'utf8'), readFileSync(ztf, 'utf8')] : [readFileSync(example, 'utf8')];
    const results = await page.evaluate(async (texts) => {
      const { createSkysift } = await import('./js/skysift.js');
      const cpu = await createSkysift({ backend: 'cpu' });
      const out = [];
      for (const text of texts) {
        const bytes = new TextEncoder().encode(text);
        const a = await window.skysift.readLightCurves(bytes);
        const b = await cpu.readLightCurves(bytes);
        out.push({ webgpu: await window.skysift.classify(a.file), cpu: await cpu.classify(b.file) });
      }
      cpu.terminate();
      return { backend: window.skysift.backend.backend, out };
    }, texts);
    assert.equal(results.backend, 'webgpu');
    let worst = 0;
    for (const r of results.out) {
      r.webgpu.forEach((o, k) => {
        for (const [c, p] of Object.entries(o.probabilities)) worst = Math.max(worst, Math.abs(p - r.cpu[k].probabilities[c]));
      });
    }
    console.log(`classifier: WebGPU vs CPU largest probability difference ${worst.toExponential(2)} over ${results.out.reduce((n, r) => n + r.cpu.length, 0)} objects`);
    assert.ok(worst <= 1e-4);
    const pageExample = results.out[0].cpu[0];
    for (const [c, p] of Object.entries(fromCli.probabilities)) assert.ok(Math.abs(pageExample.probabilities[c] - p) <= 1e-4, `${c}: page ${pageExample.probabilities[c]} vs CLI ${p}`);
    if (existsSync(ztf)) {
      const cliLines = execFileSync(cli, ['classify', ztf, '--json'], { encoding: 'utf8' }).trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(cliLines.length, results.out[1].cpu.length);
      cliLines.forEach((line, k) => {
        for (const [c, p] of Object.entries(line.probabilities)) assert.ok(Math.abs(results.out[1].cpu[k].probabilities[c] - p) <= 1e-4, `${line.object} ${c}`);
      });
    }
    await page.screenshot({ path: join(resultsDir, 'page-classified.png'), fullPage: true });
    assert.deepEqual(log.errors, []);
  } finally {
    await session.close();
  }
});

test('many files at once fill the results table, which downloads as CSV and JSON', async (t) => {
  const mapPath = join(dataDir, 'skymaps/o3b-gracedb/S200129m.multiorder.fits');
  if (!existsSync(mapPath)) return t.skip(`no sky maps at ${dataDir}`);
  const session = await launch({ webgpu: false });
  try {
    const { page, log } = await openPage(session, '/www/');
    await waitReady(page);
    await page.click('#results-clear');
    await page.setInputFiles('#file', [
      { name: 'star.csv', mimeType: 'text/csv', buffer: readFileSync(join(root, 'www/examples/rr-lyrae.csv')) },
      { name: 'S200129m.multiorder.fits', mimeType: 'application/octet-stream', buffer: readFileSync(mapPath) },
      { name: '=cmd|junk.csv', mimeType: 'text/csv', buffer: Buffer.from('time,mag\n1,abc\n') },
    ]);
    await page.waitForSelector('body[data-results="3"]', { timeout: 300000 });
    const rows = await page.$$eval('#results-table tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
    assert.equal(rows[0][0], 'star.csv');
    assert.equal(rows[0][1], 'light curve');
    assert.equal(rows[1][1], 'sky map');
    assert.equal(rows[1][3], 'astrophysical');
    assert.match(rows[1][4], /^0\.997\d$/);
    assert.equal(rows[2][3], 'error');
    assert.match(rows[2][7], /line 2, column 'mag'/);
    const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
    const csv = readFileSync(await csvDownload.path(), 'utf8');
    const lines = csv.trim().split('\r\n');
    assert.equal(lines[0], 'file,kind,object,result,value,far,fnr,notes,error');
    assert.equal(lines.length, 4);
    assert.ok(lines[3].startsWith("'=cmd|junk.csv,"), 'a formula-like cell is defused');
    const [jsonDownload] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
    const json = JSON.parse(readFileSync(await jsonDownload.path(), 'utf8'));
    assert.equal(json.length, 3);
    assert.ok(Math.abs(json[1].value - 0.9975085) < 1e-5);
    await page.screenshot({ path: join(resultsDir, 'page-results.png'), fullPage: true });
    assert.deepEqual(log.errors, []);
  } finally {
    await session.close();
  }
});

test('partition explanations in the page equal the CLI\'s (dm–dt image of the example, sky image of the example sky map); a stop keeps the page working', async () => {
  const example = join(root, 'www/examples/rr-lyrae.csv');
  const exampleMap = join(root, 'www/examples/simulated-bbh.fits.gz');
  const cliLc = JSON.parse(execFileSync(cli, ['explain', example, '--json'], { encoding: 'utf8' }));
  const cliSky = JSON.parse(execFileSync(cli, ['explain', exampleMap, '--image', 'sky', '--json'], { encoding: 'utf8', maxBuffer: 1 << 28 }));
  const largestDiff = (a, b) => a.reduce((m, v, k) => Math.max(m, Math.abs(v - b[k])), 0);
  const session = await launch({ webgpu: false });
  try {
    const { page, log } = await openPage(session, '/www/?backend=cpu');
    await waitReady(page);
    // The example light curve opens explained.
    await page.waitForFunction(() => window.lastClassAttribution !== undefined, null, { timeout: 60000 });
    const lc = await page.evaluate(() => ({ ...window.lastClassAttribution, values: Array.from(window.lastClassAttribution.values) }));
    assert.equal(lc.class, cliLc.class);
    assert.deepEqual(lc.shape, cliLc.shape);
    const lcDiff = largestDiff(lc.values, cliLc.values);
    console.log(`dm–dt attributions: page vs CLI largest difference ${lcDiff.toExponential(2)} (${lc.evals} evaluations)`);
    assert.ok(lcDiff <= 1e-5 && Math.abs(lc.value - cliLc.value) <= 1e-5 && Math.abs(lc.base_value - cliLc.base_value) <= 1e-5);
    const sum = Number(await page.getAttribute('#class-why-bars', 'data-sum'));
    assert.ok(Math.abs(sum - (lc.value - lc.base_value)) <= 1e-5, `Σ ${sum} vs ${lc.value - lc.base_value}`);
    assert.equal(await page.locator('#class-why-bars li').count(), 5);
    assert.equal(await page.isVisible('#dmdt-why-canvas'), true);
    // The two parts of the input (dm–dt image, period features): the CLI's, adding up.
    const parts = lc.parts;
    for (const k of ['base_value', 'value', 'image', 'features']) assert.ok(Math.abs(parts[k] - cliLc.parts[k]) <= 1e-5, `${k}: ${parts[k]} vs CLI ${cliLc.parts[k]}`);
    assert.ok(Math.abs(parts.image + parts.features - (parts.value - parts.base_value)) <= 1e-9);
    assert.deepEqual(JSON.parse(await page.getAttribute('#class-why', 'data-parts')), parts);
    assert.match(await page.textContent('#class-why'), /the period and the folded light curve move it by [+−-]/);

    // The example sky map, then its sky image explained: the CLI's values, adding up.
    await page.click('#example-skymap');
    await page.waitForSelector('body[data-skymap="ready"]', { timeout: 300000 });
    await page.click('#explain-sky');
    await page.waitForSelector('body[data-explained="sky"]', { timeout: 300000 });
    const a = await page.evaluate(() => ({ ...window.lastImageAttribution, values: Array.from(window.lastImageAttribution.values) }));
    const skyDiff = largestDiff(a.values, cliSky.images.sky.values);
    console.log(`sky-image attributions: ${a.evals} evaluations in ${a.seconds.toFixed(2)} s in the page (CPU); page vs CLI largest difference ${skyDiff.toExponential(2)}; Σ ${a.sum.toExponential(3)} = ${a.value.toFixed(6)} − ${a.base_value.toFixed(6)}`);
    assert.ok(skyDiff <= 1e-6);
    assert.ok(Math.abs(a.sum - (a.value - a.base_value)) <= 1e-5);
    assert.ok(Math.abs(a.value - cliSky.value) <= 1e-5);
    // Its strongest pixels (|φ| ≥ a quarter of the largest) are outlined on the Mollweide view and
    // on the sky image, and the switch takes the outlines away.
    const strongest = (values) => { const peak = Math.max(...values.map(Math.abs)); return values.filter((x) => peak > 0 && Math.abs(x) >= 0.25 * peak).length; };
    const skyStrong = strongest(a.values);
    assert.ok(skyStrong > 0);
    assert.equal(Number(await page.getAttribute('#moll-canvas', 'data-outlined')), skyStrong);
    assert.equal(Number(await page.getAttribute('#sky-canvas', 'data-outlined')), skyStrong);
    assert.match(await page.textContent('#sky-overlay-note'), /Outlined on the sky map and the sky image/);
    await page.locator('#moll-canvas').screenshot({ path: join(resultsDir, 'mollweide-outlined.png') });
    await page.locator('#sky-canvas').screenshot({ path: join(resultsDir, 'sky-image-outlined.png') });
    await page.uncheck('#sky-overlay');
    assert.equal(await page.getAttribute('#moll-canvas', 'data-outlined'), '0');
    assert.equal(await page.getAttribute('#sky-canvas', 'data-outlined'), '0');
    await page.check('#sky-overlay');
    assert.equal(Number(await page.getAttribute('#moll-canvas', 'data-outlined')), skyStrong);
    await page.screenshot({ path: join(resultsDir, 'page-explained.png'), fullPage: true });

    // A stop in the middle keeps what is shown, and the page goes on working.
    const summary = await page.textContent('#explain-summary');
    await page.click('#explain-volume');
    await page.waitForFunction(() => /model runs/.test(document.getElementById('explain-step').textContent), null, { timeout: 60000 });
    await page.click('#explain-cancel');
    await page.waitForSelector('body[data-explained="stopped"]', { timeout: 60000 });
    assert.equal(await page.isVisible('#sky-why-canvas'), true);
    // The stop replaced the worker; the light curve on screen still answers a hover.
    await page.locator('#dmdt-canvas').scrollIntoViewIfNeeded();
    const box = await page.locator('#dmdt-canvas').boundingBox();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.45);
    await page.waitForFunction(() => document.getElementById('dmdt-canvas').dataset.hover !== '', null, { timeout: 30000 });
    assert.equal(await page.isVisible('#message'), false);
    // The volume images with blurred masking, as the CLI's --mask blur:16 gives them.
    await page.selectOption('#explain-evals', '200');
    await page.selectOption('#explain-masking', 'blur:16');
    await page.click('#explain-volume');
    await page.waitForSelector('body[data-explained="volume"]', { timeout: 300000 });
    const v = await page.evaluate(() => ({ ...window.lastImageAttribution, values: Array.from(window.lastImageAttribution.values) }));
    assert.deepEqual(v.shape, [262, 262, 3]);
    assert.ok(v.evals <= 201 && Math.abs(v.sum - (v.value - v.base_value)) <= 1e-5);
    const cliVolume = JSON.parse(execFileSync(cli, ['explain', exampleMap, '--image', 'volume', '--max-evals', '200', '--mask', 'blur:16', '--json'], { encoding: 'utf8', maxBuffer: 1 << 28 }));
    const volumeDiff = largestDiff(v.values, cliVolume.images.volume.values);
    console.log(`volume attributions, blurred masking: page vs CLI largest difference ${volumeDiff.toExponential(2)}`);
    assert.ok(volumeDiff <= 1e-6 && Math.abs(v.base_value - cliVolume.images.volume.base_value) <= 1e-5);
    assert.match(await page.textContent('#explain-summary'), /blurred the score would be/);
    for (let k = 0; k < 3; k++) {
      const outlined = Number(await page.getAttribute(`#vol-canvas-${k}`, 'data-outlined'));
      assert.equal(outlined, strongest(v.values.filter((_, i) => i % 3 === k)), `volume face ${k}`);
    }
    assert.equal(Number(await page.getAttribute('#moll-canvas', 'data-outlined')), skyStrong); // the sky's outlines stay
    assert.notEqual(await page.textContent('#explain-summary'), summary);
    assert.deepEqual(log.errors, []);
    assert.deepEqual(log.external, []);
  } finally {
    await session.close();
  }
});
