"""Build small, valid DICOM files from arrays for tests (optionally compressed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.uid import ExplicitVRLittleEndian

from xrayview.core.io.synthetic_dicom import minimal_dataset


def make_dicom(path: Path, pixels: np.ndarray, *, bits_stored: int = 12,
               photometric: str = "MONOCHROME2", signed: bool = False,
               transfer_syntax=ExplicitVRLittleEndian, modality: str = "DX",
               **attributes) -> Path:
    """Write ``pixels`` (integer (H, W) or (F, H, W)) as a DICOM file and return its path.

    ``attributes`` are set on the data set as given (e.g. RescaleSlope=2,
    ImagerPixelSpacing=[0.15, 0.15], PatientName="Test^Patient").
    """
    ds = minimal_dataset(np.ascontiguousarray(pixels), bits_stored, modality, photometric)
    ds.PatientName, ds.PatientID = "Anon^Test", "TEST0001"
    if signed:
        assert ds.PixelRepresentation == 1
    for key, value in attributes.items():
        setattr(ds, key, value)
    if transfer_syntax != ExplicitVRLittleEndian:
        ds.compress(transfer_syntax)
    ds.save_as(path, enforce_file_format=True)
    return Path(path)
