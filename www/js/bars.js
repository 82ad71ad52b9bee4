// Horizontal bar lists (class probabilities, attributions), built from text nodes only: labels
// may come from files. The bars are decoration (aria-hidden); the numbers are written beside.

/**
 * `rows`: [{label, value, text, best?}]. `scale`: the value of a full bar. Diverging bars grow
 * from the middle, left for negative values (class "neg").
 */
export function barItems(rows, { scale = 1, diverging = false } = {}) {
  return rows.map(({ label, value, text, best = false }) => {
    const li = document.createElement('li');
    if (best) li.className = 'best';
    const name = document.createElement('span');
    name.textContent = label;
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.setAttribute('aria-hidden', 'true');
    const fill = document.createElement('span');
    const width = (diverging ? 50 : 100) * Math.min(1, Math.abs(value) / (scale || 1));
    fill.style.width = `${width.toFixed(1)}%`;
    if (diverging) {
      fill.style.left = value < 0 ? `${50 - width}%` : '50%';
      if (value < 0) fill.className = 'neg';
    }
    bar.append(fill);
    const number = document.createElement('span');
    number.textContent = text;
    li.append(name, bar, number);
    return li;
  });
}

/** A signed number with a true minus sign. */
export const signed = (v, digits) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(digits)}`;
