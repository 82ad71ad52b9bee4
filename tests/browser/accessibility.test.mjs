// Accessibility audit: axe-core (npm, a devDependency; run in the page, never served to users)
// checks the WCAG 2.1 A and AA rules it can test automatically on each page in the states users
// see: the main page with the example classified and explained, then with the example sky map
// scored; the iframe page; the Zooniverse-like example; the custom-element example. No serious
// or critical violation may remain; every finding is written to test-results/accessibility.json.
// (Automatic checks find part of the problems only: keyboard use, labels and text alternatives
// are also checked by hand in classroom.test.mjs and page.test.mjs.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch, openPage, waitReady, resultsDir, root } from './helpers.mjs';

const axeSource = readFileSync(join(root, 'node_modules/axe-core/axe.min.js'), 'utf8');

/** axe's violations on the page as it is now (the script is evaluated, not added to the page, so
 * the page's Content-Security-Policy stays as users get it). */
async function audit(page) {
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
}

test('axe-core finds no serious or critical WCAG 2.1 A/AA violation on the pages', async () => {
  const session = await launch({ webgpu: false });
  const report = {};
  try {
    const { page } = await openPage(session, '/www/?backend=cpu');
    await waitReady(page);
    await page.waitForSelector('#classification:not([hidden])');
    await page.waitForFunction(() => window.lastClassAttribution !== undefined, null, { timeout: 60000 });
    report['page: example light curve, classified and explained'] = await audit(page);
    await page.getByRole('button', { name: 'GW sky map', exact: true }).click();
    await page.waitForSelector('body[data-skymap="ready"]', { timeout: 120000 });
    report['page: example sky map, scored'] = await audit(page);
    for (const path of ['/www/embed.html', '/www/examples/zooniverse.html', '/www/examples/element.html']) {
      const { page: other } = await openPage(session, path);
      await other.waitForLoadState('load');
      await other.waitForTimeout(1500);
      report[path] = await audit(other);
    }
  } finally {
    await session.close();
  }
  writeFileSync(join(resultsDir, 'accessibility.json'), JSON.stringify(report, null, 1));
  const serious = [];
  for (const [where, violations] of Object.entries(report)) {
    for (const v of violations) {
      console.log(`${where}: ${v.impact} ${v.id} (${v.help}) at ${v.nodes.join(', ')}`);
      if (v.impact === 'serious' || v.impact === 'critical') serious.push(`${where}: ${v.id} at ${v.nodes.join(', ')}`);
    }
  }
  assert.deepEqual(serious, []);
});
