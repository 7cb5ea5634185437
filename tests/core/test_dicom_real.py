"""load_film on real DICOM films: conventions, compression equivalence, metadata."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.pixels import apply_modality_lut, pixel_array

from xrayview.core.io import (
    CorruptFilmError,
    FilmError,
    UnsupportedFilmError,
    load_film,
)


def _check_film(film):
    assert film.pixels.dtype == np.float32 and film.pixels.ndim == 2
    assert 0.0 <= float(film.pixels.min()) and float(film.pixels.max()) <= 1.0


def test_chest_cr_monochrome1_is_inverted_with_dark_lungs(pydicom_data_dir):
    film = load_film(pydicom_data_dir / "RG1_UNCR.dcm")
    _check_film(film)
    assert film.shape == (1955, 1841)
    assert film.bits_stored == 15 and (film.value_min, film.value_max) == (0.0, 32767.0)
    assert film.photometric == "MONOCHROME1" and film.inverted
    assert film.modality == "CR"
    p = film.pixels
    right_lung = p[240:800, 320:680].mean()
    left_lung = p[240:800, 1120:1480].mean()
    mediastinum = p[400:1200, 820:1000].mean()
    assert right_lung < mediastinum - 0.1 and left_lung < mediastinum - 0.1


def test_monochrome1_normalisation_comes_from_bits_stored_not_image_range(pydicom_data_dir):
    path = pydicom_data_dir / "RG1_UNCR.dcm"
    film = load_film(path)
    raw = pixel_array(pydicom.dcmread(path)).astype(np.float64)
    np.testing.assert_allclose(film.pixels, 1.0 - raw / 32767.0, atol=1e-6)
    assert raw.max() < 32767  # so image min/max normalisation would have differed
    np.testing.assert_allclose(film.stored_values(), raw, atol=0.02)


def test_monochrome1_window_is_mirrored_into_normalised_units(pydicom_data_dir):
    film = load_film(pydicom_data_dir / "RG1_UNCR.dcm")
    w = film.windows[0]
    assert (w.stored_center, w.stored_width) == (15000.0, 30000.0)
    assert w.center == pytest.approx(1.0 - 15000.0 / 32767.0)
    assert w.width == pytest.approx(30000.0 / 32767.0)


@pytest.mark.parametrize("stem", ["RG1", "RG3"])
def test_lossless_jpeg2000_loads_identically_to_uncompressed(pydicom_data_dir, stem):
    plain = load_film(pydicom_data_dir / f"{stem}_UNCR.dcm")
    j2kr = load_film(pydicom_data_dir / f"{stem}_J2KR.dcm")
    assert "Lossless" in j2kr.transfer_syntax
    np.testing.assert_array_equal(plain.pixels, j2kr.pixels)
    assert j2kr.inverted == plain.inverted


@pytest.mark.parametrize("stem", ["RG1", "RG3"])
def test_lossy_jpeg2000_is_within_compression_error(pydicom_data_dir, stem):
    plain = load_film(pydicom_data_dir / f"{stem}_UNCR.dcm").pixels.astype(np.float64)
    lossy = load_film(pydicom_data_dir / f"{stem}_J2KI.dcm").pixels.astype(np.float64)
    err = lossy - plain
    psnr = 10 * np.log10(1.0 / np.mean(err**2))
    assert psnr > 40.0
    assert abs(err.mean()) < 2e-3
    assert not np.array_equal(lossy, plain)  # it really is the lossy file


@pytest.mark.parametrize(
    "variant",
    ["MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm", "MR_small_jp2klossless.dcm",
     "MR_small_bigendian.dcm", "MR_small_implicit.dcm", "MR_small_expb.dcm"],
)
def test_transfer_syntax_variants_match_the_uncompressed_film(pydicom_test_dir, variant):
    ref = load_film(pydicom_test_dir / "MR_small.dcm")
    film = load_film(pydicom_test_dir / variant)
    np.testing.assert_array_equal(ref.pixels, film.pixels)


@pytest.mark.parametrize(
    "name, syntax",
    [("SC_rgb_jpeg_dcmtk.dcm", "JPEG Baseline"),
     ("SC_rgb_jpeg_gdcm.dcm", "JPEG Lossless"),
     ("JPEG-LL.dcm", "JPEG Lossless"),
     ("JPEGLSNearLossless_16.dcm", "JPEG-LS Lossy"),
     ("image_dfl.dcm", "Deflated"),
     ("MR_small_RLE.dcm", "RLE Lossless")],
)
def test_compressed_transfer_syntaxes_decode(pydicom_test_dir, pydicom_data_dir, name, syntax):
    path = pydicom_test_dir / name
    if not path.exists():
        path = pydicom_data_dir / name
    film = load_film(path)
    _check_film(film)
    assert syntax in film.transfer_syntax
    assert float(film.pixels.max()) > float(film.pixels.min())  # real content, not blank


def test_rgb_jpeg_converted_to_luminance_with_a_note(pydicom_test_dir):
    film = load_film(pydicom_test_dir / "SC_rgb_jpeg_dcmtk.dcm")
    assert any("luminance" in n for n in film.notes)


def test_12bit_jpeg_extended_is_refused_by_name(pydicom_test_dir):
    with pytest.raises(UnsupportedFilmError, match="JPEG Extended"):
        load_film(pydicom_test_dir / "JPGExtended.dcm")


def test_modality_lut_rescale_applied_and_range_from_header(pydicom_test_dir):
    path = pydicom_test_dir / "CT_small.dcm"
    ds = pydicom.dcmread(path)
    film = load_film(path)
    hu = apply_modality_lut(pixel_array(ds), ds).astype(np.float64)
    slope, intercept = float(ds.RescaleSlope), float(ds.RescaleIntercept)
    lo, hi = -(2**15) * slope + intercept, (2**15 - 1) * slope + intercept
    assert (film.value_min, film.value_max) == (lo, hi)
    np.testing.assert_allclose(film.stored_values(), hu, atol=0.01 * slope + 1e-6 * (hi - lo))
    assert film.pixel_spacing_mm == pytest.approx((0.661468, 0.661468))
    assert film.spacing_source == "PixelSpacing"


def test_modality_lut_sequence(pydicom_data_dir):
    path = pydicom_data_dir / "mlut_18.dcm"
    ds = pydicom.dcmread(path)
    film = load_film(path)
    expected = apply_modality_lut(pixel_array(ds), ds).astype(np.float64)
    np.testing.assert_allclose(film.stored_values(), expected, atol=0.02)


def test_voi_lut_kept_as_display_preset(pydicom_data_dir):
    film = load_film(pydicom_data_dir / "vlut_04.dcm")
    lut = film.display_lut
    assert lut is not None and lut.dtype == np.float32 and lut.ndim == 1
    assert 0.0 <= lut.min() <= lut.max() <= 1.0 and lut.max() - lut.min() > 0.5


def test_multiframe_frame_index(pydicom_data_dir):
    path = pydicom_data_dir / "emri_small.dcm"
    frames = pixel_array(pydicom.dcmread(path)).astype(np.float64)
    f0, f3 = load_film(path), load_film(path, frame=3)
    assert (f0.frame_count, f3.frame_index) == (10, 3)
    np.testing.assert_allclose(f3.pixels, frames[3] / 4095.0, atol=1e-6)
    assert not np.array_equal(f0.pixels, f3.pixels)
    with pytest.raises(FilmError, match="frame 10 does not exist"):
        load_film(path, frame=10)


def test_identifiers_kept_but_redacted_from_repr(pydicom_test_dir):
    path = pydicom_test_dir / "CT_small.dcm"
    ds = pydicom.dcmread(path)
    film = load_film(path)
    assert film.identifiers.patient_name == str(ds.PatientName)
    assert film.identifiers.study_instance_uid == ds.StudyInstanceUID
    text = repr(film) + str(film.identifiers) + str(film.summary())
    assert str(ds.PatientName) not in text and ds.PatientID not in text
    assert ds.StudyInstanceUID not in text
    assert "PixelData" not in film.dicom_header  # header kept for export, pixels not twice


LOADABLE_EXCEPTIONS = {
    # a deliberately truncated file in pydicom-data
    "emri_small_jpeg_2k_lossless_too_short.dcm": CorruptFilmError,
}


def test_every_2d_image_in_pydicom_data_loads(pydicom_data_dir):
    """The issue's acceptance: every DICOM in pydicom-data that holds an image loads."""
    loaded = 0
    for path in sorted(pydicom_data_dir.glob("*.dcm")):
        expected = LOADABLE_EXCEPTIONS.get(path.name)
        if expected:
            with pytest.raises(expected):
                load_film(path)
            continue
        film = load_film(path)
        _check_film(film)
        loaded += 1
    assert loaded >= 60
