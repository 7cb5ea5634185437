"""Iterative dehazing with a user-adjustable stop rule.

:func:`dehaze_steps` applies a dehazing model again and again to a film and yields one
:class:`DehazeStep` (image + metrics) per iteration; a :class:`StopRule` decides when to
halt (the seed paper's "halt when deterioration passes a threshold", plus convergence and
a step limit). The GUI may change the rule's threshold while a run is in progress; it is
read afresh at every step. Cancel is checked between steps (latency: one step).

The model runs on the whole film, untiled: ``DehazeNet`` works on a fixed-size proxy of
the film (see ``core.nets.dehaze``), so its cost is linear in the pixels and tiling would
change its result (each tile would see a different proxy).
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from dataclasses import replace

import numpy as np
import torch
from torch import nn

from xrayview.core.cancel import CancelFlag, Cancelled, check_cancel
from xrayview.core.device import pick_device
from xrayview.core.enhance.stop_rule import METRIC_NAMES, DehazeStep, StopRule
from xrayview.core.enhance.tiling import prepared_copy
from xrayview.core.quality import metrics, similarity

log = logging.getLogger(__name__)

__all__ = ["METRIC_NAMES", "Cancelled", "DehazeStep", "StopRule", "dehaze_steps",
           "step_metrics"]


def step_metrics(original: np.ndarray, previous: np.ndarray,
                 current: np.ndarray) -> dict[str, float]:
    """The :class:`DehazeStep` metrics; all inputs float32 (H, W) in [0, 1], H, W >= 11.

    SSIM and ICI come from ``core.similarity`` (float32 on all cores, one pass of local
    statistics for SSIM and ICI against the input; within ~1e-5 of ``metrics.ssim`` /
    ``metrics.ici``, ~3x faster: they were most of a 2048 x 2048 step's time).
    """
    ssim_input, ici_input = similarity.ssim_and_ici(original, current)
    return {
        "psnr_prev": metrics.psnr(previous, current),
        "ssim_prev": similarity.ssim(previous, current),
        "psnr_input": metrics.psnr(original, current),
        "ssim_input": ssim_input,
        "ici_input": ici_input,
        "rms_contrast": metrics.rms_contrast(current),
        "mean_brightness": metrics.mean_brightness(current),
        "mean_gradient": metrics.mean_gradient(current),
        "step_change": float(np.mean(np.abs(current - previous), dtype=np.float64)),
    }


def _apply(model: nn.Module, image: np.ndarray, device: torch.device) -> np.ndarray:
    x = torch.from_numpy(image)[None, None].to(device)
    with torch.inference_mode():
        y = model(x).float().clamp_(0.0, 1.0)
    return np.ascontiguousarray(y[0, 0].cpu().numpy(), dtype=np.float32)


def dehaze_steps(image: np.ndarray, model: nn.Module, stop_rule: StopRule | None = None,
                 device: str | torch.device = "auto",
                 cancel: CancelFlag = None,
                 ) -> Generator[DehazeStep, None, np.ndarray]:
    """Dehaze ``image`` iteratively, yielding one :class:`DehazeStep` per iteration.

    ``image``: float (H, W) in [0, 1] (e.g. ``Film.pixels``); it is not modified.
    ``model``: maps (N, 1, H, W) -> (N, 1, H, W) in [0, 1]; not changed (a private copy
    runs on ``device``, a torch.device or a ``pick_device`` spec such as "auto").
    ``stop_rule`` defaults to ``StopRule()``; it is consulted after each step,
    so a threshold changed meanwhile applies from the next step on. ``cancel`` (None, a
    callable or a ``threading.Event``, see ``core.cancel``) is checked before every step;
    when set, ``core.cancel.Cancelled`` is raised.
    Returns (as the generator's value) the final image, float32 (H, W) in [0, 1]: the last
    iterate, or the one before it when the iteration diverged (``StopRule.diverging``) or
    the threshold fired and ``stop_rule.rollback``.
    """
    original = np.array(image, dtype=np.float32)  # a private copy
    if original.ndim != 2 or min(original.shape, default=0) < 11:
        raise ValueError("dehaze_steps expects an (H, W) film at least 11 x 11 pixels (the "
                         f"SSIM window), got shape {original.shape}")
    if not np.all(np.isfinite(original)):
        raise ValueError("dehaze_steps: the film contains NaN or infinite values")
    rule = stop_rule if stop_rule is not None else StopRule()
    dev = pick_device(device)  # ValueError (one line) for a bad or absent device
    model = prepared_copy(model, dev, channels_last=False)
    previous, previous_change = original, None
    step = 0
    while True:
        check_cancel(cancel, f"dehazing (after {step} step(s))")
        step += 1
        current = _apply(model, previous, dev)
        record = DehazeStep(step, current, step_metrics(original, previous, current))
        stop, reason = rule.should_stop(record, previous_change)
        roll_back = stop and (reason.startswith("diverging") or (
            reason.startswith("threshold") and rule.snapshot()["rollback"]))
        previous_change = record.metrics["step_change"]
        if roll_back:
            reason += f"; kept step {step - 1}"
        record = replace(record, stopped=stop, reason=reason)
        log.debug("dehaze step %d: %s", step, record.metrics)
        yield record
        if stop:
            log.info("dehazing stopped at step %d (%s)", step, reason)
            return previous if roll_back else current
        previous = current
