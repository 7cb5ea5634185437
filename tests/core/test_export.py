"""Export: 16-bit round trips, derived DICOM rules, no overwriting the input, atomic writes."""

from __future__ import annotations

import os

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import SecondaryCaptureImageStorage

from tests.support.dicom_factory import make_dicom
from xrayview.core.enhance.super_resolution import upsample
from xrayview.core.io import load_film
from xrayview.core.io.errors import FilmError
from xrayview.core.io.export import ExportError, _atomic_write, save_film

ONE_STEP = 1 / 65535


def _pixels(h=31, w=45, seed=0):
    return np.random.default_rng(seed).random((h, w), dtype=np.float32)


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".part")]


@pytest.mark.parametrize("name", ["out.png", "out.tif", "out.TIFF", "out.dcm"])
def test_16_bit_round_trip(tmp_path, name):
    px = _pixels()
    path = save_film(px, tmp_path / name, None)
    film = load_film(path)
    assert film.shape == px.shape and film.bits_stored == 16
    assert np.abs(film.pixels - px).max() <= ONE_STEP
    assert _leftovers(tmp_path) == []
    assert (path.stat().st_mode & 0o777) == 0o666 & ~_current_umask()


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_8_bit_png(tmp_path):
    px = _pixels()
    film = load_film(save_film(px, tmp_path / "out8.png", None, bits=8))
    assert film.bits_stored == 8 and np.abs(film.pixels - px).max() <= 0.5 / 255 + 1e-6


def test_raster_source_gives_secondary_capture(tmp_path):
    src = load_film(save_film(_pixels(), tmp_path / "in.png", None))
    ds = pydicom.dcmread(save_film(upsample(src.pixels, 2), tmp_path / "sc.dcm", src, scale=2,
                                   description="vdsr x2"))
    assert ds.SOPClassUID == SecondaryCaptureImageStorage
    assert list(ds.ImageType) == ["DERIVED", "SECONDARY"]
    assert ds.PhotometricInterpretation == "MONOCHROME2" and ds.BitsStored == 16
    assert (ds.Rows, ds.Columns) == (62, 90) and ds.DerivationDescription == "vdsr x2"
    assert "SourceImageSequence" not in ds
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID


def test_derived_dicom_from_real_cr_keeps_monochrome1(pydicom_data_dir, tmp_path):
    src_path = pydicom_data_dir / "RG1_UNCR.dcm"
    src = load_film(src_path)
    out = save_film(src.pixels, tmp_path / "derived.dcm", src, description="vdsr x1 (sha256 12ab)")
    a, b = pydicom.dcmread(src_path), pydicom.dcmread(out)
    assert b.PhotometricInterpretation == "MONOCHROME1" and b.SOPClassUID == a.SOPClassUID
    assert np.array_equal(a.pixel_array, b.pixel_array)  # values back in the stored range
    assert (b.BitsAllocated, b.BitsStored, b.HighBit) == (16, a.BitsStored, a.BitsStored - 1)
    assert (b.Rows, b.Columns) == (a.Rows, a.Columns)
    assert b.SOPInstanceUID != a.SOPInstanceUID and b.SeriesInstanceUID != a.SeriesInstanceUID
    assert b.StudyInstanceUID == a.StudyInstanceUID and b.PatientID == a.PatientID
    assert b.PatientName == a.PatientName
    ref = b.SourceImageSequence[0]
    assert ref.ReferencedSOPInstanceUID == a.SOPInstanceUID
    assert ref.ReferencedSOPClassUID == a.SOPClassUID
    assert list(b.ImageType) == ["DERIVED", "SECONDARY"]
    assert "sha256 12ab" in b.DerivationDescription
    again = load_film(out)
    assert again.inverted and np.abs(again.pixels - src.pixels).max() < 1e-6


def test_scale_divides_spacing_and_restores_monochrome1(tmp_path):
    stored = np.random.default_rng(1).integers(0, 4096, (30, 40), dtype=np.uint16)
    src_path = make_dicom(tmp_path / "src.dcm", stored, bits_stored=12, photometric="MONOCHROME1",
                          PixelSpacing=[0.2, 0.3], ImagerPixelSpacing=[0.25, 0.35],
                          ShutterShape="RECTANGULAR", ShutterLeftVerticalEdge=2,
                          ShutterRightVerticalEdge=39, ShutterUpperHorizontalEdge=3,
                          ShutterLowerHorizontalEdge=29, ShutterPresentationValue=0)
    src = load_film(src_path)
    up = upsample(src.pixels, 2)
    ds = pydicom.dcmread(save_film(up, tmp_path / "x2.dcm", src, scale=2))
    assert (ds.Rows, ds.Columns) == (60, 80) and ds.PhotometricInterpretation == "MONOCHROME1"
    assert [float(v) for v in ds.PixelSpacing] == pytest.approx([0.1, 0.15])
    assert [float(v) for v in ds.ImagerPixelSpacing] == pytest.approx([0.125, 0.175])
    assert ds.ShutterRightVerticalEdge == 78 and ds.ShutterLowerHorizontalEdge == 58
    film = load_film(tmp_path / "x2.dcm")
    assert film.pixel_spacing_mm == pytest.approx((0.1, 0.15)) and film.inverted
    assert np.abs(film.pixels - up).max() <= 0.5 / 4095 + 1e-6  # the source's 12-bit range


def test_signed_rescaled_source_keeps_stored_values(tmp_path):
    stored = np.random.default_rng(2).integers(-2048, 2048, (20, 24), dtype=np.int16)
    src_path = make_dicom(tmp_path / "ct.dcm", stored, bits_stored=12, signed=True,
                          modality="CT", RescaleSlope=2, RescaleIntercept=-1024)
    src = load_film(src_path)
    ds = pydicom.dcmread(save_film(src.pixels, tmp_path / "out.dcm", src))
    assert ds.PixelRepresentation == 1 and np.array_equal(ds.pixel_array, stored)
    assert float(ds.RescaleSlope) == 2 and float(ds.RescaleIntercept) == -1024


def test_modality_lut_sequence_is_inverted(tmp_path):
    item = Dataset()
    item.LUTDescriptor = [4096, 0, 16]
    item.ModalityLUTType = "US"
    item.add_new("LUTData", "OW", (3 * np.arange(4096, dtype="<u2")).tobytes())
    stored = np.random.default_rng(3).integers(0, 4096, (16, 16), dtype=np.uint16)
    src = load_film(make_dicom(tmp_path / "lut.dcm", stored, bits_stored=12,
                               ModalityLUTSequence=Sequence([item])))
    ds = pydicom.dcmread(save_film(src.pixels, tmp_path / "out.dcm", src))
    assert np.array_equal(ds.pixel_array, stored) and "ModalityLUTSequence" in ds


def test_colour_dicom_source_gives_secondary_capture_with_reference(tmp_path):
    rgb = np.random.default_rng(4).integers(0, 256, (12, 14, 3), dtype=np.uint8)
    src_path = make_dicom(tmp_path / "rgb.dcm", rgb, bits_stored=8, photometric="RGB",
                          PatientName="Colour^Test")
    src = load_film(src_path)
    ds = pydicom.dcmread(save_film(src.pixels, tmp_path / "out.dcm", src))
    a = pydicom.dcmread(src_path)
    assert ds.SOPClassUID == SecondaryCaptureImageStorage and ds.PatientName == "Colour^Test"
    assert ds.StudyInstanceUID == a.StudyInstanceUID
    assert ds.PhotometricInterpretation == "MONOCHROME2"
    assert ds.SourceImageSequence[0].ReferencedSOPInstanceUID == a.SOPInstanceUID


def test_never_writes_over_the_input(tmp_path):
    path = save_film(_pixels(), tmp_path / "in.png", None)
    before = path.read_bytes()
    src = load_film(path)
    link = tmp_path / "link.png"
    os.link(path, link)
    for target in (path, tmp_path / "." / "in.png", link):
        with pytest.raises(ExportError, match="refusing to write over the input"):
            save_film(1 - src.pixels, target, src)
    assert path.read_bytes() == before and issubclass(ExportError, FilmError)


@pytest.mark.parametrize("name,message", [("out.jpg", "unknown extension"),
                                          ("out", "unknown extension"),
                                          ("missing/out.png", "does not exist")])
def test_bad_destinations(tmp_path, name, message):
    with pytest.raises(ExportError, match=message):
        save_film(_pixels(), tmp_path / name, None)


def test_failed_write_leaves_target_and_no_temporary_file(tmp_path):
    target = tmp_path / "out.png"
    target.write_bytes(b"previous")

    def broken(fh):
        fh.write(b"half a file")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        _atomic_write(target, broken)
    assert target.read_bytes() == b"previous" and _leftovers(tmp_path) == []
    save_film(_pixels(), target, None)  # replacing an existing output is fine
    assert load_film(target).shape == (31, 45) and _leftovers(tmp_path) == []
