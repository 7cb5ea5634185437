"""Locate bundled resources (sample film, icons) in a source tree or a frozen bundle."""

from __future__ import annotations

import sys
from pathlib import Path

SAMPLE_FILM_NAME = "sample/chest_pa_nih_00000427_000.png"


def resources_dir() -> Path:
    """The ``resources/`` folder: beside the PyInstaller bundle, or at the repository root."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    candidates = []
    if frozen_root:
        candidates.append(Path(frozen_root) / "resources")
    candidates.append(Path(__file__).resolve().parents[2] / "resources")
    candidates.append(Path(sys.prefix) / "share" / "xrayview" / "resources")
    for c in candidates:
        if c.is_dir():
            return c
    raise FileNotFoundError("xrayview resources folder not found (looked in: "
                            + ", ".join(str(c) for c in candidates) + ")")


def resource_path(name: str) -> Path:
    """Path of one resource file, e.g. ``resource_path("sample/...png")``."""
    return resources_dir() / name


def sample_film_path() -> Path:
    """The bundled sample chest film (NIH ChestX-ray14; attribution beside it)."""
    return resource_path(SAMPLE_FILM_NAME)
