"""load_film on DICOM films made from a real chest radiograph, in several encodings."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from pydicom.uid import JPEG2000Lossless, JPEGLSLossless, RLELossless

from tests.support.dicom_factory import make_dicom
from xrayview.core.io import load_film


@pytest.fixture(scope="module")
def chest12(cxr_dir) -> np.ndarray:
    """A real NIH chest film spread to 12 bits (uint16 (1024, 1024), values 0..4095)."""
    img = np.asarray(Image.open(cxr_dir / "nih-chestxray14" / "00000427_000.png"), dtype=np.uint16)
    rng = np.random.default_rng(0)
    return np.clip(img * 16 + rng.integers(0, 16, img.shape), 0, 4095).astype(np.uint16)


def test_12bit_film_keeps_full_bit_depth(tmp_path, chest12):
    film = load_film(make_dicom(tmp_path / "a.dcm", chest12, bits_stored=12))
    assert film.bits_stored == 12 and film.value_max == 4095.0
    np.testing.assert_allclose(film.pixels, chest12 / 4095.0, atol=1e-7)
    assert len(np.unique(film.pixels)) > 256  # not quantised to 8 bits


@pytest.mark.parametrize("syntax", [RLELossless, JPEGLSLossless, JPEG2000Lossless],
                         ids=["rle", "jpeg-ls", "j2k"])
def test_lossless_encodings_load_identically(tmp_path, chest12, syntax):
    plain = load_film(make_dicom(tmp_path / "plain.dcm", chest12))
    packed = load_film(make_dicom(tmp_path / "packed.dcm", chest12, transfer_syntax=syntax))
    assert syntax.name in packed.transfer_syntax
    np.testing.assert_array_equal(plain.pixels, packed.pixels)


def test_monochrome1_round_trip(tmp_path, chest12):
    inverted_source = 4095 - chest12
    film = load_film(make_dicom(tmp_path / "m1.dcm", inverted_source, photometric="MONOCHROME1"))
    assert film.inverted
    np.testing.assert_allclose(film.pixels, chest12 / 4095.0, atol=1e-6)
    np.testing.assert_allclose(film.stored_values(), inverted_source, atol=1e-3)


def test_signed_pixels_with_rescale(tmp_path, chest12):
    signed = (chest12.astype(np.int16) - 2048)
    path = make_dicom(tmp_path / "s.dcm", signed, bits_stored=12, signed=True,
                      RescaleSlope=2, RescaleIntercept=100)
    film = load_film(path)
    assert (film.value_min, film.value_max) == (-2048 * 2 + 100, 2047 * 2 + 100)
    np.testing.assert_allclose(film.stored_values(), signed * 2.0 + 100, atol=1e-3)


def test_imager_pixel_spacing_used_when_pixel_spacing_absent(tmp_path, chest12):
    film = load_film(make_dicom(tmp_path / "sp.dcm", chest12[:64, :64],
                                ImagerPixelSpacing=[0.139, 0.143]))
    assert film.pixel_spacing_mm == pytest.approx((0.139, 0.143))
    assert film.spacing_source == "ImagerPixelSpacing"
    film = load_film(make_dicom(tmp_path / "sp2.dcm", chest12[:64, :64],
                                ImagerPixelSpacing=[0.139, 0.143], PixelSpacing=[0.1, 0.1]))
    assert film.spacing_source == "PixelSpacing" and film.pixel_spacing_mm == (0.1, 0.1)


def test_multiple_windows_with_explanations(tmp_path, chest12):
    film = load_film(make_dicom(tmp_path / "w.dcm", chest12[:64, :64], WindowCenter=[2048, 1000],
                                WindowWidth=[4096, 500],
                                WindowCenterWidthExplanation=["FULL", "LUNG"]))
    assert [w.explanation for w in film.windows] == ["FULL", "LUNG"]
    assert film.windows[1].center == pytest.approx(1000 / 4095)
    assert film.windows[1].width == pytest.approx(500 / 4095)


def test_bare_dataset_without_preamble_is_recognised(tmp_path, chest12):
    path = make_dicom(tmp_path / "full.dcm", chest12[:32, :32])
    raw = path.read_bytes()
    # drop preamble + "DICM" + file meta group: find the first group-0008 tag
    start = raw.index(b"\x08\x00", 132)
    bare = tmp_path / "bare.img"
    bare.write_bytes(raw[start:])
    film = load_film(bare)
    np.testing.assert_allclose(film.pixels, chest12[:32, :32] / 4095.0, atol=1e-7)
