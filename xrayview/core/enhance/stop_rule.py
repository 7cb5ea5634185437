"""What a dehazing step reports and when to stop: :class:`DehazeStep`, :class:`StopRule`.

Free of torch so the viewer can build its controls without importing it; the iteration
itself is ``core.dehazing``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

METRIC_NAMES = ("psnr_prev", "ssim_prev", "psnr_input", "ssim_input", "ici_input",
                "rms_contrast", "mean_brightness", "mean_gradient", "step_change")
METRIC_LABELS = {  # how the viewer names each metric
    "psnr_prev": "PSNR vs previous step (dB)", "ssim_prev": "SSIM vs previous step",
    "psnr_input": "PSNR vs input (dB)", "ssim_input": "SSIM vs input",
    "ici_input": "ICI vs input", "rms_contrast": "RMS contrast",
    "mean_brightness": "Mean brightness", "mean_gradient": "Mean gradient",
    "step_change": "Step change",
}

# A sensible stop condition per metric, (threshold, stop_below), for when the user picks
# it: PSNR/SSIM against the input falling (drifting away from the film), against the
# previous step rising (converged), the step change falling. Film-dependent measures are
# relative to the film's own value (RELATIVE_STOP factors), e.g. stop when the RMS contrast
# rises 10 % above the film's: over-enhancement.
ABSOLUTE_STOP = {"psnr_prev": (50.0, False), "ssim_prev": (0.999, False),
                 "psnr_input": (30.0, True), "ssim_input": (0.9, True),
                 "ici_input": (0.9, True), "step_change": (1e-3, True)}
RELATIVE_STOP = {"rms_contrast": (1.10, False), "mean_brightness": (1.05, False),
                 "mean_gradient": (1.5, False)}


def default_stop(metric: str, film_value: float | None = None) -> tuple[float, bool]:
    """(threshold, stop_below) to offer for ``metric``.

    ``film_value``: the metric of the film to be dehazed (needed for rms_contrast,
    mean_brightness and mean_gradient; without it their factor is applied to 0.25, a
    typical chest film's RMS contrast, brightness 0.5 and gradient 0.01).
    """
    if metric in ABSOLUTE_STOP:
        return ABSOLUTE_STOP[metric]
    if metric in RELATIVE_STOP:
        factor, below = RELATIVE_STOP[metric]
        typical = {"rms_contrast": 0.25, "mean_brightness": 0.5, "mean_gradient": 0.01}[metric]
        return factor * (typical if film_value is None else film_value), below
    raise ValueError(f"unknown stop metric {metric!r}; one of {METRIC_NAMES}")


@dataclass(frozen=True)
class DehazeStep:
    """One iteration of dehazing.

    ``image``: float32 (H, W) in [0, 1], the iterate after this step. ``metrics``: floats
    keyed by :data:`METRIC_NAMES` - PSNR (dB, inf if unchanged) and SSIM against the
    previous iterate and against the input, ICI against the input, RMS contrast, mean
    brightness and mean gradient of this iterate, and ``step_change`` = mean |this - prev|.
    ``stopped``/``reason``: whether the stop rule fired here, and why.
    """

    step: int
    image: np.ndarray
    metrics: dict[str, float]
    stopped: bool = False
    reason: str = ""


@dataclass
class StopRule:
    """When to stop dehazing; thread-safe to change while a run is in progress.

    Fires, checked in this order, when
      * ``metric`` (a key of :data:`METRIC_NAMES`) is below ``threshold`` (``stop_below``;
        above it when False) - default: SSIM against the input < 0.9;
      * ``diverging`` and a step changed the film more than the step before it did (from
        step 2 on): the iteration overshoots instead of settling, so the previous iterate
        is kept (on the validation films this turned the dehazer's worst scatter film from
        -0.5 to +0.1 dB, MODEL_CARD.md);
      * ``step_change`` (mean absolute change between iterates, [0, 1] units) < ``epsilon``;
      * the step index reaches ``max_steps``.
    ``rollback``: when the threshold fires, return the previous iterate (the last one
    within the threshold) instead of the one that crossed it.
    Change fields with :meth:`update` (or plain assignment); :meth:`should_stop` reads a
    consistent snapshot under a lock at every step.
    """

    metric: str = "ssim_input"
    threshold: float = 0.9
    epsilon: float = 2e-3  # tuned on the validation split (MODEL_CARD.md)
    max_steps: int = 10
    stop_below: bool = True
    rollback: bool = False
    diverging: bool = True
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False,
                                  compare=False)

    def __post_init__(self) -> None:
        if self.metric not in METRIC_NAMES:
            raise ValueError(f"unknown stop metric {self.metric!r}; one of {METRIC_NAMES}")

    def update(self, **changes: float | str | bool) -> None:
        """Change fields atomically, e.g. ``rule.update(threshold=0.95)`` from the GUI."""
        with self._lock:
            for name, value in changes.items():
                if name.startswith("_") or not hasattr(self, name):
                    raise AttributeError(f"StopRule has no field {name!r}")
                if name == "metric" and value not in METRIC_NAMES:
                    raise ValueError(f"unknown stop metric {value!r}")
                setattr(self, name, value)

    def snapshot(self) -> dict[str, float | int | str | bool]:
        """The current settings as a plain dict (read under the lock)."""
        with self._lock:
            return {k: getattr(self, k) for k in ("metric", "threshold", "epsilon",
                                                  "max_steps", "stop_below", "rollback",
                                                  "diverging")}

    def should_stop(self, step: DehazeStep,
                    previous_change: float | None = None) -> tuple[bool, str]:
        """(stop?, reason) for ``step`` (reads its ``step`` and ``metrics``).

        ``previous_change``: the step change of the step before (None at step 1), for the
        divergence rule. The reason is "" or starts with "threshold:", "diverging:" (the
        caller keeps the previous iterate), "converged:" or "max steps:".
        """
        s = self.snapshot()
        value = step.metrics[s["metric"]]
        if (value < s["threshold"]) if s["stop_below"] else (value > s["threshold"]):
            side = "below" if s["stop_below"] else "above"
            return True, f"threshold: {s['metric']} {value:.4f} {side} {s['threshold']:.4f}"
        change = step.metrics["step_change"]
        if s["diverging"] and previous_change is not None and change > previous_change:
            return True, (f"diverging: step change {change:.2e} > previous step's "
                          f"{previous_change:.2e}")
        if change < s["epsilon"]:
            return True, f"converged: step change {change:.2e} < epsilon {s['epsilon']:.2e}"
        if step.step >= s["max_steps"]:
            return True, f"max steps: {step.step} of {s['max_steps']}"
        return False, ""
