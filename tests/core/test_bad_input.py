"""Every kind of bad input ends in a typed FilmError with a one-line message."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from PIL import Image

from tests.support.corpus_bytes import png_bomb, tiff_bomb
from tests.support.dicom_factory import make_dicom
from xrayview.core.io import (
    CorruptFilmError,
    FilmError,
    FilmTooLargeError,
    NoPixelDataError,
    NotAnImageError,
    UnsupportedFilmError,
    load_film,
)


def _one_line(err: Exception) -> str:
    text = str(err)
    assert text and "\n" not in text and "Traceback" not in text
    return text


@pytest.fixture()
def small_dicom(tmp_path):
    rng = np.random.default_rng(1)
    return make_dicom(tmp_path / "ok.dcm", rng.integers(0, 4096, (64, 64), dtype=np.uint16))


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.dcm"
    path.write_bytes(b"")
    with pytest.raises(NotAnImageError) as err:
        load_film(path)
    assert "empty" in _one_line(err.value)


def test_text_file_with_image_extension(tmp_path):
    for name in ("notes.dcm", "notes.png", "notes.jpg", "notes.tif"):
        path = tmp_path / name
        path.write_text("Patient list\nnot an image\n")
        with pytest.raises(NotAnImageError, match="not an image"):
            load_film(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FilmError, match="does not exist"):
        load_film(tmp_path / "nope.dcm")
    with pytest.raises(NotAnImageError, match="folder"):
        load_film(tmp_path)


@pytest.mark.parametrize("fmt, name", [("GIF", "GIF"), ("BMP", "BMP"), ("WEBP", "WebP")])
def test_unsupported_image_formats_are_named(tmp_path, fmt, name):
    path = tmp_path / "x.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(path, format=fmt)
    with pytest.raises(UnsupportedFilmError, match=name):
        load_film(path)


def test_png_decompression_bomb_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_bomb(60000, 60000))
    with pytest.raises(FilmTooLargeError) as err:
        load_film(path)
    assert "60000 x 60000" in _one_line(err.value)


def test_tiff_decompression_bomb_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.tif"
    path.write_bytes(tiff_bomb(50000, 50000))
    with pytest.raises(FilmTooLargeError, match="50000 x 50000"):
        load_film(path)


def test_tiff_bomb_helper_makes_a_readable_tiff_when_small(tmp_path):
    path = tmp_path / "small.tif"
    path.write_bytes(tiff_bomb(4, 4))
    assert load_film(path).shape == (4, 4)  # the bomb test above exercises the real header path


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF"])
def test_truncated_raster(tmp_path, cxr_dir, fmt):
    src = Image.open(cxr_dir / "nih-chestxray14" / "00000427_000.png")
    full = tmp_path / f"full.{fmt.lower()}"
    src.save(full, format=fmt)
    data = full.read_bytes()
    cut = tmp_path / f"cut.{fmt.lower()}"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFilmError) as err:
        load_film(cut)
    assert "damaged or truncated" in _one_line(err.value)


def test_dicom_pixel_data_shorter_than_rows_columns(tmp_path, small_dicom):
    ds = pydicom.dcmread(small_dicom)
    ds.PixelData = ds.PixelData[: len(ds.PixelData) // 3]
    path = tmp_path / "short.dcm"
    ds.save_as(path)
    with pytest.raises(CorruptFilmError, match="truncated") as err:
        load_film(path)
    _one_line(err.value)


def test_dicom_truncated_file(tmp_path, small_dicom):
    data = small_dicom.read_bytes()
    for cut in (200, 400, len(data) // 2, len(data) - 10):
        path = tmp_path / f"cut{cut}.dcm"
        path.write_bytes(data[:cut])
        with pytest.raises(FilmError) as err:
            load_film(path)
        _one_line(err.value)


def test_dicom_huge_claimed_size_refused_before_decoding(tmp_path, small_dicom):
    ds = pydicom.dcmread(small_dicom)
    ds.Rows, ds.Columns = 60000, 60000
    path = tmp_path / "huge.dcm"
    ds.save_as(path)
    with pytest.raises(FilmTooLargeError, match="60000 x 60000"):
        load_film(path)


def test_dicom_unknown_transfer_syntax_named(tmp_path, small_dicom):
    ds = pydicom.dcmread(small_dicom)
    ds.file_meta.TransferSyntaxUID = "1.2.3.4.5.6.7"
    path = tmp_path / "unknown_ts.dcm"
    ds.save_as(path)
    with pytest.raises(UnsupportedFilmError, match="1.2.3.4.5.6.7"):
        load_film(path)


def test_dicom_wrong_transfer_syntax_claim(tmp_path, small_dicom):
    """Uncompressed pixels labelled as RLE Lossless: a decoding error, typed as a FilmError."""
    data = small_dicom.read_bytes()
    explicit_le = b"1.2.840.10008.1.2.1\x00"
    assert explicit_le in data
    path = tmp_path / "lying.dcm"
    path.write_bytes(data.replace(explicit_le, b"1.2.840.10008.1.2.5\x00", 1))
    with pytest.raises(FilmError) as err:
        load_film(path)
    _one_line(err.value)


def test_dicom_without_pixel_data(tmp_path, small_dicom, pydicom_test_dir):
    ds = pydicom.dcmread(small_dicom)
    del ds.PixelData
    path = tmp_path / "nopix.dcm"
    ds.save_as(path)
    with pytest.raises(NoPixelDataError, match="no pixel data"):
        load_film(path)
    with pytest.raises(NoPixelDataError, match="SR object"):
        load_film(pydicom_test_dir / "test-SR.dcm")


def test_dicom_preamble_then_garbage(tmp_path):
    path = tmp_path / "garbage.dcm"
    path.write_bytes(b"\x00" * 128 + b"DICM" + bytes(range(256)) * 4)
    with pytest.raises(FilmError) as err:
        load_film(path)
    _one_line(err.value)


def test_dicom_non_numeric_header_value(pydicom_test_dir):
    with pytest.raises(CorruptFilmError, match="NumberOfFrames"):
        load_film(pydicom_test_dir / "badVR.dcm")


def test_dicom_bogus_undefined_length(tmp_path, small_dicom):
    """A length field of 0xFFFFFFFF on a non-sequence element."""
    data = bytearray(small_dicom.read_bytes())
    idx = data.index(b"\x28\x00\x10\x00")  # (0028,0010) Rows, explicit VR US
    data[idx + 6: idx + 8] = b"\xff\xff"
    path = tmp_path / "len.dcm"
    path.write_bytes(bytes(data))
    with pytest.raises(FilmError) as err:
        load_film(path)
    _one_line(err.value)
