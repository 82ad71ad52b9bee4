// The outline of an attribution image's strongest pixels (plots.js, no browser needed).
import assert from 'node:assert/strict';
import test from 'node:test';
import { attributionEdges } from '../../www/js/plots.js';

test('a 2 × 2 block towards the class and one pixel away: their borders, as polylines', () => {
  // 3 rows × 4 columns, row 0 first; 0.1 is under a quarter of the largest |value| and is left out.
  const values = [0, 1, 1, 0.1, 0, 1, 1, -1, 0, 0, 0, 0];
  const { count, lines } = attributionEdges(values, 3, 4);
  assert.equal(count, 5);
  const sorted = (ls) => ls.map((l) => JSON.stringify(l)).sort();
  assert.deepEqual(sorted(lines[1]), sorted([[[0, 1], [0, 2], [0, 3]], [[2, 1], [2, 2], [2, 3]], [[0, 1], [1, 1], [2, 1]], [[0, 3], [1, 3], [2, 3]]]));
  assert.deepEqual(sorted(lines[-1]), sorted([[[1, 3], [1, 4]], [[2, 3], [2, 4]], [[1, 3], [2, 3]], [[1, 4], [2, 4]]]));
});

test('right ascension wraps: a region across column 0 has no border there', () => {
  const { count, lines } = attributionEdges([1, 0, 0, 1], 1, 4, true);
  assert.equal(count, 2);
  const verticals = lines[1].filter((l) => l[0][1] === l[l.length - 1][1]).map((l) => l[0][1]).sort();
  assert.deepEqual(verticals, [1, 3]);
  assert.equal(attributionEdges([1, 0, 0, 1], 1, 4, false).lines[1].filter((l) => l[0][1] === l[l.length - 1][1]).length, 4);
});

test('nothing to outline: all zeros, or no values', () => {
  assert.equal(attributionEdges(new Float32Array(12), 3, 4).count, 0);
  assert.deepEqual(attributionEdges([], 0, 0).lines, { 1: [], [-1]: [] });
});
