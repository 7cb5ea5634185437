"""How right is the progress ETA? Super-resolve a film tile by tile and compare each
tile's predicted finishing time (elapsed + eta) with the real one.

    .venv/bin/python scripts/eta_check.py [FILM] [--model vdsr] [--scale 2] [--tile 512]

Prints, per tile, the predicted total and its error against the measured total, and the
largest error once 10 % of the output is done (what a user waits on: the first tile's
estimate carries the warm-up and is not counted).
"""

from __future__ import annotations

import argparse
import time

from xrayview.core.enhance.super_resolution import super_resolve
from xrayview.core.io import load_film
from xrayview.core.models.registry import load_model
from xrayview.core.resources import sample_film_path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("film", nargs="?", default=str(sample_film_path()))
    p.add_argument("--model", default="vdsr")
    p.add_argument("--scale", type=int, default=2)
    p.add_argument("--tile", type=int, default=512)
    a = p.parse_args()
    film = load_film(a.film)
    net = load_model(a.model, scale=a.scale)
    t0 = time.perf_counter()
    predicted = []
    gen = super_resolve(film, net, a.scale, device="cpu", tile=a.tile)
    try:
        while True:
            progress = next(gen)
            if progress.eta_s is not None:
                predicted.append((progress.fraction, progress.elapsed_s + progress.eta_s))
    except StopIteration:
        pass
    total = time.perf_counter() - t0
    worst = 0.0
    for fraction, guess in predicted:
        error = (guess - total) / total
        if fraction >= 0.10 and fraction < 1.0:
            worst = max(worst, abs(error))
        print(f"{fraction:6.1%} done: predicted total {guess:7.1f} s  error {error:+6.1%}")
    print(f"measured total {total:.1f} s over {len(predicted)} tiles; largest error after "
          f"10 % done: {worst:.1%} (target <= 20 %)")


if __name__ == "__main__":
    main()
