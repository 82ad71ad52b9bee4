#!/usr/bin/env python3
"""Writes tests/golden/partition_toy.json: Python shap's PartitionExplainer values for a small
made-up model on made-up images, to check skysift's partition (Owen) algorithm
(src/partition.rs) against shap's, step for step.

Usage: .venv/bin/python tests/golden/make_partition_golden.py
(needs shap==0.49.1 and, for the blur masker, opencv-python-headless==4.12.0.88)

The model is a formula both sides compute (tests/partition_reference.rs has the same one):
f(v) = sigmoid(sum_i a_i v_i) + 0.3 tanh(sum_i b_i v_i)^2 with a_i = sin(0.7 i), b_i = cos(1.3 i),
i the pixel's index in the channels-last, row-major image. It is not additive, so the
expansion order and the budget matter. Masking: shap.maskers.Image with a constant image.
"""
import json
from pathlib import Path

import numpy as np
import shap

OUT = Path(__file__).resolve().parent / 'partition_toy.json'


def model(images):
    flat = images.reshape(images.shape[0], -1).astype(np.float64)
    i = np.arange(flat.shape[1])
    a, b = np.sin(0.7 * i), np.cos(1.3 * i)
    return 1 / (1 + np.exp(-(flat @ a))) + 0.3 * np.tanh(flat @ b) ** 2


def main():
    rng = np.random.default_rng(7)
    cases = []
    # A constant masking image, or shap's "blur(W,H)" (OpenCV's box filter; needs opencv-python).
    for shape, mask_value in [((4, 6, 2), 0.0), ((5, 7, 1), 0.25), ((3, 3, 3), 0.0), ((6, 9, 1), 'blur(3,2)'), ((5, 4, 2), 'blur(2,4)')]:
        x = rng.uniform(-1, 1, size=shape).astype(np.float32)
        if isinstance(mask_value, str):
            masker = shap.maskers.Image(mask_value, shape)
        else:
            masker = shap.maskers.Image(np.full(shape, mask_value, dtype=np.float32), shape)
        explainer = shap.PartitionExplainer(model, masker)
        for max_evals in [10, 41, 200, 3000]:
            sv = explainer(x[None], max_evals=max_evals, silent=True)
            cases.append({
                'shape': list(shape), 'mask_value': mask_value, 'max_evals': max_evals,
                'image': x.ravel().tolist(),
                'base_value': float(np.ravel(sv.base_values)[0]),
                'values': np.asarray(sv.values[0], dtype=np.float64).ravel().tolist(),
            })
    OUT.write_text(json.dumps({'shap': shap.__version__, 'cases': cases}))
    print(f'wrote {len(cases)} cases to {OUT}')


if __name__ == '__main__':
    main()
