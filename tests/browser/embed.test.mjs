// Embedding: the custom element, the iframe's postMessage protocol across origins (two servers
// on two ports), its origin allow-list, and the main page's ?src=.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { launch, openPage, waitReady, resultsDir, root } from './helpers.mjs';
import { startServer } from '../../scripts/serve.mjs';

const cli = join(process.env.CARGO_TARGET_DIR ?? join(process.env.HOME, '.cache/skysift/target'), 'release/skysift');
const star = join(root, 'www/examples/rr-lyrae.csv');
const map = join(root, 'www/examples/simulated-bbh.fits.gz');

test('<skysift-classifier> gives the CLI\'s answers for a light curve and a sky map', async () => {
  const fromCli = JSON.parse(execFileSync(cli, ['classify', star, '--json'], { encoding: 'utf8' }));
  const mapCli = JSON.parse(execFileSync(cli, ['skymap', map, '--json'], { encoding: 'utf8' }));
  const session = await launch({ webgpu: false });
  try {
    const { page, log } = await openPage(session, '/www/examples/element.html');
    await page.waitForSelector('#star[data-state="ready"]', { timeout: 120000 });
    await page.waitForSelector('#map[data-state="ready"]', { timeout: 120000 });
    const r = await page.evaluate(() => ({ star: document.getElementById('star').result, map: document.getElementById('map').result,
      text: document.getElementById('star').shadowRoot.textContent, mapText: document.getElementById('map').shadowRoot.textContent }));
    assert.equal(r.star.kind, 'lightcurve');
    assert.equal(r.star.objects[0].label, fromCli.label);
    for (const [c, p] of Object.entries(fromCli.probabilities)) assert.ok(Math.abs(r.star.objects[0].probabilities[c] - p) <= 1e-4, c);
    assert.match(r.text, new RegExp(`${fromCli.label} \\(${Math.round(100 * fromCli.probabilities[fromCli.label])}%\\)`));
    assert.equal(r.map.kind, 'skymap');
    assert.ok(Math.abs(r.map.score - mapCli.score) <= 1e-5);
    assert.match(r.mapText, /likely a real astrophysical event/);
    await page.screenshot({ path: join(resultsDir, 'embed-element.png'), fullPage: true });
    assert.deepEqual(log.errors, []);
    assert.deepEqual(log.external, []);
  } finally {
    await session.close();
  }
});

test('the iframe answers postMessage from an allowed origin (a Zooniverse-like page on another port) and ignores others', async () => {
  const fromCli = JSON.parse(execFileSync(cli, ['classify', star, '--json'], { encoding: 'utf8' }));
  const session = await launch({ webgpu: false });
  const other = await startServer(0); // the citizen-science project's site
  const project = `http://127.0.0.1:${other.address().port}`;
  try {
    const { page, log } = await openPage(session, '/');
    await page.goto(`${project}/www/examples/zooniverse.html?skysift=${encodeURIComponent(session.base)}`);
    await page.waitForSelector('body[data-skysift="answered"]', { timeout: 120000 });
    const result = await page.evaluate(() => window.skysiftResult);
    assert.equal(result.kind, 'lightcurve');
    assert.equal(result.objects[0].label, fromCli.label);
    for (const [c, p] of Object.entries(fromCli.probabilities)) assert.ok(Math.abs(result.objects[0].probabilities[c] - p) <= 1e-4, c);
    // The volunteer answers; skysift's opinion is revealed only then.
    assert.equal(await page.isVisible('#skysift'), false);
    await page.check('input[value="Cepheid"]');
    await page.click('button[type="submit"]');
    await page.waitForFunction(() => /Thank you/.test(document.getElementById('feedback').textContent));
    assert.match(await page.textContent('#feedback'), new RegExp(fromCli.label));
    assert.equal(await page.isVisible('#skysift'), true);
    await page.waitForTimeout(500);
    await page.screenshot({ path: join(resultsDir, 'embed-zooniverse.png'), fullPage: true });

    // An iframe whose allow-list does not name this origin: a message gets no answer at all.
    const silent = await page.evaluate(async (base) => {
      const frame = document.createElement('iframe');
      frame.src = `${base}/www/embed.html`; // allows its own origin only
      document.body.append(frame);
      await new Promise((ok) => frame.addEventListener('load', ok, { once: true }));
      const replies = [];
      window.addEventListener('message', (e) => { if (e.source === frame.contentWindow) replies.push(e.data); });
      const bytes = await (await fetch('rr-lyrae.csv')).arrayBuffer();
      frame.contentWindow.postMessage({ type: 'skysift:analyse', id: 7, bytes }, base);
      await new Promise((ok) => setTimeout(ok, 4000));
      return replies;
    }, session.base);
    assert.deepEqual(silent, []);
    // A URL of another origin is refused with an error message, not fetched.
    const refused = await page.evaluate(async () => {
      const frame = document.getElementById('skysift');
      const origin = new URL(frame.src).origin;
      return new Promise((ok) => {
        window.addEventListener('message', (e) => { if (e.data?.id === 8) ok(e.data); });
        frame.contentWindow.postMessage({ type: 'skysift:analyse', id: 8, url: 'https://example.org/star.csv' }, origin);
      });
    });
    assert.equal(refused.type, 'skysift:error');
    assert.match(refused.message, /only URLs of http:\/\/127\.0\.0\.1:\d+ can be fetched/);
    assert.deepEqual(log.errors, []);
    assert.deepEqual(log.external, []);
  } finally {
    other.close();
    await session.close();
  }
});

test('?src= opens a file of the site instead of the example', async () => {
  const mapCli = JSON.parse(execFileSync(cli, ['skymap', map, '--json'], { encoding: 'utf8' }));
  const session = await launch({ webgpu: false });
  try {
    const { page, log } = await openPage(session, '/www/?backend=cpu&src=examples/simulated-bbh.fits.gz');
    await page.waitForSelector('body[data-skymap="ready"]', { timeout: 120000 });
    assert.ok(Math.abs((await page.evaluate(() => window.lastSkyMap.score)) - mapCli.score) <= 1e-5);
    // The Mollweide view's 90% area is the CLI's (both as ligo.skymap's crossmatch computes it).
    assert.ok(Math.abs(Number(await page.getAttribute('#moll-canvas', 'data-area90')) - mapCli.area90_deg2) <= 1e-6 * mapCli.area90_deg2);
    assert.match(await page.textContent('#moll-caption'), /90% region \(white line\) 8\.71/);
    const { page: bad } = await openPage(session, '/www/?backend=cpu&src=https://example.org/x.csv');
    await waitReady(bad); // falls back to the example, with a message
    assert.match(await bad.textContent('#message'), /Could not open https:\/\/example\.org\/x\.csv/);
    assert.deepEqual(log.errors, []);
  } finally {
    await session.close();
  }
});
