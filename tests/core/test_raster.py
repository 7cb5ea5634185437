"""load_film on PNG, JPEG and TIFF: bit depth, colour, pages, real films from the corpus."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from xrayview.core.io import FilmError, FilmTooLargeError, load_film


@pytest.fixture()
def ramp16() -> np.ndarray:
    """uint16 (300, 400) covering the full 16-bit range."""
    return (np.linspace(0, 65535, 300 * 400).reshape(300, 400)).astype(np.uint16)


def test_16bit_png_full_depth(tmp_path, ramp16):
    path = tmp_path / "a.png"
    Image.fromarray(ramp16).save(path)
    film = load_film(path)
    assert film.source_format == "PNG" and film.bits_stored == 16
    np.testing.assert_allclose(film.pixels, ramp16 / 65535.0, atol=1e-7)


def test_16bit_tiff_full_depth(tmp_path, ramp16):
    path = tmp_path / "a.tif"
    Image.fromarray(ramp16).save(path, compression="tiff_deflate")
    film = load_film(path)
    assert film.source_format == "TIFF" and film.bits_stored == 16
    np.testing.assert_allclose(film.pixels, ramp16 / 65535.0, atol=1e-7)


def test_8bit_tiff_and_multipage(tmp_path):
    pages = [Image.fromarray(np.full((20, 30), v, np.uint8)) for v in (10, 200)]
    path = tmp_path / "p.tiff"
    pages[0].save(path, save_all=True, append_images=pages[1:])
    first, second = load_film(path), load_film(path, frame=1)
    assert first.frame_count == 2 and first.bits_stored == 8
    assert first.pixels[0, 0] == pytest.approx(10 / 255) and second.pixels[0, 0] == pytest.approx(200 / 255)
    with pytest.raises(FilmError, match="page 2 does not exist"):
        load_film(path, frame=2)


def test_rgb_png_becomes_luminance_with_note(tmp_path):
    rgb = np.zeros((10, 10, 3), np.uint8)
    rgb[..., 0] = 255
    path = tmp_path / "c.png"
    Image.fromarray(rgb).save(path)
    film = load_film(path)
    assert film.pixels[0, 0] == pytest.approx(0.299, abs=1e-6)
    assert any("luminance" in n for n in film.notes)


def test_content_sniffing_ignores_extension(tmp_path, ramp16):
    path = tmp_path / "really_a_png.dcm"
    Image.fromarray(ramp16).save(path, format="PNG")
    assert load_film(path).source_format == "PNG"


def test_pixel_cap_is_configurable(tmp_path, ramp16):
    path = tmp_path / "a.png"
    Image.fromarray(ramp16).save(path)
    with pytest.raises(FilmTooLargeError, match="over the limit"):
        load_film(path, max_pixels=100_000)
    assert load_film(path, max_pixels=120_000).shape == (300, 400)


@pytest.mark.parametrize("folder, fmt", [("nih-chestxray14", "PNG"),
                                         ("mhh-covid19-image-repository", "JPEG"),
                                         ("kermany-pediatric-cxr", "JPEG")])
def test_corpus_films_load(cxr_dir, folder, fmt):
    path = sorted((cxr_dir / folder).iterdir())[0]
    film = load_film(path)
    assert film.source_format == fmt and film.bits_stored == 8
    assert film.pixels.dtype == np.float32 and film.pixels.ndim == 2
    ref = np.asarray(Image.open(path).convert("L"), dtype=np.float32) / 255.0
    np.testing.assert_allclose(film.pixels, ref, atol=1e-6)


@pytest.mark.slow
def test_every_corpus_film_loads(cxr_dir):
    """The issue's acceptance: every PNG/JPEG film of ../shared/data/cxr loads."""
    import csv

    with open(cxr_dir / "MANIFEST.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 258
    for row in rows:
        film = load_film(cxr_dir / row["file"])
        assert film.shape == (int(row["height"]), int(row["width"])), row["file"]


# --- issue 17: orientation and every TIFF sample type and page --------------------------

_AS_DISPLAYED = {  # EXIF orientation -> what a viewer shows, from the stored rows (numpy)
    1: lambda a: a, 2: np.fliplr, 3: lambda a: np.rot90(a, 2), 4: np.flipud,
    5: lambda a: a.T, 6: lambda a: np.rot90(a, -1), 7: lambda a: np.rot90(a, 2).T,
    8: lambda a: np.rot90(a, 1)}


def _with_orientation(path, stored: np.ndarray, fmt: str, orientation: int):
    exif = Image.Exif()
    exif[0x0112] = orientation
    options = {"quality": 95} if fmt == "JPEG" else {}
    Image.fromarray(stored).save(path, format=fmt, exif=exif.tobytes(), **options)
    return path


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
@pytest.mark.parametrize("shape", [(48, 48), (32, 48)])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_always_applied(tmp_path, fmt, shape, orientation):
    """Every orientation, also those that keep the size (2, 3, 4 always; 5-8 on square
    films), for JPEG and PNG's eXIf chunk: the film is what a viewer shows."""
    rng = np.random.default_rng(orientation)
    stored = np.kron(rng.integers(0, 256, (shape[0] // 8, shape[1] // 8)),
                     np.ones((8, 8))).astype(np.uint8)  # 8 x 8 blocks: JPEG keeps them
    ext = ".jpg" if fmt == "JPEG" else ".png"
    plain = load_film(_with_orientation(tmp_path / f"o1{ext}", stored, fmt, 1))
    film = load_film(_with_orientation(tmp_path / f"o{orientation}{ext}", stored, fmt,
                                       orientation))
    np.testing.assert_array_equal(film.pixels, _AS_DISPLAYED[orientation](plain.pixels))
    assert any("EXIF orientation" in n for n in film.notes) is (orientation != 1)


def test_uint32_tiff_values_at_and_above_2_31(tmp_path):
    import tifffile

    values = np.array([[0, 2**31 - 1, 2**31, 2**32 - 1]], dtype=np.uint32).repeat(3, 0)
    tifffile.imwrite(tmp_path / "u32.tif", values)
    film = load_film(tmp_path / "u32.tif")
    np.testing.assert_allclose(film.pixels[0], values[0] / (2**32 - 1), rtol=1e-6)
    assert film.bits_stored == 32 and not any("clipped" in n for n in film.notes)


def test_signed_int32_tiff_keeps_its_range(tmp_path):
    import tifffile

    tifffile.imwrite(tmp_path / "i32.tif", np.array([[-2**31, 0, 2**31 - 1]], np.int32))
    film = load_film(tmp_path / "i32.tif")
    np.testing.assert_allclose(film.pixels[0], [0.0, 0.5, 1.0], atol=1e-6)


def test_three_plane_16bit_tiff_keeps_16_bits(tmp_path):
    """A (3, H, W) uint16 stack saved as one RGB page with separate planes (tifffile's
    default for such a stack until now):
    read at 16 bits (Pillow alone gives 8-bit RGB), each plane a sample, not a page."""
    import tifffile

    planes = np.stack([np.full((6, 5), v, np.uint16) for v in (1000, 2000, 3000)])
    tifffile.imwrite(tmp_path / "planar.tif", planes, photometric="rgb", planarconfig="separate")
    film = load_film(tmp_path / "planar.tif")
    expected = (0.299 * 1000 + 0.587 * 2000 + 0.114 * 3000) / 65535
    np.testing.assert_allclose(film.pixels, expected, rtol=1e-6)
    assert film.bits_stored == 16 and any("separate planes" in n for n in film.notes)


def test_multipage_16bit_tiff_pages_are_frames(tmp_path):
    import tifffile

    pages = np.stack([np.full((7, 9), 1000 * (i + 1), np.uint16) for i in range(3)])
    tifffile.imwrite(tmp_path / "pages.tif", pages, photometric="minisblack")
    for i in range(3):
        film = load_film(tmp_path / "pages.tif", frame=i)
        assert film.frame_count == 3 and film.bits_stored == 16 and film.shape == (7, 9)
        np.testing.assert_allclose(film.pixels, 1000 * (i + 1) / 65535, rtol=1e-6)
    with pytest.raises(FilmError, match="has 3 page"):
        load_film(tmp_path / "pages.tif", frame=3)


@pytest.mark.parametrize("dtype,kind", [(np.float64, "64-bit floating-point"),
                                        (np.int64, "64-bit signed integer"),
                                        (np.complex64, "complex floating-point")])
def test_unsupported_tiff_sample_types_are_called_unsupported(tmp_path, dtype, kind):
    import tifffile

    from xrayview.core.io import UnsupportedFilmError

    tifffile.imwrite(tmp_path / "s.tif", np.zeros((4, 4), dtype))
    with pytest.raises(UnsupportedFilmError, match=kind):
        load_film(tmp_path / "s.tif")


@pytest.mark.parametrize("shape", [(3, 8, 8), (8, 8, 2)])
def test_multichannel_float_tiffs_are_called_unsupported_not_damaged(tmp_path, shape):
    import tifffile

    from xrayview.core.io import UnsupportedFilmError

    tifffile.imwrite(tmp_path / "c.tif", np.zeros(shape, np.float32),
                     photometric="minisblack", planarconfig="separate" if shape[0] == 3
                     else "contig")
    with pytest.raises(UnsupportedFilmError, match="channels of 32-bit floating-point"):
        load_film(tmp_path / "c.tif")
