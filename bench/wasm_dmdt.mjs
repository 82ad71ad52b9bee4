// Times skysift's wasm dm-dt counting in headless chromium (main thread, no worker, so only
// the counting is timed). Prints one JSON line per file, like `skysift bench dmdt`.
// Usage: node bench/wasm_dmdt.mjs GRID REPS FILE...
import { readFileSync } from 'node:fs';
import { launch } from '../tests/browser/helpers.mjs';

const [grid, reps, ...files] = process.argv.slice(2);
const session = await launch({ webgpu: false });
try {
  const page = await session.browser.newPage();
  await page.goto(`${session.base}/www/`); // any page of the origin: the page's own worker is not used
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const result = await page.evaluate(async ({ text, grid, reps }) => {
      const sky = await import('/pkg/skysift.js');
      await sky.default();
      const curves = sky.LightCurves.read(new TextEncoder().encode(text), {});
      // Warm-up for 0.3 s: V8 compiles wasm with a baseline compiler first and optimises hot
      // functions later; the figures are for the optimised, steady state.
      for (const end = performance.now() + 300; performance.now() < end; ) curves.countPairs(0, grid);
      // The browser's clock ticks in 0.1 ms steps: each sample times enough calls to last
      // about 20 ms, and is divided by their number.
      let calls = 1;
      for (let t0 = performance.now(); performance.now() - t0 < 20; calls++) curves.countPairs(0, grid);
      const seconds = [];
      let inGrid = 0;
      for (let k = 0; k < reps; k++) {
        const t0 = performance.now();
        let counts;
        for (let c = 0; c < calls; c++) counts = curves.countPairs(0, grid);
        seconds.push((performance.now() - t0) / 1000 / calls);
        inGrid = counts.reduce((a, b) => a + b, 0);
      }
      const n = curves.get(0).time.length;
      curves.free();
      seconds.sort((a, b) => a - b);
      return { n_points: n, n_in_grid: inGrid, reps, median_s: seconds[Math.floor(reps / 2)], min_s: seconds[0], max_s: seconds[reps - 1] };
    }, { text, grid, reps: Number(reps) });
    console.log(JSON.stringify({ file, ...result }));
  }
} finally {
  await session.close();
}
