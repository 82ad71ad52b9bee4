// A Zooniverse-style subject viewer with skysift embedded in an iframe. The subject's file is
// sent to skysift with postMessage (protocol in www/js/embed.js); skysift's answer is revealed
// once the volunteer has answered. ?skysift=ORIGIN puts skysift on another origin (as a real
// project would), ?subject=URL picks another light curve of this origin.
import { drawLightCurve } from '../js/plots.js';

const params = new URLSearchParams(location.search);
const skysiftOrigin = params.get('skysift') ?? location.origin;
const subjectUrl = params.get('subject') ?? 'rr-lyrae.csv';
const frame = document.getElementById('skysift');
const embedPath = new URL('../embed.html', import.meta.url).pathname;
frame.src = `${skysiftOrigin}${embedPath}?allow=${encodeURIComponent(location.origin)}`;

/** A light curve from CSV text with columns time, magnitude, error (a header line allowed). */
function parseCsv(text) {
  const curve = { time: [], mag: [], err: [] };
  for (const line of text.split(/\r?\n/)) {
    const cells = line.split(',').map(Number);
    if (cells.length >= 2 && cells.every(Number.isFinite)) {
      curve.time.push(cells[0]);
      curve.mag.push(cells[1]);
      curve.err.push(cells[2] ?? 0);
    }
  }
  return curve;
}

const bytes = fetch(subjectUrl).then((r) => r.arrayBuffer());
bytes.then((b) => {
  document.getElementById('subject-name').textContent = subjectUrl.split('/').pop();
  drawLightCurve(document.getElementById('subject'), parseCsv(new TextDecoder().decode(b)), null);
});

// skysift's answer, asked as soon as the iframe is ready.
const answer = new Promise((resolve, reject) => {
  window.addEventListener('message', async (event) => {
    if (event.origin !== skysiftOrigin || event.source !== frame.contentWindow) return;
    const msg = event.data;
    if (msg?.type === 'skysift:ready') {
      const copy = (await bytes).slice(0);
      frame.contentWindow.postMessage({ type: 'skysift:analyse', id: 1, bytes: copy, name: subjectUrl.split('/').pop() }, skysiftOrigin, [copy]);
    } else if (msg?.type === 'skysift:result' && msg.id === 1) {
      resolve(msg.result);
    } else if (msg?.type === 'skysift:error' && msg.id === 1) {
      reject(new Error(msg.message));
    }
  });
});
answer.then((result) => { window.skysiftResult = result; document.body.dataset.skysift = 'answered'; },
  (e) => { window.skysiftError = e.message; document.body.dataset.skysift = 'error'; });

document.getElementById('task').addEventListener('submit', async (event) => {
  event.preventDefault();
  const choice = new FormData(event.target).get('answer');
  const feedback = document.getElementById('feedback');
  if (!choice) {
    feedback.textContent = 'Pick one of the four answers first.';
    return;
  }
  frame.hidden = false;
  try {
    const result = await answer;
    const label = result.objects[0].label;
    feedback.textContent = label === choice
      ? `Thank you! skysift agrees: ${label}.`
      : `Thank you! skysift thought ${label}; your answer, ${choice}, is recorded as given — volunteers catch what machines miss.`;
  } catch (e) {
    feedback.textContent = `Thank you! (skysift could not give an opinion: ${e.message})`;
  }
});
