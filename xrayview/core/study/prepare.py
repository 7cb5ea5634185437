"""``prepare_study``: compute every image of a study once, with hashes and provenance.

Layout of a prepared folder ``DIR``::

    DIR/study.json                 the validated definition (what the reading window uses)
    DIR/images/<case>_<cond>.png   16-bit PNG, float32 [0, 1] quantised (``save_film``)
    DIR/images/<case>_<cond>.json  provenance: source film sha256, the condition's recipe,
                                   weights sha256, dehazing steps run, grid, image sha256
    DIR/display/<case>.json        the film's own display: its DICOM window(s) or VOI LUT,
                                   photometric interpretation (MONOCHROME1 is inverted on
                                   load) and bit depth; the reader starts on that window
    DIR/readers/<NAME>.sqlite      one answer database per reader (``store``)

Blinding by construction: every image of a case is on one pixel grid, the film (or its
central crop) x ``Study.grid_scale`` (the largest condition scale), 16-bit greyscale PNG,
float32 [0, 1] quantised the same way. A condition whose scale is smaller is made at its
own scale by the pipeline and then resampled to the grid, and the original is the film
resampled to the grid, both by THE reference method: bicubic interpolation
(``degrade.upscale``: torch bicubic, a = -0.75, clamped to [0, 1]), the same that
pre-upsamples the networks' input. So with a x2 grid the original is pixel for pixel the
``bicubic_x2`` condition, and no image can be told from the others by its size, pixel
grid or bit depth, only by its content. The original condition is also written as a
PNG, so reading needs nothing but ``DIR`` (no source file names, no DICOM tags). Work
is deterministic (same inputs, weights and device -> same pixels; CPU inference is
deterministic) and an image whose PNG and provenance exist with a matching hash and
recipe is skipped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xrayview import __version__
from xrayview.core.io.files import atomic_write
from xrayview.core.study.definition import Condition, Study, StudyError

log = logging.getLogger(__name__)

STUDY_JSON = "study.json"


@dataclass(frozen=True)
class PrepareProgress:
    """One image handled: ``done`` of ``total``; ``status`` is "made" or "skipped"."""

    done: int
    total: int
    case: str
    condition: str
    status: str


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def image_path(root: Path, case: str, condition: str) -> Path:
    """Where a prepared image lives (its provenance: the same name with .json)."""
    return Path(root) / "images" / f"{case}_{condition}.png"


def display_path(root: Path, case: str) -> Path:
    """Where a case's display settings (the film's own window) live."""
    return Path(root) / "display" / f"{case}.json"


def _recipe(cond: Condition, source_sha: str, crop: int, grid_scale: int) -> dict:
    """What decides a prepared image's pixels (an image made with the same is reused)."""
    return {"condition": cond.name, "recipe": cond.recipe().to_dict(),
            "source_sha256": source_sha, "crop": crop, "grid_scale": grid_scale,
            "grid_method": GRID_METHOD}


GRID_METHOD = "bicubic (torch, a=-0.75, align_corners=False), clamped to [0, 1]"


def to_grid(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``image`` float32 (h, w) in [0, 1] resampled to ``shape`` by the reference method
    (bicubic, as the networks' pre-upsampling), clamped to [0, 1]; unchanged (a copy) if
    it is on that grid already."""
    x = np.ascontiguousarray(image, dtype=np.float32)
    if x.shape == tuple(shape):
        return x.copy()
    import torch

    from xrayview.core.quality.degrade import upscale

    with torch.inference_mode():
        t = upscale(torch.from_numpy(x)[None, None], 1, size=tuple(shape))
        return t.clamp_(0.0, 1.0)[0, 0].numpy().copy()


def film_display(film) -> dict:
    """The film's own display defaults (JSON): the first DICOM window as [center, width]
    in normalised units (or None), every window, the VOI LUT resampled over [0, 1] (or
    None), photometric interpretation, whether it was inverted on load (MONOCHROME1),
    bits stored and the source format."""
    lut = film.display_lut
    return {"window": ([film.windows[0].center, film.windows[0].width] if film.windows
                       else None),
            "windows": [{"center": w.center, "width": w.width, "explanation": w.explanation}
                        for w in film.windows],
            "voi_lut": None if lut is None else [round(float(v), 6) for v in lut],
            "photometric": film.photometric, "inverted_on_load": bool(film.inverted),
            "bits_stored": int(film.bits_stored), "source_format": film.source_format}


def load_display(root: str | Path, case: str) -> dict:
    """A case's display settings (``film_display``); the neutral [0, 1] window for a
    folder prepared before they were recorded."""
    try:
        return json.loads(display_path(Path(root), case).read_text())
    except FileNotFoundError:
        return {"window": None, "windows": [], "voi_lut": None}
    except (OSError, ValueError) as exc:
        raise StudyError(f"display settings of {case} are damaged: {exc}") from None


def _is_done(png: Path, recipe: dict) -> bool:
    meta = png.with_suffix(".json")
    if not (png.is_file() and meta.is_file()):
        return False
    try:
        prov = json.loads(meta.read_text())
    except (OSError, ValueError):
        return False
    same = all(prov.get(k) == v for k, v in recipe.items())
    return same and prov.get("image_sha256") == sha256_bytes(png.read_bytes())


def write_study_json(study: Study, root: Path) -> None:
    """Write ``DIR/study.json``; refuse a folder that holds a different study."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / STUDY_JSON
    text = json.dumps(study.as_dict(), indent=2, sort_keys=True)
    if path.is_file() and path.read_text() != text:
        raise StudyError(f"{root} already holds a different study; use a new --out folder.")
    if not path.is_file():
        atomic_write(path, lambda fh: fh.write(text.encode()))


def load_prepared(root: str | Path) -> Study:
    """The Study of a prepared folder (``DIR/study.json``); StudyError if missing."""
    path = Path(root) / STUDY_JSON
    try:
        return Study.from_dict(json.loads(path.read_text()))
    except FileNotFoundError:
        raise StudyError(f"{root} is not a prepared study (no {STUDY_JSON}); run "
                         "'xrayview study prepare' first.") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StudyError(f"{path} is damaged: {exc}") from None


def check_prepared_images(study: Study, root: str | Path) -> None:
    """StudyError (one line) unless every (case, condition) image of ``root`` exists."""
    missing = [f"{c.id}/{k.name}" for c in study.cases for k in study.conditions
               if not image_path(Path(root), c.id, k.name).is_file()]
    if missing:
        raise StudyError(f"{root} is incomplete ({len(missing)} images missing, e.g. "
                         f"{missing[0]}); run 'xrayview study prepare' again.")


def prepare_study(study: Study, root: str | Path, device: str = "auto",
                  tile: int | None = None,
                  ) -> Generator[PrepareProgress, None, list[dict]]:
    """Make every (case, condition) image under ``root``; yields one record per image.

    Each condition's image is ``pipeline.enhance`` of its recipe (``Condition.recipe``);
    ``tile``: tile size (None: the device's default; tiling does not change the pixels).
    ``study.crop``: use the central crop x crop region of each film (0: the whole film).
    Returns the provenance records of all images (made now or before).
    """
    from xrayview.core.device import pick_device
    from xrayview.core.enhance.pipeline import enhance
    from xrayview.core.generators import drain
    from xrayview.core.io import load_film
    from xrayview.core.io.export import save_film
    from xrayview.core.quality.degrade import central_crop
    from xrayview.core.models import registry

    root = Path(root)
    crop, grid_scale = study.crop, study.grid_scale
    write_study_json(study, root)
    (root / "images").mkdir(exist_ok=True)
    (root / "display").mkdir(exist_ok=True)
    dev = pick_device(device)
    recipes = [c.recipe() for c in study.conditions]
    # the weights for clean and for lossy films, loaded once for every case
    needed = {registry.weights_for(r.model, r.scale, robust=robust) for r in recipes
              if r.model != registry.BICUBIC for robust in (False, True)}
    needed |= {registry.dehazer()} if any(r.dehaze for r in recipes) else set()
    models = {name: registry.load_model(name) for name in sorted(needed)}  # fail early
    total = len(study.cases) * len(study.conditions)
    records, done = [], 0
    for case in study.cases:
        try:
            raw = Path(case.path).read_bytes()
        except OSError as exc:
            raise StudyError(f"case {case.id}: cannot read its film {case.path} "
                             f"({exc.strerror or exc}).") from None
        source_sha = sha256_bytes(raw)
        film = None
        if load_display(root, case.id).get("source_sha256") != source_sha:
            film = load_film(case.path)
            text = json.dumps({**film_display(film), "source_sha256": source_sha},
                              indent=1).encode()
            atomic_write(display_path(root, case.id), lambda fh, t=text: fh.write(t))
        for cond in study.conditions:
            png = image_path(root, case.id, cond.name)
            recipe = _recipe(cond, source_sha, crop, grid_scale)
            done += 1
            if _is_done(png, recipe):
                records.append(json.loads(png.with_suffix(".json").read_text()))
                yield PrepareProgress(done, total, case.id, cond.name, "skipped")
                continue
            film = film if film is not None else load_film(case.path)
            pixels = central_crop(film.pixels, crop)
            grid = (pixels.shape[0] * grid_scale, pixels.shape[1] * grid_scale)
            run = dataclasses.replace(cond.recipe(), tile=tile)
            made = drain(enhance(pixels, run, dev, models=models, measure=False,
                                 lossy=film.lossy))
            image = to_grid(made.image, grid)
            save_film(image, png, None, scale=grid_scale, provenance=made.provenance())
            prov = {**recipe, "recipe_as_run": made.recipe.to_dict(),
                    "grid": list(grid), "made_shape": list(made.image.shape),
                    "resampled_to_grid": tuple(made.image.shape) != grid,
                    "weights_sha256": made.weights, "dehaze_steps_run": len(made.steps),
                    "stop_reason": made.stop_reason, "case": case.id,
                    "training": case.training, "shape": list(image.shape),
                    "xrayview": __version__, "device": made.device,
                    "image_sha256": sha256_bytes(png.read_bytes())}
            text = json.dumps(prov, indent=2, sort_keys=True).encode()
            atomic_write(png.with_suffix(".json"), lambda fh, t=text: fh.write(t))
            log.info("prepared %s / %s", case.id, cond.name)
            records.append(prov)
            yield PrepareProgress(done, total, case.id, cond.name, "made")
    return records
