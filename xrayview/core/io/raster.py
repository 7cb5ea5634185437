"""PNG, JPEG and TIFF films through Pillow, at their full bit depth.

Robustness: the header's pixel count is checked before decoding (a decompression bomb
costs only its header), a TIFF's strips or tiles must cover the image and lie inside
the file, Pillow's warnings go to the log at DEBUG, the file is always closed, and any
failure ends in a FilmError. Samples are converted to float32 a block of rows at a time.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import struct
import threading
import warnings
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

import numpy as np
from PIL import ExifTags, Image, ImageOps

from xrayview.core.film import Film
from xrayview.core.io.errors import (
    CorruptFilmError,
    FilmError,
    FilmTooLargeError,
    UnsupportedFilmError,
)
from xrayview.core.io.files import ClampedReader
from xrayview.core.io.pixels import film_pixels, luminance
from xrayview.core.io.privacy import QuietWarnings, redacted_cause, short_reason

log = logging.getLogger(__name__)

_pillow_cap_lock = threading.Lock()
_COLOR_MODES = {"RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV", "P", "PA"}
_16_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}
_ORIENTATIONS = {2: "Mirrored", 3: "Rotated", 4: "Flipped", 5: "Transposed", 6: "Rotated",
                 7: "Transposed", 8: "Rotated"}
"""EXIF orientations other than 1, as Pillow's ``ImageOps.exif_transpose`` applies them."""
_ORIENT_ARRAY = {2: np.fliplr, 3: lambda a: np.rot90(a, 2), 4: np.flipud,
                 5: lambda a: np.swapaxes(a, 0, 1), 6: lambda a: np.rot90(a, -1),
                 7: lambda a: np.swapaxes(np.rot90(a, 2), 0, 1), 8: lambda a: np.rot90(a, 1)}
MAX_PAGES = 1000
"""Pages of a multi-page TIFF that are counted and reachable."""
# TIFF tags without which the image cannot be laid out (a skipped one means a bad header).
_ESSENTIAL_TIFF_TAGS = {256, 257, 258, 259, 262, 273, 277, 278, 279, 284, 322, 323, 324,
                        325, 339}


@contextlib.contextmanager
def _pillow_pixel_cap(max_pixels: int) -> Iterator[None]:
    """Let our own header check (which names the size) be the decompression-bomb guard.

    Pillow's guard would refuse at open without the size in its message; ours runs right
    after ``Image.open`` (which reads only the header) and before any decoding. The guard
    is restored to ``max_pixels`` for the decode itself, as a second line of defence.
    """
    with _pillow_cap_lock:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _too_large(path: Path, w: int, h: int, max_pixels: int) -> FilmTooLargeError:
    return FilmTooLargeError(
        f"{path.name} claims {w} x {h} pixels ({w * h / 1e6:.3g} megapixels), over the "
        f"limit of {max_pixels / 1e6:.3g} megapixels."
    )


def _container_bits(im: Image.Image, fmt: str, path: Path) -> int:
    """Bits per sample the container declares (PNG IHDR, TIFF BitsPerSample)."""
    if fmt == "PNG":
        with open(path, "rb") as fh:
            ihdr = fh.read(25)
        if len(ihdr) == 25:
            return int(ihdr[24])
    if fmt == "TIFF":
        bps = im.tag_v2.get(258)  # BitsPerSample
        if isinstance(bps, tuple):
            bps = bps[0]
        if bps:
            return int(bps)
    if im.mode in _16_BIT_MODES:
        return 16
    return 1 if im.mode == "1" else 8


def _tiff_samples(fh: BinaryIO, frame: int, orientation: int) -> np.ndarray:
    """A 16-bit colour TIFF page's samples (H, W, C) at full depth (Pillow reads them
    as 8-bit RGB), through tifffile, oriented like Pillow's ``exif_transpose``."""
    import tifffile

    fh.seek(0)
    with tifffile.TiffFile(fh) as tif:
        page = tif.pages[frame]
        arr = page.asarray()
        if page.planarconfig == tifffile.PLANARCONFIG.SEPARATE:
            arr = np.moveaxis(arr, 0, -1)
    return _ORIENT_ARRAY.get(orientation, lambda a: a)(arr)


def _to_values(im: Image.Image, fmt: str, path: Path, notes: list[str],
               fh: BinaryIO | None = None, frame: int = 0, orientation: int = 1,
               ) -> tuple[np.ndarray, float, float, int, Callable | None]:
    """Samples (H, W) or (H, W, 3), the range [vmin, vmax] they are normalised over, the
    bit depth, and the per-block transform for ``normalise`` (luminance for colour)."""
    mode = im.mode
    if fmt == "TIFF" and mode in _COLOR_MODES and fh is not None \
            and _container_bits(im, fmt, path) == 16 and im.tag_v2.get(262) in (2, (2,)):
        arr = _tiff_samples(fh, frame, orientation)
        planes = " (its samples stored as separate planes)" if im.tag_v2.get(284) == 2 else ""
        notes.append(f"16-bit RGB colour image{planes} converted to luminance (BT.601).")
        return arr, 0.0, 65535.0, 16, luminance
    if mode == "1":
        return np.asarray(im, dtype=np.uint8), 0.0, 1.0, 1, None
    if mode in ("L", "LA"):
        if mode == "LA":
            notes.append("Alpha channel ignored.")
        bits = min(_container_bits(im, fmt, path), 8)
        return np.asarray(im.getchannel(0)), 0.0, 255.0, bits, None
    if mode in _16_BIT_MODES or mode == "I":
        bits = _container_bits(im, fmt, path)
        arr = np.asarray(im)
        signed = fmt == "TIFF" and im.tag_v2.get(339) in (2, (2,))  # SampleFormat int
        if bits == 32 and not signed and arr.dtype == np.int32:
            arr = arr.view(np.uint32)  # Pillow's mode I is signed: 2**31 and up wrap
        if bits > 16 and mode == "I" and fmt != "TIFF":
            bits = 16  # Pillow widens 16-bit PNG to mode I
        if not 1 <= bits <= 32:
            raise CorruptFilmError(f"{path.name} declares {bits} bits per sample.")
        if signed:
            return arr, -(2.0 ** (bits - 1)), 2.0 ** (bits - 1) - 1, bits, None
        return arr, 0.0, 2.0**bits - 1, bits, None
    if mode == "F":
        arr = np.asarray(im)
        if not np.isfinite(arr).all():
            raise CorruptFilmError(f"{path.name} holds non-finite (NaN/inf) pixel values.")
        lo, hi = float(arr.min()), float(arr.max())
        if lo >= 0.0 and hi <= 1.0:
            return arr, 0.0, 1.0, 32, None
        notes.append("Floating-point TIFF without a defined range: normalised by its own min/max.")
        return arr, lo, hi if hi > lo else lo + 1.0, 32, None
    if mode in _COLOR_MODES:
        if mode in ("RGBA", "PA"):
            notes.append("Alpha channel ignored.")
        notes.append(f"{mode} colour image converted to luminance (BT.601).")
        return np.asarray(im.convert("RGB")), 0.0, 255.0, 8, luminance
    raise UnsupportedFilmError(f"{path.name} has Pillow mode {mode}, which xrayview does not read.")


def _check_tiff_layout(im: Image.Image, path: Path, quiet: QuietWarnings) -> None:
    """The strips (or tiles) must cover the whole image and lie inside the file."""
    skipped = {int(t) for w in quiet.caught
               for t in re.findall(r"Skipping tag (\d+)", str(w.message))}
    if skipped & _ESSENTIAL_TIFF_TAGS:
        raise CorruptFilmError(f"{path.name} is a damaged TIFF file: its header tag(s) "
                               f"{sorted(skipped & _ESSENTIAL_TIFF_TAGS)} cannot be read.")
    tags, (w, h) = im.tag_v2, im.size
    as_tuple = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v,)  # noqa: E731
    if 322 in tags:
        tw, th = int(tags[322]), int(tags.get(323, 0))
        offsets, counts = as_tuple(tags.get(324, ())), as_tuple(tags.get(325, ()))
        needed = math.ceil(w / tw) * math.ceil(h / th) if tw > 0 and th > 0 else -1
    else:
        rows = int(as_tuple(tags.get(278, h))[0])
        offsets, counts = as_tuple(tags.get(273, ())), as_tuple(tags.get(279, ()))
        needed = math.ceil(h / rows) if rows > 0 else -1
    if int(as_tuple(tags.get(284, 1))[0]) == 2 and needed > 0:
        needed *= int(as_tuple(tags.get(277, 1))[0])  # one strip set per sample plane
    if needed < 0 or not offsets or len(offsets) < needed or len(counts) < len(offsets):
        raise CorruptFilmError(f"{path.name} is a damaged TIFF file: its strips or tiles do "
                               f"not cover the {w} x {h} image.")
    size = os.path.getsize(path)
    if any(o + c > size or c <= 0 for o, c in zip(offsets, counts)):
        raise CorruptFilmError(f"{path.name} is a damaged or truncated TIFF file: its image "
                               "data lies outside the file.")


def tiff_page_count(fh: BinaryIO, limit: int = MAX_PAGES) -> int:
    """Pages (IFDs) of a TIFF or BigTIFF, counted by walking the IFD chain (stops at a
    loop, at the end of the file and at ``limit``); Pillow's ``n_frames`` parses every
    page in full, which takes seconds for a file with tens of thousands of IFDs."""
    fh.seek(0)
    head = fh.read(16)
    order = "<" if head[:2] == b"II" else ">"
    big = head[2:4] in (b"+\x00", b"\x00+")
    offset = struct.unpack_from(order + ("Q" if big else "I"), head, 8 if big else 4)[0]
    seen: set[int] = set()
    while offset and offset not in seen and len(seen) < limit:
        seen.add(offset)
        fh.seek(offset)
        raw = fh.read(8 if big else 2)
        if len(raw) < (8 if big else 2):
            break
        n = struct.unpack(order + ("Q" if big else "H"), raw)[0]
        fh.seek(offset + (8 + 20 * n if big else 2 + 12 * n))
        nxt = fh.read(8 if big else 4)
        if len(nxt) < (8 if big else 4):
            break
        offset = struct.unpack(order + ("Q" if big else "I"), nxt)[0]
    fh.seek(0)
    return max(len(seen), 1)


_SAMPLE_FORMATS = {1: "unsigned integer", 2: "signed integer", 3: "floating-point",
                   5: "complex integer", 6: "complex floating-point"}


def _refuse_unsupported_samples(fh: BinaryIO, path: Path) -> None:
    """Raise UnsupportedFilmError when the first page's sample type is one Pillow does
    not decode (64-bit float or integer, complex, several float channels), so it is not
    called "damaged"."""
    from PIL.TiffImagePlugin import ImageFileDirectory_v2

    try:
        fh.seek(0)
        head = fh.read(16)
        ifd = ImageFileDirectory_v2(head if head[2] == 43 else head[:8])  # BigTIFF or not
        fh.seek(ifd.next)
        ifd.load(fh)
        bits, sample = ifd.get(258, (1,)), ifd.get(339, (1,))
        channels = int(ifd.get(277, 1))
    except Exception:  # noqa: BLE001 - a damaged header: the caller's error stands
        return
    bits = bits[0] if isinstance(bits, tuple) else bits
    sample = sample[0] if isinstance(sample, tuple) else sample
    kind = _SAMPLE_FORMATS.get(sample, f"sample format {sample}")
    if bits > 32 or sample in (5, 6):
        raise UnsupportedFilmError(
            f"{path.name} is a TIFF of {bits}-bit {kind} samples, which xrayview does not "
            "read (save it with 16-bit integer or 32-bit floating-point samples).")
    if channels > 1 and (sample == 3 or bits not in (8, 16)):
        raise UnsupportedFilmError(
            f"{path.name} is a TIFF of {channels} channels of {bits}-bit {kind} samples, "
            "which xrayview does not read (save it as one grey channel, or as 8- or 16-bit "
            "RGB).")


def _open(fh: ClampedReader, path: Path, fmt: str, frame: int, max_pixels: int,
          quiet: QuietWarnings) -> tuple[Image.Image, int]:
    """Open, check the size and layout, select the page and decode; (image, pages)."""
    with _pillow_pixel_cap(max_pixels):
        try:
            im = Image.open(fh)
        except Image.UnidentifiedImageError:
            if fmt == "TIFF":
                _refuse_unsupported_samples(fh, path)
            raise
        try:
            w, h = im.size
            if w * h > max_pixels:
                raise _too_large(path, w, h, max_pixels)
            Image.MAX_IMAGE_PIXELS = max_pixels
            n_frames = (tiff_page_count(fh) if fmt == "TIFF"
                        else int(getattr(im, "n_frames", 1) or 1))
            if not 0 <= frame < n_frames:
                raise FilmError(f"{path.name} has {n_frames} page(s); page {frame} does not exist.")
            if frame:
                im.seek(frame)
                w, h = im.size
                if w * h > max_pixels:
                    raise _too_large(path, w, h, max_pixels)
            if w <= 0 or h <= 0:
                raise CorruptFilmError(f"{path.name} is a damaged {fmt} file: it claims "
                                       f"{w} x {h} pixels.")
            if fmt == "TIFF":
                _check_tiff_layout(im, path, quiet)
            try:
                im.load()
            except Exception:
                if fmt == "TIFF":  # a layout Pillow identifies but cannot decode
                    _refuse_unsupported_samples(fh, path)
                raise
        except BaseException:
            im.close()
            raise
    return im, n_frames


def load_raster(path: Path, fmt: str, frame: int = 0, max_pixels: int = 100_000_000) -> Film:
    """Load a PNG/JPEG/TIFF as a Film (pixels float32 (H, W) in [0, 1], MONOCHROME2).

    The pixel count in the header is checked against ``max_pixels`` before decoding, so a
    decompression bomb costs only its header. Raises a FilmError subclass for bad input.
    """
    with QuietWarnings(log, "Pillow: ") as quiet:
        try:
            return _load(path, fmt, frame, max_pixels, quiet)
        except FilmError:
            raise
        except Image.DecompressionBombError:
            raise FilmTooLargeError(f"{path.name} is over the limit of "
                                    f"{max_pixels / 1e6:.0f} megapixels.") from None
        except MemoryError:
            raise FilmTooLargeError(f"{path.name} is too large to decode in memory.") from None
        except Exception as exc:  # noqa: BLE001 - Pillow raises OSError, SyntaxError, zlib.error ...
            raise CorruptFilmError(f"{path.name} is a damaged or truncated {fmt} file "
                                   f"({short_reason(exc)}).") from redacted_cause(exc)


def _load(path: Path, fmt: str, frame: int, max_pixels: int, quiet: QuietWarnings) -> Film:
    notes: list[str] = []
    with ClampedReader(path) as fh:
        im, n_frames = _open(fh, path, fmt, frame, max_pixels, quiet)
        try:
            if n_frames >= MAX_PAGES:
                notes.append(f"{fmt} holds {MAX_PAGES} or more pages; only the first "
                             f"{MAX_PAGES} can be shown.")
            elif n_frames > 1:
                notes.append(f"{fmt} holds {n_frames} pages; showing page {frame + 1}.")
            orientation = im.getexif().get(ExifTags.Base.Orientation, 1)
            if orientation in _ORIENTATIONS:  # always, also when the size stays the same
                ImageOps.exif_transpose(im, in_place=True)
                notes.append(f"{_ORIENTATIONS[orientation]} as its EXIF orientation "
                             f"({orientation}) says.")
            values, vmin, vmax, bits, transform = _to_values(im, fmt, path, notes, fh, frame,
                                                             orientation)
            photometric = "MONOCHROME2" if im.mode not in _COLOR_MODES else "RGB"
        finally:
            im.close()  # frees Pillow's copy of the samples before the float32 conversion
    pixels = film_pixels(values, vmin, vmax, path, notes, f"the {bits}-bit range",
                         transform=transform)
    del values
    return Film(pixels=pixels, source_format=fmt, bits_stored=bits, value_min=vmin,
                value_max=vmax, photometric=photometric, frame_index=frame,
                frame_count=n_frames, source_path=path, notes=notes)
