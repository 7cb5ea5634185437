"""The viewer's enhancement job: super-resolution, then dehazing, as one generator.

Qt-free (it runs on the job runner's worker thread, see ``gui.jobs``). It composes the
core generators and makes every yielded record safe to hand to the GUI thread: each
carries arrays that the job never touches again.

* :class:`InputReady`: the bicubic pre-upsampled input (the default difference reference);
* :class:`TileUpdate`: one finished super-resolution tile, with a copy of its pixels, so
  the Enhanced view fills in progressively;
* :class:`StepUpdate`: one dehazing step (``DehazeStep`` with a private image copy);
* the return value, :class:`EnhanceResult`: final image, intermediate results, the step
  history and the metrics table.

Super-resolution runs ``core.tiling.run_tiled`` on the bicubic pre-upsampled film, as
``core.enhance.super_resolve`` does, but into an output buffer this module owns, so the
finished region of each tile can be copied out while the rest is still being computed.

The torch-based core is imported inside the functions, i.e. on the worker thread at the
first run, so that the window starts without importing torch (issue 6 cold start).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from xrayview.core.cancel import check_cancel
from xrayview.core.stop_rule import DehazeStep, StopRule

if TYPE_CHECKING:
    from xrayview.core.tiling import TileProgress

log = logging.getLogger(__name__)

MODEL_NAMES = ("none", "srcnn", "vdsr")


@dataclass(frozen=True)
class EnhanceRequest:
    """What to run. ``pixels``: float32 (H, W) in [0, 1], the film the views call Original.

    ``model``: one of MODEL_NAMES; ``scale``: 1..4; ``dehaze``: run ``dehaze_steps`` after
    super-resolution with ``stop_rule`` (which the GUI may update during the run);
    ``device``: a ``pick_device`` spec; ``ground_truth``: float32 (H*s, W*s) in [0, 1] in
    reference mode (true PSNR/SSIM/ICI are computed against it), else None.
    """

    pixels: np.ndarray
    model: str = "none"
    scale: int = 2
    dehaze: bool = False
    stop_rule: StopRule | None = None
    device: str = "cpu"
    tile: int = 256
    ground_truth: np.ndarray | None = None


@dataclass(frozen=True)
class InputReady:
    """First record: ``bicubic`` float32 (H*s, W*s) in [0, 1], the pre-upsampled input."""

    bicubic: np.ndarray


@dataclass(frozen=True)
class TileUpdate:
    """A finished tile: ``patch`` float32 = the result's ``progress.region`` (y0, y1, x0, x1)."""

    progress: TileProgress
    patch: np.ndarray


@dataclass(frozen=True)
class StepUpdate:
    """One dehazing step; ``step.image`` is float32 (H*s, W*s) in [0, 1], owned by the GUI."""

    step: DehazeStep


@dataclass
class EnhanceResult:
    """The finished job. Arrays are float32 (H*s, W*s) in [0, 1] unless noted.

    ``image``: the final result; ``bicubic``: the bicubic pre-upsampled input (the
    difference reference "what the model added"); ``super_resolved``: after the network,
    before dehazing; ``steps``: the dehazing history (each step's image kept, so a step
    can be shown again); ``metrics``: name -> value for the metrics table;
    ``description``: one line naming model, weights and steps (for DICOM export).
    """

    request: EnhanceRequest
    image: np.ndarray
    bicubic: np.ndarray
    super_resolved: np.ndarray
    steps: list[DehazeStep] = field(default_factory=list)
    stop_reason: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    description: str = ""
    seconds: float = 0.0


def result_metrics(image: np.ndarray, bicubic: np.ndarray,
                   ground_truth: np.ndarray | None) -> dict[str, float]:
    """Metrics table of a result (all float32 (H, W) in [0, 1]; PSNR in dB).

    Always: no-reference measures and PSNR/SSIM against the bicubic input. In reference
    mode also the true PSNR/SSIM/ICI of the result and of bicubic against ground truth.
    """
    from xrayview.core import metrics

    table = {
        "psnr_vs_bicubic": metrics.psnr(bicubic, image),
        "ssim_vs_bicubic": metrics.ssim(bicubic, image),
        "rms_contrast": metrics.rms_contrast(image),
        "mean_brightness": metrics.mean_brightness(image),
        "mean_gradient": metrics.mean_gradient(image),
    }
    if ground_truth is not None:
        for name, img in (("result", image), ("bicubic", bicubic)):
            table[f"true_psnr_{name}"] = metrics.psnr(ground_truth, img)
            table[f"true_ssim_{name}"] = metrics.ssim(ground_truth, img)
            table[f"true_ici_{name}"] = metrics.ici(ground_truth, img)
    return table


def run_enhancement(request: EnhanceRequest, cancel: threading.Event | None = None,
                    ) -> Generator[InputReady | TileUpdate | StepUpdate, None, EnhanceResult]:
    """Super-resolve (tile by tile) and optionally dehaze; see the module docstring.

    Raises WeightsError for missing weights, ValueError for a bad scale or device,
    ``Cancelled`` when ``cancel`` is set (checked between tiles and steps).
    """
    from xrayview.core.dehazing import dehaze_steps
    from xrayview.core.device import pick_device
    from xrayview.core.enhance import describe_enhancement, upsample
    from xrayview.core.tiling import TileProgress, run_tiled
    from xrayview.core.weights import load_model

    t0 = time.perf_counter()
    device = pick_device(request.device)
    net = None if request.model == "none" else load_model(request.model, device="cpu")
    dnet = load_model("dehaze", device="cpu") if request.dehaze else None
    check_cancel(cancel, "enhancement")
    bicubic = upsample(request.pixels, request.scale)
    h, w = bicubic.shape
    yield InputReady(bicubic.copy())
    if net is None:
        out = bicubic.copy()
        yield TileUpdate(TileProgress(1, 1, 1.0, (0, h, 0, w), time.perf_counter() - t0, 0.0,
                                      "cpu", 0), out.copy())
    else:
        out = np.empty_like(bicubic)
        tiles = run_tiled(net, bicubic, tile=request.tile, device=device, out=out,
                          cancel=cancel)
        for p in tiles:
            y0, y1, x0, x1 = p.region
            np.clip(out[y0:y1, x0:x1], 0.0, 1.0, out=out[y0:y1, x0:x1])
            elapsed = time.perf_counter() - t0
            eta = elapsed * (1 - p.fraction) / p.fraction if p.fraction > 0 else None
            yield TileUpdate(dataclasses.replace(p, elapsed_s=elapsed, eta_s=eta),
                             out[y0:y1, x0:x1].copy())
    super_resolved = out
    image, steps, reason = out, [], ""
    if dnet is not None:
        gen = dehaze_steps(out, dnet, request.stop_rule, device=device, cancel=cancel)
        while True:
            try:
                step = next(gen)
            except StopIteration as stop:
                image = stop.value
                break
            step = dataclasses.replace(step, image=step.image.copy())
            steps.append(step)
            reason = step.reason or reason
            yield StepUpdate(step)
    rule = request.stop_rule
    description = describe_enhancement(
        net if net is not None else "none", request.scale, dehaze=dnet,
        dehaze_steps_run=len(steps),
        stop_threshold=rule.snapshot()["threshold"] if (rule and steps) else None,
        stop_reason=reason)
    table = result_metrics(image, bicubic, request.ground_truth)
    return EnhanceResult(request, np.array(image, dtype=np.float32), bicubic,
                         np.array(super_resolved, dtype=np.float32), steps, reason, table,
                         description, time.perf_counter() - t0)


def reference_input(pixels: np.ndarray, scale: int, veil_strength: float = 0.0,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Reference mode: treat ``pixels`` as ground truth and degrade it.

    ``pixels`` float32 (H, W) in [0, 1]. Returns (low-resolution film float32 (H//s, W//s),
    ground truth float32 (H//s*s, W//s*s)), both in [0, 1]: the truth cropped to a
    multiple of ``scale``, downscaled by antialiased bicubic (``core.degrade``), then
    veiled with ``veil_strength`` in [0, 1] (0: no veil).
    """
    import torch

    from xrayview.core.degrade import crop_to_multiple, downscale, veil

    truth = np.ascontiguousarray(crop_to_multiple(np.asarray(pixels, np.float32), scale))
    if scale == 1:
        low = truth.copy()
    else:
        t = torch.from_numpy(truth)[None, None]
        low = downscale(t, scale).clamp_(0.0, 1.0)[0, 0].numpy().astype(np.float32)
    if veil_strength > 0:
        low = veil(low, veil_strength, seed=seed)
    return np.ascontiguousarray(low, dtype=np.float32), truth
