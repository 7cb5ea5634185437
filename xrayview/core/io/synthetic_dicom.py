"""A minimal valid DICOM dataset around pixels the app made itself (benchmark, self-test).

Not for exporting a user's film (that is ``export.save_film``, which keeps the source's
header): a bare Secondary Capture with fresh UIDs, Explicit VR Little Endian.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid


def minimal_dataset(pixels: np.ndarray, bits_stored: int, modality: str = "OT",
                    photometric: str = "MONOCHROME2") -> Dataset:
    """A Secondary Capture holding ``pixels`` (integer (H, W) or (F, H, W)).

    ``bits_stored``: significant bits of the samples (e.g. 12 in uint16). The caller adds
    attributes and saves it with ``save_as(path, enforce_file_format=True)``.
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
    ds.set_pixel_data(pixels, photometric_interpretation=photometric,
                      bits_stored=bits_stored)
    return ds
