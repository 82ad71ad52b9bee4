#!/usr/bin/env python3
"""Writes tests/golden/gwskynet_partition.json: Python shap's PartitionExplainer values for
GWSkyNet's score attributed to the pixels of its sky image and of its volume images, on the ONNX
model with onnxruntime, for skysift's partition explanations (src/explain.rs) to be checked
against.

Usage: .venv/bin/python tests/golden/make_gwskynet_partition_golden.py
(needs shap==0.49.1, onnxruntime==1.31.1 and opencv-python-headless==4.12.0.88, and the GWSkyNet
wheel the build caches)
Inputs: the made-up maps of gwskynet::synthetic_inputs (as bench/gwskynet_model.py builds them).
One image is masked (shap.maskers.Image with an all-zero image: pixels absent, or blurred), the nine other
inputs stay the map's. Values are stored run-length encoded ([value, count] in channels-last,
row-major order): with a budget of a few hundred evaluations they are constant over large boxes.
"""
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import shap

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / 'bench'))
from gwskynet_model import inputs, session as onnx_session  # noqa: E402

# (seed, image, input index, max_evals, masking): shap's all-zero Image masker, or its
# "blur(W,H)" (OpenCV's box filter).
CASES = [(0, 'sky', 0, 500, 'zeros'), (1, 'sky', 0, 500, 'zeros'), (0, 'volume', 2, 200, 'zeros'),
         (1, 'sky', 0, 300, 'blur(16,16)'), (0, 'volume', 2, 100, 'blur(8,8)')]


def run_length(values):
    runs = []
    for v in values:
        v = float('%.8g' % v)  # far below the test's tolerance, half the file
        if runs and runs[-1][0] == v:
            runs[-1][1] += 1
        else:
            runs.append([v, 1])
    return runs


def main():
    session = onnx_session()
    names = [i.name for i in session.get_inputs()]
    stacked = inputs(2)
    cases = []
    for seed, image, k, max_evals, mask in CASES:
        x = [a[seed] for a in stacked]
        shape = x[k].shape

        def model(images):
            images = images.reshape((-1,) + shape)
            feed = {n: (images if j == k else np.repeat(x[j][None], len(images), 0)) for j, n in enumerate(names)}
            return session.run(None, feed)[0].ravel().astype(np.float64)

        masker = shap.maskers.Image(np.zeros(shape, dtype=np.float32) if mask == 'zeros' else mask, shape)
        explainer = shap.PartitionExplainer(model, masker)
        sv = explainer(x[k][None], max_evals=max_evals, silent=True)
        values = np.asarray(sv.values[0], dtype=np.float64).ravel()
        w, h = mask[5:-1].split(',') if mask != 'zeros' else (0, 0)
        cases.append({'seed': seed, 'image': image, 'max_evals': max_evals, 'mask': 'zeros' if mask == 'zeros' else f'blur:{w}x{h}',
                      'value': float(model(x[k][None])[0]),
                      'base_value': float(np.ravel(sv.base_values)[0]), 'values': run_length(values.tolist())})
        print(seed, image, cases[-1]['value'], cases[-1]['base_value'], len(cases[-1]['values']), 'runs')
    (HERE / 'gwskynet_partition.json').write_text(json.dumps({'shap': shap.__version__, 'onnxruntime': ort.__version__, 'cases': cases}) + '\n')


if __name__ == '__main__':
    main()
