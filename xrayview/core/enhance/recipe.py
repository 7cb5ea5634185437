"""The recipe: everything that decides an enhancement's pixels, frozen and serialisable.

A :class:`Recipe` is what the viewer's panel, ``xrayview enhance``, a study condition,
an evaluation method and the self-test each build, and what ``core.enhance.pipeline``
runs. It is recorded (as ``to_dict``) in exported PNG/TIFF/DICOM provenance and in a
prepared study, and read back with ``Recipe.from_dict`` (``xrayview enhance --recipe``).

Free of torch and numpy, so the viewer builds recipes without importing either. Every
problem is a :class:`RecipeError` (a ValueError) with one line naming the field.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from xrayview.core.enhance.stop_rule import METRIC_NAMES, StopRule, default_stop
from xrayview.core.models import registry

RECIPE_VERSION = 1
PRECISIONS = ("auto", "fp32", "bf16")  # modes of core.device.autocast_dtype


class RecipeError(ValueError):
    """A recipe that cannot be run; the message is one line naming the field."""


@dataclass(frozen=True)
class Dehazing:
    """Dehazing after super-resolution, one step at a time, under a stop rule.

    ``metric``: a key of ``METRIC_NAMES``; ``threshold``: None = the metric's default
    (``stop_rule.default_stop``; film-relative metrics are measured on the film the
    pipeline enhances, i.e. its input after any reference-mode degradation);
    ``stop_below``: None = the metric's default direction; ``max_steps`` >= 1;
    ``epsilon``: stop when the mean step change falls below it (0: never);
    ``rollback``: when the threshold fires, keep the step before it;
    ``diverging``: stop, keeping the step before, when a step changes the film more than
    the one before it (``StopRule.diverging``; a recipe written without this field, by
    xrayview before it existed, reads as false, the rule it ran under).
    """

    metric: str = "ssim_input"
    threshold: float | None = None
    stop_below: bool | None = None
    max_steps: int = 10
    epsilon: float = StopRule.epsilon
    rollback: bool = False
    diverging: bool = True

    def stop_rule(self, film_value: float | None = None) -> StopRule:
        """A live StopRule (thread-safe, updatable during a run) for these settings.

        ``film_value``: the metric of the film being enhanced, for a film-relative
        default threshold (ignored when ``threshold`` is given).
        """
        threshold, below = default_stop(self.metric, film_value)
        return StopRule(metric=self.metric,
                        threshold=threshold if self.threshold is None else self.threshold,
                        stop_below=below if self.stop_below is None else self.stop_below,
                        epsilon=self.epsilon, max_steps=self.max_steps,
                        rollback=self.rollback, diverging=self.diverging)


WEIGHT_SETS = ("auto", "clean", "robust")
REFERENCE_PROTOCOLS = ("clean", "jpeg75", "jpeg90", "noisy")  # = core.quality.realistic.PROTOCOLS
VEIL_FAMILIES = ("scatter", "atmospheric", "exposure")  # = core.quality.veils.VEIL_FAMILIES


@dataclass(frozen=True)
class Reference:
    """Reference mode: the input is ground truth; it is downscaled by the recipe's scale
    (antialiased bicubic), degraded by the evaluation ``protocol`` (one of
    ``REFERENCE_PROTOCOLS``: "clean"; "jpeg75"/"jpeg90", the low-resolution film saved as
    JPEG; "noisy", Poisson-Gaussian noise at the corpus median, see
    ``core.quality.realistic``) and veiled with ``veil`` in [0, 1] (seeded by ``seed``)
    before enhancing, and true PSNR/SSIM/ICI are measured against it. ``veil_family``:
    one of ``VEIL_FAMILIES`` (``core.quality.veils``)."""

    veil: float = 0.0
    seed: int = 0
    protocol: str = "clean"
    veil_family: str = "scatter"


@dataclass(frozen=True)
class Recipe:
    """One enhancement: ``model`` (``registry.model_choices()``; "none" = bicubic only) at
    ``scale`` (1-4; 1 = restoration at native size), then optional ``dehazing``.

    ``tile``/``batch``: tiled inference (None = the device's default, which gives the same
    pixels); ``precision``: "auto", "fp32" or "bf16" (``core.device.autocast_dtype``);
    ``self_ensemble``: average the network over the 8 rotations/flips;
    ``weights``: "auto" (the robust weights for a lossy-compressed or noisy film, where
    the model has them; ``pipeline.wants_robust``, ``registry.weights_for``), "clean" or
    "robust";
    ``reference``: reference-mode degradation, or None. The recipe an enhancement reports
    as run names the weights and the precision that actually ran ("auto" resolved).
    """

    model: str = registry.BICUBIC
    scale: int = 1
    tile: int | None = None
    batch: int | None = None
    precision: str = "auto"
    self_ensemble: bool = False
    weights: str = "auto"
    dehazing: Dehazing | None = None
    reference: Reference | None = None
    version: int = field(default=RECIPE_VERSION, compare=False)

    def __post_init__(self) -> None:
        _check(self)

    @property
    def dehaze(self) -> bool:
        """Whether dehazing follows super-resolution."""
        return self.dehazing is not None

    def with_threshold(self, threshold: float) -> Recipe:
        """This recipe with the dehazing threshold set (e.g. to the value a run ended on)."""
        if self.dehazing is None:
            return self
        return replace(self, dehazing=replace(self.dehazing, threshold=float(threshold)))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (``from_dict`` reads it back)."""
        return asdict(self)

    def to_json(self) -> str:
        """Compact JSON text of ``to_dict``."""
        return json.dumps(self.to_dict(), sort_keys=True, allow_nan=False)

    @classmethod
    def from_dict(cls, data: Any) -> Recipe:
        """A Recipe from ``to_dict`` data; RecipeError naming the first bad field."""
        if not isinstance(data, dict):
            raise RecipeError("a recipe must be a JSON object")
        if data.get("version", RECIPE_VERSION) != RECIPE_VERSION:
            raise RecipeError(f"recipe version {data.get('version')!r} is not supported "
                              f"(this xrayview reads version {RECIPE_VERSION})")
        known = {"model", "scale", "tile", "batch", "precision", "self_ensemble", "weights",
                 "dehazing",
                 "reference", "version"}
        if unknown := sorted(set(data) - known):
            raise RecipeError(f"recipe: unknown field {unknown[0]!r}")
        parts = {k: v for k, v in data.items() if k != "version"}
        for key, kind in (("dehazing", Dehazing), ("reference", Reference)):
            raw = parts.get(key)
            if raw is None:
                continue
            if not isinstance(raw, dict):
                raise RecipeError(f"recipe: {key} must be an object or null")
            if key == "dehazing":  # written before the divergence rule: ran without it
                raw = {"diverging": False, **raw}
            try:
                parts[key] = kind(**raw)
            except TypeError as exc:
                raise RecipeError(f"recipe: {key}: {exc}") from None
        return cls(**parts)

    @classmethod
    def from_json(cls, text: str) -> Recipe:
        """``from_dict`` of JSON text; RecipeError when it is not JSON."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise RecipeError(f"the recipe is not valid JSON ({exc})") from None
        return cls.from_dict(data)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)


def _check(r: Recipe) -> None:
    """Raise RecipeError for the first field of ``r`` that cannot be run."""
    choices = registry.model_choices()
    if r.model not in choices:
        raise RecipeError(f"recipe: model must be one of {', '.join(choices)}, not {r.model!r}")
    if not _is_int(r.scale) or r.scale not in registry.SCALES:
        raise RecipeError(f"recipe: scale must be one of {registry.SCALES}, not {r.scale!r}")
    if r.tile is not None and (not _is_int(r.tile) or r.tile < 16):
        raise RecipeError(f"recipe: tile must be at least 16 pixels, not {r.tile!r}")
    if r.batch is not None and (not _is_int(r.batch) or r.batch < 1):
        raise RecipeError(f"recipe: batch must be at least 1, not {r.batch!r}")
    if r.precision not in PRECISIONS:
        raise RecipeError(f"recipe: precision must be one of {', '.join(PRECISIONS)}, "
                          f"not {r.precision!r}")
    if not isinstance(r.self_ensemble, bool):
        raise RecipeError("recipe: self_ensemble must be true or false")
    if r.weights not in WEIGHT_SETS:
        raise RecipeError(f"recipe: weights must be one of {', '.join(WEIGHT_SETS)}, "
                          f"not {r.weights!r}")
    if r.self_ensemble and r.model == registry.BICUBIC:
        raise RecipeError("recipe: self_ensemble needs a network (not model 'none')")
    d = r.dehazing
    if d is not None:
        if not isinstance(d, Dehazing):
            raise RecipeError("recipe: dehazing must be a Dehazing or null")
        if d.metric not in METRIC_NAMES:
            raise RecipeError(f"recipe: dehazing metric must be one of "
                              f"{', '.join(METRIC_NAMES)}, not {d.metric!r}")
        if d.threshold is not None and not _is_number(d.threshold):
            raise RecipeError(f"recipe: dehazing threshold must be a finite number, "
                              f"not {d.threshold!r}")
        if d.stop_below is not None and not isinstance(d.stop_below, bool):
            raise RecipeError("recipe: dehazing stop_below must be true, false or null")
        if not _is_int(d.max_steps) or not 1 <= d.max_steps <= 1000:
            raise RecipeError(f"recipe: dehazing max_steps must be 1..1000, not {d.max_steps!r}")
        if not _is_number(d.epsilon) or d.epsilon < 0:
            raise RecipeError(f"recipe: dehazing epsilon must be 0 or more, not {d.epsilon!r}")
        if not isinstance(d.rollback, bool):
            raise RecipeError("recipe: dehazing rollback must be true or false")
        if not isinstance(d.diverging, bool):
            raise RecipeError("recipe: dehazing diverging must be true or false")
    ref = r.reference
    if ref is not None:
        if not isinstance(ref, Reference):
            raise RecipeError("recipe: reference must be a Reference or null")
        if not _is_number(ref.veil) or not 0 <= ref.veil <= 1:
            raise RecipeError(f"recipe: reference veil must be in [0, 1], not {ref.veil!r}")
        if not _is_int(ref.seed) or not 0 <= ref.seed < 2**32:
            raise RecipeError(f"recipe: reference seed must be 0..2**32-1, not {ref.seed!r}")
        if ref.veil_family not in VEIL_FAMILIES:
            raise RecipeError(f"recipe: reference veil_family must be one of "
                              f"{', '.join(VEIL_FAMILIES)}, not {ref.veil_family!r}")
        if ref.protocol not in REFERENCE_PROTOCOLS:
            raise RecipeError(f"recipe: reference protocol must be one of "
                              f"{', '.join(REFERENCE_PROTOCOLS)}, not {ref.protocol!r}")
