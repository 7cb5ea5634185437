"""The in-memory film: normalised pixels plus what the loader learned about them.

Conventions (DESIGN §2): ``Film.pixels`` is float32, shape (H, W), values in [0, 1],
MONOCHROME2 (brighter = more attenuation). The mapping back to stored values is
``stored = value_min + pixels * (value_max - value_min)`` (before re-inverting a
MONOCHROME1 source, see ``Film.inverted``), where ``value_min``/``value_max`` is the
range the header allows (BitsStored, modality LUT output), never the image min/max.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Window:
    """A display window in normalised units: centre and width in [0, 1] pixel space.

    ``stored_center``/``stored_width`` are the same window in the file's own units
    (modality LUT output), as a DICOM viewer would show them.

    ``explanation`` is the DICOM WindowCenterWidthExplanation (or a name we gave it).
    ``function`` is the DICOM VOI LUT Function: LINEAR, LINEAR_EXACT or SIGMOID.
    """

    center: float
    width: float
    explanation: str = ""
    function: str = "LINEAR"
    stored_center: float | None = None
    stored_width: float | None = None


@dataclass(frozen=True)
class Identifiers:
    """Patient and study identifiers, kept for export but never printed by default."""

    patient_name: str = ""
    patient_id: str = ""
    study_instance_uid: str = ""
    series_instance_uid: str = ""
    sop_instance_uid: str = ""

    def __repr__(self) -> str:  # never leak identifiers through logs or tracebacks
        present = [k for k, v in self.__dict__.items() if v]
        return f"Identifiers(<redacted: {', '.join(present) or 'none'}>)"

    __str__ = __repr__

    def as_dict(self) -> dict[str, str]:
        """The identifiers as a plain dict (only for an explicit user request or export)."""
        return dict(self.__dict__)


# JPEG Baseline, JPEG Extended, JPEG-LS near-lossless, JPEG 2000 (irreversible allowed)
LOSSY_TRANSFER_SYNTAXES = ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51",
                           "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.91")


@dataclass
class Film:
    """A loaded film.

    Attributes
    ----------
    pixels:
        float32 array, shape (H, W), values in [0, 1], MONOCHROME2.
    source_format:
        "DICOM", "PNG", "JPEG" or "TIFF" (what the content sniffer found).
    bits_stored:
        significant bits of the stored samples (8, 10, 12, 15, 16, ...).
    value_min, value_max:
        the stored/modality-LUT value range that maps to 0 and 1 (header based).
    photometric:
        photometric interpretation of the source ("MONOCHROME1", "MONOCHROME2", "RGB", ...).
    inverted:
        True when the source was MONOCHROME1 and was inverted on load.
    windows:
        display windows from the file (DICOM WindowCenter/Width), normalised units.
    display_lut:
        optional float32 array, shape (N,), values in [0, 1]: a non-linear VOI LUT from
        the file resampled over N equally spaced normalised inputs in [0, 1]. Display only.
    pixel_spacing_mm:
        (row spacing, column spacing) in mm, or None when unknown.
    spacing_source:
        which attribute gave the spacing ("PixelSpacing", "ImagerPixelSpacing", ...).
    frame_index, frame_count:
        which frame of a multi-frame source this is, and how many there are.
    transfer_syntax:
        DICOM transfer syntax name and UID ("Explicit VR Little Endian (1.2.840...)"), or None.
    modality:
        DICOM Modality ("CR", "DX", ...) or None for raster images.
    notes:
        plain-language notes on conversions made while loading (e.g. RGB to luminance).
    identifiers:
        patient/study identifiers (redacted in repr).
    dicom_header:
        the source pydicom Dataset without pixel data (for derived-DICOM export), or None.
    """

    pixels: np.ndarray
    source_format: str
    bits_stored: int
    value_min: float
    value_max: float
    photometric: str = "MONOCHROME2"
    inverted: bool = False
    windows: list[Window] = field(default_factory=list)
    display_lut: np.ndarray | None = None
    pixel_spacing_mm: tuple[float, float] | None = None
    spacing_source: str | None = None
    frame_index: int = 0
    frame_count: int = 1
    transfer_syntax: str | None = None
    modality: str | None = None
    source_path: Path | None = None
    notes: list[str] = field(default_factory=list)
    identifiers: Identifiers = field(default_factory=Identifiers)
    dicom_header: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        px = self.pixels
        if px.ndim != 2 or px.dtype != np.float32:
            raise ValueError(f"Film.pixels must be float32 (H, W); got {px.dtype} {px.shape}")

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the pixel array."""
        return (int(self.pixels.shape[0]), int(self.pixels.shape[1]))

    @property
    def lossy(self) -> bool:
        """Whether the pixels went through lossy compression: a JPEG file, a DICOM with
        LossyImageCompression "01", or a DICOM in a lossy transfer syntax (JPEG baseline /
        extended, JPEG-LS near-lossless, JPEG 2000 irreversible)."""
        if self.source_format == "JPEG":
            return True
        header = self.dicom_header
        if header is not None and str(header.get("LossyImageCompression", "")).strip() == "01":
            return True
        ts = self.transfer_syntax or ""
        return any(ts == uid or f"({uid})" in ts for uid in LOSSY_TRANSFER_SYNTAXES)

    def stored_values(self, pixels: np.ndarray | None = None) -> np.ndarray:
        """Map normalised pixels back to stored/modality values (float64, same shape).

        ``pixels`` defaults to ``self.pixels``; MONOCHROME1 sources are re-inverted, so the
        result is in the source's own convention.
        """
        p = self.pixels if pixels is None else pixels
        p = p.astype(np.float64)
        if self.inverted:
            p = 1.0 - p
        return self.value_min + p * (self.value_max - self.value_min)

    def normalise_value(self, stored: float) -> float:
        """Map one stored/modality value to the normalised MONOCHROME2 scale."""
        span = self.value_max - self.value_min
        v = (stored - self.value_min) / span if span else 0.0
        return 1.0 - v if self.inverted else v

    def summary(self) -> dict[str, Any]:
        """What the loader saw, as JSON-ready values, without identifiers."""
        return {
            "path": str(self.source_path) if self.source_path else None,
            "format": self.source_format,
            "rows": self.shape[0],
            "columns": self.shape[1],
            "bits_stored": self.bits_stored,
            "value_range": [self.value_min, self.value_max],
            "photometric": self.photometric,
            "inverted_on_load": self.inverted,
            "modality": self.modality,
            "pixel_spacing_mm": list(self.pixel_spacing_mm) if self.pixel_spacing_mm else None,
            "spacing_source": self.spacing_source,
            "windows": [
                {"center": w.stored_center, "width": w.stored_width,
                 "normalised_center": w.center, "normalised_width": w.width,
                 "explanation": w.explanation, "function": w.function}
                for w in self.windows
            ],
            "voi_lut": self.display_lut is not None,
            "transfer_syntax": self.transfer_syntax,
            "lossy_compressed": self.lossy,
            "frame_index": self.frame_index,
            "frames": self.frame_count,
            "notes": list(self.notes),
        }
