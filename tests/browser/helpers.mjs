// Headless Debian chromium driven by playwright-core, with a fresh profile per launch, and the
// static server on 127.0.0.1. No browser download: /usr/bin/chromium only.
import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../scripts/serve.mjs';

export const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const resultsDir = join(root, 'test-results');
/** The shared real data ($SKYSIFT_DATA, default ../shared/data beside the clone). */
export const dataDir = process.env.SKYSIFT_DATA ?? join(root, '../shared/data');
mkdirSync(resultsDir, { recursive: true });

/** Launches chromium; `webgpu` adds --enable-unsafe-webgpu (a SwiftShader adapter here). */
export async function launch({ webgpu }) {
  const profile = mkdtempSync(join(tmpdir(), 'skysift-chromium-'));
  const args = [
    '--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`, '--remote-debugging-pipe',
    ...(webgpu ? ['--enable-unsafe-webgpu'] : []),
  ];
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', ignoreDefaultArgs: true, args, timeout: 60000 });
  const server = await startServer(0);
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    browser,
    base,
    async close() {
      // A request still in a route (`openPage`'s prepare) when the browser closes would reject
      // after the test ("route.fetch: Target page, context or browser has been closed").
      for (const context of browser.contexts()) await context.unrouteAll({ behavior: 'ignoreErrors' });
      await browser.close();
      server.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * A page that records console errors, uncaught errors and every request that leaves 127.0.0.1.
 * `prepare(context)`, where given, runs before the page is opened (routes, say).
 */
export async function openPage(session, path, { prepare } = {}) {
  const context = await session.browser.newContext({ viewport: { width: 1200, height: 1000 } });
  await prepare?.(context);
  const page = await context.newPage();
  const log = { errors: [], external: [], console: [] };
  page.on('pageerror', (e) => log.errors.push(String(e)));
  page.on('console', (m) => log.console.push(`${m.type()}: ${m.text()}`));
  context.on('request', (r) => {
    const url = new URL(r.url());
    if (!['127.0.0.1', 'localhost'].includes(url.hostname) && !['data:', 'blob:'].includes(url.protocol)) log.external.push(r.url());
  });
  await page.goto(session.base + path);
  return { page, log };
}

export async function waitReady(page) {
  await page.waitForSelector('body[data-ready="true"]', { timeout: 120000 });
}
