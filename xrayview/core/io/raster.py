"""PNG, JPEG and TIFF films through Pillow, at their full bit depth."""

from __future__ import annotations

import contextlib
import threading
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, ImageOps

from xrayview.core.film import Film
from xrayview.core.io.errors import (
    CorruptFilmError,
    FilmError,
    FilmTooLargeError,
    UnsupportedFilmError,
)
from xrayview.core.io.pixels import luminance, normalise

_pillow_cap_lock = threading.Lock()
_COLOR_MODES = {"RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV", "P", "PA"}
_16_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}


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
        f"{path.name} claims {w} x {h} pixels ({w * h / 1e6:.0f} megapixels), over the "
        f"limit of {max_pixels / 1e6:.0f} megapixels."
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


def _to_values(im: Image.Image, fmt: str, path: Path,
               notes: list[str]) -> tuple[np.ndarray, float, float, int]:
    """Pixel values (H, W) float64 with the range [vmin, vmax] they are normalised over."""
    mode = im.mode
    if mode == "1":
        return np.asarray(im, dtype=np.float64), 0.0, 1.0, 1
    if mode in ("L", "LA"):
        if mode == "LA":
            notes.append("Alpha channel ignored.")
        bits = min(_container_bits(im, fmt, path), 8)
        arr = np.asarray(im.getchannel(0), dtype=np.float64)
        return arr, 0.0, 255.0, bits
    if mode in _16_BIT_MODES or mode == "I":
        bits = _container_bits(im, fmt, path)
        arr = np.asarray(im, dtype=np.float64)
        signed = fmt == "TIFF" and im.tag_v2.get(339) in (2, (2,))  # SampleFormat int
        if bits > 16 and mode == "I" and fmt != "TIFF":
            bits = 16  # Pillow widens 16-bit PNG to mode I
        if signed:
            return arr, -(2.0 ** (bits - 1)), 2.0 ** (bits - 1) - 1, bits
        return arr, 0.0, 2.0**bits - 1, bits
    if mode == "F":
        arr = np.asarray(im, dtype=np.float64)
        if not np.isfinite(arr).all():
            raise CorruptFilmError(f"{path.name} holds non-finite (NaN/inf) pixel values.")
        lo, hi = float(arr.min()), float(arr.max())
        if lo >= 0.0 and hi <= 1.0:
            return arr, 0.0, 1.0, 32
        notes.append("Floating-point TIFF without a defined range: normalised by its own min/max.")
        return arr, lo, hi if hi > lo else lo + 1.0, 32
    if mode in _COLOR_MODES:
        if mode in ("RGBA", "PA"):
            notes.append("Alpha channel ignored.")
        rgb = np.asarray(im.convert("RGB"))
        notes.append(f"{mode} colour image converted to luminance (BT.601).")
        return luminance(rgb), 0.0, 255.0, 8
    raise UnsupportedFilmError(f"{path.name} has Pillow mode {mode}, which xrayview does not read.")


def load_raster(path: Path, fmt: str, frame: int = 0, max_pixels: int = 200_000_000) -> Film:
    """Load a PNG/JPEG/TIFF as a Film (pixels float32 (H, W) in [0, 1], MONOCHROME2).

    The pixel count in the header is checked against ``max_pixels`` before decoding, so a
    decompression bomb costs only its header.
    """
    notes: list[str] = []
    try:
        with _pillow_pixel_cap(max_pixels):
            im = Image.open(path)
            w, h = im.size
            if w * h > max_pixels:
                raise _too_large(path, w, h, max_pixels)
            Image.MAX_IMAGE_PIXELS = max_pixels
            n_frames = int(getattr(im, "n_frames", 1) or 1)
            if not 0 <= frame < n_frames:
                raise FilmError(f"{path.name} has {n_frames} page(s); page {frame} does not exist.")
            if frame:
                im.seek(frame)
                w, h = im.size
                if w * h > max_pixels:
                    raise _too_large(path, w, h, max_pixels)
            im.load()
    except FilmError:
        raise
    except Image.DecompressionBombError as exc:
        raise FilmTooLargeError(f"{path.name} is over the limit of {max_pixels / 1e6:.0f} "
                                "megapixels.") from exc
    except MemoryError as exc:
        raise FilmTooLargeError(f"{path.name} is too large to decode in memory.") from exc
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, zlib.error ...
        reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise CorruptFilmError(f"{path.name} is a damaged or truncated {fmt} file ({reason}).") from exc
    if n_frames > 1:
        notes.append(f"{fmt} holds {n_frames} pages; showing page {frame + 1}.")
    transposed = ImageOps.exif_transpose(im)
    if transposed is not None and transposed.size != im.size:
        notes.append("Rotated as its EXIF orientation says.")
        im = transposed
    values, vmin, vmax, bits = _to_values(im, fmt, path, notes)
    pixels, clipped = normalise(values, vmin, vmax)
    if clipped:
        notes.append(f"{clipped} pixels lay outside the {bits}-bit range and were clipped.")
    return Film(pixels=pixels, source_format=fmt, bits_stored=bits, value_min=vmin,
                value_max=vmax, photometric="MONOCHROME2" if im.mode not in _COLOR_MODES
                else "RGB", frame_index=frame, frame_count=n_frames, source_path=path,
                notes=notes)
