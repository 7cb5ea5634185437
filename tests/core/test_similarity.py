"""The dehazing loop's fast SSIM / ICI agree with the reference ``metrics`` functions."""

from __future__ import annotations

import numpy as np
import pytest

from xrayview.core.quality import metrics
from xrayview.core.quality import similarity
from xrayview.core.bench.items import synthetic_film


@pytest.mark.parametrize("shape", [(11, 11), (37, 53), (128, 96)])
def test_fast_ssim_and_ici_match_metrics(shape):
    rng = np.random.default_rng(3)
    ref = synthetic_film(max(shape))[: shape[0], : shape[1]]
    for img in (np.clip(ref * 0.7 + 0.2, 0, 1),  # a veil: level and contrast change
                np.clip(ref + rng.normal(0, 0.05, shape), 0, 1),  # noise
                1.0 - ref):  # structure inverted: ICI < 0
        img = img.astype(np.float32)
        s, i = similarity.ssim_and_ici(ref, img)
        assert s == pytest.approx(metrics.ssim(ref, img), abs=1e-5)
        assert i == pytest.approx(metrics.ici(ref, img), abs=1e-5)
        assert similarity.ssim(ref, img) == pytest.approx(s, abs=1e-7)


def test_identical_images_score_one():
    a = synthetic_film(64)
    s, i = similarity.ssim_and_ici(a, a)
    assert s == pytest.approx(1.0, abs=1e-7) and i == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("shapes", [((10, 20), (10, 20)), ((20, 20), (20, 21)), ((20,), (20,))])
def test_bad_shapes_are_refused(shapes):
    a, b = (np.zeros(s, np.float32) for s in shapes)
    with pytest.raises(ValueError):
        similarity.ssim_and_ici(a, b)
