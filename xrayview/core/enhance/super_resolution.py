"""Super-resolution: ``super_resolve`` (bicubic pre-upsampling, then a tiled network).

Super-resolution is pre-upsampling (DESIGN §2): the film is enlarged by bicubic
interpolation by ``scale`` (1 = restoration at native size), clamped to [0, 1] as in
training, then the network runs tile by tile (``core.enhance.tiling``). A generator that
yields progress and returns its result (DESIGN §3)::

    gen = super_resolve(film, net, scale=2)
    for progress in gen: ...           # TileProgress: done/total, fraction, eta_s, ...
    # or: result = drain(gen)          # float32 (2H, 2W) in [0, 1]

The whole enhancement (super-resolution, then dehazing, with metrics) is
``core.enhance.pipeline.enhance``; this is its first stage.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Generator

import numpy as np
import torch
from torch import nn

from xrayview.core.cancel import CancelFlag, check_cancel
from xrayview.core.device import default_tiling, pick_device
from xrayview.core.enhance.self_ensemble import TRANSFORMS
from xrayview.core.enhance.self_ensemble import self_ensemble as run_self_ensemble
from xrayview.core.enhance.tiling import TileProgress, run_tiled
from xrayview.core.film import Film
from xrayview.core.generators import mapped
from xrayview.core.models import registry
from xrayview.core.quality.degrade import upscale

log = logging.getLogger(__name__)

SCALES = registry.SCALES
__all__ = ["SCALES", "TileProgress", "super_resolve", "upsample"]


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
    if model is None or model == registry.BICUBIC:
        return None
    if isinstance(model, str):
        return registry.load_model(model, device="cpu")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, a model name or 'none', not {model!r}")
    if getattr(model, "halo", None) is None:
        raise ValueError(f"{type(model).__name__} has no finite halo and cannot be tiled")
    return model


def super_resolve(film_or_array: Film | np.ndarray, model: nn.Module | str | None,
                  scale: int = 2, device: str | torch.device = "auto", tile: int | None = None,
                  cancel: CancelFlag = None, *, batch: int | None = None,
                  precision: str = "auto", self_ensemble: bool = False,
                  out: np.ndarray | None = None, upsampled: np.ndarray | None = None,
                  ) -> Generator[TileProgress, None, np.ndarray]:
    """Super-resolve a film by ``scale``; yields TileProgress per tile, returns the result.

    film_or_array: a Film or its pixels, float32 (H, W) in [0, 1].
    model: an nn.Module with ``halo`` (e.g. from ``registry.load_model``; not changed),
    a super-resolution model name of the registry, or "none" for bicubic only.
    scale: 1..4 (1 = restoration at native size). device: a ``pick_device`` spec.
    tile, batch: tile size and windows per batch; None = ``default_tiling(device)``.
    cancel: None, a callable or an Event; checked between tiles -> ``Cancelled``.
    Progress ``elapsed_s``/``eta_s`` count from this call (upsampling included); an
    out-of-memory retry or CPU fallback is reported in ``event`` (see ``run_tiled``).
    With model "none" a single record covers the whole output.
    self_ensemble: average the network over the 8 rotations/flips of the input
    (``core.self_ensemble``; 8 passes: fractions span all of them, each record's tile
    region is in its pass's rotated frame).
    out: float32 (H*scale, W*scale) buffer the network writes into (so a caller can copy
    each finished region after its record; unclipped until the end), or None.
    precision: a mode of ``core.device.autocast_dtype``.
    upsampled: ``upsample(pixels, scale)`` when the caller has it already (not changed).
    Returns float32 (H*scale, W*scale) clipped to [0, 1] (``out`` when given).
    Raises ValueError for a bad scale, tile or device, WeightsError for missing weights.
    """
    pixels = film_or_array.pixels if isinstance(film_or_array, Film) else film_or_array
    pixels = np.asarray(pixels)
    if pixels.ndim != 2 or pixels.size == 0:
        raise ValueError(f"super_resolve expects an (H, W) film, got shape {pixels.shape}")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, not {scale!r}")
    dev = pick_device(device)
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
        x = upsample(pixels, scale) if upsampled is None else upsampled.copy()
        if out is not None:
            out[...] = x
            x = out
        h, w = x.shape
        yield TileProgress(1, 1, 1.0, (0, h, 0, w), time.perf_counter() - t0, 0.0, "cpu", 0)
        return x
    # on a GPU the film (not its 4-16x larger upsampled copy) crosses the bus, and the
    # bicubic runs there too; the tiles then come back into ``out`` on the host
    if upsampled is not None:
        x = upsampled
    elif dev.type == "cuda":
        x = _upsample_on_device(pixels, scale, dev)
    else:
        x = upsample(pixels, scale)
    h, w = x.shape
    passes = len(TRANSFORMS) if self_ensemble else 1
    if self_ensemble:  # 8 passes on the host copy of the input (core.self_ensemble)
        host = x if isinstance(x, np.ndarray) else x.cpu().numpy()
        gen = run_self_ensemble(lambda a: run_tiled(net, a, tile=tile, device=dev,
                                                    cancel=cancel, batch=batch,
                                                    precision=precision), host)
    else:
        buffer = np.empty((h, w), dtype=np.float32) if out is None else out
        gen = mapped(run_tiled(net, x, tile=tile, device=dev, out=buffer, cancel=cancel,
                               batch=batch, precision=precision), lambda p: (0, p))

    def overall(record: tuple[int, TileProgress]) -> TileProgress:
        i, p = record
        fraction = (i + p.fraction) / passes
        elapsed = time.perf_counter() - t0
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else None
        return dataclasses.replace(p, fraction=fraction, elapsed_s=elapsed, eta_s=eta)

    result = yield from mapped(gen, overall)
    if out is not None and result is not out:  # the self-ensemble's own average
        out[...] = result
        result = out
    np.clip(result, 0.0, 1.0, out=result)
    return result
