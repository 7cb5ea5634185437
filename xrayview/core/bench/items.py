"""The work items of the benchmark (``core.bench``): a synthetic film and what is timed.

Each ``*_item`` builds what its runs need once (network, DICOM file) and returns a
:class:`BenchItem` whose ``run`` does exactly the timed work and whose ``warmup`` (if
any) primes the same code paths and shapes more cheaply.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from xrayview.core.device import default_tiling
from xrayview.core.bench.flops import count_flops
from xrayview.core.models import registry
from xrayview.core.nets import ARCHITECTURES

log = logging.getLogger(__name__)


@dataclass
class BenchItem:
    """``run``: the timed work; ``warmup``: a cheaper run with the same shapes, or None;
    ``megapixels``: output size; ``flops``: counted arithmetic of one run (None: none);
    ``autocast_safe``: the network may run in reduced precision; ``output``: the result
    of the last run (None where there is none to compare)."""

    run: Callable[[], object]
    megapixels: float
    flops: int | None
    warmup: Callable[[], object] | None = None
    autocast_safe: bool = True
    output: Callable[[], object] | None = None  # the last run's result (super-resolution)


def synthetic_film(size: int, seed: int = 0) -> np.ndarray:
    """A film-like test image: float32 (size, size) in [0, 1], quantised to 16 bits.

    Smooth structure (a bright mediastinum-like band, two darker lung-like lobes, rib-like
    ripples, a vignette) plus Gaussian noise of 1% of the range; deterministic for a seed.
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / max(size - 1, 1)
    body = 0.55 + 0.25 * np.exp(-((x - 0.5) / 0.08) ** 2)
    lungs = sum(np.exp(-(((x - cx) / 0.16) ** 2 + ((y - 0.45) / 0.28) ** 2))
                for cx in (0.3, 0.7))
    ribs = 0.04 * np.sin(2 * np.pi * 9 * y + 3 * (x - 0.5) ** 2)
    vignette = 0.2 * ((x - 0.5) ** 2 + (y - 0.5) ** 2)
    img = body - 0.3 * lungs + ribs * lungs - vignette
    img += rng.normal(0.0, 0.01, img.shape).astype(np.float32)
    img = np.clip(img, 0.0, 1.0)
    return (np.round(img * 65535.0) / 65535.0).astype(np.float32)


def film_crop(film: np.ndarray, side: int) -> np.ndarray:
    """The top-left (side, side) part of ``film`` (float32 (H, W)), or the film if smaller."""
    return np.ascontiguousarray(film[:side, :side])


def random_net(arch: str, seed: int = 0) -> torch.nn.Module:
    """A randomly initialised network of architecture ``arch`` with its default size."""
    torch.manual_seed(seed)
    return ARCHITECTURES[arch]().eval()


def sr_item(arch: str, scale: int, film: np.ndarray, dev: torch.device,
            precision: str = "auto") -> BenchItem:
    """``super_resolve`` of ``film`` (float32 (H, W) in [0, 1]) by ``scale`` with ``arch``
    in ``precision`` (a mode of ``core.device.autocast_dtype``); ``output()`` is the last
    run's result.

    Warm-up: a crop whose upsampled size is one default tile (the whole film on a GPU):
    it primes the thread pool, allocator and convolution kernels at a fraction of the cost.
    """
    from xrayview.core.enhance.super_resolution import super_resolve
    from xrayview.core.generators import drain

    net = random_net(arch)
    h, w = film.shape
    tile, _ = default_tiling(dev)
    crop = film_crop(film, max(32, tile // scale))

    last: list[np.ndarray] = []

    def run() -> np.ndarray:
        last[:] = [drain(super_resolve(film, net, scale=scale, device=dev,
                                       precision=precision))]
        return last[0]

    def warmup() -> np.ndarray:
        return drain(super_resolve(crop, net, scale=scale, device=dev, precision=precision))

    return BenchItem(run, h * w * scale * scale / 1e6, count_flops(net, h * scale, w * scale),
                     warmup, bool(getattr(net, "autocast_safe", True)),
                     output=lambda: last[0] if last else run())


def dehaze_item(film: np.ndarray, dev: torch.device) -> BenchItem:
    """One ``dehaze_steps`` step (network on the whole film, then the step's metrics)."""
    from xrayview.core.enhance.dehazing import StopRule, dehaze_steps

    net = random_net(registry.spec(registry.dehazer()).arch)
    h, w = film.shape

    def run() -> object:
        return next(dehaze_steps(film, net, StopRule(max_steps=1), device=dev))

    return BenchItem(run, h * w / 1e6, count_flops(net, h, w))


def write_test_dicom(path: Path, size: int, seed: int = 0) -> Path:
    """Write a (size, size) uint16 12-bit MONOCHROME2 DX DICOM of a synthetic film."""
    from xrayview.core.io.synthetic_dicom import minimal_dataset

    pixels = np.round(synthetic_film(size, seed) * 4095.0).astype(np.uint16)
    ds = minimal_dataset(pixels, 12, modality="DX")
    ds.PatientName, ds.PatientID = "Bench^Synthetic", "BENCH0001"
    ds.ImagerPixelSpacing = [0.15, 0.15]
    ds.save_as(path, enforce_file_format=True)
    return path


def dicom_item(folder: Path, size: int) -> BenchItem:
    """``load_film`` of a freshly written (size, size) 12-bit DICOM in ``folder``."""
    from xrayview.core.io import load_film

    path = write_test_dicom(Path(folder) / "bench_film.dcm", size)
    log.debug("benchmark DICOM: %s (%d bytes)", path, path.stat().st_size)

    def run() -> object:
        return load_film(path)

    return BenchItem(run, size * size / 1e6, None)
