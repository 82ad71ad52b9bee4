#!/usr/bin/env python3
"""The Python GWSkyNet pipeline (PyPI gwskynet 2.6.0 + ligo.skymap), timed per map: prepare_data
(reading, reprojection, volume rendering) and predict. Prints one JSON line per map.

Usage: .venv-reference/bin/python bench/gwskynet_pipeline.py MAP...
(bench/requirements-reference.txt; single-threaded here, as the reference runs in LVK's
low-latency pipeline per map.)
"""
import json
import sys
import time

import GWSkyNet.GWSkyNet as G

model = G.load_GWSkyNet_model()
for path in sys.argv[1:]:
    t0 = time.perf_counter()
    data = G.prepare_data(path)
    t1 = time.perf_counter()
    score = float(G.predict(model, data)[0])
    t2 = time.perf_counter()
    print(json.dumps({'file': path, 'score': score, 'seconds': t2 - t0, 'prepare_s': t1 - t0, 'model_s': t2 - t1}), flush=True)
