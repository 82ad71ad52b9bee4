// Offline use (classrooms with a flaky network): this service worker keeps a copy of the page,
// its scripts, the wasm module and the examples. It answers from the network when it can (so a
// rebuilt page is never hidden behind an old copy) and from its copy when the network is gone.
const CACHE = 'skysift-v1';
const ASSETS = [
  './', 'index.html', 'style.css', 'embed.html', 'embed.css',
  'js/app.js', 'js/plots.js', 'js/bars.js', 'js/skysift.js', 'js/worker.js', 'js/element.js', 'js/embed.js',
  'vendor/d3.js', 'vendor/LICENSES.txt',
  '../pkg/skysift.js', '../pkg/skysift_bg.wasm',
  'examples/rr-lyrae.csv', 'examples/rr-lyrae-two-bands.csv', 'examples/cepheid.csv', 'examples/eclipsing-binary.csv',
  'examples/mira.csv', 'examples/simulated-bbh.fits.gz', '../models/dmdt_cnn.md',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const response = await fetch(event.request);
      // Keep what the page uses fresh; the user's own files never pass through here.
      if (response.ok && ASSETS.some((a) => new URL(a, self.registration.scope).href === url.href.split('?')[0])) {
        cache.put(url.href.split('?')[0], response.clone());
      }
      return response;
    } catch (e) {
      const cached = await cache.match(url.href.split('?')[0]);
      if (cached) return cached;
      throw e;
    }
  })());
});
