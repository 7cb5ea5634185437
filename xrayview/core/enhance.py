"""Enhancement entry points: ``super_resolve`` (and ``dehaze_steps`` re-exported).

Super-resolution is pre-upsampling (DESIGN §2): the film is enlarged by bicubic
interpolation by ``scale`` (1 = restoration at native size), clamped to [0, 1] as in
training, then the network runs tile by tile (``xrayview.core.tiling``). Both are
generators that yield progress and return their result (DESIGN §3)::

    gen = super_resolve(film, "vdsr", scale=2)
    for progress in gen: ...           # TileProgress: done/total, fraction, eta_s, ...
    # or: result = drain(gen)          # float32 (2H, 2W) in [0, 1]
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any, Generator, TypeVar

import numpy as np
import torch
from torch import nn

from xrayview import __version__
from xrayview.core.cancel import CancelFlag, Cancelled, check_cancel
from xrayview.core.degrade import upscale
from xrayview.core.device import default_tiling, pick_device
from xrayview.core.dehazing import DehazeStep, StopRule, dehaze_steps
from xrayview.core.film import Film
from xrayview.core.self_ensemble import TRANSFORMS
from xrayview.core.self_ensemble import self_ensemble as run_self_ensemble
from xrayview.core.tiling import TileProgress, run_tiled
from xrayview.core.weights import load_model

log = logging.getLogger(__name__)

SCALES = (1, 2, 3, 4)
__all__ = ["SCALES", "Cancelled", "DehazeStep", "StopRule", "TileProgress", "dehaze_steps",
           "describe_enhancement", "drain", "super_resolve", "upsample"]

T = TypeVar("T")
Y = TypeVar("Y")


def drain(gen: Generator[Any, Any, T]) -> T:
    """Run a core generator to its end, discarding progress; returns its result."""
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


def collect(gen: Generator[Y, Any, T]) -> tuple[list[Y], T]:
    """Run a core generator to its end; returns (every yielded record, its result)."""
    records: list[Y] = []
    while True:
        try:
            records.append(next(gen))
        except StopIteration as stop:
            return records, stop.value


def upsample(pixels: np.ndarray, scale: int) -> np.ndarray:
    """Bicubic pre-upsampling: float32 (H, W) in [0, 1] -> float32 (H*s, W*s) in [0, 1]."""
    x = np.ascontiguousarray(pixels, dtype=np.float32)
    if scale == 1:
        return x.copy()
    t = torch.from_numpy(x)[None, None]
    with torch.inference_mode():
        return upscale(t, scale).clamp_(0.0, 1.0)[0, 0].numpy()


def _upsample_on_device(pixels: np.ndarray, scale: int, dev: torch.device) -> torch.Tensor:
    """``upsample`` computed on ``dev``: float32 (H*s, W*s) tensor in [0, 1] there."""
    t = torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32)).to(dev)
    if scale == 1:
        return t
    with torch.inference_mode():
        return upscale(t[None, None], scale).clamp_(0.0, 1.0)[0, 0]


def _resolve_model(model: nn.Module | str | None) -> nn.Module | None:
    if model is None or (isinstance(model, str) and model.lower() in ("none", "bicubic")):
        return None
    if isinstance(model, str):
        return load_model(model, device="cpu")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, a model name or 'none', not {model!r}")
    if getattr(model, "halo", None) is None:
        raise ValueError(f"{type(model).__name__} has no finite halo and cannot be tiled")
    return model


def _indexed(gen: Generator[Y, Any, T]) -> Generator[tuple[int, Y], None, T]:
    """Yield (0, record) for each record of ``gen`` and return its value (one pass)."""
    while True:
        try:
            record = next(gen)
        except StopIteration as stop:
            return stop.value
        yield 0, record


def super_resolve(film_or_array: Film | np.ndarray, model: nn.Module | str | None = "vdsr",
                  scale: int = 2, device: str | torch.device = "auto", tile: int | None = None,
                  cancel: CancelFlag = None, *, batch: int | None = None,
                  precision: str = "auto", self_ensemble: bool = False,
                  ) -> Generator[TileProgress, None, np.ndarray]:
    """Super-resolve a film by ``scale``; yields TileProgress per tile, returns the result.

    film_or_array: a Film or its pixels, float32 (H, W) in [0, 1].
    model: an nn.Module with ``halo`` (e.g. from ``load_model``), a manifest name
    ("srcnn", "vdsr"), or "none" for bicubic only.
    scale: 1..4 (1 = restoration at native size). device: a ``pick_device`` spec.
    tile, batch: tile size and windows per batch; None = ``default_tiling(device)``.
    cancel: None, a callable or an Event; checked between tiles -> ``Cancelled``.
    Progress ``elapsed_s``/``eta_s`` count from this call (upsampling included); an
    out-of-memory retry or CPU fallback is reported in ``event`` (see ``run_tiled``).
    With model "none" a single record covers the whole output.
    self_ensemble: average the network over the 8 rotations/flips of the input
    (``core.self_ensemble``; 8 passes: fractions span all of them, each record's tile
    region is in its pass's rotated frame).
    Returns float32 (H*scale, W*scale) clipped to [0, 1].
    Raises ValueError for a bad scale, tile or device, WeightsError for missing weights.
    """
    pixels = film_or_array.pixels if isinstance(film_or_array, Film) else film_or_array
    pixels = np.asarray(pixels)
    if pixels.ndim != 2 or pixels.size == 0:
        raise ValueError(f"super_resolve expects an (H, W) film, got shape {pixels.shape}")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, not {scale!r}")
    dev = pick_device(device) if isinstance(device, str) else device
    auto_tile, auto_batch = default_tiling(dev)
    tile = auto_tile if tile is None else tile
    batch = auto_batch if batch is None else batch
    if tile < 16:
        raise ValueError(f"tile must be at least 16 pixels, not {tile}")
    net = _resolve_model(model)
    if net is not None and scale not in getattr(net, "weights_scales", SCALES):
        log.warning("%s was trained for scales %s, not x%d", getattr(net, "weights_name", "model"),
                    net.weights_scales, scale)
    t0 = time.perf_counter()
    check_cancel(cancel, "super-resolution")
    if net is None:
        x = upsample(pixels, scale)
        h, w = x.shape
        yield TileProgress(1, 1, 1.0, (0, h, 0, w), time.perf_counter() - t0, 0.0, "cpu", 0)
        return x
    # on a GPU the film (not its 4-16x larger upsampled copy) crosses the bus, and the
    # bicubic runs there too; the tiles then come back into ``out`` on the host
    x = _upsample_on_device(pixels, scale, dev) if dev.type == "cuda" else upsample(pixels,
                                                                                    scale)
    h, w = x.shape
    passes = len(TRANSFORMS) if self_ensemble else 1
    if self_ensemble:  # 8 passes on the host copy of the input (core.self_ensemble)
        host = x if isinstance(x, np.ndarray) else x.cpu().numpy()
        gen = run_self_ensemble(lambda a: run_tiled(net, a, tile=tile, device=dev,
                                                    cancel=cancel, batch=batch,
                                                    precision=precision), host)
    else:
        gen = _indexed(run_tiled(net, x, tile=tile, device=dev,
                                 out=np.empty((h, w), dtype=np.float32), cancel=cancel,
                                 batch=batch, precision=precision))
    while True:
        try:
            i, p = next(gen)
        except StopIteration as stop:
            out = stop.value
            break
        fraction = (i + p.fraction) / passes
        elapsed = time.perf_counter() - t0
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else None
        yield dataclasses.replace(p, fraction=fraction, elapsed_s=elapsed, eta_s=eta)
    np.clip(out, 0.0, 1.0, out=out)
    return out


def describe_enhancement(model: nn.Module | str | None, scale: int, *,
                         dehaze: nn.Module | None = None, dehaze_steps_run: int = 0,
                         stop_threshold: float | None = None, stop_reason: str = "",
                         self_ensemble: bool = False) -> str:
    """One line for a derived DICOM's DerivationDescription (and logs): what was done.

    Names the model, the sha256 of its weights, the scale and the dehazing steps.
    """
    parts = [f"xrayview {__version__}"]
    if model is None or isinstance(model, str):
        name = (model or "none").lower()
        parts.append(f"bicubic x{scale}" if name in ("none", "bicubic") else f"{name} x{scale}")
    else:
        name = getattr(model, "weights_name", type(model).__name__.lower())
        sha = getattr(model, "weights_sha256", "")
        parts.append(f"{name} x{scale}" + (f" (weights sha256 {sha[:16]})" if sha else "")
                     + ("" if scale == 1 else " after bicubic pre-upsampling")
                     + (", self-ensemble of 8 rotations/flips" if self_ensemble else ""))
    if dehaze_steps_run:
        sha = getattr(dehaze, "weights_sha256", "")
        text = f"dehazing {dehaze_steps_run} step(s)"
        text += f" (weights sha256 {sha[:16]})" if sha else ""
        if stop_threshold is not None:
            text += f", stop threshold {stop_threshold:g}"
        if stop_reason:
            text += f", stopped: {stop_reason}"
        parts.append(text)
    return "; ".join(parts)
