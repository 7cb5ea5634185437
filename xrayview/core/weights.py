"""Trained weights: ``models/manifest.json`` -> ``load_model(name, device)``.

Manifest (schema 1, validated against ``manifest_schema.MANIFEST_SCHEMA``)::

    {"schema": 1,
     "models": {"vdsr": {"arch": "vdsr", "file": "vdsr.pt", "kwargs": {"depth": 10},
                         "scales": [2, 3, 4], "sha256": "<64 hex digits>",
                         "training": {...}, "metrics": {...}}, ...}}

The models folder is ``$XRAYVIEW_MODELS_DIR`` when set, else ``models/`` inside a frozen
(PyInstaller) bundle, else ``models/`` at the repository root. A weights file is a
state_dict read with ``torch.load(..., weights_only=True)`` from the very bytes whose
sha256 was checked against the manifest; any mismatch is refused with a ``WeightsError``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from xrayview.core.device import pick_device
from xrayview.core.manifest_schema import SCHEMA_VERSION, validate_manifest  # noqa: F401
from xrayview.core.nets import ARCHITECTURES

MODELS_ENV = "XRAYVIEW_MODELS_DIR"
MANIFEST_NAME = "manifest.json"


class WeightsError(Exception):
    """Trained weights are missing, damaged or do not match the manifest (one-line message)."""


@dataclass(frozen=True)
class ModelEntry:
    """One validated manifest entry; ``path`` is the weights file (it may not exist)."""

    name: str
    arch: str
    file: str
    kwargs: dict[str, Any]
    scales: list[int]
    sha256: str
    path: Path
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


def models_dir() -> Path:
    """The folder holding manifest.json (see the module docstring for the search order)."""
    env = os.environ.get(MODELS_ENV)
    if env:
        return Path(env)
    frozen_root = getattr(sys, "_MEIPASS", None)
    candidates = [Path(frozen_root) / "models"] if frozen_root else []
    candidates.append(Path(__file__).resolve().parents[2] / "models")
    candidates.append(Path(sys.prefix) / "share" / "xrayview" / "models")
    return next((c for c in candidates if (c / MANIFEST_NAME).is_file()), candidates[0])


def _entry(name: str, raw: dict[str, Any], root: Path) -> ModelEntry:
    """A ModelEntry from an entry that passed the schema."""
    return ModelEntry(name, raw["arch"], raw["file"], dict(raw["kwargs"]),
                      [int(s) for s in raw["scales"]], raw["sha256"].lower(), root / raw["file"],
                      dict(raw.get("training", {})), dict(raw.get("metrics", {})))


def read_manifest(root: Path | None = None) -> dict[str, ModelEntry] | None:
    """All validated entries of the manifest in ``root`` (default ``models_dir()``).

    Returns None when there is no manifest; raises WeightsError when it does not follow
    ``manifest_schema.MANIFEST_SCHEMA`` (the message names the first problem).
    """
    root = models_dir() if root is None else Path(root)
    path = root / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"models/{MANIFEST_NAME} cannot be read: {exc}") from exc
    problems = validate_manifest(data)
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise WeightsError(problems[0] + more)
    return {name: _entry(name, raw, root) for name, raw in data["models"].items()}


def available_models(root: Path | None = None) -> list[str]:
    """Names in the manifest whose weights file is present (sorted); [] without a manifest."""
    entries = read_manifest(root) or {}
    return sorted(n for n, e in entries.items() if e.path.is_file())


def model_entry(name: str, root: Path | None = None) -> ModelEntry:
    """The manifest entry for ``name``; WeightsError when the manifest or entry is missing."""
    entries = read_manifest(root)
    if entries is None:
        raise WeightsError(f"no trained weights for {name!r} (models/{MANIFEST_NAME} missing)")
    if name not in entries:
        known = ", ".join(sorted(entries)) or "none"
        raise WeightsError(f"no trained weights for {name!r} in models/{MANIFEST_NAME} "
                           f"(available: {known})")
    return entries[name]


def _state_dict(obj: Any, entry: ModelEntry) -> dict[str, torch.Tensor]:
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = obj["model"]  # a training checkpoint: take its weights only
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{entry.file} is not a state_dict of tensors")
    return obj


def load_model(name: str, device: str | torch.device = "cpu",
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
    except Exception as exc:  # noqa: BLE001 - torch raises many types for bad pickles
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
    dev = pick_device(device) if isinstance(device, str) else device
    return model.to(dev).eval()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file (for writing manifests)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
