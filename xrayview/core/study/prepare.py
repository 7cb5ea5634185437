"""``prepare_study``: compute every image of a study once, with hashes and provenance.

Layout of a prepared folder ``DIR``::

    DIR/study.json                 the validated definition (what the reading window uses)
    DIR/images/<case>_<cond>.png   16-bit PNG, float32 [0, 1] quantised (``save_film``)
    DIR/images/<case>_<cond>.json  provenance: source film sha256, model, weights sha256,
                                   scale, dehazing steps run, image sha256
    DIR/readers/<NAME>.sqlite      one answer database per reader (``store``)

The original condition is also written as a PNG, so reading needs nothing but ``DIR``
(no source file names, no DICOM tags). Work is deterministic (same inputs, weights and
device -> same pixels; CPU inference is deterministic) and an image whose PNG and
provenance exist with a matching hash and recipe is skipped.
"""

from __future__ import annotations

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


def _recipe(cond: Condition, source_sha: str, crop: int) -> dict:
    return {"condition": cond.name, "model": cond.model, "scale": cond.scale,
            "dehaze_steps": cond.dehaze_steps, "stop_threshold": cond.stop_threshold,
            "source_sha256": source_sha, "crop": crop}


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


def centre_crop(pixels: np.ndarray, size: int) -> np.ndarray:
    """Central ``size`` x ``size`` region of float32 (H, W) pixels (all of it if smaller)."""
    if not size:
        return pixels
    h, w = pixels.shape
    r0, c0 = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return np.ascontiguousarray(pixels[r0:r0 + size, c0:c0 + size])


def _enhance(pixels: np.ndarray, cond: Condition, models: dict, device, tile: int):
    """float32 (H, W) [0, 1] -> (result float32 (H*s, W*s) [0, 1], provenance extras)."""
    from xrayview.core.enhance import StopRule, collect, dehaze_steps, drain, super_resolve

    extra: dict = {"weights_sha256": None, "dehaze_weights_sha256": None,
                   "dehaze_steps_run": 0, "stop_reason": ""}
    net = "none"
    if cond.model != "none":
        net = models[cond.model]
        extra["weights_sha256"] = net.weights_sha256
    out = drain(super_resolve(pixels, net, cond.scale, device=device, tile=tile))
    if cond.dehaze_steps:
        dnet = models["dehaze"]
        extra["dehaze_weights_sha256"] = dnet.weights_sha256
        rule = StopRule(threshold=cond.stop_threshold, max_steps=cond.dehaze_steps)
        steps, out = collect(dehaze_steps(out, dnet, rule, device=device))
        if steps:
            extra["dehaze_steps_run"], extra["stop_reason"] = steps[-1].step, steps[-1].reason
    return out, extra


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


def prepare_study(study: Study, root: str | Path, device: str = "auto", tile: int = 512,
                  ) -> Generator[PrepareProgress, None, list[dict]]:
    """Make every (case, condition) image under ``root``; yields one record per image.

    ``study.crop``: use the central crop x crop region of each film (0: the whole film).
    Returns the provenance records of all images (made now or before).
    """
    from xrayview.core.device import pick_device
    from xrayview.core.io import load_film
    from xrayview.core.io.export import save_film

    root = Path(root)
    crop = study.crop
    write_study_json(study, root)
    (root / "images").mkdir(exist_ok=True)
    from xrayview.core.weights import load_model

    dev = pick_device(device)
    needed = {c.model for c in study.conditions if c.model != "none"}
    needed |= {"dehaze"} if any(c.dehaze_steps for c in study.conditions) else set()
    models = {name: load_model(name, device="cpu") for name in sorted(needed)}  # fail early
    total = len(study.cases) * len(study.conditions)
    records, done = [], 0
    for case in study.cases:
        raw = Path(case.path).read_bytes()
        source_sha = sha256_bytes(raw)
        film = None
        for cond in study.conditions:
            png = image_path(root, case.id, cond.name)
            recipe = _recipe(cond, source_sha, crop)
            done += 1
            if _is_done(png, recipe):
                records.append(json.loads(png.with_suffix(".json").read_text()))
                yield PrepareProgress(done, total, case.id, cond.name, "skipped")
                continue
            film = film if film is not None else load_film(case.path)
            pixels = centre_crop(film.pixels, crop)
            result, extra = _enhance(pixels, cond, models, dev, tile)
            save_film(result, png, None, scale=cond.scale)
            prov = {**recipe, **extra, "case": case.id, "training": case.training,
                    "shape": list(result.shape), "xrayview": __version__,
                    "device": str(dev), "image_sha256": sha256_bytes(png.read_bytes())}
            text = json.dumps(prov, indent=2, sort_keys=True).encode()
            atomic_write(png.with_suffix(".json"), lambda fh, t=text: fh.write(t))
            log.info("prepared %s / %s", case.id, cond.name)
            records.append(prov)
            yield PrepareProgress(done, total, case.id, cond.name, "made")
    return records
