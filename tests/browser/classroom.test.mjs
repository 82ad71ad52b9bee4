// The classroom: the gallery, the learn panel, folding and zooming the light curve (mouse and
// keyboard), and the page working offline once loaded (its server is stopped, the page reloaded).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { launch, openPage, waitReady, resultsDir, root } from './helpers.mjs';
import { startServer } from '../../scripts/serve.mjs';

const cli = join(process.env.CARGO_TARGET_DIR ?? join(process.env.HOME, '.cache/skysift/target'), 'release/skysift');

test('gallery, learn panel, folding and zooming', async () => {
  const session = await launch({ webgpu: false });
  try {
    const { page, log } = await openPage(session, '/www/?backend=cpu');
    await waitReady(page);
    // The attributions outlined on the dm–dt image: the pixels with at least a quarter of the
    // largest attribution (both bands summed), and only on the grid the classifier reads.
    await page.waitForFunction(() => window.lastClassAttribution !== undefined, null, { timeout: 60000 });
    await page.check('#dmdt-overlay');
    const expected = await page.evaluate(() => {
      const a = window.lastClassAttribution;
      const [nDt, nDm, bands] = a.shape;
      const sums = [];
      for (let p = 0; p < nDt * nDm; p++) { let v = 0; for (let b = 0; b < bands; b++) v += a.values[p * bands + b]; sums.push(v); }
      const max = Math.max(...sums.map(Math.abs));
      return sums.filter((v) => Math.abs(v) >= 0.25 * max).length;
    });
    assert.ok(expected > 0);
    assert.equal(Number(await page.getAttribute('#dmdt-canvas', 'data-outlined')), expected);
    await page.locator('#dmdt-canvas').screenshot({ path: join(resultsDir, 'dmdt-outlined.png') });
    await page.selectOption('#grid-select', 'scope');
    await page.waitForFunction(() => !document.getElementById('dmdt-overlay-note').hidden);
    assert.equal(await page.getAttribute('#dmdt-canvas', 'data-outlined'), '0');
    await page.selectOption('#grid-select', 'mahabal2017');
    await page.waitForFunction(() => document.getElementById('dmdt-overlay-note').hidden);
    await page.uncheck('#dmdt-overlay');
    // Every light curve of the gallery gets the CLI's class.
    for (const [src, name] of [['cepheid.csv', 'Cepheid'], ['eclipsing-binary.csv', 'eclipsing binary'], ['mira.csv', 'Mira'], ['rr-lyrae-two-bands.csv', 'RR Lyrae, 2 bands']]) {
      const want = JSON.parse(execFileSync(cli, ['classify', join(root, 'www/examples', src), '--json'], { encoding: 'utf8' })).label;
      await page.getByRole('button', { name, exact: true }).click();
      await page.waitForFunction((w) => document.getElementById('classification').dataset.label === w
        && /example: simulated/.test(document.getElementById('file-info').textContent), want);
      assert.match(await page.textContent('#file-info'), new RegExp(src.includes('mira') ? 'Mira' : src.includes('ceph') ? 'Cepheid' : src.includes('eclips') ? 'eclipsing' : 'RR Lyrae'));
      // The gallery's stars have two bands (B, R): both on one plot, each in its colour.
      await page.waitForFunction(() => document.getElementById('lc-canvas').dataset.bands === '2');
      assert.match(await page.getAttribute('#lc-canvas', 'aria-label'), /in band B, .*; the object's other band \(R\) drawn faintly$/);
      if (src.includes('two-bands')) await page.locator('#lc-canvas').screenshot({ path: join(resultsDir, 'lc-two-bands.png') });
    }
    // The learn panel: six questions, opened with the keyboard.
    assert.equal(await page.locator('#learn details').count(), 6);
    await page.locator('#learn summary').first().focus();
    await page.keyboard.press('Enter');
    assert.equal(await page.locator('#learn details').first().getAttribute('open'), '');
    // Fold the RR Lyrae example at its period, zoom by dragging, pan and reset with keys.
    await page.click('#example');
    await page.waitForFunction(() => /RR Lyrae star/.test(document.getElementById('file-info').textContent));
    // One band: just it, no legend.
    await page.waitForFunction(() => document.getElementById('lc-canvas').dataset.bands === '1');
    // The period the classifier found (the CLI's), one click from the fold.
    const found = JSON.parse(execFileSync(cli, ['classify', join(root, 'www/examples/rr-lyrae.csv'), '--json'], { encoding: 'utf8' })).period;
    assert.ok(Math.abs(found - 0.56654) < 1e-3, `period found ${found}`);
    await page.waitForFunction((p) => Number(document.getElementById('class-period').dataset.period) === p, found);
    assert.equal(await page.isVisible('#class-period'), true);
    assert.match(await page.textContent('#class-period'), new RegExp(`best period: ${Number(found.toPrecision(5))} days`));
    await page.click('#fold-found');
    const view = async () => JSON.parse(await page.getAttribute('#lc-canvas', 'data-view'));
    assert.deepEqual(await view(), { period: Number(found.toPrecision(5)), range: [0, 2] });
    await page.fill('#fold-period', '0.56654');
    assert.deepEqual(await view(), { period: 0.56654, range: [0, 2] });
    await page.locator('#lc-canvas').screenshot({ path: join(resultsDir, 'lc-folded.png') });
    const box = await page.locator('#lc-canvas').boundingBox();
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5, { steps: 4 });
    await page.mouse.up();
    const zoomed = (await view()).range;
    assert.ok(zoomed[0] > 0.3 && zoomed[1] < 1.4 && zoomed[1] - zoomed[0] < 1, JSON.stringify(zoomed));
    await page.focus('#lc-canvas');
    await page.keyboard.press('ArrowRight');
    const panned = (await view()).range;
    assert.ok(panned[0] > zoomed[0] && Math.abs((panned[1] - panned[0]) - (zoomed[1] - zoomed[0])) < 1e-9);
    await page.keyboard.press('0');
    assert.deepEqual((await view()).range, [0, 2]);
    await page.fill('#fold-period', '');
    assert.equal((await view()).period, null);
    assert.deepEqual(log.errors, []);
  } finally {
    await session.close();
  }
});

test('once loaded, the page works offline: its server stopped, a reload still classifies and scores the examples', async () => {
  const session = await launch({ webgpu: false });
  const server = await startServer(0);
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    const context = await session.browser.newContext();
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${base}/www/?backend=cpu`);
    await page.waitForSelector('body[data-offline="ready"]', { timeout: 120000 });
    await waitReady(page);
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
    // The network is gone: a fetch to the server fails...
    const online = await page.evaluate(() => fetch('/README.md').then(() => true, () => false));
    assert.equal(online, false);
    // ...but the page reloads from its service worker's copy and still works.
    await page.reload();
    await waitReady(page);
    await page.waitForSelector('#classification:not([hidden])');
    assert.equal(await page.getAttribute('#classification', 'data-label'), 'RR Lyrae');
    await page.getByRole('button', { name: 'GW sky map', exact: true }).click();
    await page.waitForSelector('body[data-skymap="ready"]', { timeout: 120000 });
    await page.screenshot({ path: join(resultsDir, 'page-offline.png') });
    assert.deepEqual(errors, []);
  } finally {
    server.close();
    await session.close();
  }
});
