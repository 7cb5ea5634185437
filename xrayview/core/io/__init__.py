"""Film input/output: ``load_film(path) -> Film`` by content sniffing.

>>> from xrayview.core.io import load_film
>>> film = load_film("chest.dcm")          # doctest: +SKIP
>>> film.pixels.shape, film.pixels.dtype   # (H, W), float32 in [0, 1], MONOCHROME2
"""

from __future__ import annotations

import os
from pathlib import Path

from xrayview.core.film import Film
from xrayview.core.io.errors import (
    CorruptFilmError,
    FilmError,
    FilmTooLargeError,
    NoPixelDataError,
    NotAnImageError,
    UnsupportedFilmError,
)
from xrayview.core.io.files import not_regular
from xrayview.core.io.sniff import sniff_format

DEFAULT_MAX_PIXELS = 100_000_000
"""Default cap on Rows x Columns read from a header, checked before decoding.

100 megapixels is about twice the largest projection radiograph in clinical use (a
stitched full-leg film, ~50 MP; a 50 um mammogram is ~30 MP), and loading that many
costs at most ~0.8 GB (decoded samples plus the float32 film), so a decompression
bomb just under the cap still loads in a few seconds and under 1 GB.
"""

__all__ = [
    "DEFAULT_MAX_PIXELS", "CorruptFilmError", "Film", "FilmError", "FilmTooLargeError",
    "NoPixelDataError", "NotAnImageError", "UnsupportedFilmError", "load_film", "sniff_format",
]


def load_film(path: str | os.PathLike[str], frame: int = 0,
              max_pixels: int = DEFAULT_MAX_PIXELS) -> Film:
    """Load a PNG, JPEG, TIFF or DICOM film, recognised by its content.

    Parameters
    ----------
    path: the file to read.
    frame: frame (DICOM multi-frame) or page (TIFF) index, 0-based.
    max_pixels: refuse images whose header claims more than this many pixels per frame.

    Returns a Film whose ``pixels`` are float32 (H, W) in [0, 1], MONOCHROME2.
    Raises a FilmError subclass, whose message is one plain line, for any bad input.
    """
    p = Path(path)
    if max_pixels <= 0:
        raise ValueError(f"max_pixels must be positive, not {max_pixels}")
    try:
        kind = not_regular(p)  # stat only: a FIFO or device would block or never end
        if kind is not None:
            raise NotAnImageError(f"{p.name or p} is {kind}, not a film.")
        fmt = sniff_format(p)
    except FileNotFoundError as exc:
        raise FilmError(f"{p.name or p} does not exist.") from exc
    except PermissionError as exc:
        raise FilmError(f"{p.name} cannot be read (permission denied).") from exc
    except IsADirectoryError as exc:
        raise NotAnImageError(f"{p.name} is a folder, not a film.") from exc
    except OSError as exc:
        raise FilmError(f"{p.name} cannot be read ({exc.strerror or exc}).") from exc
    if fmt == "DICOM":
        from xrayview.core.io.dicom import load_dicom

        return load_dicom(p, frame=frame, max_pixels=max_pixels)
    from xrayview.core.io.raster import load_raster

    return load_raster(p, fmt, frame=frame, max_pixels=max_pixels)
