"""Checks on a DICOM header and its pixel data that run before anything is decoded.

Each check raises a FilmError subclass with a one-line message. Together they make sure
a decoder only ever sees data whose size the header accounts for: Rows x Columns under
the cap, native pixel data long enough, encapsulated fragments well formed and at least
one per frame, and a JPEG / JPEG-LS / JPEG 2000 codestream whose own size matches
Rows x Columns (a codestream claiming more would make the decoder allocate it).
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.pixels import get_decoder
from pydicom.uid import UID, JPEGExtended12Bit

from xrayview.core.io.errors import (
    CorruptFilmError,
    FilmTooLargeError,
    NoPixelDataError,
    UnsupportedFilmError,
    plain,
)

_ITEM, _SEQ_END = 0xFFFEE000, 0xFFFEE0DD
_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE,
                0xCF, 0xF7}  # ITU T.81 start-of-frame, and JPEG-LS SOF55


def ts_label(uid: UID) -> str:
    """"Name (UID)" of a transfer syntax, or "unknown transfer syntax (UID)"."""
    name = uid.name if uid.is_transfer_syntax else "unknown transfer syntax"
    return f"{name} ({plain(uid)})"


def int_attr(ds: Dataset, name: str, path: Path, default: int | None = None) -> int:
    """An integer attribute, or CorruptFilmError naming it when missing or not a number."""
    value = ds.get(name, default)
    if value is None or value == "":
        raise CorruptFilmError(f"{path.name} is a damaged DICOM image: {name} is missing.")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise CorruptFilmError(
            f"{path.name} is a damaged DICOM image: {name} is not a single whole number."
        ) from None
    return number


def check_header(ds: Dataset, path: Path, max_pixels: int) -> dict[str, int]:
    """Validate the image attributes; returns rows, columns, samples, bits, signed, frames."""
    pixel_data = ds.get("PixelData")
    if pixel_data is None or len(pixel_data) == 0:
        if "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
            raise UnsupportedFilmError(
                f"{path.name} holds floating-point pixel data, which xrayview does not read."
            )
        if "Rows" in ds and "Columns" in ds:
            raise NoPixelDataError(
                f"{path.name} describes an image but holds no pixel data "
                "(truncated or stripped file?)."
            )
        what = plain(ds.get("Modality") or "non-image", 16)
        raise NoPixelDataError(f"{path.name} is a DICOM {what} object without image pixels.")
    h = {
        "rows": int_attr(ds, "Rows", path),
        "columns": int_attr(ds, "Columns", path),
        "samples": int_attr(ds, "SamplesPerPixel", path, 1),
        "bits_allocated": int_attr(ds, "BitsAllocated", path),
        "bits_stored": int_attr(ds, "BitsStored", path, ds.get("BitsAllocated")),
        "signed": int_attr(ds, "PixelRepresentation", path, 0),
        "frames": int_attr(ds, "NumberOfFrames", path, 1) or 1,
    }
    if h["rows"] <= 0 or h["columns"] <= 0 or h["frames"] < 0:
        raise CorruptFilmError(f"{path.name} is a damaged DICOM image: it claims "
                               f"{h['columns']} x {h['rows']} pixels and {h['frames']} frame(s).")
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
    if (h["bits_allocated"] not in (1, 8, 16, 32)
            or not 1 <= h["bits_stored"] <= h["bits_allocated"] or h["signed"] not in (0, 1)):
        raise UnsupportedFilmError(
            f"{path.name} has BitsAllocated {h['bits_allocated']} / BitsStored "
            f"{h['bits_stored']} / PixelRepresentation {h['signed']}, which xrayview does not read."
        )
    return h


def check_decoder(uid: UID, h: dict[str, int], path: Path) -> None:
    """Refuse unknown syntaxes and compressed ones without an installed decoder."""
    if not uid.is_transfer_syntax:
        raise UnsupportedFilmError(f"{path.name} uses an unknown transfer syntax ({plain(uid)}).")
    if not uid.is_compressed:
        return
    try:
        decoder = get_decoder(uid)
    except NotImplementedError:
        raise UnsupportedFilmError(
            f"{path.name} uses {ts_label(uid)}, which xrayview cannot decode."
        ) from None
    if not decoder.is_available:
        raise UnsupportedFilmError(f"{path.name} uses {ts_label(uid)}; no decoder for it is installed.")
    if uid == JPEGExtended12Bit and h["bits_allocated"] > 8 \
            and "pylibjpeg" not in decoder.available_plugins:
        raise UnsupportedFilmError(
            f"{path.name} uses 12-bit {ts_label(uid)}; the bundled decoders (GDCM, "
            "Pillow) cannot read it. Installing pylibjpeg-libjpeg (GPL-3) adds support."
        )


def check_native_length(ds: Dataset, h: dict[str, int], path: Path, photometric: str) -> None:
    """Native pixel data must hold Rows x Columns x samples x frames."""
    samples = 2 if photometric == "YBR_FULL_422" else h["samples"]  # 4:2:2 subsampled
    n = h["rows"] * h["columns"] * samples * max(h["frames"], 1)
    needed = (n + 7) // 8 if h["bits_allocated"] == 1 else n * h["bits_allocated"] // 8
    have = len(ds.PixelData)
    if have < needed:
        raise CorruptFilmError(
            f"{path.name} is truncated: its pixel data holds {have} bytes but "
            f"{h['columns']} x {h['rows']} x {max(h['frames'], 1)} frame(s) need {needed}."
        )


def _fragments(data: bytes, path: Path) -> list[tuple[int, int]]:
    """(offset, length) of every item of encapsulated pixel data, offset table first."""
    pos, items = 0, []
    while pos + 8 <= len(data):
        group, elem, length = struct.unpack_from("<HHI", data, pos)
        tag = (group << 16) | elem
        if tag == _SEQ_END:
            break
        if tag != _ITEM or length == 0xFFFFFFFF or pos + 8 + length > len(data):
            raise CorruptFilmError(f"{path.name}: its compressed pixel data is damaged "
                                   f"(bad fragment at byte {pos}).")
        items.append((pos + 8, length))
        pos += 8 + length
    return items


def check_encapsulated(ds: Dataset, h: dict[str, int], uid: UID, path: Path) -> None:
    """Fragments well formed, at least one per frame, first codestream sized as the header."""
    data = ds.PixelData
    items = _fragments(data, path)
    fragments = [(o, n) for o, n in items[1:] if n > 0]
    if not fragments:
        raise NoPixelDataError(f"{path.name} holds no compressed image data.")
    frames = max(h["frames"], 1)
    if frames > len(fragments):
        raise CorruptFilmError(f"{path.name} claims {frames} frames but its compressed pixel "
                               f"data holds only {len(fragments)} fragment(s).")
    offset, length = fragments[0]
    size = codestream_size(bytes(data[offset:offset + min(length, 65536)]))
    if size is not None and size != (h["rows"], h["columns"]):
        raise CorruptFilmError(
            f"{path.name}: its {ts_label(uid)} codestream is {size[1]} x {size[0]} pixels but "
            f"the header says {h['columns']} x {h['rows']}."
        )


def codestream_size(head: bytes) -> tuple[int, int] | None:
    """(rows, columns) claimed by a JPEG, JPEG-LS or JPEG 2000 codestream's header, or
    None when ``head`` is none of these (e.g. RLE) or the header cannot be found."""
    at = head.find(b"\xff\x4f\xff\x51")  # JPEG 2000: SOC then SIZ (also inside a JP2 box)
    if 0 <= at < 4096 and len(head) >= at + 22:
        xsiz, ysiz, xo, yo = struct.unpack_from(">IIII", head, at + 8)
        return ysiz - yo, xsiz - xo
    if not head.startswith(b"\xff\xd8"):
        return None
    pos = 2
    while pos + 9 <= len(head):
        if head[pos] != 0xFF:
            return None
        marker = head[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _SOF_MARKERS:
            rows, cols = struct.unpack_from(">HH", head, pos + 5)
            return rows, cols
        if marker == 0xDA:
            return None
        pos += 2 + struct.unpack_from(">H", head, pos + 2)[0]
    return None


def check_rescale(ds: Dataset, path: Path) -> None:
    """RescaleSlope/Intercept, when present, must be single finite numbers, slope not 0."""
    for name in ("RescaleSlope", "RescaleIntercept"):
        if name not in ds:
            continue
        value = ds.get(name)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise CorruptFilmError(
                f"{path.name} is a damaged DICOM image: {name} is not a single number."
            ) from None
        if not math.isfinite(number) or (name == "RescaleSlope" and number == 0):
            raise CorruptFilmError(f"{path.name} is a damaged DICOM image: {name} is {number:g}.")
