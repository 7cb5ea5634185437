"""Measure the Poisson-Gaussian noise (a, b) of every train film (core.quality.noise).

Usage: python scripts/measure_noise.py ../shared/data/cxr > docs/evaluation/noise_levels.json
Prints JSON: per film (a, b), and per dataset and overall the 10/50/90th percentiles.
"""

import json
import sys
from pathlib import Path

import numpy as np

from xrayview.core.io import load_film
from xrayview.core.quality.noise import estimate_noise
from xrayview.core.training.dataset import load_split

data = Path(sys.argv[1])
split = load_split(Path("models/data_split.json"))
films = {f: estimate_noise(load_film(data / f).pixels) for f in split["train"]}


def summary(values):
    v = np.array(values)
    sigma = np.sqrt(v[:, 0] * 0.5 + v[:, 1])
    return {"films": len(v), **{f"{k}_p{p}": float(np.percentile(col, p))
                                for k, col in (("a", v[:, 0]), ("b", v[:, 1]),
                                               ("sigma_at_0.5", sigma))
                                for p in (10, 50, 90)}}


groups = {}
for f, ab in films.items():
    groups.setdefault(f.split("/")[0], []).append(ab)
out = {"method": "xrayview.core.quality.noise.estimate_noise (flat-block percentile fit)",
       "overall": summary(list(films.values())),
       "datasets": {k: summary(v) for k, v in sorted(groups.items())},
       "films": {f: {"a": a, "b": b} for f, (a, b) in films.items()}}
print(json.dumps(out, indent=1))
