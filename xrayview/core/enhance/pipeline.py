"""THE enhancement pipeline: ``enhance(pixels, recipe, device, cancel)``.

Every caller iterates this one generator: the viewer's job, ``xrayview enhance``, study
preparation, evaluation and the self-test. It runs, for a :class:`Recipe`:

1. reference mode (``recipe.reference``): the input is ground truth, degraded here;
2. bicubic pre-upsampling by ``recipe.scale`` and the super-resolution network, tile by
   tile (``super_resolve``);
3. dehazing step by step under a live :class:`StopRule` (``dehaze_steps``);
4. the result's metrics and its one-line description and provenance.

Records (``core.enhance.records``; each carries arrays the pipeline never touches again,
so they may cross threads): ``InputReady`` first, a ``TileDone`` per tile, a
``StepDone`` per dehazing step; the return value is ``Enhanced``. Live changes reach a run
through one mechanism: the StopRule passed as ``stop_rule`` (``StopRule.update`` is
thread-safe and read at every step). Cancel is checked between tiles and steps.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Generator, Mapping
import numpy as np
import torch
from torch import nn

from xrayview import __version__
from xrayview.core.cancel import CancelFlag, check_cancel
from xrayview.core.device import pick_device
from xrayview.core.enhance.dehazing import dehaze_steps
from xrayview.core.enhance.recipe import Dehazing, Recipe
from xrayview.core.enhance.records import Enhanced, InputReady, StepDone, TileDone
from xrayview.core.enhance.stop_rule import RELATIVE_STOP, DehazeStep, StopRule
from xrayview.core.enhance.super_resolution import super_resolve, upsample
from xrayview.core.enhance.tiling import TileProgress, body_dtype
from xrayview.core.generators import mapped
from xrayview.core.io.errors import FilmTooLargeError, FilmTooSmallError
from xrayview.core.models import registry
from xrayview.core.models.registry import WeightsError
from xrayview.core.quality import metrics
from xrayview.core.quality.degrade import crop_to_multiple
from xrayview.core.quality.noise import NOISY_SIGMA, noise_sigma
from xrayview.core.quality.veils import veil_family as apply_veil
from xrayview.core.quality.realistic import protocol_low_resolution

log = logging.getLogger(__name__)


def no_reference_metrics(image: np.ndarray) -> dict[str, float]:
    """RMS contrast, mean brightness and mean gradient of float32 (H, W) in [0, 1] (the
    gradient is NaN for a film one pixel thin)."""
    return {"rms_contrast": metrics.rms_contrast(image),
            "mean_brightness": metrics.mean_brightness(image),
            "mean_gradient": metrics.mean_gradient(image) if min(image.shape) >= 2
            else float("nan")}


MIN_SIDE = 11
"""Shortest side (pixels, after super-resolution) that SSIM and dehazing need."""


def result_metrics(image: np.ndarray, bicubic: np.ndarray,
                   truth: np.ndarray | None) -> dict[str, float]:
    """Metrics of a result (all float32 (H, W) in [0, 1]; PSNR in dB).

    Always: PSNR/SSIM against the bicubic input and no-reference measures (SSIM is NaN
    for a result under MIN_SIDE pixels on a side: its window does not fit). In reference
    mode also the true PSNR/SSIM/ICI of the result and of bicubic against the truth.
    """
    ssim = metrics.ssim if min(image.shape) >= MIN_SIDE else lambda a, b: float("nan")
    table = {"psnr_vs_bicubic": metrics.psnr(bicubic, image),
             "ssim_vs_bicubic": ssim(bicubic, image), **no_reference_metrics(image)}
    if truth is not None:
        for name, img in (("result", image), ("bicubic", bicubic)):
            table[f"true_psnr_{name}"] = metrics.psnr(truth, img)
            table[f"true_ssim_{name}"] = ssim(truth, img)
            table[f"true_ici_{name}"] = metrics.ici(truth, img)
    return table


def reference_input(pixels: np.ndarray, scale: int, veil_strength: float = 0.0,
                    seed: int = 0, protocol: str = "clean", veil_family: str = "scatter",
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Reference mode: treat ``pixels`` (float32 (H, W) in [0, 1]) as ground truth.

    Returns (low-resolution film float32 (H//s, W//s), truth float32 (H//s*s, W//s*s)),
    both in [0, 1]: the truth cropped to a multiple of ``scale``, downscaled by
    antialiased bicubic and degraded by ``protocol`` (``realistic.protocol_low_resolution``:
    clean, jpeg75, jpeg90, noisy), then veiled with ``veil_strength`` by ``veil_family``
    (``core.quality.veils``).
    """
    truth = np.ascontiguousarray(crop_to_multiple(np.asarray(pixels, np.float32), scale))
    low = protocol_low_resolution(truth, scale, protocol, seed=seed).astype(np.float32)
    if veil_strength > 0:
        low = apply_veil(low, veil_strength, veil_family, seed=seed)
    return np.ascontiguousarray(low, dtype=np.float32), truth


def stop_rule_for(recipe: Recipe, film: np.ndarray) -> StopRule | None:
    """The live StopRule of ``recipe`` for ``film`` (float32 (H, W) in [0, 1], what the
    pipeline enhances: film-relative defaults are measured on it); None without dehazing."""
    d = recipe.dehazing
    if d is None:
        return None
    value = getattr(metrics, d.metric)(film) if d.metric in RELATIVE_STOP else None
    return d.stop_rule(value)


def describe(recipe: Recipe, weights: Mapping[str, str], steps_run: int = 0,
             threshold: float | None = None, reason: str = "", why_robust: str = "") -> str:
    """One line for a derived DICOM's DerivationDescription (and logs): what was done.
    ``why_robust``: ``robust_reason``, named with robust weights."""
    parts = [f"xrayview {__version__}"]
    if recipe.model == registry.BICUBIC:
        parts.append(f"bicubic x{recipe.scale}")
    else:
        sha = weights.get(recipe.model, "")
        named = [f"sha256 {sha[:16]}"] if sha else []
        if recipe.weights == registry.ROBUST:
            named = ["robust weights", *([why_robust] if why_robust else []), *named]
        elif sha:
            named = [f"weights sha256 {sha[:16]}"]
        parts.append(f"{recipe.model} x{recipe.scale}"
                     + (f" ({', '.join(named)})" if named else "")
                     + ("" if recipe.scale == 1 else " after bicubic pre-upsampling")
                     + (", self-ensemble of 8 rotations/flips" if recipe.self_ensemble else ""))
    if steps_run:
        sha = weights.get(registry.dehazer(), "")
        text = f"dehazing {steps_run} step(s)" + (f" (weights sha256 {sha[:16]})" if sha else "")
        if threshold is not None:
            text += f", stop threshold {threshold:g}"
        if reason:
            text += f", stopped: {reason}"
        parts.append(text)
    return "; ".join(parts)


def _load(name: str, models: Mapping[str, nn.Module] | None,
          scale: int | None = None, robust: bool = False) -> nn.Module:
    """The network serving ``name`` at ``scale`` (``registry.weights_for``): from
    ``models`` (keyed by manifest name) when there, else loaded."""
    key = registry.weights_for(name, scale, robust=robust)
    if models is not None and key in models:
        return models[key]
    return registry.load_model(key, device="cpu")


def robust_reason(recipe: Recipe, lossy: bool, film: np.ndarray | None = None) -> str:
    """Why ``recipe`` runs the robust weights, in a few words, or "" for the clean ones.

    "robust" always does; "auto" does on a lossy film (reference mode: a JPEG protocol)
    or a noisy one (``noise_sigma`` of ``film``, the float (H, W) input that is enhanced,
    above ``NOISY_SIGMA``: on films at the corpus's median noise level the clean x2
    weights lose 1.6 dB to bicubic, the robust ones 0.1; model card).
    """
    if recipe.weights != "auto":
        return "asked for" if recipe.weights == registry.ROBUST else ""
    if recipe.reference is not None:
        lossy = recipe.reference.protocol.startswith("jpeg")
        if lossy:
            return "JPEG protocol"
    if lossy:
        return "lossy-compressed film"
    if film is None or recipe.model == registry.BICUBIC or min(film.shape) < 2:
        return ""  # a film one pixel thin has no noise estimate: it keeps the clean weights
    sigma = noise_sigma(film)
    if sigma > NOISY_SIGMA:
        return f"noisy film: noise sigma {sigma:.4f} > {NOISY_SIGMA:g}"
    return ""


def wants_robust(recipe: Recipe, lossy: bool, film: np.ndarray | None = None) -> bool:
    """Whether ``recipe`` runs the robust weights (``robust_reason`` says why)."""
    return bool(robust_reason(recipe, lossy, film))


def _as_run(recipe: Recipe, rule: StopRule | None) -> Recipe:
    """``recipe`` with the dehazing settings the rule ended on (threshold, direction)."""
    if rule is None or recipe.dehazing is None:
        return recipe
    s = rule.snapshot()
    return dataclasses.replace(recipe, dehazing=Dehazing(
        metric=s["metric"], threshold=float(s["threshold"]), stop_below=bool(s["stop_below"]),
        max_steps=int(s["max_steps"]), epsilon=float(s["epsilon"]),
        rollback=bool(s["rollback"]), diverging=bool(s["diverging"])))


# Bytes per output pixel a run holds at its peak (measured with /usr/bin/time on 1k and
# 3k films, CPU: bicubic + network output + result + export copies ~40; the result's
# full-resolution metrics ~110 more; each dehazing step keeps its image).
_BYTES_PER_OUTPUT_PIXEL = 40
_BYTES_PER_OUTPUT_PIXEL_MEASURED = 110
_BYTES_PER_OUTPUT_PIXEL_PER_STEP = 8
MEMORY_SHARE = 0.8
"""Share of the available memory a run may plan to use."""


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux MemAvailable), or None."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def output_bytes(shape: tuple[int, int], recipe: Recipe, measure: bool = True) -> int:
    """Estimated peak memory of running ``recipe`` on a film of ``shape`` (H, W)."""
    per_pixel = _BYTES_PER_OUTPUT_PIXEL + (_BYTES_PER_OUTPUT_PIXEL_MEASURED if measure else 0)
    if recipe.dehazing is not None:
        per_pixel += _BYTES_PER_OUTPUT_PIXEL_PER_STEP * (recipe.dehazing.max_steps + 2)
    return int(shape[0]) * int(shape[1]) * recipe.scale ** 2 * per_pixel


def check_output_budget(shape: tuple[int, int], recipe: Recipe, measure: bool = True,
                        available: int | None = None) -> None:
    """Refuse, before any work, a run whose result cannot fit in memory: FilmTooLargeError
    (one line: the result's size, the memory it needs and has, the largest scale that
    fits). ``available``: bytes (default ``available_memory()``; unknown: no check)."""
    available = available_memory() if available is None else available
    if available is None:
        return
    budget = int(available * MEMORY_SHARE)
    needed = output_bytes(shape, recipe, measure)
    if needed <= budget:
        return
    h, w = shape
    fits = [s for s in range(recipe.scale - 1, 0, -1)
            if output_bytes(shape, dataclasses.replace(recipe, scale=s), measure) <= budget]
    advice = (f"the largest scale that fits is x{fits[0]}" if fits
              else "even x1 does not fit: crop or downscale the film first")
    if recipe.dehazing is not None:  # every step's image is kept: fewer steps may fit
        steps = [k for k in (500, 200, 100, 50, 20, 10, 5, 2, 1)
                 if k < recipe.dehazing.max_steps and output_bytes(shape, dataclasses.replace(
                     recipe, dehazing=dataclasses.replace(recipe.dehazing, max_steps=k)),
                     measure) <= budget]
        if steps:
            advice += f", or at most {steps[0]} dehazing steps at x{recipe.scale}"
    raise FilmTooLargeError(
        f"a {w} x {h} film enhanced x{recipe.scale} gives a {w * recipe.scale} x "
        f"{h * recipe.scale} result that needs about {_size(needed)} of memory, more "
        f"than the {_size(budget)} available; {advice}.")


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def _require_finite(image: np.ndarray, what: str, weights: Mapping[str, str]) -> None:
    """A network output with NaN or infinity means damaged weights: refuse it (a film
    of NaN would be saved as black)."""
    if not np.isfinite(image).all():
        sha = weights.get(what, "")
        raise WeightsError(f"the {what} network produced values that are not finite (NaN "
                           f"or infinity){f', weights sha256 {sha[:12]}...' if sha else ''}; "
                           "its weights are damaged or do not suit this film")


def enhance(pixels: np.ndarray, recipe: Recipe, device: str | torch.device = "auto",
            cancel: CancelFlag = None, *, stop_rule: StopRule | None = None,
            models: Mapping[str, nn.Module] | None = None, measure: bool = True,
            lossy: bool = False,
            ) -> Generator[InputReady | TileDone | StepDone, None, Enhanced]:
    """Run ``recipe`` on ``pixels`` (float32 (H, W) in [0, 1], not modified).

    lossy: the film was lossy-compressed (``Film.lossy``): recipe weights "auto" then
    run the model's robust weights where it has them, as for a noisy film
    (``wants_robust``). The recipe as run names the
    weights set that ran ("clean" or "robust").

    device: a torch.device or a ``pick_device`` spec ("auto", "cpu", "cuda:1").
    cancel: None, a callable or an Event, checked between tiles and steps.
    stop_rule: the live rule for dehazing (e.g. one the viewer updates while it runs);
    None = ``stop_rule_for(recipe, film)``. models: name -> nn.Module to use instead of
    the registry's trained weights (tests, benchmarks). measure: compute
    ``Enhanced.metrics`` (SSIM of the whole result; evaluation scores on its own).
    Raises FilmTooLargeError when the result cannot fit in memory and WeightsError for
    missing weights (both before any work), WeightsError for non-finite network output,
    ValueError for a bad device or film, ``Cancelled`` when cancelled.
    """
    t0 = time.perf_counter()
    src = np.asarray(pixels)
    if src.ndim != 2 or src.size == 0:
        raise ValueError(f"enhance expects an (H, W) film, got shape {src.shape}")
    s = recipe.scale
    low = src.shape if recipe.reference is None else (src.shape[0] // s, src.shape[1] // s)
    check_output_budget(low, recipe, measure)  # reference mode: the degraded film is enhanced
    if recipe.dehaze:
        side = min(low) * s
        if side < MIN_SIDE:
            raise FilmTooSmallError(
                f"a {src.shape[1]} x {src.shape[0]} film is too small to dehaze: dehazing "
                f"needs at least {MIN_SIDE} x {MIN_SIDE} pixels after x{s}.")
    dev = pick_device(device)
    truth = None
    if recipe.reference is not None:
        film, truth = reference_input(src, recipe.scale, recipe.reference.veil,
                                      recipe.reference.seed, recipe.reference.protocol,
                                      recipe.reference.veil_family)
    else:
        film = np.array(src, dtype=np.float32)  # a private copy
    why_robust = robust_reason(recipe, lossy, film)
    robust = bool(why_robust)
    net = None if recipe.model == registry.BICUBIC else _load(recipe.model, models,
                                                              recipe.scale, robust)
    dnet = _load(registry.dehazer(), models) if recipe.dehaze else None
    weights = {name: getattr(m, "weights_sha256", "") for name, m in
               ((recipe.model, net), (registry.dehazer(), dnet)) if m is not None}
    check_cancel(cancel, "enhancement")
    bicubic = upsample(film, recipe.scale)
    yield InputReady(film.copy(), bicubic.copy(), None if truth is None else truth.copy())
    out = np.empty_like(bicubic)
    events: list[str] = []

    def tile_done(p: TileProgress) -> TileDone:
        if p.event:
            events.append(p.event)
        if recipe.self_ensemble:
            return TileDone(p, None)
        y0, y1, x0, x1 = p.region
        return TileDone(p, np.clip(out[y0:y1, x0:x1], 0.0, 1.0))

    super_resolved = yield from mapped(super_resolve(
        film, net, recipe.scale, device=dev, tile=recipe.tile, cancel=cancel,
        batch=recipe.batch, precision=recipe.precision, self_ensemble=recipe.self_ensemble,
        out=out, upsampled=bicubic), tile_done)
    if net is not None:
        _require_finite(super_resolved, recipe.model, weights)
    image, steps, reason = super_resolved, [], ""
    rule = stop_rule if stop_rule is not None or dnet is None else stop_rule_for(recipe, film)
    if dnet is not None:
        def step_done(step: DehazeStep) -> StepDone:
            step = dataclasses.replace(step, image=step.image.copy())
            steps.append(step)
            return StepDone(step)

        image = yield from mapped(dehaze_steps(super_resolved, dnet, rule, device=dev,
                                               cancel=cancel), step_done)
        reason = steps[-1].reason if steps else ""
        _require_finite(image, registry.dehazer(), weights)
    ran = _as_run(recipe, rule)
    if net is not None:
        served = getattr(net, "weights_name", "")
        # what ran, not what was asked: "auto" resolved by the device's precision policy
        ran = dataclasses.replace(
            ran, weights=registry.ROBUST if served.endswith("-" + registry.ROBUST) else "clean",
            precision="fp32" if body_dtype(net, dev, recipe.precision) is None else "bf16")
    threshold = ran.dehazing.threshold if (ran.dehazing and steps) else None
    result = Enhanced(
        ran, np.array(image, dtype=np.float32), film, bicubic, super_resolved, truth,
        steps, reason, result_metrics(image, bicubic, truth) if measure else {},
        no_reference_metrics(film) if measure else {}, weights, str(dev), events,
        describe(ran, weights, len(steps), threshold, reason, why_robust),
        time.perf_counter() - t0)
    log.info("enhanced in %.2f s: %s", result.seconds, result.description)
    return result
