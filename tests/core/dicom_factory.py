"""Build small, valid DICOM files from arrays for tests (optionally compressed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid


def make_dicom(path: Path, pixels: np.ndarray, *, bits_stored: int = 12,
               photometric: str = "MONOCHROME2", signed: bool = False,
               transfer_syntax=ExplicitVRLittleEndian, modality: str = "DX",
               **attributes) -> Path:
    """Write ``pixels`` (integer (H, W) or (F, H, W)) as a DICOM file and return its path.

    ``attributes`` are set on the data set as given (e.g. RescaleSlope=2,
    ImagerPixelSpacing=[0.15, 0.15], PatientName="Test^Patient").
    """
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality = modality
    ds.PatientName, ds.PatientID = "Anon^Test", "TEST0001"
    arr = np.ascontiguousarray(pixels)
    ds.set_pixel_data(arr, photometric_interpretation=photometric, bits_stored=bits_stored)
    if signed:
        assert ds.PixelRepresentation == 1
    for key, value in attributes.items():
        setattr(ds, key, value)
    if transfer_syntax != ExplicitVRLittleEndian:
        ds.compress(transfer_syntax)
    ds.save_as(path, enforce_file_format=True)
    return Path(path)
