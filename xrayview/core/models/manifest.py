"""The models manifest without torch: where ``models/`` is, what it lists, what is present.

``models/manifest.json`` (schema 1, validated against ``core.models.schema.MANIFEST_SCHEMA``)::

    {"schema": 1,
     "models": {"vdsr": {"arch": "vdsr", "file": "vdsr.pt", "kwargs": {"depth": 10},
                         "scales": [2, 3, 4], "sha256": "<64 hex digits>",
                         "training": {...}, "metrics": {...}}, ...}}

The models folder is ``$XRAYVIEW_MODELS_DIR`` when set, else ``models/`` inside a frozen
(PyInstaller) bundle, else ``models/`` at the repository root, else
``<prefix>/share/xrayview/models``. Kept free of torch so the viewer can list models at
start without importing it; ``core.models.weights`` loads the networks. Everything
else reaches this module through ``core.models.registry``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


MODELS_ENV = "XRAYVIEW_MODELS_DIR"
MANIFEST_NAME = "manifest.json"


MAX_MANIFEST_BYTES = 4 << 20
"""A manifest is a few kilobytes; anything past this is not one."""


def _not_regular(path: Path) -> str | None:
    """None for a regular file, "missing", or what it is instead (stat only, never opened)."""
    from xrayview.core.io.files import not_regular

    try:
        return not_regular(path)
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        raise WeightsError(f"{path.name} cannot be read ({exc.strerror or exc})") from exc


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
    candidates.append(Path(__file__).resolve().parents[3] / "models")
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
    ``core.models.schema.MANIFEST_SCHEMA`` (the message names the first problem).
    """
    root = models_dir() if root is None else Path(root)
    path = root / MANIFEST_NAME
    kind = _not_regular(path)
    if kind == "missing":
        return None
    if kind is not None:
        raise WeightsError(f"models/{MANIFEST_NAME} is {kind}, not a regular file")
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise WeightsError(f"models/{MANIFEST_NAME} is too large for a manifest "
                           f"({path.stat().st_size} bytes)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"models/{MANIFEST_NAME} cannot be read: {exc}") from exc
    from xrayview.core.models.schema import validate_manifest  # imports the registry

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


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file (for writing manifests)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_manifest_data(root: Path) -> dict[str, Any]:
    """The manifest in ``root`` as plain JSON data, or an empty one when there is none.

    For writers (``training.register``): the data is validated when it is read back.
    """
    from xrayview.core.models.schema import SCHEMA_VERSION

    path = Path(root) / MANIFEST_NAME
    if not path.is_file():
        return {"schema": SCHEMA_VERSION, "models": {}}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"models/{MANIFEST_NAME} cannot be read: {exc}") from exc


def write_manifest(root: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as ``root``/manifest.json atomically (temporary file, fsync, rename)."""
    from xrayview.core.io.files import atomic_write

    text = json.dumps(data, indent=2, sort_keys=False) + "\n"
    atomic_write(Path(root) / MANIFEST_NAME, lambda fh: fh.write(text.encode("utf-8")))
