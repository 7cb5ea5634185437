"""DICOM films: pydicom decoding, modality LUT, MONOCHROME1, windows, spacing, identifiers.

Pixel processing uses pydicom's own functions (``pixel_array``, ``apply_modality_lut``,
``apply_voi_lut``, ``apply_color_lut``); this module only decides ranges and conventions.
Before decoding, ``dicom_checks`` makes sure the header accounts for the data's size.
Robustness: reads never allocate more than the file holds (a length field of 0xFFFFFFFF
costs nothing), every failure ends in a FilmError whose message and cause carry no
patient identifier, and pydicom's warnings go to the log at DEBUG, redacted.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import apply_color_lut, apply_modality_lut, get_decoder, pixel_array
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from xrayview.core.film import Film
from xrayview.core.io import dicom_checks as checks
from xrayview.core.io.deflate import read_deflated
from xrayview.core.io.dicom_meta import display_lut, identifiers, spacing, windows
from xrayview.core.io.errors import (
    CorruptFilmError,
    FilmError,
    FilmTooLargeError,
    UnsupportedFilmError,
    plain,
)
from xrayview.core.io.files import ClampedReader
from xrayview.core.io.pixels import film_pixels, luminance
from xrayview.core.io.privacy import (
    QuietWarnings,
    identifying_values,
    install_pydicom_log_filter,
    redacted_cause,
    short_reason,
)

log = logging.getLogger(__name__)
install_pydicom_log_filter()

_COLOR_PHOTOMETRICS = {"RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT", "YBR_PARTIAL_420"}


@contextlib.contextmanager
def _as_film_errors(path: Path, what: str, damaged: Callable[[str], str],
                    secrets: Callable[[], object] = tuple) -> Iterator[None]:
    """Any failure inside becomes a FilmError: FilmErrors pass, MemoryError is "too large
    to ``what`` in memory", anything else (pydicom raises many types for damaged data) a
    CorruptFilmError with message ``damaged(reason)``, its cause redacted of ``secrets()``."""
    try:
        yield
    except FilmError:
        raise
    except MemoryError:
        raise FilmTooLargeError(f"{path.name} is too large to {what} in memory.") from None
    except Exception as exc:  # noqa: BLE001 - damaged headers and elements surface anywhere
        raise CorruptFilmError(damaged(short_reason(exc, secrets()))) \
            from redacted_cause(exc, secrets())


def _read_dataset(path: Path, quiet: QuietWarnings, max_pixels: int) -> Dataset:
    """Parse the file (a deflated one within its budget, ``deflate.read_deflated``); an
    early end of file without pixel data is an error."""
    with _as_film_errors(path, "read", lambda reason: f"{path.name} is a damaged DICOM "
                         f"file: its header could not be read ({reason})."), \
            ClampedReader(path) as fh:
        ds = read_deflated(fh, path, max_pixels) or pydicom.dcmread(fh, force=True)
    quiet.secrets = identifying_values(ds)
    if len(ds) == 0 or (quiet.any_message("End of file") and "PixelData" not in ds):
        raise CorruptFilmError(f"{path.name} is a truncated or damaged DICOM file: "
                               "no image could be read from it.")
    return ds


def _transfer_syntax(ds: Dataset) -> UID:
    """The transfer syntax; for a bare data set, the encoding pydicom detected (recorded)."""
    meta = getattr(ds, "file_meta", None)
    uid = meta.get("TransferSyntaxUID") if meta is not None else None
    if not uid:
        implicit, little = getattr(ds, "original_encoding", (True, True))
        uid = (ImplicitVRLittleEndian if implicit else
               ExplicitVRLittleEndian if little else ExplicitVRBigEndian)
        if meta is None:
            ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = uid
    return UID(str(uid))


def _stored_range(h: dict[str, int]) -> tuple[int, int]:
    bits = h["bits_stored"]
    if h["signed"]:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def _modality_range(ds: Dataset, lo: int, hi: int, path: Path) -> tuple[float, float]:
    """Output range of the modality LUT over the stored range [lo, hi] (finite)."""
    if "ModalityLUTSequence" in ds and hi - lo < 2**20:
        grid = np.arange(lo, hi + 1, dtype=np.int64)
    else:
        grid = np.array([lo, hi], dtype=np.float64)
    try:
        with np.errstate(all="ignore"):
            out = np.asarray(apply_modality_lut(grid, ds), dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - a damaged LUT sequence fails in many ways
        raise CorruptFilmError(f"{path.name}: its modality LUT is damaged "
                               f"({short_reason(exc)}).") from redacted_cause(exc)
    if out.size == 0 or not np.isfinite(out).all():
        raise CorruptFilmError(f"{path.name}: its modality LUT (rescale) gives values that "
                               "are not finite.")
    return float(out.min()), float(out.max())


# Which installed plugin decodes which compressed syntax (pydicom would otherwise try them
# in its own order, Pillow included, whose JPEG 2000 path pydicom advises against).
_PREFERRED_PLUGIN = {
    "1.2.840.10008.1.2.4.50": "gdcm", "1.2.840.10008.1.2.4.51": "gdcm",
    "1.2.840.10008.1.2.4.57": "gdcm", "1.2.840.10008.1.2.4.70": "gdcm",
    "1.2.840.10008.1.2.4.80": "pyjpegls", "1.2.840.10008.1.2.4.81": "pyjpegls",
    "1.2.840.10008.1.2.4.90": "pylibjpeg", "1.2.840.10008.1.2.4.91": "pylibjpeg",
    "1.2.840.10008.1.2.4.201": "pylibjpeg", "1.2.840.10008.1.2.4.202": "pylibjpeg",
    "1.2.840.10008.1.2.4.203": "pylibjpeg", "1.2.840.10008.1.2.5": "pydicom",
}


def _plugin_for(uid: UID) -> str:
    plugin = _PREFERRED_PLUGIN.get(str(uid), "")
    if plugin and uid.is_compressed and plugin not in get_decoder(uid).available_plugins:
        return ""  # let pydicom choose among what is installed
    return plugin


def _decode(ds: Dataset, h: dict[str, int], uid: UID, frame: int, path: Path,
            secrets: list[str]) -> np.ndarray:
    """One frame's stored samples: (rows, columns) or (rows, columns, samples)."""
    plugin = _plugin_for(uid) if uid.is_compressed else ""
    try:
        if h["frames"] > 1:
            arr = pixel_array(ds, index=frame, decoding_plugin=plugin)
        else:
            arr = pixel_array(ds, decoding_plugin=plugin)
    except MemoryError:
        raise FilmTooLargeError(f"{path.name} is too large to decode in memory.") from None
    except Exception as exc:  # noqa: BLE001 - decoders raise anything for damaged data
        name = uid.name if uid.is_transfer_syntax else ""
        raise CorruptFilmError(f"{path.name}: the {name} pixel data could not be decoded "
                               f"({short_reason(exc, secrets)}).") from redacted_cause(exc, secrets)
    expected = (h["rows"], h["columns"]) + ((h["samples"],) if h["samples"] > 1 else ())
    if arr.shape != expected:
        raise CorruptFilmError(f"{path.name}: its decoded pixel data has shape {arr.shape}, "
                               f"which does not match the header ({' x '.join(map(str, expected))}).")
    return arr


def load_dicom(path: Path, frame: int = 0, max_pixels: int = 100_000_000) -> Film:
    """Load one frame of a DICOM file as a Film (pixels float32 (H, W) in [0, 1], MONOCHROME2).

    Raises a FilmError subclass for any damaged, unsupported or oversized file.
    """
    with QuietWarnings(log, "pydicom: ") as quiet, \
            _as_film_errors(path, "load", lambda reason: f"{path.name} is a damaged DICOM "
                            f"file ({reason}).", lambda: quiet.secrets):
        return _load(path, frame, max_pixels, quiet)


def _load(path: Path, frame: int, max_pixels: int, quiet: QuietWarnings) -> Film:
    ds = _read_dataset(path, quiet, max_pixels)
    h = checks.check_header(ds, path, max_pixels)
    uid = _transfer_syntax(ds)
    photometric = str(ds.get("PhotometricInterpretation", "") or "").upper().strip()
    modality = plain(ds.get("Modality", "") or "", 16) or None
    if not 0 <= frame < max(h["frames"], 1):
        raise FilmError(f"{path.name} has {max(h['frames'], 1)} frame(s); frame {frame} does not exist.")
    if not photometric:
        photometric = "MONOCHROME2" if h["samples"] == 1 else "RGB"
    checks.check_decoder(uid, h, path)
    if uid.is_encapsulated:
        checks.check_encapsulated(ds, h, uid, path)
    else:
        checks.check_native_length(ds, h, path, photometric)
    checks.check_rescale(ds, path)
    arr = _decode(ds, h, uid, frame, path, quiet.secrets)
    notes: list[str] = []

    lo, hi = _stored_range(h)
    transform = None
    if photometric == "PALETTE COLOR" and h["samples"] == 1:
        try:
            arr = apply_color_lut(arr, ds)
            bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
        except Exception as exc:  # noqa: BLE001
            raise CorruptFilmError(f"{path.name}: its colour palette is damaged "
                                   f"({short_reason(exc, quiet.secrets)}).") from redacted_cause(exc)
        transform = luminance
        vmin, vmax, bits_stored = 0.0, float(2 ** (8 if bits <= 8 else 16) - 1), bits
        notes.append("PALETTE COLOR mapped through its palette and converted to luminance (BT.601).")
    elif h["samples"] == 3 and photometric in _COLOR_PHOTOMETRICS:
        transform = luminance
        vmin, vmax, bits_stored = float(lo), float(hi), h["bits_stored"]
        notes.append(f"{photometric} colour image converted to luminance (BT.601).")
    elif h["samples"] == 1 and photometric in ("MONOCHROME1", "MONOCHROME2"):
        vmin, vmax = _modality_range(ds, lo, hi, path)
        transform = lambda block: apply_modality_lut(block, ds)  # noqa: E731
        bits_stored = h["bits_stored"]
        if "ModalityLUTSequence" in ds or "RescaleSlope" in ds or "RescaleIntercept" in ds:
            notes.append("Modality LUT (rescale) applied.")
    else:
        raise UnsupportedFilmError(
            f"{path.name} has photometric interpretation {plain(photometric, 32)} with "
            f"{h['samples']} sample(s) per pixel, which xrayview does not read."
        )

    inverted = photometric == "MONOCHROME1"
    pixels = film_pixels(arr, vmin, vmax, path, notes, "the range BitsStored allows",
                         invert=inverted, transform=transform)
    del arr
    if inverted:
        notes.append("MONOCHROME1 inverted on load (restored on export).")
    gray = photometric in ("MONOCHROME1", "MONOCHROME2")
    spacing_mm, spacing_source = spacing(ds)
    film_windows = windows(ds, vmin, vmax, inverted) if gray else []
    lut = display_lut(ds, vmin, vmax, inverted, quiet.secrets) if gray else None
    del ds.PixelData  # keep the header for export, not a second copy of the pixels
    return Film(
        pixels=pixels, source_format="DICOM", bits_stored=bits_stored,
        value_min=vmin, value_max=vmax, photometric=photometric, inverted=inverted,
        windows=film_windows, display_lut=lut, pixel_spacing_mm=spacing_mm,
        spacing_source=spacing_source, frame_index=frame, frame_count=max(h["frames"], 1),
        transfer_syntax=checks.ts_label(uid), modality=modality, source_path=path, notes=notes,
        identifiers=identifiers(ds), dicom_header=ds,
    )
