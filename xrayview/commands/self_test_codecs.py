"""Self-test of the DICOM decoders an installation carries (RLE, JPEG-LS, JPEG 2000, JPEG).

A packaged app finds its decoders through plugins that a freezer can leave behind
(pydicom imports them by name, pylibjpeg through package entry points, GDCM as a native
library), so ``--self-test`` encodes a region of the sample film with each compressed
transfer syntax the app claims to read, and reads every file back through ``load_film``:
lossless ones must return the exact stored values, JPEG Baseline (GDCM) must match
Pillow's own decoding of the same bytes to within one grey level.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np

from xrayview.core.io.synthetic_dicom import minimal_dataset

LOSSLESS = (  # (transfer syntax UID name in pydicom.uid, label)
    ("RLELossless", "RLE Lossless"),
    ("JPEGLSLossless", "JPEG-LS Lossless"),
    ("JPEG2000Lossless", "JPEG 2000 Lossless"),
)


def _jpeg_baseline(pixels8: np.ndarray):
    """A JPEG Baseline dataset made from Pillow's encoding of 8-bit ``pixels8``, and the
    pixels Pillow itself decodes from those bytes."""
    from PIL import Image
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGBaseline8Bit

    buf = io.BytesIO()
    Image.fromarray(pixels8).save(buf, format="JPEG", quality=90)
    expected = np.asarray(Image.open(io.BytesIO(buf.getvalue())), dtype=np.uint8)
    ds = minimal_dataset(pixels8, 8)
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.PixelData = encapsulate([buf.getvalue()])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.LossyImageCompression = "01"
    return ds, expected


def check_codecs(region: np.ndarray, folder: Path, check: Callable[[bool, str], None],
                 say: Callable[[str], None]) -> None:
    """Encode ``region`` (float32 (H, W) in [0, 1]) with each codec into ``folder``, read
    each file back with ``load_film`` and ``check`` the stored values."""
    import pydicom.uid

    from xrayview.core import io

    def read(path: Path, label: str):
        try:
            return io.load_film(path)
        except io.FilmError as exc:  # a decoder plugin missing from this installation
            check(False, f"{label} DICOM cannot be read: {exc}")

    values12 = np.round(region * 4095.0).astype(np.uint16)
    for uid_name, label in LOSSLESS:
        ds = minimal_dataset(values12, 12)
        try:
            ds.compress(getattr(pydicom.uid, uid_name))
        except (RuntimeError, ValueError, ImportError) as exc:  # no encoder plugin
            check(False, f"{label}: cannot encode a test file ({exc})")
        path = folder / f"codec_{uid_name}.dcm"
        ds.save_as(path, enforce_file_format=True)
        film = read(path, label)
        stored = np.round(film.stored_values()).astype(np.int64)
        check(film.shape == values12.shape and np.array_equal(stored, values12),
              f"{label} DICOM did not read back bit for bit")
        say(f"DICOM {label}: read back bit for bit")
    values8 = np.round(region * 255.0).astype(np.uint8)
    ds, expected = _jpeg_baseline(values8)
    path = folder / "codec_JPEGBaseline8Bit.dcm"
    ds.save_as(path, enforce_file_format=True)
    film = read(path, "JPEG Baseline")
    stored = np.round(film.stored_values())
    diff = float(np.abs(stored - expected).max()) if film.shape == expected.shape else np.inf
    check(diff <= 1.0, f"JPEG Baseline DICOM differs from Pillow's decoding by {diff:g}")
    say(f"DICOM JPEG Baseline (GDCM): within {diff:g} grey level of Pillow's decoding")
