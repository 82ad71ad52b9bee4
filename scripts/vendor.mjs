// Bundles the npm plotting libraries the page uses (pinned in package.json) into www/vendor/,
// served with the page (no CDN, works offline), with each package's licence beside the bundle.
// Usage: node scripts/vendor.mjs   (scripts/build.sh runs it)
import { build } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const out = 'www/vendor';
mkdirSync(out, { recursive: true });
const { metafile } = await build({
  entryPoints: ['www/vendor-src/d3.js'],
  bundle: true,
  format: 'esm',
  minify: true,
  legalComments: 'eof',
  metafile: true,
  outfile: `${out}/d3.js`,
  logLevel: 'warning',
});
// Every package that went into the bundle, with its version and licence text.
const packages = [...new Set(Object.keys(metafile.inputs).map((p) => p.match(/node_modules\/([^/]+)\//)?.[1]).filter(Boolean))].sort();
const licences = packages.map((name) => {
  const dir = `node_modules/${name}`;
  const { version, license } = JSON.parse(readFileSync(`${dir}/package.json`, 'utf8'));
  return `== ${name} ${version} (${license})\n\n${readFileSync(`${dir}/LICENSE`, 'utf8').trim()}\n`;
});
writeFileSync(`${out}/LICENSES.txt`, `Bundled into d3.js by scripts/vendor.mjs:\n\n${licences.join('\n')}`);
console.log(`vendor: ${out}/d3.js from ${packages.join(', ')}`);
