"""Trained weights: ``models/manifest.json`` -> ``load_weights(name, device)``.

Reached through the registry (``core.models.registry.load_model``), which owns the list
of models; this module only turns a validated manifest entry into a network.

Manifest (schema 1, validated against ``manifest_schema.MANIFEST_SCHEMA``)::

    {"schema": 1,
     "models": {"vdsr": {"arch": "vdsr", "file": "vdsr.pt", "kwargs": {"depth": 10},
                         "scales": [2, 3, 4], "sha256": "<64 hex digits>",
                         "training": {...}, "metrics": {...}}, ...}}

Where the folder is and what it lists: ``core.models.manifest`` (no torch). A weights file is a state_dict read with ``torch.load(..., weights_only=True)``
from the very bytes whose sha256 was checked against the manifest; any mismatch is
refused with a ``WeightsError``.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import torch
from torch import nn

from xrayview.core.device import pick_device
from xrayview.core.io.errors import plain
from xrayview.core.io.files import not_regular
from xrayview.core.models.manifest import MANIFEST_NAME, ModelEntry, WeightsError, model_entry
from xrayview.core.models.registry import kwargs_problem
from xrayview.core.nets import ARCHITECTURES


def _state_dict(obj: Any, entry: ModelEntry) -> dict[str, torch.Tensor]:
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = obj["model"]  # a training checkpoint: take its weights only
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{entry.file} is not a state_dict of tensors")
    bad = [k for k, v in obj.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise WeightsError(f"refusing {entry.file}: its weights hold NaN or infinite values "
                           f"({str(bad[0])[:40]}); the file is damaged")
    return obj


def _load_reason(exc: BaseException) -> str:
    """PyTorch's refusal as one short sentence: the unpickler's own reason, without its
    advice to set ``weights_only=False`` or allowlist globals (never right for a file we
    did not make), and without terminal escapes."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    reason = next((ln.split(":", 1)[1].strip() for ln in lines
                   if ln.startswith("WeightsUnpickler error:")), None)
    if reason is None:
        reason = next((ln for ln in lines if "weights_only" not in ln), type(exc).__name__)
    reason = plain(reason.split(". ")[0].rstrip("."), 160)
    if len(reason) > 120:
        reason = reason[:120].rsplit(" ", 1)[0] + " ..."
    return reason


def plausible_bytes(model: nn.Module) -> int:
    """The largest weights file that can be ``model``'s: a training checkpoint (weights,
    two Adam moments, random states) of float32 parameters, with room to spare."""
    params = sum(p.numel() for p in model.parameters())
    return 16 * params + (8 << 20)


def load_weights(name: str, device: str | torch.device = "cpu",
               root: Path | None = None) -> nn.Module:
    """Build the manifest's architecture for ``name`` with its trained weights, in eval mode.

    ``device`` is a torch.device or a spec for ``pick_device`` ("auto", "cpu", "cuda:0").
    The module gets ``weights_name``, ``weights_sha256`` and ``weights_scales`` attributes.
    Raises WeightsError (one line) for a missing manifest, entry or file, kwargs out of the
    architecture's bounds, a file that is not regular or too large for the network, a
    sha256 mismatch, an unreadable file, non-finite values, or weights that do not fit.
    """
    entry = model_entry(name, root)
    problem = kwargs_problem(entry.arch, entry.kwargs)  # before building anything
    if problem:
        raise WeightsError(f"models/{MANIFEST_NAME}, model {name!r}: {problem}")
    try:
        kind = not_regular(entry.path)
        size = entry.path.stat().st_size
    except FileNotFoundError as exc:
        raise WeightsError(f"no trained weights for {name!r}: {entry.file} is missing "
                           f"from the models folder") from exc
    except OSError as exc:
        raise WeightsError(f"weights for {name!r} cannot be read ({exc.strerror or exc})") from exc
    if kind is not None:
        raise WeightsError(f"refusing {entry.file}: it is {kind}, not a weights file")
    try:
        model = ARCHITECTURES[entry.arch](**entry.kwargs)
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"models/{MANIFEST_NAME}, model {name!r}: bad kwargs ({exc})") from exc
    if size > plausible_bytes(model):
        raise WeightsError(f"refusing {entry.file}: {size} bytes is far more than {entry.arch} "
                           f"with kwargs {entry.kwargs} needs (damaged or replaced file)")
    try:
        blob = entry.path.read_bytes()
    except OSError as exc:
        raise WeightsError(f"weights for {name!r} cannot be read ({exc.strerror or exc})") from exc
    digest = hashlib.sha256(blob).hexdigest()
    if digest != entry.sha256:
        raise WeightsError(f"refusing {entry.file}: its sha256 {digest[:12]}... does not match "
                           f"the manifest's {entry.sha256[:12]}... (damaged or replaced file)")
    try:
        obj = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"{entry.file} cannot be loaded as weights: "
                           f"{_load_reason(exc)}") from exc
    try:
        model.load_state_dict(_state_dict(obj, entry), strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"{entry.file} does not fit {entry.arch} with kwargs {entry.kwargs}: "
                           f"{str(exc).splitlines()[0][:200]}") from exc
    model.weights_name, model.weights_sha256 = name, digest
    model.weights_scales = list(entry.scales)
    return model.to(pick_device(device)).eval()
