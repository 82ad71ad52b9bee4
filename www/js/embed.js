// skysift in an iframe, driven by postMessage. Embed with
//   <iframe src="https://HOST/skysift/www/embed.html?allow=https://your.site"></iframe>
// and talk to it (protocol "skysift/1"):
//   → { type: 'skysift:analyse', id, bytes: ArrayBuffer, name?, kind? }   classify / score a file
//   → { type: 'skysift:analyse', id, url, kind? }                          a URL of the iframe's origin
//   ← { type: 'skysift:ready' }                                             once, when it can take work
//   ← { type: 'skysift:result', id, result }                                as the element's result
//   ← { type: 'skysift:error', id, message }
// Messages are taken only from the origins listed in ?allow= (comma separated; the iframe's own
// origin is always allowed) and answered only to the sender's origin; others are ignored.
import './element.js';

const viewer = document.getElementById('viewer');
const params = new URLSearchParams(location.search);
const allowed = new Set([location.origin, ...(params.get('allow') ?? '').split(',').map((s) => s.trim()).filter(Boolean)]);

window.addEventListener('message', async (event) => {
  if (!allowed.has(event.origin)) return; // not on the allow-list: ignored, never answered
  const msg = event.data;
  if (!msg || typeof msg !== 'object' || msg.type !== 'skysift:analyse') return;
  const reply = (data) => event.source?.postMessage({ id: msg.id ?? null, ...data }, event.origin);
  try {
    let bytes = msg.bytes;
    let name = typeof msg.name === 'string' ? msg.name : 'file';
    if (!(bytes instanceof ArrayBuffer)) {
      if (typeof msg.url !== 'string') throw new Error('send bytes (an ArrayBuffer) or a url');
      const url = new URL(msg.url, location.href);
      if (url.origin !== location.origin) throw new Error(`only URLs of ${location.origin} can be fetched here`);
      const response = await fetch(url);
      if (!response.ok) throw new Error(`${url.pathname}: ${response.status} ${response.statusText}`);
      bytes = await response.arrayBuffer();
      if (!msg.name) name = url.pathname.split('/').pop();
    }
    if (msg.kind) viewer.setAttribute('kind', String(msg.kind)); else viewer.removeAttribute('kind');
    const result = await viewer.load(bytes, name);
    reply({ type: 'skysift:result', result });
  } catch (e) {
    reply({ type: 'skysift:error', message: String(e.message ?? e) });
  }
});

// Announce readiness to the embedding page, if its origin (the iframe's referrer) is allowed.
const parentOrigin = document.referrer ? new URL(document.referrer).origin : null;
if (window.parent !== window && parentOrigin && allowed.has(parentOrigin)) {
  window.parent.postMessage({ type: 'skysift:ready' }, parentOrigin);
}
