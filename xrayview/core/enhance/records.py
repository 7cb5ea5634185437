"""What the enhancement pipeline yields and returns (``core.enhance.pipeline.enhance``).

Free of torch, so the viewer can tell records apart on its main thread without importing
it. Every array in a record is the record's own (a copy the pipeline never touches again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from xrayview import __version__
from xrayview.core.enhance.recipe import Recipe
from xrayview.core.enhance.stop_rule import DehazeStep

if TYPE_CHECKING:
    from xrayview.core.enhance.tiling import TileProgress


@dataclass(frozen=True)
class InputReady:
    """First record. ``film``: float32 (h, w) in [0, 1], what is enhanced (in reference
    mode the degraded film); ``bicubic``: float32 (h*s, w*s), its bicubic pre-upsampling
    (the difference reference "what the model added"); ``truth``: float32 (h*s, w*s) in
    reference mode, else None."""

    film: np.ndarray
    bicubic: np.ndarray
    truth: np.ndarray | None


@dataclass(frozen=True)
class TileDone:
    """A finished super-resolution tile; ``patch``: float32 copy of the result's
    ``progress.region`` (y0, y1, x0, x1), clipped to [0, 1]; None with self-ensemble
    (its regions are in rotated frames)."""

    progress: TileProgress
    patch: np.ndarray | None


@dataclass(frozen=True)
class StepDone:
    """One dehazing step; ``step.image`` float32 (h*s, w*s) in [0, 1] is a private copy."""

    step: DehazeStep


@dataclass
class Enhanced:
    """The finished enhancement. Arrays are float32 (h*s, w*s) in [0, 1] unless noted.

    ``recipe``: as run (dehazing threshold and direction resolved, the threshold the one
    in force at the end); ``image``: the final result; ``film``: the input, float32 (h, w);
    ``bicubic``: its bicubic pre-upsampling; ``super_resolved``: after the network, before
    dehazing; ``truth``: reference mode's ground truth or None; ``steps``: the dehazing
    history (each step's image kept); ``metrics``: name -> value (``result_metrics``);
    ``input_metrics``: no-reference measures of ``film``; ``weights``: model name ->
    sha256 of the weights used; ``events``: tiling events (out-of-memory retries, CPU
    fallback); ``description``: one line for DerivationDescription and logs.
    """

    recipe: Recipe
    image: np.ndarray
    film: np.ndarray
    bicubic: np.ndarray
    super_resolved: np.ndarray
    truth: np.ndarray | None = None
    steps: list[DehazeStep] = field(default_factory=list)
    stop_reason: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    input_metrics: dict[str, float] = field(default_factory=dict)
    weights: dict[str, str] = field(default_factory=dict)
    device: str = "cpu"
    events: list[str] = field(default_factory=list)
    description: str = ""
    seconds: float = 0.0

    def provenance(self) -> dict:
        """What made this image, as JSON-able data (exports and prepared studies)."""
        return {"xrayview": __version__, "recipe": self.recipe.to_dict(),
                "weights_sha256": dict(self.weights), "dehazing_steps_run": len(self.steps),
                "stop_reason": self.stop_reason, "device": self.device}
