"""Evaluation methods, named on the command line and turned into recipes here (only here).

A method is a super-resolution model of the registry (``vdsr``), optionally with the
8-fold self-ensemble (``vdsr-x8``) and/or dehazing after it under the default stop rule
(``vdsr+dehaze``, ``vdsr-x8+dehaze``). Every method runs through the one pipeline in
reference mode: the test film is the ground truth, degraded by the pipeline itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from xrayview.core.enhance.recipe import Dehazing, Recipe, Reference
from xrayview.core.models import registry

ENSEMBLE = "-x8"
DEHAZE = "+dehaze"


@dataclass(frozen=True)
class Method:
    """A parsed method name: ``model``, ``self_ensemble``, ``dehaze``."""

    name: str
    model: str
    self_ensemble: bool = False
    dehaze: bool = False

    @property
    def network_part(self) -> str:
        """The method without dehazing ("vdsr-x8+dehaze" -> "vdsr-x8")."""
        return self.name.removesuffix(DEHAZE)


def parse_method(name: str) -> Method:
    """``Method`` of ``name``; ValueError (one line) for an unknown one."""
    dehaze = name.endswith(DEHAZE)
    base = name.removesuffix(DEHAZE)
    ensemble = base.endswith(ENSEMBLE)
    model = base.removesuffix(ENSEMBLE)
    if model not in registry.super_resolution_models():
        known = ", ".join(registry.super_resolution_models())
        raise ValueError(f"unknown method {name!r}: a model ({known}), optionally with "
                         f"{ENSEMBLE} (self-ensemble) and/or {DEHAZE}")
    return Method(name, model, ensemble, dehaze)


def default_methods() -> list[str]:
    """Every super-resolution model, and the strongest one followed by dehazing."""
    models = registry.super_resolution_models()
    return [*models, models[-1] + DEHAZE]


def method_recipe(method: Method, scale: int, veil: float = 0.0, seed: int = 0,
                  protocol: str = "clean", weights: str = "auto") -> Recipe:
    """The reference-mode recipe of ``method`` at ``scale`` under the evaluation
    ``protocol`` (``Reference``; fp32, for reproducibility) with ``weights`` ("auto":
    robust weights for the JPEG protocols and for noisy inputs, as in the app:
    ``pipeline.wants_robust``)."""
    return Recipe(model=method.model, scale=scale, precision="fp32", weights=weights,
                  self_ensemble=method.self_ensemble,
                  dehazing=Dehazing() if method.dehaze else None,
                  reference=Reference(veil=veil, seed=seed, protocol=protocol))


def dehazing_recipe(strength: float, seed: int, rule: dict | None = None,
                    family: str = "scatter") -> Recipe:
    """Dehazing alone at native size on a film veiled with ``strength`` (0: clean) by the
    veil ``family`` (``core.quality.veils``)."""
    return Recipe(model=registry.BICUBIC, scale=1, precision="fp32",
                  dehazing=Dehazing(**(rule or {})),
                  reference=Reference(veil=strength, seed=seed, veil_family=family))
