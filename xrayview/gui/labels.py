"""Plain words for what the views show: view titles, difference titles, metric tooltips.

One place, so the Enhanced view, the Difference view, the status line and exports say
the same thing the same way: "Bicubic ×2", "VDSR ×2 + dehazing (5 steps)",
"Difference: VDSR ×2 − bicubic ×2". At ×1 there is no upsampling to name: "Original",
"Dehazing (3 steps)", "Difference: dehazed − original".
"""

from __future__ import annotations

from xrayview.core.enhance.recipe import Recipe
from xrayview.core.models import registry

METRIC_TOOLTIPS = {
    "psnr_prev": "PSNR of this step against the previous one (dB): rises as the "
                 "dehazer converges",
    "ssim_prev": "Structural similarity (0..1) of this step to the previous one",
    "psnr_input": "PSNR of this step against the dehazer's input (dB): falls as more "
                  "veil is removed",
    "ssim_input": "Structural similarity (0..1) of this step to the dehazer's input: "
                  "how much the film has changed",
    "ici_input": "Image contrast improvement: RMS contrast of this step over that of "
                 "the input (1 = unchanged)",
    "rms_contrast": "RMS contrast (standard deviation of the grey values, 0..0.5)",
    "mean_brightness": "Mean grey value (0 = black, 1 = white)",
    "mean_gradient": "Mean gradient magnitude: a sharpness measure",
    "step_change": "Mean absolute change of the grey values from the previous step",
}


def super_resolution_label(recipe: Recipe) -> str:
    """"VDSR ×2", "Bicubic ×2", or "" at ×1 without a model (nothing was upsampled)."""
    if recipe.model == registry.BICUBIC:
        return f"Bicubic ×{recipe.scale}" if recipe.scale > 1 else ""
    return f"{registry.label(recipe.model)} ×{recipe.scale}"


def enhanced_label(recipe: Recipe, steps: int | None = None) -> str:
    """What the Enhanced view holds: "VDSR ×2 + dehazing (5 steps)". ``steps``: the
    dehazing steps done so far (None: not known yet)."""
    sr = super_resolution_label(recipe)
    if not recipe.dehaze:
        return sr or "Original"
    done = "" if steps is None else f" ({steps} step{'s' if steps != 1 else ''})"
    return f"{sr} + dehazing{done}" if sr else f"Dehazing{done}"


def enhanced_title(recipe: Recipe, steps: int | None, state: str = "") -> str:
    """The Enhanced view's title: the label and ``state`` ("running", "step 2 of 5" ...)."""
    return enhanced_label(recipe, steps) + (f" — {state}" if state else "")


def reference_label(kind: str, recipe: Recipe | None) -> str:
    """The Difference view's reference in plain words: "bicubic ×2", "previous step",
    "ground truth" (for ``kind`` "bicubic", "previous", "truth")."""
    if kind == "previous":
        return "previous step"
    if kind == "truth":
        return "ground truth"
    if recipe is None or recipe.scale == 1:
        return "original"
    return f"bicubic ×{recipe.scale}"


def difference_title(recipe: Recipe | None, kind: str, available: bool) -> str:
    """"Difference: VDSR ×2 − bicubic ×2", or why there is none."""
    if recipe is None:
        return "Difference"
    ref = reference_label(kind, recipe)
    if not available:
        return f"Difference from {ref}: not available"
    if kind == "previous":
        shown = "this step"
    else:
        shown = enhanced_label(recipe) if super_resolution_label(recipe) else "dehazed"
    return f"Difference: {shown} − {ref}"


def reference_title(scale: int, veil: float) -> str:
    """The Original view's title in reference mode: what was done to the film."""
    done = [f"downscaled ×{scale}"] if scale > 1 else []
    done += [f"veiled {veil:g}"] if veil > 0 else []
    return f"Original: the film {' and '.join(done) or 'unchanged'} (reference mode)"
