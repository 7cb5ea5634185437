"""Optional DICOM metadata: display windows, VOI LUT, pixel spacing, identifiers.

A damaged optional attribute costs only that attribute: each function here returns its
"absent" value (and logs the reason at DEBUG, redacted) instead of failing the film.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Callable, TypeVar

import numpy as np
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels import apply_voi_lut

from xrayview.core.film import Identifiers, Window
from xrayview.core.io.privacy import short_reason

log = logging.getLogger(__name__)

DISPLAY_LUT_SIZE = 4096
T = TypeVar("T")


def _or_default(what: str, default: T, secrets: list[str] | None = None) -> Callable:
    """Decorator: on any exception, log ``what`` at DEBUG and return ``default``."""
    def wrap(fn: Callable[..., T]) -> Callable[..., T]:
        def inner(*args: Any) -> T:
            try:
                return fn(*args)
            except Exception as exc:  # noqa: BLE001 - optional metadata never fails a film
                log.debug("ignoring unreadable %s: %s", what, short_reason(exc, secrets or ()))
                return default
        inner.__doc__, inner.__name__ = fn.__doc__, fn.__name__
        return inner
    return wrap


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple, MultiValue)) else [value]


@_or_default("window", [])
def windows(ds: Dataset, vmin: float, vmax: float, inverted: bool) -> list[Window]:
    """The file's WindowCenter/Width pairs as Windows in normalised units (may be [])."""
    centers, widths = ds.get("WindowCenter"), ds.get("WindowWidth")
    if centers is None or widths is None:
        return []
    names = _as_list(ds.get("WindowCenterWidthExplanation", []) or [])
    function = str(ds.get("VOILUTFunction", "LINEAR") or "LINEAR").upper()[:16]
    span = (vmax - vmin) or 1.0
    out = []
    for i, (c, w) in enumerate(zip(_as_list(centers), _as_list(widths))):
        try:
            c, w = float(c), float(w)
        except (TypeError, ValueError):
            continue
        if not (math.isfinite(c) and math.isfinite(w)) or w <= 0:
            continue
        cn = (c - vmin) / span
        out.append(Window(center=1.0 - cn if inverted else cn, width=w / span,
                          explanation=str(names[i])[:64] if i < len(names) else "",
                          function=function, stored_center=c, stored_width=w))
    return out


def display_lut(ds: Dataset, vmin: float, vmax: float, inverted: bool,
                secrets: list[str] | None = None) -> np.ndarray | None:
    """Resample the file's VOI LUT over normalised inputs: float32 (N,) in [0, 1], or None."""
    if "VOILUTSequence" not in ds:
        return None
    try:
        item = ds.VOILUTSequence[0]
        bits = int(item.LUTDescriptor[2])
        if not 1 <= bits <= 16:
            raise ValueError(f"LUT bit depth {bits}")
        norm = np.linspace(0.0, 1.0, DISPLAY_LUT_SIZE)
        stored = vmin + (1.0 - norm if inverted else norm) * (vmax - vmin)
        out = np.asarray(apply_voi_lut(stored, ds, index=0, prefer_lut=True), dtype=np.float64)
        out = np.clip(out / float(2**bits - 1), 0.0, 1.0)
        if out.shape != norm.shape or not np.isfinite(out).all():
            raise ValueError("LUT output has the wrong shape or is not finite")
        return (1.0 - out if inverted else out).astype(np.float32)
    except Exception as exc:  # noqa: BLE001 - a broken VOI LUT only loses a display preset
        log.warning("ignoring unreadable VOI LUT: %s", short_reason(exc, secrets or ()))
        return None


@_or_default("pixel spacing", (None, None))
def spacing(ds: Dataset) -> tuple[tuple[float, float] | None, str | None]:
    """(row, column) spacing in mm and the attribute it came from, or (None, None)."""
    candidates = [(ds, "PixelSpacing"), (ds, "ImagerPixelSpacing")]
    for group in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        try:
            candidates.append((ds[group][0].PixelMeasuresSequence[0], "PixelSpacing"))
        except Exception:  # noqa: BLE001 - absent or damaged functional groups
            pass
    for container, name in candidates:
        try:
            value = container.get(name)
            row, col = float(value[0]), float(value[1])
        except Exception:  # noqa: BLE001 - absent, single-valued or not numbers
            continue
        if math.isfinite(row) and math.isfinite(col) and row > 0 and col > 0:
            return (row, col), name
    return None, None


@_or_default("identifiers", Identifiers())
def identifiers(ds: Dataset) -> Identifiers:
    """Patient and study identifiers (redacted in repr; for the overlay and export only)."""
    def get(name: str) -> str:
        try:
            return str(ds.get(name, "") or "")
        except Exception:  # noqa: BLE001 - a damaged value (bad character set, VR)
            return ""
    return Identifiers(patient_name=get("PatientName"), patient_id=get("PatientID"),
                       study_instance_uid=get("StudyInstanceUID"),
                       series_instance_uid=get("SeriesInstanceUID"),
                       sop_instance_uid=get("SOPInstanceUID"))
