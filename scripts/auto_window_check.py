"""Does the automatic window find the anatomy of a collimated film? A check on real films.

    .venv/bin/python scripts/auto_window_check.py [CORPUS_DIR] [N]

Each of N corpus films (PNG and JPEG, default 10) is squeezed into a fifth of the grey
range, framed by a bright collimator shadow and a dark unexposed strip with detector-like
noise (as a flat CR), and the "auto" preset's window is compared with the 1st-99th
percentile range of the film itself. Prints both per film and the largest difference.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

from xrayview.core.film import Film
from xrayview.gui.presets import window_preset


def main() -> None:
    corpus = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/cxr")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    files = sorted(corpus.glob("*/*.png"))[: n - n // 2] + sorted(corpus.glob("*/*.jp*g"))[: n // 2]
    rng = np.random.default_rng(0)
    worst = 0.0
    for f in files:
        a = np.asarray(Image.open(f).convert("L"), np.float32) / 255
        h, w = a.shape
        field = 0.35 + 0.2 * a
        img = np.full((h + 200, w + 300), 0.97, np.float32)
        img[:, :40] = 0.02
        img[100:100 + h, 150:150 + w] = field
        img = np.clip(img + rng.normal(0, 0.003, img.shape).astype(np.float32), 0, 1)
        film = Film(pixels=img, source_format="DICOM", bits_stored=15, value_min=0,
                    value_max=32767)
        c, wd = window_preset("auto", film)
        lo, hi = np.percentile(field, (1, 99))
        err = max(abs(c - wd / 2 - lo), abs(c + wd / 2 - hi))
        worst = max(worst, err)
        print(f"{f.name[:30]:30s} auto [{c - wd / 2:.3f}, {c + wd / 2:.3f}]  "
              f"film 1-99 % [{lo:.3f}, {hi:.3f}]  difference {err:.3f}")
    print(f"largest difference: {worst:.3f} (normalised units)")


if __name__ == "__main__":
    main()
