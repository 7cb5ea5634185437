"""``xrayview --self-test``: an offline smoke run of an installation (source or packaged).

Loads the bundled sample film; runs every super-resolution model x2 through the one
pipeline, the strongest followed by two dehazing steps, on its central 256 x 256 region (small, so the check takes seconds on a CPU); computes metrics;
writes a 16-bit PNG and a derived DICOM to a temporary folder and reads both back, with
the recipe in their provenance;
encodes the region as RLE, JPEG-LS, JPEG 2000 and JPEG Baseline DICOM and reads each back
(``self_test_codecs``: are the decoder plugins there, e.g. in a frozen bundle); and, when
Qt is installed, builds the main window offscreen. Prints one line per check.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

from xrayview.commands import EXIT_INTERNAL, EXIT_OK
from xrayview.commands.self_test_codecs import check_codecs

REGION = 256


class SelfTestFailure(Exception):
    """A check of the self-test failed (message says which)."""


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise SelfTestFailure(what)


def _models_and_exports(film, say) -> None:
    from xrayview.core.enhance.pipeline import enhance
    from xrayview.core.enhance.recipe import Dehazing, Recipe
    from xrayview.core.generators import drain
    from xrayview.core.io import load_film
    from xrayview.core.io.export import save_film
    from xrayview.core.io.provenance import read_provenance
    from xrayview.core.models import registry
    from xrayview.core.quality.metrics import psnr

    h, w = film.shape
    y, x = (h - REGION) // 2, (w - REGION) // 2
    region = np.ascontiguousarray(film.pixels[y:y + REGION, x:x + REGION])
    models = registry.super_resolution_models()
    final = None
    for name in models:  # the strongest last, followed by two dehazing steps
        dehazing = Dehazing(threshold=0.0, epsilon=0.0, max_steps=2, diverging=False) \
            if name == models[-1] else None
        recipe = Recipe(model=name, scale=2, tile=128, dehazing=dehazing)
        done = drain(enhance(region, recipe, "cpu"))
        out = done.super_resolved
        _check(out.shape == (2 * REGION, 2 * REGION) and np.isfinite(done.image).all(),
               f"{name} x2 output has shape {out.shape} or non-finite values")
        say(f"{name} x2: PSNR vs bicubic {psnr(done.bicubic, out):.2f} dB "
            f"(weights {done.weights[name][:12]})")
        if dehazing is not None:
            _check(len(done.steps) == 2, f"dehazing ran {len(done.steps)} steps, expected 2")
            say(f"dehazing: 2 steps, SSIM vs input {done.steps[-1].metrics['ssim_input']:.4f}")
            final = done
    with tempfile.TemporaryDirectory(prefix="xrayview-self-test-") as tmp:
        for suffix in (".png", ".dcm"):
            path = save_film(final.image, Path(tmp) / f"self_test{suffix}", film, scale=2,
                             description=final.description, provenance=final.provenance())
            back = load_film(path)
            _check(back.shape == final.image.shape, f"{suffix} export reads back as {back.shape}")
            err = float(np.abs(back.pixels - final.image).max())
            _check(err <= 1.0 / 65535 + 1e-6, f"{suffix} export differs by {err:.2e}")
            recipe = (read_provenance(path) or {}).get("recipe")
            _check(recipe == final.recipe.to_dict(), f"{suffix} export lost its recipe")
            say(f"wrote and re-read {path.name} ({back.bits_stored}-bit {back.source_format}, "
                "recipe kept)")
        check_codecs(region, Path(tmp), _check, say)


def run_self_test(say=print) -> int:
    """Run every check; returns the exit code (0 when all pass)."""
    from xrayview.core.io import load_film
    from xrayview.core.resources import sample_film_path

    t0 = time.perf_counter()
    try:
        film = load_film(sample_film_path())
        _check(0.0 <= float(film.pixels.min()) <= float(film.pixels.max()) <= 1.0,
               "sample film pixels outside [0, 1]")
        say(f"self-test: sample film {film.shape[1]} x {film.shape[0]} loaded")
        _models_and_exports(film, lambda m: say(f"self-test: {m}"))
        try:
            import PySide6  # noqa: F401
        except ImportError:
            say("self-test: Qt not installed; GUI check skipped")
        else:
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
            from xrayview.gui.app import self_test_window

            self_test_window()
            say("self-test: main window created and closed")
    except SelfTestFailure as exc:
        say(f"self-test: FAILED: {exc}")
        return EXIT_INTERNAL
    say(f"self-test: passed in {time.perf_counter() - t0:.2f} s")
    return EXIT_OK
