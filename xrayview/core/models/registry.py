"""THE model registry: which models exist, what they are for, and how to load one.

Every other module asks here for model names, labels, roles and scales; none spells a
model's name itself. Adding a model = one architecture file in ``core.nets`` (and its
line in ``nets.ARCHITECTURES``) + one :class:`ModelSpec` below + trained weights in
``models/`` with their manifest entry (``xrayview train`` writes both).

Free of torch: the viewer lists models at start-up; :func:`load_model` imports the
torch-based loader (``core.models.weights``) only when it is called.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from xrayview.core.models.manifest import (  # noqa: F401 - the registry is the one door
    MANIFEST_NAME,
    MODELS_ENV,
    ModelEntry,
    WeightsError,
    available_models,
    model_entry,
    models_dir,
    read_manifest,
    sha256_file,
)

if TYPE_CHECKING:
    import torch
    from torch import nn

SUPER_RESOLUTION = "super-resolution"
DEHAZING = "dehazing"


@dataclass(frozen=True)
class ModelSpec:
    """One model: ``name`` (manifest key, CLI value), ``arch`` (key of
    ``nets.ARCHITECTURES``), ``label`` for people, ``role`` (SUPER_RESOLUTION or DEHAZING),
    the ``scales`` it can be trained and run for, and a one-line ``summary``."""

    name: str
    arch: str
    label: str
    role: str
    scales: tuple[int, ...]
    summary: str


MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in (
    ModelSpec("srcnn", "srcnn", "SRCNN", SUPER_RESOLUTION, (1, 2, 3, 4),
              "3-layer super-resolution CNN (Dong et al. 2014) after bicubic pre-upsampling"),
    ModelSpec("vdsr", "vdsr", "VDSR", SUPER_RESOLUTION, (1, 2, 3, 4),
              "very deep residual super-resolution CNN (Kim et al. 2016), reduced depth"),
    ModelSpec("dehaze", "dehaze", "Dehazer", DEHAZING, (1,),
              "attention dehazer applied step by step under a stop rule"),
)}

# Constructor arguments each architecture accepts, with bounds: (type, low, high), or
# ("kernels", low, high) for a list of three odd sizes. A manifest or weights entry
# outside them is refused before a network is built (a "10 million layer" VDSR would
# otherwise take minutes and gigabytes to fail). Generous: 4-16x the shipped sizes.
KWARG_BOUNDS: dict[str, dict[str, tuple]] = {
    "srcnn": {"features": (int, 1, 512), "mid_features": (int, 1, 512),
              "kernels": ("kernels", 1, 15), "identity_init": (bool, 0, 1)},
    "vdsr": {"depth": (int, 1, 64), "features": (int, 1, 256)},
    "dehaze": {"proxy_size": (int, 4, 128), "features": (int, 1, 256), "embed": (int, 1, 256),
               "heads": (int, 1, 32), "key_dim": (int, 1, 128), "dense": (int, 1, 1024),
               "decoder_features": (int, 1, 256), "max_gain": (float, 1.0, 100.0)},
}


def kwargs_problem(arch: str, kwargs: dict) -> str | None:
    """Why ``kwargs`` cannot build ``arch`` (an unknown name, a wrong type, a value out of
    ``KWARG_BOUNDS``), or None when they can. Checked without torch, in microseconds."""
    bounds = KWARG_BOUNDS.get(arch, {})
    for key, value in kwargs.items():
        if key not in bounds:
            return f"{arch} has no argument {str(key)[:40]!r} (known: {', '.join(bounds)})"
        kind, lo, hi = bounds[key]
        if kind == "kernels":
            ok = (isinstance(value, (list, tuple)) and len(value) == 3 and all(
                type(k) is int and lo <= k <= hi and k % 2 == 1 for k in value))
            if not ok:
                return f"{arch} argument kernels must be three odd integers {lo}..{hi}"
            continue
        if kind is bool:
            ok = isinstance(value, bool)
        elif kind is int:
            ok = type(value) is int and lo <= value <= hi
        else:
            ok = (type(value) in (int, float) and lo <= value <= hi)  # NaN fails both
        if not ok:
            what = "true or false" if kind is bool else f"{kind.__name__} {lo}..{hi}"
            return f"{arch} argument {key} must be {what}, not {str(value)[:24]}"
    return None


BICUBIC = "none"  # the "model" that is bicubic pre-upsampling alone
BICUBIC_LABEL = "None (bicubic only)"
SCALES = (1, 2, 3, 4)


def spec(name: str) -> ModelSpec:
    """The spec of ``name``; ValueError (one line, lists the known names) otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; one of {', '.join(MODELS)}") from None


def super_resolution_models() -> tuple[str, ...]:
    """Names of the super-resolution models, in registry order (weakest first)."""
    return tuple(n for n, s in MODELS.items() if s.role == SUPER_RESOLUTION)


def model_choices() -> tuple[str, ...]:
    """What ``--model`` and the panel offer: "none" (bicubic only), then the SR models."""
    return (BICUBIC, *super_resolution_models())


def dehazer() -> str:
    """Name of the dehazing model."""
    return next(n for n, s in MODELS.items() if s.role == DEHAZING)


def is_dehazer(name: str) -> bool:
    """Whether ``name`` (a model or architecture name) is the dehazer."""
    s = MODELS.get(name)
    return s is not None and s.role == DEHAZING


def architecture_names() -> tuple[str, ...]:
    """Every architecture a manifest entry may name (sorted)."""
    return tuple(sorted({s.arch for s in MODELS.values()}))


def label(name: str) -> str:
    """How people see ``name``: "VDSR", "None (bicubic only)", ..."""
    return BICUBIC_LABEL if name == BICUBIC else spec(name).label


def availability(root: Path | None = None) -> dict[str, str]:
    """Model name (BICUBIC included) -> "" when usable, else why not (for tooltips)."""
    names = [BICUBIC, *MODELS]
    try:
        present = set(available_models(root))
    except WeightsError as exc:
        return {n: "" if n == BICUBIC else str(exc) for n in names}
    return {n: "" if n == BICUBIC or n in present
            else f"no trained weights for {n} in the models folder (train it first)"
            for n in names}


def scale_variant(name: str, scale: int) -> str:
    """Manifest name of ``name``'s weights trained for ``scale`` alone: "vdsr-x4"."""
    return f"{name}-x{scale}"


ROBUST = "robust"


def weights_for(name: str, scale: int | None = None, root: Path | None = None,
                robust: bool = False) -> str:
    """The manifest entry that serves model ``name`` at ``scale``: for a clean film its
    scale-specific weights ("vdsr-x4", trained on the clean bicubic protocol at that
    scale) when listed; with ``robust`` (a lossy-compressed or noisy film) its robust weights for
    that scale ("vdsr-x2-robust", trained on realistic degradations) when listed; else
    ``name``'s own (trained across scales). Such a film never gets the clean per-scale
    weights: they sharpen its JPEG blocks (x4 VDSR on films saved at JPEG quality 75,
    central 512 px of the 38 test films: -0.23 dB under bicubic against -0.06 for the
    cross-scale weights; SRCNN x2: -0.35 against -0.07). A network trained for one scale
    is wrong for another, so a per-scale entry is only ever used at its scale."""
    if scale is None:
        return name
    try:
        entries = read_manifest(root) or {}
    except WeightsError:
        return name  # the load of ``name`` reports the manifest's problem
    variant = scale_variant(name, scale)
    for key in ([f"{variant}-{ROBUST}"] if robust else [variant]):
        entry = entries.get(key)
        if entry is not None and scale in entry.scales:
            return entry.name
    return name


def load_model(name: str, device: str | torch.device = "cpu",
               root: Path | None = None, scale: int | None = None,
               robust: bool = False) -> nn.Module:
    """The trained network ``name`` (for ``scale``: ``weights_for``) in eval mode on
    ``device`` (see ``core.models.weights``).

    Raises WeightsError (one line) when its weights are missing, damaged or do not fit.
    """
    from xrayview.core.models.weights import load_weights

    return load_weights(weights_for(name, scale, root, robust), device=device, root=root)
