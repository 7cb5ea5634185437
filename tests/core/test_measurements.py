"""Distances in mm and ROI statistics in stored units (core.measurements)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xrayview.core.film import Film
from xrayview.core.measurements import Shape, csv_row, distance, roi_mask, roi_stats


def _film(pixels, spacing=None, inverted=False, modality=None):
    return Film(pixels=pixels, source_format="DICOM", bits_stored=12, value_min=-1024.0,
                value_max=3071.0, pixel_spacing_mm=spacing, inverted=inverted,
                modality=modality)


def test_distance_uses_row_and_column_spacing():
    film = _film(np.zeros((10, 10), np.float32), spacing=(0.2, 0.1))
    assert distance(Shape("distance", 0, 0, 30, 40), film) == pytest.approx(
        (math.hypot(3.0, 8.0), "mm"))
    assert distance(Shape("distance", 1, 1, 4, 5), _film(np.zeros((10, 10), np.float32))) == (5.0, "px")


def test_rectangle_statistics_match_numpy_in_stored_units():
    rng = np.random.default_rng(0)
    pixels = rng.random((60, 80)).astype(np.float32)
    film = _film(pixels, modality="CT")
    s = roi_stats(Shape("rectangle", 10, 5, 30, 25), pixels, film)
    block = film.stored_values(pixels[5:25, 10:30])
    assert s.pixels == 400 and s.unit == "HU"
    assert s.mean == pytest.approx(block.mean()) and s.sd == pytest.approx(block.std())
    assert (s.min, s.max) == pytest.approx((block.min(), block.max()))
    # the same place on a x2 image: four times the pixels
    up = np.repeat(np.repeat(pixels, 2, 0), 2, 1)
    s2 = roi_stats(Shape("rectangle", 30, 25, 10, 5), up, film, scale=2)  # corners swapped
    assert s2.pixels == 1600 and s2.mean == pytest.approx(block.mean())


def test_ellipse_mask_is_the_pixels_whose_centres_are_inside():
    (rows, cols), inside = roi_mask(Shape("ellipse", 0, 0, 20, 10), (50, 50))
    yy, xx = np.mgrid[0:10, 0:20] + 0.5
    expected = ((yy - 5) / 5) ** 2 + ((xx - 10) / 10) ** 2 <= 1
    assert (rows, cols) == (slice(0, 10), slice(0, 20))
    np.testing.assert_array_equal(inside, expected)
    assert 0.7 < inside.mean() < 0.85  # about pi/4 of the box


def test_difference_and_monochrome1_signs_and_empty_rois():
    film = _film(np.zeros((10, 10), np.float32), inverted=True)
    diff = np.full((10, 10), 0.01, np.float32)
    s = roi_stats(Shape("rectangle", 0, 0, 4, 4), diff, film, difference=True)
    assert s.mean == pytest.approx(-0.01 * 4095.0) and s.unit.startswith("Δ")
    outside = roi_stats(Shape("rectangle", 20, 20, 30, 30), diff, film)
    assert outside.pixels == 0 and math.isnan(outside.mean)
    with pytest.raises(ValueError, match="no region"):
        roi_stats(Shape("distance", 0, 0, 1, 1), diff, film)
    with pytest.raises(ValueError, match="unknown measurement"):
        Shape("polygon", 0, 0, 1, 1)


def test_csv_row_columns():
    film = _film(np.zeros((10, 10), np.float32), spacing=(0.5, 0.5))
    row = csv_row(Shape("distance", 0, 0, 3, 4, id=7), "all", film, None)
    assert row[:3] == ["7", "distance", "all"] and row[7:9] == ["2.500", "mm"]
