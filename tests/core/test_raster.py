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
