"""DICOM films: pydicom decoding, modality LUT, MONOCHROME1, windows, spacing, identifiers.

Pixel processing uses pydicom's own functions (``pixel_array``, ``apply_modality_lut``,
``apply_voi_lut``, ``apply_color_lut``); this module only decides ranges and conventions.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.pixels import (
    apply_color_lut,
    apply_modality_lut,
    apply_voi_lut,
    get_decoder,
    pixel_array,
)
from pydicom.dataset import FileMetaDataset
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGExtended12Bit,
)

from xrayview.core.film import Film, Identifiers, Window
from xrayview.core.io.errors import (
    CorruptFilmError,
    FilmError,
    FilmTooLargeError,
    NoPixelDataError,
    UnsupportedFilmError,
)
from xrayview.core.io.pixels import luminance, normalise

log = logging.getLogger(__name__)

DISPLAY_LUT_SIZE = 4096
_COLOR_PHOTOMETRICS = {"RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT", "YBR_PARTIAL_420"}


def _read_dataset(path: Path) -> Dataset:
    """Parse the file; pydicom's warnings are logged, and an early end of file is an error."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ds = pydicom.dcmread(path, force=True)
    except Exception as exc:  # pydicom raises many types for damaged headers
        raise CorruptFilmError(
            f"{path.name} is a damaged DICOM file: its header could not be read ({_short(exc)})."
        ) from exc
    for w in caught:
        log.debug("pydicom: %s", w.message)
    truncated = any("End of file" in str(w.message) for w in caught)
    if len(ds) == 0 or (truncated and "PixelData" not in ds):
        raise CorruptFilmError(f"{path.name} is a truncated or damaged DICOM file: "
                               "no image could be read from it.")
    return ds


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


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


def _ts_label(uid: UID) -> str:
    name = uid.name if uid.is_transfer_syntax else "unknown transfer syntax"
    return f"{name} ({uid})"


def _int_attr(ds: Dataset, name: str, path: Path, default: int | None = None) -> int:
    value = ds.get(name, default)
    if value is None or value == "":
        raise CorruptFilmError(f"{path.name} is a damaged DICOM image: {name} is missing.")
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise CorruptFilmError(
            f"{path.name} is a damaged DICOM image: {name} is not a number ({value!r})."
        ) from exc
    return number


def _check_header(ds: Dataset, path: Path, max_pixels: int) -> dict[str, int]:
    """Validate the image attributes before any pixel is decoded."""
    if "PixelData" not in ds:
        if "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
            raise UnsupportedFilmError(
                f"{path.name} holds floating-point pixel data, which xrayview does not read."
            )
        if "Rows" in ds and "Columns" in ds:
            raise NoPixelDataError(
                f"{path.name} describes a {ds.Columns} x {ds.Rows} image but holds no pixel "
                "data (truncated or stripped file?)."
            )
        what = ds.get("Modality") or "non-image"
        raise NoPixelDataError(f"{path.name} is a DICOM {what} object without image pixels.")
    h = {
        "rows": _int_attr(ds, "Rows", path),
        "columns": _int_attr(ds, "Columns", path),
        "samples": _int_attr(ds, "SamplesPerPixel", path, 1),
        "bits_allocated": _int_attr(ds, "BitsAllocated", path),
        "bits_stored": _int_attr(ds, "BitsStored", path, ds.get("BitsAllocated")),
        "signed": _int_attr(ds, "PixelRepresentation", path, 0),
        "frames": _int_attr(ds, "NumberOfFrames", path, 1) or 1,
    }
    if h["rows"] <= 0 or h["columns"] <= 0 or h["frames"] < 0:
        raise CorruptFilmError(
            f"{path.name} is a damaged DICOM image: it claims {h['rows']} x {h['columns']} pixels."
        )
    if h["rows"] * h["columns"] > max_pixels:
        raise FilmTooLargeError(
            f"{path.name} claims {h['columns']} x {h['rows']} pixels "
            f"({h['rows'] * h['columns'] / 1e6:.0f} megapixels), over the limit of "
            f"{max_pixels / 1e6:.0f} megapixels."
        )
    if h["samples"] not in (1, 3):
        raise UnsupportedFilmError(
            f"{path.name} has {h['samples']} samples per pixel; only 1 or 3 are supported."
        )
    if h["bits_allocated"] not in (1, 8, 16, 32) or not 1 <= h["bits_stored"] <= h["bits_allocated"]:
        raise UnsupportedFilmError(
            f"{path.name} has BitsAllocated {h['bits_allocated']} / BitsStored "
            f"{h['bits_stored']}, which xrayview does not read."
        )
    return h


def _check_decoder(uid: UID, path: Path) -> None:
    if not uid.is_transfer_syntax:
        raise UnsupportedFilmError(f"{path.name} uses an unknown transfer syntax ({uid}).")
    if not uid.is_compressed:
        return
    try:
        decoder = get_decoder(uid)
    except NotImplementedError as exc:
        raise UnsupportedFilmError(
            f"{path.name} uses {_ts_label(uid)}, which xrayview cannot decode."
        ) from exc
    if not decoder.is_available:
        raise UnsupportedFilmError(
            f"{path.name} uses {_ts_label(uid)}; no decoder for it is installed."
        )


def _check_known_gaps(ds: Dataset, h: dict[str, int], uid: UID, path: Path) -> None:
    """Refuse combinations our permissively licensed decoders cannot handle, by name."""
    if uid == JPEGExtended12Bit and h["bits_allocated"] > 8:
        available = get_decoder(uid).available_plugins
        if "pylibjpeg" not in available:
            raise UnsupportedFilmError(
                f"{path.name} uses 12-bit {_ts_label(uid)}; the bundled decoders (GDCM, "
                "Pillow) cannot read it. Installing pylibjpeg-libjpeg (GPL-3) adds support."
            )


def _check_native_length(ds: Dataset, h: dict[str, int], uid: UID, path: Path,
                         photometric: str) -> None:
    if uid.is_encapsulated:
        return
    samples = 2 if photometric == "YBR_FULL_422" else h["samples"]  # 4:2:2 subsampled
    n = h["rows"] * h["columns"] * samples * max(h["frames"], 1)
    needed = (n + 7) // 8 if h["bits_allocated"] == 1 else n * h["bits_allocated"] // 8
    have = len(ds.PixelData)
    if have < needed:
        raise CorruptFilmError(
            f"{path.name} is truncated: its pixel data holds {have} bytes but "
            f"{h['rows']} x {h['columns']} x {max(h['frames'], 1)} frame(s) need {needed}."
        )


def _stored_range(h: dict[str, int]) -> tuple[int, int]:
    bits = h["bits_stored"]
    if h["signed"]:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def _modality_range(ds: Dataset, lo: int, hi: int) -> tuple[float, float]:
    """Output range of the modality LUT over the stored range [lo, hi]."""
    if "ModalityLUTSequence" in ds and hi - lo < 2**20:
        grid = np.arange(lo, hi + 1, dtype=np.int64)
    else:
        grid = np.array([lo, hi], dtype=np.float64)
    out = np.asarray(apply_modality_lut(grid, ds), dtype=np.float64)
    return float(out.min()), float(out.max())


def _windows(ds: Dataset, vmin: float, vmax: float, inverted: bool) -> list[Window]:
    centers, widths = ds.get("WindowCenter"), ds.get("WindowWidth")
    if centers is None or widths is None:
        return []
    as_list = lambda v: list(v) if isinstance(v, (list, tuple, pydicom.multival.MultiValue)) else [v]  # noqa: E731
    names = as_list(ds.get("WindowCenterWidthExplanation", []) or [])
    function = str(ds.get("VOILUTFunction", "LINEAR") or "LINEAR").upper()
    span = (vmax - vmin) or 1.0
    out = []
    for i, (c, w) in enumerate(zip(as_list(centers), as_list(widths))):
        try:
            c, w = float(c), float(w)
        except (TypeError, ValueError):
            continue
        if w <= 0:
            continue
        cn = (c - vmin) / span
        out.append(Window(center=1.0 - cn if inverted else cn, width=w / span,
                          explanation=str(names[i]) if i < len(names) else "",
                          function=function, stored_center=c, stored_width=w))
    return out


def _display_lut(ds: Dataset, vmin: float, vmax: float, inverted: bool) -> np.ndarray | None:
    """Resample the file's VOI LUT over normalised inputs: float32 (N,) in [0, 1]."""
    if "VOILUTSequence" not in ds:
        return None
    try:
        item = ds.VOILUTSequence[0]
        bits = int(item.LUTDescriptor[2])
        norm = np.linspace(0.0, 1.0, DISPLAY_LUT_SIZE)
        stored = vmin + (1.0 - norm if inverted else norm) * (vmax - vmin)
        out = np.asarray(apply_voi_lut(stored, ds, index=0, prefer_lut=True), dtype=np.float64)
        out = np.clip(out / float(2**bits - 1), 0.0, 1.0)
        return (1.0 - out if inverted else out).astype(np.float32)
    except Exception as exc:  # a broken VOI LUT only loses a display preset
        log.warning("ignoring unreadable VOI LUT: %s", _short(exc))
        return None


def _spacing(ds: Dataset) -> tuple[tuple[float, float] | None, str | None]:
    candidates = [(ds, "PixelSpacing"), (ds, "ImagerPixelSpacing")]
    for group in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        try:
            candidates.append((ds[group][0].PixelMeasuresSequence[0], "PixelSpacing"))
        except (KeyError, IndexError, AttributeError, TypeError):
            pass
    for container, name in candidates:
        value = container.get(name)
        try:
            row, col = float(value[0]), float(value[1])
        except (TypeError, ValueError, IndexError):
            continue
        if row > 0 and col > 0:
            return (row, col), name
    return None, None


def _identifiers(ds: Dataset) -> Identifiers:
    get = lambda name: str(ds.get(name, "") or "")  # noqa: E731
    return Identifiers(patient_name=get("PatientName"), patient_id=get("PatientID"),
                       study_instance_uid=get("StudyInstanceUID"),
                       series_instance_uid=get("SeriesInstanceUID"),
                       sop_instance_uid=get("SOPInstanceUID"))


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


def _decode(ds: Dataset, h: dict[str, int], uid: UID, frame: int, path: Path) -> np.ndarray:
    plugin = _plugin_for(uid) if uid.is_compressed else ""
    try:
        if h["frames"] > 1:
            return pixel_array(ds, index=frame, decoding_plugin=plugin)
        return pixel_array(ds, decoding_plugin=plugin)
    except FilmError:
        raise
    except MemoryError as exc:
        raise FilmTooLargeError(f"{path.name} is too large to decode in memory.") from exc
    except Exception as exc:
        raise CorruptFilmError(
            f"{path.name}: the {uid.name if uid.is_transfer_syntax else ''} pixel data "
            f"could not be decoded ({_short(exc)})."
        ) from exc


def load_dicom(path: Path, frame: int = 0, max_pixels: int = 200_000_000) -> Film:
    """Load one frame of a DICOM file as a Film (pixels float32 (H, W) in [0, 1], MONOCHROME2)."""
    ds = _read_dataset(path)
    try:
        h = _check_header(ds, path, max_pixels)
        uid = _transfer_syntax(ds)
        photometric = str(ds.get("PhotometricInterpretation", "") or "").upper().strip()
        modality = str(ds.get("Modality", "") or "") or None
    except FilmError:
        raise
    except Exception as exc:  # a malformed element surfaces when first accessed
        raise CorruptFilmError(f"{path.name} is a damaged DICOM file ({_short(exc)}).") from exc
    if not 0 <= frame < max(h["frames"], 1):
        raise FilmError(f"{path.name} has {max(h['frames'], 1)} frame(s); frame {frame} does not exist.")
    if not photometric:
        photometric = "MONOCHROME2" if h["samples"] == 1 else "RGB"
    _check_decoder(uid, path)
    _check_known_gaps(ds, h, uid, path)
    _check_native_length(ds, h, uid, path, photometric)
    arr = _decode(ds, h, uid, frame, path)
    notes: list[str] = []

    lo, hi = _stored_range(h)
    if photometric == "PALETTE COLOR":
        try:
            rgb = apply_color_lut(arr, ds)
            bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
        except Exception as exc:
            raise CorruptFilmError(f"{path.name}: its colour palette is damaged ({_short(exc)}).") from exc
        values = luminance(rgb)
        vmin, vmax, bits_stored = 0.0, float(2 ** (8 if bits <= 8 else 16) - 1), bits
        notes.append("PALETTE COLOR mapped through its palette and converted to luminance (BT.601).")
    elif h["samples"] == 3 or photometric in _COLOR_PHOTOMETRICS:
        values = luminance(arr)
        vmin, vmax, bits_stored = float(lo), float(hi), h["bits_stored"]
        notes.append(f"{photometric} colour image converted to luminance (BT.601).")
    elif photometric in ("MONOCHROME1", "MONOCHROME2"):
        values = np.asarray(apply_modality_lut(arr, ds), dtype=np.float64)
        vmin, vmax = _modality_range(ds, lo, hi)
        bits_stored = h["bits_stored"]
        if "ModalityLUTSequence" in ds or "RescaleSlope" in ds or "RescaleIntercept" in ds:
            notes.append("Modality LUT (rescale) applied.")
    else:
        raise UnsupportedFilmError(
            f"{path.name} has photometric interpretation {photometric}, which xrayview does not read."
        )

    inverted = photometric == "MONOCHROME1"
    pixels, clipped = normalise(values, vmin, vmax, invert=inverted)
    if clipped:
        notes.append(f"{clipped} pixels lay outside the range BitsStored allows and were clipped.")
    if inverted:
        notes.append("MONOCHROME1 inverted on load (restored on export).")
    spacing, spacing_source = _spacing(ds)
    gray = photometric in ("MONOCHROME1", "MONOCHROME2")
    windows = _windows(ds, vmin, vmax, inverted) if gray else []
    lut = _display_lut(ds, vmin, vmax, inverted) if gray else None
    identifiers = _identifiers(ds)
    del ds.PixelData  # keep the header for export, not a second copy of the pixels
    return Film(
        pixels=pixels, source_format="DICOM", bits_stored=bits_stored,
        value_min=vmin, value_max=vmax, photometric=photometric, inverted=inverted,
        windows=windows, display_lut=lut, pixel_spacing_mm=spacing,
        spacing_source=spacing_source, frame_index=frame, frame_count=max(h["frames"], 1),
        transfer_syntax=_ts_label(uid), modality=modality, source_path=path, notes=notes,
        identifiers=identifiers, dicom_header=ds,
    )
