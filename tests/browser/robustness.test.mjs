// Bad inputs in the page: every file of the corpus (scripts/make_bad_inputs.py) is rejected by
// the page's API with a JS Error carrying the CLI's message, without a panic; dropped on the page,
// a bad file shows its message and what was on screen stays; text from files is shown as text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch, openPage, waitReady, resultsDir } from './helpers.mjs';

const cli = join(process.env.CARGO_TARGET_DIR ?? join(process.env.HOME, '.cache/skysift/target'), 'release/skysift');
const corpus = join(resultsDir, 'bad-inputs');
execFileSync(process.env.PYTHON ?? 'python3', [join(resultsDir, '../scripts/make_bad_inputs.py'), corpus, '--big']);
const cases = JSON.parse(readFileSync(join(corpus, 'manifest.json'), 'utf8'));

/** The CLI's one-line message for a file, without the "skysift: error: FILE: " prefix. */
function cliMessage({ file, kind }) {
  const r = spawnSync(cli, [kind === 'skymap' ? 'skymap' : 'classify', file], { cwd: corpus, encoding: 'utf8' });
  return r.status === 0 ? null : r.stderr.trim().slice(`skysift: error: ${file}: `.length);
}

test('every bad input is rejected in the page with the CLI\'s message, as a JS Error, without a panic', async () => {
  const session = await launch({ webgpu: false });
  try {
    const { page, log } = await openPage(session, '/www/?backend=cpu');
    await waitReady(page);
    const small = cases.filter((c) => !c.ok && !['million.csv', 'ten-million.csv'].includes(c.file));
    const got = await page.evaluate(async (cases) => {
      const out = [];
      for (const c of cases) {
        const bytes = await (await fetch(`/test-results/bad-inputs/${c.file}`)).arrayBuffer();
        try {
          if (c.kind === 'skymap') {
            await window.skysift.scoreSkyMap(bytes);
          } else {
            const { file } = await window.skysift.readLightCurves(bytes);
            const objects = await window.skysift.classify(file);
            out.push({ file: c.file, message: null, objects: objects.length });
            continue;
          }
          out.push({ file: c.file, message: null });
        } catch (e) {
          out.push({ file: c.file, message: e.message, isError: e instanceof Error, panic: Boolean(e.panic) });
        }
      }
      return out;
    }, small);
    for (const [k, c] of small.entries()) {
      const want = cliMessage(c);
      assert.ok(want, `${c.file}: the CLI accepted it`);
      assert.equal(got[k].message, want, `${c.file}`);
      assert.equal(got[k].isError, true);
      assert.equal(got[k].panic, false, `${c.file}: a panic`);
    }
    console.log(`${small.length} bad inputs rejected in the page with the CLI's messages`);
    assert.deepEqual(log.errors, []);
    assert.deepEqual(log.external, []);
  } finally {
    await session.close();
  }
});

test('dropped on the page, bad files (10^6 and 10^7 points too) show their message and what was shown stays; file text is shown as text', async () => {
  const session = await launch({ webgpu: false });
  try {
    const { page, log } = await openPage(session, '/www/?backend=cpu');
    let dialogs = 0;
    page.on('dialog', (d) => { dialogs += 1; d.dismiss(); });
    await waitReady(page);
    await page.waitForSelector('#classification:not([hidden])');
    const verdict = await page.textContent('#class-verdict');
    const plot = await page.locator('#dmdt-canvas').screenshot();
    for (const file of ['text-in-mag.csv', 'million.csv', 'ten-million.csv']) {
      const t0 = Date.now();
      await page.setInputFiles('#file', join(corpus, file));
      await page.waitForFunction((f) => document.getElementById('message').textContent.startsWith(`${f}: `), file, { timeout: 120000 });
      const message = await page.textContent('#message');
      console.log(`${file}: "${message}" after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      const want = cliMessage({ file, kind: 'lightcurve' });
      // A file that reads but cannot be classified keeps the old curve too; its message is the
      // classifier's, shown where the page reports errors.
      assert.ok(message.includes(want), `${file}: page "${message}" vs CLI "${want}"`);
    }
    assert.equal(await page.textContent('#class-verdict'), verdict);
    assert.ok(Buffer.compare(await page.locator('#dmdt-canvas').screenshot(), plot) === 0, 'the dm–dt image on screen changed');

    // A sky map whose OBJECT is HTML: scored, and its OBJECT shown as text, never run.
    await page.setInputFiles('#file', join(corpus, 'good-flat.fits'));
    await page.waitForSelector('body[data-skymap="ready"]', { timeout: 120000 });
    const info = await page.textContent('#skymap-info');
    assert.ok(info.includes('<img src=x onerror=alert(1)>'), info);
    assert.equal(await page.locator('main img').count(), 0);
    const skyVerdict = await page.textContent('#verdict');
    // Then bad maps: their messages, and the verdict stays.
    for (const file of ['giant-header.fits', 'nan-prob.fits', 'junk.fits']) {
      await page.evaluate(() => { document.body.dataset.skymap = ''; });
      await page.setInputFiles('#file', join(corpus, file));
      await page.waitForSelector('body[data-skymap="error"]', { timeout: 120000 });
      const message = await page.textContent('#skymap-message');
      assert.equal(message, `${file}: ${cliMessage({ file, kind: 'skymap' })}`);
    }
    assert.equal(await page.textContent('#verdict'), skyVerdict);
    const rows = await page.locator('#results-table tbody tr.error').count();
    assert.ok(rows >= 3, `${rows} error rows in the results table`);
    await page.screenshot({ path: join(resultsDir, 'page-bad-inputs.png'), fullPage: true });
    assert.equal(dialogs, 0);
    assert.deepEqual(log.errors, []);
    assert.deepEqual(log.external, []);
  } finally {
    await session.close();
  }
});

// The no-SIMD path: every browser here has WebAssembly SIMD, so the worker is served with
// WebAssembly.validate answering false for its 29-byte SIMD probe (and only for it), as a browser
// without SIMD answers. The page must say what is missing, in words, without an uncaught error.
test('without WebAssembly SIMD the page says so plainly instead of failing to compile', async () => {
  const session = await launch({ webgpu: false });
  try {
    const { page, log } = await openPage(session, '/www/?backend=cpu', {
      prepare: (context) => context.route('**/www/js/worker.js', async (route) => {
        const response = await route.fetch();
        const noSimd = 'const validate = WebAssembly.validate; WebAssembly.validate = (bytes) => (bytes.byteLength === 29 ? false : validate(bytes));\n';
        await route.fulfill({ response, body: noSimd + (await response.text()) });
      }),
    });
    const message = page.locator('#message');
    await message.waitFor({ state: 'visible', timeout: 60000 });
    assert.match(await message.textContent(), /skysift could not start: this browser has no WebAssembly SIMD, which skysift needs \(Chrome or Edge 91, Firefox 89, Safari 16\.4 or later\)/);
    assert.equal(await page.locator('#backend').textContent(), 'failed to start');
    assert.deepEqual(log.errors, []);
  } finally {
    await session.close();
  }
});
