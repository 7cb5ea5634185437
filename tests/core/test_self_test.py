"""The self-test's model and export checks (Qt-free part), with tiny random models."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.model_factory import make_models_dir
from xrayview.commands.self_test import SelfTestFailure, _models_and_exports
from xrayview.core.io import load_film
from xrayview.core.resources import sample_film_path
from xrayview.core.models.registry import MODELS_ENV


def _check(ok, what):
    """The self-test's check: a failed one raises SelfTestFailure naming ``what``."""
    if not ok:
        raise SelfTestFailure(what)


def test_models_and_exports_pass_with_working_models(tmp_path, monkeypatch):
    monkeypatch.setenv(MODELS_ENV, str(make_models_dir(tmp_path / "models")))
    lines: list[str] = []
    _models_and_exports(load_film(sample_film_path()), lines.append)
    text = "\n".join(lines)
    assert "srcnn x2" in text and "vdsr x2" in text and "dehazing: 2 steps" in text
    assert "self_test.png" in text and "self_test.dcm" in text


def test_missing_weights_fail_the_self_test(tmp_path, monkeypatch):
    from xrayview.core.models.registry import WeightsError

    monkeypatch.setenv(MODELS_ENV, str(make_models_dir(tmp_path / "m", archs=("srcnn",))))
    with pytest.raises((WeightsError, SelfTestFailure)):
        _models_and_exports(load_film(sample_film_path()), lambda m: None)


def test_codec_check_reads_every_encoding_back(tmp_path):
    import numpy as np

    from xrayview.commands.self_test_codecs import check_codecs

    film = load_film(sample_film_path())
    region = np.ascontiguousarray(film.pixels[400:528, 400:528])
    lines: list[str] = []

    check_codecs(region, tmp_path, _check, lines.append)
    text = "\n".join(lines)
    for label in ("RLE Lossless", "JPEG-LS Lossless", "JPEG 2000 Lossless", "JPEG Baseline"):
        assert label in text
    assert len(list(tmp_path.glob("codec_*.dcm"))) == 4


def test_codec_check_fails_when_a_decoder_is_missing(tmp_path, monkeypatch):
    """A bundle that lost a decoder plugin fails the self-test with the codec's name
    (a SelfTestFailure, exit 1), not as a bad-input error of the user's film."""
    import numpy as np

    import xrayview.core.io as io
    from xrayview.commands.self_test_codecs import check_codecs
    from xrayview.core.io.errors import UnsupportedFilmError

    real_load = io.load_film

    def load_without_jpegls(path, *args, **kwargs):
        if "JPEGLS" in Path(path).name:
            raise UnsupportedFilmError(f"{Path(path).name}: no decoder for JPEG-LS Lossless")
        return real_load(path, *args, **kwargs)

    monkeypatch.setattr(io, "load_film", load_without_jpegls)
    film = real_load(sample_film_path())
    region = np.ascontiguousarray(film.pixels[400:464, 400:464])
    seen: list[str] = []

    with pytest.raises(SelfTestFailure, match="JPEG-LS Lossless DICOM cannot be read"):
        check_codecs(region, tmp_path, _check, seen.append)
    assert any("RLE Lossless" in line for line in seen)  # the codecs before it passed
