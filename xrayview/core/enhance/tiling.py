"""Halo tiling that is exact for convolutional networks.

A tile owns a *core* region of the output and reads a *window* of the input: the core
plus at least ``halo`` pixels on every side that is not an image border. Windows are
clipped to the image (never padded), so at an image border each layer of the network
zero-pads exactly as it does on the whole image; elsewhere the halo (>= the receptive-field
radius, ``model.halo``) keeps the core unaffected by the window edge. Hence tiled output
equals whole-image output up to float rounding. Windows near the far border are shifted
inwards rather than shrunk, so every window of a plan has the same shape and tiles batch.

``run_tiled`` is a generator (DESIGN §3): it yields a ``TileProgress`` per finished tile,
writes into a preallocated float32 output and returns it. On a GPU the network may run
under autocast (bf16/fp16); ops outside autocast's lists (the residual add of VDSR) follow
type promotion and stay float32, and the output is converted to float32 before it is
stored. On CPU and CUDA the model runs channels-last (NHWC, see ``_prefer_channels_last``);
``x`` may be a tensor already on the device (``super_resolve`` upsamples there on a GPU).
CUDA out-of-memory: the tile size is halved down to ``min_tile``, then the run
continues on the CPU; each change is reported in ``TileProgress.event``.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Generator

import numpy as np
import torch
from torch import nn

from xrayview.core.cancel import CancelFlag, check_cancel
from xrayview.core.device import autocast_dtype, pick_device

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tile:
    """Core (output) and window (input) regions, half-open (y0, y1, x0, x1), image pixels."""

    core: tuple[int, int, int, int]
    window: tuple[int, int, int, int]

    @property
    def window_shape(self) -> tuple[int, int]:
        return (self.window[1] - self.window[0], self.window[3] - self.window[2])

    @property
    def core_in_window(self) -> tuple[slice, slice]:
        """Slices that cut the core out of the window's output."""
        (y0, y1, x0, x1), (wy0, _, wx0, _) = self.core, self.window
        return slice(y0 - wy0, y1 - wy0), slice(x0 - wx0, x1 - wx0)

    @property
    def core_shape(self) -> tuple[int, int]:
        return (self.core[1] - self.core[0], self.core[3] - self.core[2])

    @property
    def area(self) -> int:
        y0, y1, x0, x1 = self.core
        return (y1 - y0) * (x1 - x0)


@dataclass(frozen=True)
class TileProgress:
    """One finished tile of ``run_tiled``.

    done/total: tiles finished / planned (total grows when an out-of-memory retry splits
    tiles); fraction: finished share of the output area in [0, 1]; region: the output
    region (y0, y1, x0, x1) just written; elapsed_s / eta_s: seconds since the start and
    estimated seconds left (None before the first tile); device: where the tile ran
    ("cuda:0", "cpu"); tile: the tile size in use; event: what changed since the last
    record (out-of-memory retries, the fallback to the CPU; "; "-joined), else None.
    """

    done: int
    total: int
    fraction: float
    region: tuple[int, int, int, int]
    elapsed_s: float
    eta_s: float | None
    device: str
    tile: int
    event: str | None = None


def eta_seconds(elapsed: float, fraction: float,
                first: tuple[float, float] | None) -> float | None:
    """Seconds left when ``fraction`` of the output is done after ``elapsed`` s.

    The rate comes from the tiles after the first (``first``: (elapsed, fraction) when it
    finished): the first tile also pays for the kernels' set-up, and counting it made the
    early estimates up to 80 % too long (``scripts/eta_check.py``). With only the first
    tile done, its own rate is all there is.
    """
    if fraction <= 0:
        return None
    if first is not None and fraction > first[1] and elapsed > first[0]:
        return (elapsed - first[0]) / (fraction - first[1]) * (1 - fraction)
    return elapsed * (1 - fraction) / fraction


def _axis(c0: int, c1: int, n: int, tile: int, halo: int) -> list[tuple[int, int, int, int]]:
    """Split [c0, c1) of an axis of length n into near-equal cores <= tile with windows.

    Returns (core0, core1, win0, win1); all windows have one length, min(core + 2*halo, n).
    """
    k = max(1, math.ceil((c1 - c0) / tile))
    bounds = [c0 + round(i * (c1 - c0) / k) for i in range(k + 1)]
    size = min(max(b - a for a, b in zip(bounds, bounds[1:])) + 2 * halo, n)
    out = []
    for a, b in zip(bounds, bounds[1:]):
        w0 = min(max(a - halo, 0), n - size)
        out.append((a, b, w0, w0 + size))
    return out


def _split(region: tuple[int, int, int, int], h: int, w: int, tile: int, halo: int) -> list[Tile]:
    y0, y1, x0, x1 = region
    return [Tile((cy0, cy1, cx0, cx1), (wy0, wy1, wx0, wx1))
            for cy0, cy1, wy0, wy1 in _axis(y0, y1, h, tile, halo)
            for cx0, cx1, wx0, wx1 in _axis(x0, x1, w, tile, halo)]


def plan_tiles(h: int, w: int, tile: int, halo: int) -> list[Tile]:
    """Row-major tiles covering an (h, w) image: cores <= tile x tile partition the image."""
    if h <= 0 or w <= 0 or tile <= 0 or halo < 0:
        raise ValueError(f"cannot tile {h} x {w} with tile {tile} and halo {halo}")
    return _split((0, h, 0, w), h, w, tile, halo)


def _infer(model: nn.Module, src: torch.Tensor, group: list[Tile], device: torch.device,
           amp: torch.dtype | None) -> np.ndarray:
    """Run one batch of equal-shape windows; float32 (N, h, w) numpy on the host."""
    batch = torch.stack([src[t.window[0]:t.window[1], t.window[2]:t.window[3]] for t in group])
    xb = batch[:, None].to(device, non_blocking=True)
    if device.type in ("cpu", "cuda"):  # NHWC, as the model (see run_tiled)
        xb = xb.contiguous(memory_format=torch.channels_last)
    ctx = torch.autocast(device.type, dtype=amp) if amp is not None else contextlib.nullcontext()
    with torch.inference_mode(), ctx:
        y = model(xb)
    return y[:, 0].float().cpu().numpy()


def prepared_copy(model: nn.Module, dev: torch.device, channels_last: bool = True,
                  ) -> nn.Module:
    """``model`` ready to run on ``dev`` in eval mode (channels-last on CPU and CUDA when
    ``channels_last``, for the tiled convolution networks), never by changing it.

    A model already in that state is returned as it is; otherwise a private copy is
    prepared (as MONAI's ``sliding_window_inference``, the caller's model is never moved,
    converted or switched to eval). The copy costs one pass over the weights (VDSR: 2.7 MB).
    """
    nhwc = channels_last and dev.type in ("cpu", "cuda")
    params = list(model.parameters()) + list(model.buffers())
    ready = not model.training and all(t.device == dev for t in params) and (
        not nhwc or all(t.dim() != 4 or t.is_contiguous(memory_format=torch.channels_last)
                        for t in params))
    if ready:
        return model
    net = copy.deepcopy(model).to(dev).eval()
    if nhwc:
        _prefer_channels_last(net, dev)
    return net


def _prefer_channels_last(model: nn.Module, dev: torch.device) -> None:
    """Convert the model's 4-D weights to channels-last (NHWC) in place on CPU and CUDA.

    oneDNN (CPU) and cuDNN (CUDA tensor cores) run 64-channel 3x3 convolutions fastest in
    NHWC: on a 2-core CPU VDSR went from ~0.6x to ~0.9-1.0x the same run's fp32 matmul
    throughput. The result is numerically the same convolution. On CUDA, cuDNN may also
    autotune per shape (every window of a plan has one shape, so this pays off at once).
    """
    if dev.type not in ("cpu", "cuda"):
        return
    model.to(memory_format=torch.channels_last)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError)


def body_dtype(model: torch.nn.Module, device: torch.device | str,
               precision: str = "auto") -> torch.dtype | None:
    """The reduced precision ``model``'s body runs in on ``device`` under ``precision``
    (a mode of ``core.device.autocast_dtype``), or None for float32. A network whose output
    is not a float32 residual (SRCNN) loses its correction to bf16/fp16 rounding; such nets
    say so with ``autocast_safe = False`` and always run in float32."""
    if not getattr(model, "autocast_safe", True):
        return None
    return autocast_dtype(device, precision)


def run_tiled(model: nn.Module, x: np.ndarray | torch.Tensor, tile: int = 512,
              halo: int | None = None,
              device: str | torch.device = "cpu", out: np.ndarray | None = None,
              cancel: CancelFlag = None, batch: int = 4, precision: str = "auto",
              min_tile: int = 64) -> Generator[TileProgress, None, np.ndarray]:
    """Apply ``model`` to ``x`` tile by tile; yields TileProgress, returns the output.

    x: float32 (H, W), any range (the network's input, e.g. the bicubic-upsampled film):
    a numpy array, or a 2-D tensor (on the device, so windows need no host transfer).
    model: maps (N, 1, h, w) -> (N, 1, h, w); it is not changed (a private copy runs,
    see ``prepared_copy``).
    halo: overlap in pixels, at least the receptive-field radius (default ``model.halo``).
    out: preallocated float32 (H, W) to write into (e.g. a memmap), or None to allocate.
    cancel: None, a callable or an Event; checked between batches -> ``Cancelled``.
    batch: windows run together; precision: a mode of ``core.device.autocast_dtype``
    ("auto", "fp32", "bf16").
    min_tile: smallest tile tried after out-of-memory; below it a GPU run continues on
    the CPU (with its private copy of the model), a CPU run re-raises the error.
    The returned array is ``out`` (not clipped).
    """
    if isinstance(x, torch.Tensor):  # e.g. upsampled on the GPU: windows are cut there
        x = x.detach().to(torch.float32)
    else:
        x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"run_tiled expects an (H, W) array, got shape {x.shape}")
    h, w = x.shape
    halo = int(getattr(model, "halo", -1) if halo is None else halo)
    if halo < 0:
        raise ValueError("run_tiled needs halo= (the model has no .halo attribute)")
    if out is None:
        out = np.empty((h, w), dtype=np.float32)
    elif out.shape != (h, w) or out.dtype != np.float32:
        raise ValueError(f"out must be float32 {(h, w)}, got {out.dtype} {out.shape}")
    dev = pick_device(device)
    amp = body_dtype(model, dev, precision)
    model = prepared_copy(model, dev)
    src = x if isinstance(x, torch.Tensor) else torch.from_numpy(x)
    pending = deque(plan_tiles(h, w, tile, halo))
    cur, total, done, done_area = tile, len(pending), 0, 0
    first_done: tuple[float, float] | None = None  # (elapsed, fraction) after the first tile
    events: list[str] = []  # since the last record
    t0 = time.perf_counter()
    while pending:
        check_cancel(cancel, "tiled inference")
        first = pending.popleft()
        if max(first.core_shape) > cur:  # planned before an out-of-memory retry
            parts = _split(first.core, h, w, cur, halo)
            total += len(parts) - 1
            pending.extendleft(reversed(parts))
            first = pending.popleft()
        group = [first]
        while pending and len(group) < batch and pending[0].window_shape == first.window_shape \
                and max(pending[0].core_shape) <= cur:
            group.append(pending.popleft())
        try:
            result = _infer(model, src, group, dev, amp)
        except Exception as exc:  # noqa: BLE001 - only out-of-memory is handled
            size = max(first.core_shape)  # <= cur
            if not _is_oom(exc) or (dev.type == "cpu" and size // 2 < min_tile):
                raise
            result = None
        if result is None:  # out of memory: outside the except block so its tensors are freed
            pending.extendleft(reversed(group))
            if dev.type == "cuda":
                torch.cuda.empty_cache()
            if size // 2 >= min_tile:
                events.append(f"out of memory on {dev} with {size}-pixel tiles; "
                              f"retrying with {size // 2}")
                cur = size // 2
            else:
                events.append(f"out of memory on {dev} even with {size}-pixel tiles; "
                              f"continuing on the CPU with {tile}-pixel tiles")
                dev, amp, cur = torch.device("cpu"), None, tile
                model = prepared_copy(model, dev)
            log.warning(events[-1])
            continue
        for t, y in zip(group, result):
            y0, y1, x0, x1 = t.core
            out[y0:y1, x0:x1] = y[t.core_in_window]
            done += 1
            done_area += t.area
            fraction = done_area / (h * w)
            elapsed = time.perf_counter() - t0
            eta = eta_seconds(elapsed, fraction, first_done)
            if first_done is None:
                first_done = (elapsed, fraction)
            yield TileProgress(done, total, fraction, t.core, elapsed, eta, str(dev), cur,
                               "; ".join(events) or None)
            events.clear()
    return out
