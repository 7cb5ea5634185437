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
from xrayview.core.models.manifest import MANIFEST_NAME, ModelEntry, WeightsError, model_entry
from xrayview.core.nets import ARCHITECTURES


def _state_dict(obj: Any, entry: ModelEntry) -> dict[str, torch.Tensor]:
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = obj["model"]  # a training checkpoint: take its weights only
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{entry.file} is not a state_dict of tensors")
    return obj


def load_weights(name: str, device: str | torch.device = "cpu",
               root: Path | None = None) -> nn.Module:
    """Build the manifest's architecture for ``name`` with its trained weights, in eval mode.

    ``device`` is a torch.device or a spec for ``pick_device`` ("auto", "cpu", "cuda:0").
    The module gets ``weights_name``, ``weights_sha256`` and ``weights_scales`` attributes.
    Raises WeightsError (one line) for a missing manifest, entry or file, a sha256
    mismatch, an unreadable file, or weights that do not fit the architecture.
    """
    entry = model_entry(name, root)
    try:
        blob = entry.path.read_bytes()
    except FileNotFoundError as exc:
        raise WeightsError(f"no trained weights for {name!r}: {entry.file} is missing "
                           f"from the models folder") from exc
    except OSError as exc:
        raise WeightsError(f"weights for {name!r} cannot be read ({exc.strerror or exc})") from exc
    digest = hashlib.sha256(blob).hexdigest()
    if digest != entry.sha256:
        raise WeightsError(f"refusing {entry.file}: its sha256 {digest[:12]}... does not match "
                           f"the manifest's {entry.sha256[:12]}... (damaged or replaced file)")
    try:
        obj = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except Exception as exc:
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise WeightsError(f"{entry.file} cannot be loaded as weights: {reason}") from exc
    try:
        model = ARCHITECTURES[entry.arch](**entry.kwargs)
    except TypeError as exc:
        raise WeightsError(f"models/{MANIFEST_NAME}, model {name!r}: bad kwargs ({exc})") from exc
    try:
        model.load_state_dict(_state_dict(obj, entry), strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"{entry.file} does not fit {entry.arch} with kwargs {entry.kwargs}: "
                           f"{str(exc).splitlines()[0][:200]}") from exc
    model.weights_name, model.weights_sha256 = name, digest
    model.weights_scales = list(entry.scales)
    return model.to(pick_device(device)).eval()
