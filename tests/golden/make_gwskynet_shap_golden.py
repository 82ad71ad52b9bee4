#!/usr/bin/env python3
"""Writes tests/golden/gwskynet_shap.json: Python shap's exact Shapley values of GWSkyNet's ten
inputs, for skysift's explanations to be checked against.

Usage: .venv/bin/python tests/golden/make_gwskynet_shap_golden.py
(needs `pip install shap==0.49.1 onnxruntime==1.31.1`, and the GWSkyNet wheel the build caches)
Inputs: the made-up maps of gwskynet::synthetic_inputs (seeds 0-3, as bench/gwskynet_model.py
builds them), baseline all zeros. The game is the one skysift explains: a
coalition z (10 flags) is worth the ONNX model's score on the inputs taken from the map where
z_i = 1 and from the baseline elsewhere; shap's ExactExplainer computes its Shapley values over
all 2^10 coalitions (on the score, and on its logit).
"""
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import shap

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / 'bench'))
from gwskynet_model import inputs, session as onnx_session  # noqa: E402  (the benchmark's made-up maps, built once)


def main():
    session = onnx_session()
    names = [i.name for i in session.get_inputs()]
    stacked = inputs(4)
    cases = []
    for seed in range(4):
        x = [a[seed] for a in stacked]
        base = [np.zeros_like(a) for a in x]

        def game(z):
            z = np.asarray(z) > 0.5
            out = []
            for chunk in np.array_split(z, max(1, len(z) // 64)):
                feed = {n: np.stack([x[k] if row[k] else base[k] for row in chunk]) for k, n in enumerate(names)}
                out.append(session.run(None, feed)[0].ravel().astype(np.float64))
            return np.concatenate(out)

        masker = shap.maskers.Independent(np.zeros((1, 10)))
        ones = np.ones((1, 10))
        prob = shap.explainers.Exact(game, masker)(ones)
        # On the logit: the same game through log(p / (1 − p)) (the scores here are mid-range,
        # far from where float32 probabilities lose the logit).
        logit = shap.explainers.Exact(lambda z: np.log(game(z) / (1 - game(z))), masker)(ones)
        cases.append({
            'seed': seed,
            'value': float(game(ones)[0]), 'base_value': float(prob.base_values[0]),
            'phi': prob.values[0].tolist(), 'phi_logit': logit.values[0].tolist(), 'base_logit': float(logit.base_values[0]),
        })
        print(seed, cases[-1]['value'], np.round(prob.values[0], 5))
    (HERE / 'gwskynet_shap.json').write_text(json.dumps({'shap': shap.__version__, 'onnxruntime': ort.__version__, 'cases': cases}, indent=1) + '\n')


if __name__ == '__main__':
    main()
