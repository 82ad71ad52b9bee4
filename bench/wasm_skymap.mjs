// Times sky map → GWSkyNet score in headless chromium through the page's own API (the worker,
// as a user's drop runs it). Prints one JSON line per map and backend, like `skysift skymap
// --json`. The first run of each backend also loads the model; the figure is the second run.
// Usage: node bench/wasm_skymap.mjs [--cpu-only] MAP...
import { readFileSync } from 'node:fs';
import { launch, openPage, waitReady } from '../tests/browser/helpers.mjs';

const args = process.argv.slice(2);
const files = args.filter((a) => a !== '--cpu-only');
for (const backend of args.includes('--cpu-only') ? ['cpu'] : ['cpu', 'webgpu']) {
  const session = await launch({ webgpu: backend === 'webgpu' });
  try {
    const { page } = await openPage(session, `/www/?backend=${backend}`);
    await waitReady(page);
    for (const file of files) {
      const bytes = [...readFileSync(file)];
      const result = await page.evaluate(async ({ bytes, backend }) => {
        const { createSkysift } = await import('./js/skysift.js');
        const sky = await createSkysift({ backend });
        const data = new Uint8Array(bytes);
        const runs = [];
        for (let k = 0; k < 2; k++) runs.push(await sky.scoreSkyMap(data));
        const info = sky.backend;
        sky.terminate();
        const r = runs[1];
        return { backend: info.backend, adapter: info.adapter, score: r.score, seconds: r.seconds.total, steps: r.seconds, first_run_s: runs[0].seconds.total };
      }, { bytes, backend });
      console.log(JSON.stringify({ file, ...result }));
    }
  } finally {
    await session.close();
  }
}
