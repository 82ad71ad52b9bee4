#!/usr/bin/env python3
"""Writes tests/golden/eigh_cases.json: symmetric 3x3 matrices and numpy.linalg.eigh's
eigenvectors, signs included (numpy calls LAPACK dsyevd with UPLO='L').

Usage: .venv/bin/python tests/golden/make_eigh_golden.py
ligo.skymap's principal_axes_moc orients GWSkyNet's volume images with these eigenvectors, so
src/eigh3.rs must reproduce their signs, not only the subspaces. The matrices are made here
(seeded): random positive definite ones, and mass-weighted scatter matrices of clustered unit
vectors like a sky map's (one dominant axis, two small ones), plus a few special shapes.
"""
import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def matrices(rng):
    for _ in range(300):
        b = rng.normal(size=(3, 3))
        yield b @ b.T
    for _ in range(300):
        # Points clustered around a random direction, weighted like prob * (r^2) masses.
        centre = rng.normal(size=3)
        centre /= np.linalg.norm(centre)
        spread = 10 ** rng.uniform(-3, 0)
        n = int(rng.integers(5, 200))
        xyz = centre + spread * rng.normal(size=(n, 3)) * rng.uniform(0.1, 1, size=3)
        xyz /= np.linalg.norm(xyz, axis=1, keepdims=True)
        mass = rng.uniform(0, 1, size=n) * 10 ** rng.uniform(-2, 8)
        yield (xyz.T * mass) @ xyz
    for _ in range(50):
        b = rng.normal(size=(3, 3))
        m = -(b @ b.T)  # negative definite
        yield m
    for _ in range(50):
        m = np.diag(rng.normal(size=3))
        m[2, 1] = m[1, 2] = rng.choice([0.0, rng.normal()])
        yield m


def main():
    rng = np.random.default_rng(20261122)
    cases = []
    for a in matrices(rng):
        w, v = np.linalg.eigh(a)
        cases.append({'a': a.tolist(), 'w': w.tolist(), 'v': v.tolist()})
    (HERE / 'eigh_cases.json').write_text(json.dumps({'numpy': np.__version__, 'cases': cases}) + '\n')
    print(f'{len(cases)} cases, numpy {np.__version__}')


if __name__ == '__main__':
    main()
