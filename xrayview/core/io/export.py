"""Export films: 16-bit PNG/TIFF and derived DICOM, atomically, never over the input.

``save_film(pixels, path, source)`` picks the format from the extension (.png, .tif,
.tiff, .dcm). Writes go to a temporary file in the target folder, are flushed and fsynced,
then renamed over the target (``os.replace``), so a reader never sees half a file.

Derived DICOM (see ``_derived_dicom``): from a single-frame greyscale DICOM source the
source's SOP class and header are kept (Patient, Study, equipment, windows, modality LUT);
otherwise (raster source, colour or multi-frame DICOM) a Secondary Capture is written.
Either way: ImageType DERIVED\\SECONDARY, new SOP Instance and Series Instance UIDs,
SourceImageSequence referencing the source SOP instance, DerivationDescription, pixel
spacing divided by the scale, MONOCHROME1 restored, and for a DICOM source the values are
mapped back to its stored range (BitsStored, PixelRepresentation, rescale) unchanged.
With ``deidentify=True`` the Basic Profile of PS3.15 is applied (``deidentify.py``).
pydicom's warnings while building and writing are logged (redacted), never printed.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import os
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pydicom
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import apply_modality_lut
from pydicom.sequence import Sequence
from pydicom.uid import (
    ExplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
    generate_uid,
)
from pydicom.valuerep import format_number_as_ds

from xrayview import __version__
from xrayview.core.film import Film
from xrayview.core.io.deidentify import deidentify as deidentify_dataset
from xrayview.core.io.errors import ExportError
from xrayview.core.io.files import MAX_NAME_BYTES
from xrayview.core.io.files import atomic_write as _atomic_write
from xrayview.core.io.provenance import PNG_KEY, TIFF_TAG
from xrayview.core.io.provenance import add_to_dataset as add_provenance
from xrayview.core.io.provenance import as_text as provenance_text
from xrayview.core.io.privacy import QuietWarnings, identifying_values, short_reason

log = logging.getLogger(__name__)

FORMATS = {".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF", ".dcm": "DICOM"}
_SPACING = ("PixelSpacing", "ImagerPixelSpacing", "NominalScannedPixelSpacing")
_SHUTTER_PIXELS = (  # display shutter / collimator coordinates, in pixels
    "ShutterLeftVerticalEdge", "ShutterRightVerticalEdge", "ShutterUpperHorizontalEdge",
    "ShutterLowerHorizontalEdge", "CenterOfCircularShutter", "RadiusOfCircularShutter",
    "VerticesOfThePolygonalShutter", "CollimatorLeftVerticalEdge",
    "CollimatorRightVerticalEdge", "CollimatorUpperHorizontalEdge",
    "CollimatorLowerHorizontalEdge", "CenterOfCircularCollimator",
    "RadiusOfCircularCollimator", "VerticesOfThePolygonalCollimator")
_DROP = ("SmallestImagePixelValue", "LargestImagePixelValue", "IconImageSequence",
         "NumberOfFrames", "FrameIncrementPointer", "ExtendedOffsetTable",
         "ExtendedOffsetTableLengths", "DataSetTrailingPadding", "PixelDataProviderURL")
_PATIENT_STUDY = (
    "SpecificCharacterSet", "PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate",
    "PatientSex", "PatientAge", "PatientSize", "PatientWeight", "OtherPatientIDsSequence",
    "StudyInstanceUID", "StudyDate", "StudyTime", "StudyID", "AccessionNumber",
    "ReferringPhysicianName", "StudyDescription", "Modality", "BodyPartExamined",
    "Laterality", "PatientOrientation", "FrameOfReferenceUID", "LossyImageCompression",
    "LossyImageCompressionRatio", "LossyImageCompressionMethod")
_LUT_ATTRS = ("RescaleSlope", "RescaleIntercept", "RescaleType", "ModalityLUTSequence",
              "WindowCenter", "WindowWidth", "WindowCenterWidthExplanation", "VOILUTFunction",
              "VOILUTSequence", "PresentationLUTShape")
_ALWAYS_LOSSY_TS = ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51")


def save_film(pixels: np.ndarray, path: str | os.PathLike[str], source: Film | None = None,
              *, scale: int = 1, description: str = "", bits: int = 16,
              deidentify: bool = False, provenance: dict | None = None) -> Path:
    """Write ``pixels`` (float32 (H, W) in [0, 1], MONOCHROME2) to ``path``; returns the path.

    source: the film the pixels were derived from (for DICOM metadata, spacing and the
    stored range), or None. scale: output pixels per source pixel (spacing is divided by
    it). description: DerivationDescription text (model, weights hash, scale, dehazing).
    bits: 16 (default) or 8 for PNG/TIFF and a Secondary Capture (a greyscale DICOM
    source keeps its own stored range and BitsStored instead).
    deidentify: for .dcm, remove or replace patient and study identifiers after the
    PS3.15 Basic Profile (refused for a source with burned-in annotation). PNG and
    TIFF outputs carry no identifiers either way.
    provenance: what made the pixels (``Enhanced.provenance()``), written into the file
    (``core.io.provenance``: PNG iTXt, TIFF ImageDescription, DICOM private block).
    Raises ExportError (a FilmError: one plain line) for an unknown extension, a missing
    folder, an attempt to overwrite the source film, or a write failure.
    """
    out = Path(path)
    fmt = check_destination(out, source)
    if bits not in (8, 16):
        raise ExportError(f"bits must be 8 or 16, not {bits}.")
    if scale <= 0:
        raise ExportError(f"scale must be positive, not {scale}.")
    px = np.asarray(pixels)
    if px.ndim != 2 or px.size == 0:
        raise ExportError(f"cannot write an image of shape {px.shape}; expected (H, W).")
    check_output_shape(out, px.shape)
    px = np.clip(np.nan_to_num(px.astype(np.float32, copy=False), nan=0.0), 0.0, 1.0)
    text = None if provenance is None else provenance_text(provenance)
    if fmt == "DICOM":
        _save_dicom(px, out, source, scale, description, bits, deidentify, text)
    else:
        im = Image.fromarray(_quantise(px, bits))
        options: dict = {"compression": "tiff_adobe_deflate"} if fmt == "TIFF" else {}
        if text is not None and fmt == "PNG":
            info = PngInfo()
            info.add_itxt(PNG_KEY, text)
            options["pnginfo"] = info
        elif text is not None:
            options["tiffinfo"] = {TIFF_TAG: text}
        if source is not None and source.pixel_spacing_mm:
            row, col = source.pixel_spacing_mm
            options["dpi"] = (25.4 * scale / col, 25.4 * scale / row)
        _atomic_write(out, lambda fh: im.save(_PythonWrites(fh), format=fmt, **options))
    return out


class _PythonWrites:
    """A file object without ``fileno``: Pillow's libtiff encoder then hands its bytes to
    Python instead of writing the descriptor itself, so a full disk is an OSError with
    its errno (not libtiff's own stderr line and "encoder error -2")."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self.write, self.seek, self.tell, self.flush = fh.write, fh.seek, fh.tell, fh.flush


MAX_DICOM_SIDE = 65535
"""Rows and Columns are 16-bit unsigned in DICOM."""


def check_output_shape(path: str | os.PathLike[str], shape: tuple[int, int]) -> None:
    """ExportError (before any work) when an image of ``shape`` (H, W) cannot be stored
    in ``path``'s format: DICOM holds at most 65535 rows and columns."""
    out = Path(path)
    if FORMATS.get(out.suffix.lower()) == "DICOM" and max(shape) > MAX_DICOM_SIDE:
        h, w = shape
        raise ExportError(f"cannot write {out.name}: a {w} x {h} image is larger than DICOM "
                          f"allows ({MAX_DICOM_SIDE} rows and columns at most); save it as "
                          ".png or .tif, or use a smaller scale.")


def check_destination(path: str | os.PathLike[str], source: Film | None = None) -> str:
    """Check ``path`` before any work: its format ("PNG", "TIFF", "DICOM") or ExportError.

    Refuses an unknown extension, a name over 255 bytes, a missing folder and the
    source film's own file.
    """
    out = Path(path)
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise ExportError(f"cannot write {out.name}: unknown extension "
                          f"{out.suffix or '(none)'!r}; use .png, .tif, .tiff or .dcm.")
    if len(out.name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        raise ExportError(f"cannot write {out.name[:40]}...: the name is longer than "
                          f"{MAX_NAME_BYTES} bytes.")
    if source is not None and source.source_path is not None \
            and _same_file(out, source.source_path):
        raise ExportError(f"refusing to write over the input film {out.name}; "
                          "choose another name.")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(f"cannot write {out.name}: folder {folder} does not exist.")
    if out.is_dir():
        raise ExportError(f"cannot write {out.name}: it is a folder.")
    return fmt


def _save_dicom(px: np.ndarray, out: Path, film: Film | None, scale: int, description: str,
                bits: int, deidentify: bool, provenance: str | None) -> None:
    hdr = film.dicom_header if film is not None else None
    if deidentify and hdr is not None and \
            str(hdr.get("BurnedInAnnotation", "") or "").upper().strip() == "YES":
        raise ExportError(f"refusing to write {out.name} de-identified: the source film has "
                          "burned-in annotation (identifiers may be in the pixels).")
    with QuietWarnings(log, "pydicom (export): ") as quiet:
        quiet.secrets = identifying_values(hdr) if hdr is not None else []
        try:
            ds = _derived_dicom(px, film, scale, description, bits)
            if deidentify:
                deidentify_dataset(ds)
                ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            if provenance is not None:  # no identifiers in it: kept when de-identified
                add_provenance(ds, provenance)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ExportError(f"cannot build the derived DICOM for {out.name} "
                              f"({short_reason(exc, quiet.secrets)}).") from None

        def write(fh: BinaryIO) -> None:
            try:  # dcmwrite (not save_as) also re-encodes a big-endian source's elements
                pydicom.dcmwrite(fh, ds, enforce_file_format=True)
            except (ValueError, TypeError, KeyError) as exc:
                raise ExportError(f"cannot write {out.name} as DICOM "
                                  f"({short_reason(exc, quiet.secrets)}).") from None
        _atomic_write(out, write)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == Path(b).resolve()


def _quantise(px: np.ndarray, bits: int) -> np.ndarray:
    """[0, 1] float -> uint8/uint16 over the full 0 .. 2**bits - 1 range (rounded)."""
    dtype = np.uint16 if bits == 16 else np.uint8
    return np.rint(px * float(2**bits - 1)).astype(dtype)


def _stored_range(hdr: Dataset) -> tuple[int, int, bool]:
    bits, signed = int(hdr.BitsStored), int(hdr.get("PixelRepresentation", 0) or 0) == 1
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1, True) if signed else (0, 2**bits - 1, False)


def _to_stored(px: np.ndarray, film: Film, hdr: Dataset) -> np.ndarray | None:
    """Normalised pixels -> the source's stored values (int16/uint16, or int8/uint8 for an
    8-bit source), None if impossible."""
    lo, hi, signed = _stored_range(hdr)
    values = film.stored_values(px)  # modality-LUT output, source photometric
    if "ModalityLUTSequence" in hdr:
        grid = np.arange(lo, hi + 1)
        lut = np.asarray(apply_modality_lut(grid, hdr), dtype=np.float64)
        if hi - lo > 2**16 or np.any(np.diff(lut) < 0):
            return None  # not monotonic: cannot be inverted
        idx = np.clip(np.searchsorted(lut, values), 1, len(lut) - 1)
        nearer_left = (values - lut[idx - 1]) <= (lut[idx] - values)
        stored = grid[idx - nearer_left.astype(np.int64)].astype(np.float64)
    else:
        slope = float(hdr.get("RescaleSlope", 1) or 1)
        stored = (values - float(hdr.get("RescaleIntercept", 0) or 0)) / slope
    wide = int(hdr.get("BitsAllocated", 16) or 16) > 8  # an 8-bit source stays 8-bit
    dtype = (np.int16 if signed else np.uint16) if wide else (np.int8 if signed else np.uint8)
    return np.clip(np.rint(stored), lo, hi).astype(dtype)


def _keeps_values(film: Film | None, hdr: Dataset | None) -> bool:
    return (film is not None and hdr is not None
            and film.photometric in ("MONOCHROME1", "MONOCHROME2")
            and int(hdr.get("BitsAllocated", 0) or 0) in (8, 16) and "BitsStored" in hdr)


def _scaled_ds(value, scale: int) -> list[str]:
    return [format_number_as_ds(float(v) / scale) for v in value]


def _derived_dicom(px: np.ndarray, film: Film | None, scale: int, description: str,
                   bits: int) -> Dataset:
    """The derived data set (file meta included) for normalised pixels ``px``."""
    hdr = film.dicom_header if film is not None else None
    stored = _to_stored(px, film, hdr) if _keeps_values(film, hdr) else None
    same_class = (stored is not None and film.frame_count == 1 and "SOPClassUID" in hdr
                  and "SharedFunctionalGroupsSequence" not in hdr
                  and "PerFrameFunctionalGroupsSequence" not in hdr)
    if same_class:
        ds = copy.deepcopy(hdr)
        for tag in [t for t in ds.keys() if t.group & 0xFF00 == 0x6000 or t.group == 0x7FE0]:
            del ds[tag]  # overlays and any pixel data no longer fit the new grid
        for name in _DROP:
            ds.pop(name, None)
        for name in _SHUTTER_PIXELS:
            if name in ds and scale != 1:
                ds[name].value = [int(round(float(v) * scale)) for v in ds[name].value] \
                    if ds[name].VM > 1 else int(round(float(ds[name].value) * scale))
    else:
        ds = Dataset()
        ds.SOPClassUID = SecondaryCaptureImageStorage
        if hdr is not None:
            for name in _PATIENT_STUDY + (_LUT_ATTRS if stored is not None else ()):
                if name in hdr:
                    ds[name] = copy.deepcopy(hdr[name])
        for name in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate",
                     "StudyTime", "StudyID", "AccessionNumber", "ReferringPhysicianName",
                     "PatientOrientation"):  # Type 2: empty = unknown
            ds.setdefault(name, "")
        ds.setdefault("StudyInstanceUID", generate_uid())
        ds.setdefault("Modality", "OT")
        ds.ConversionType = "WSD"
        ds.SecondaryCaptureDeviceManufacturer = "xrayview"
        ds.SecondaryCaptureDeviceSoftwareVersions = __version__
        if film is not None and film.pixel_spacing_mm:  # divided by the scale below
            ds.PixelSpacing = [format_number_as_ds(v) for v in film.pixel_spacing_mm]
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    if stored is not None:
        ds.set_pixel_data(stored, film.photometric, int(hdr.BitsStored),
                          generate_instance_uid=False)
    else:
        inverted = film is not None and film.inverted
        ds.set_pixel_data(_quantise(1.0 - px if inverted else px, bits),
                          "MONOCHROME1" if inverted else "MONOCHROME2", bits,
                          generate_instance_uid=False)
    for name in _SPACING:
        if name in ds and scale != 1:
            ds[name].value = _scaled_ds(ds[name].value, scale)
    _laterality(ds)
    _mark_derived(ds, film, hdr, description)
    return ds


# Body parts (BodyPartExamined, PS3.16 Annex L) that come in pairs: only for these (or an
# unknown body part) does the General Series module want Laterality (Type 2C).
PAIRED_BODY_PARTS = frozenset({
    "BREAST", "EYE", "EAR", "KIDNEY", "LUNG", "OVARY", "TESTIS", "ADRENAL", "ORBIT",
    "PAROTID", "SUBMANDIBULAR", "TMJ", "ACJOINT", "SIJOINT", "CLAVICLE", "SCAPULA",
    "SHOULDER", "ARM", "UPPRARM", "HUMERUS", "ELBOW", "FOREARM", "RADIUS", "ULNA",
    "WRIST", "HAND", "FINGER", "THUMB", "HIP", "THIGH", "FEMUR", "KNEE", "PATELLA",
    "LEG", "LOWERLEG", "TIBIA", "FIBULA", "ANKLE", "HEEL", "CALCANEUS", "FOOT", "TOE",
    "EXTREMITY", "UPPEREXTREMITY", "LOWEREXTREMITY", "CAROTID", "FEMORALA"})


def _laterality(ds: Dataset) -> None:
    """Laterality (General Series, Type 2C): kept with a value; otherwise empty where it
    is required (a paired or unknown body part, no ImageLaterality) and absent where
    its condition does not hold (an unpaired body part such as CHEST or HEAD)."""
    if str(ds.get("Laterality", "") or "").strip():
        return
    body = str(ds.get("BodyPartExamined", "") or "").upper().strip()
    if "ImageLaterality" not in ds and (not body or body in PAIRED_BODY_PARTS):
        ds.Laterality = ""
    else:
        ds.pop("Laterality", None)


_MULTI_FRAME_CLASSES = frozenset({  # multi-frame IODs whose names do not say so
    "1.2.840.10008.5.1.4.1.1.20",      # Nuclear Medicine Image
    "1.2.840.10008.5.1.4.1.1.12.1",    # X-Ray Angiographic Image
    "1.2.840.10008.5.1.4.1.1.12.2",    # X-Ray Radiofluoroscopic Image
    "1.2.840.10008.5.1.4.1.1.13.1.1",  # X-Ray 3D Angiographic Image
    "1.2.840.10008.5.1.4.1.1.13.1.2",  # X-Ray 3D Craniofacial Image
    "1.2.840.10008.5.1.4.1.1.77.1.6",  # VL Whole Slide Microscopy Image
})


def _valid_uid(uid) -> bool:
    """A UID a reference may repeat: valid syntax under a root of 0, 1 or 2 (PS3.5 9.1)."""
    text = str(uid or "")
    return (bool(text) and pydicom.uid.UID(text).is_valid
            and text.split(".")[0] in ("0", "1", "2"))


def _multi_frame_class(uid) -> bool:
    """Whether instances of SOP class ``uid`` may hold several frames (only then may a
    reference to them name a frame: Image SOP Instance Reference Macro)."""
    uid = str(uid)
    if uid in _MULTI_FRAME_CLASSES:
        return True
    name = pydicom.uid.UID(uid).name.lower()
    return any(w in name for w in ("multi-frame", "enhanced", "tomosynthesis", "volume",
                                   "video", "whole slide", "legacy converted"))


def _mark_derived(ds: Dataset, film: Film | None, hdr: Dataset | None, description: str) -> None:
    now = dt.datetime.now()
    date, time_ = now.strftime("%Y%m%d"), now.strftime("%H%M%S.%f")
    extra = list(ds.ImageType)[2:] if ds.get("ImageType") and ds["ImageType"].VM > 2 else []
    ds.ImageType = ["DERIVED", "SECONDARY", *extra]  # keep modality-specific values 3+
    ds.SOPInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.pop("InstanceCreatorUID", None)  # the source's creator did not create this one
    ds.InstanceCreationDate, ds.InstanceCreationTime = date, time_
    ds.ContentDate, ds.ContentTime = date, time_
    ds.SeriesDate, ds.SeriesTime = date, time_
    ds.SeriesNumber = 9000 + (int(ds.get("SeriesNumber", 0) or 0) % 1000)
    ds.SeriesDescription = "xrayview enhanced"
    ds.InstanceNumber = ds.get("InstanceNumber", 1) or 1
    ds.DerivationDescription = (description or f"xrayview {__version__}")[:1024]
    ds.pop("SourceImageSequence", None)
    if hdr is not None and _valid_uid(hdr.get("SOPInstanceUID")) \
            and _valid_uid(hdr.get("SOPClassUID")):  # Type 3: no reference beats a bad one
        ref = Dataset()
        ref.ReferencedSOPClassUID = hdr.SOPClassUID
        ref.ReferencedSOPInstanceUID = hdr.SOPInstanceUID
        if film is not None and film.frame_count > 1 and _multi_frame_class(hdr.SOPClassUID):
            ref.ReferencedFrameNumber = film.frame_index + 1
        purpose = Dataset()
        purpose.CodeValue, purpose.CodingSchemeDesignator = "121322", "DCM"
        purpose.CodeMeaning = "Source image for image processing operation"
        ref.PurposeOfReferenceCodeSequence = Sequence([purpose])
        ds.SourceImageSequence = Sequence([ref])
        ts = str(getattr(getattr(hdr, "file_meta", None), "TransferSyntaxUID", "") or "")
        if ts in _ALWAYS_LOSSY_TS and "LossyImageCompression" not in ds:
            ds.LossyImageCompression = "01"
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
