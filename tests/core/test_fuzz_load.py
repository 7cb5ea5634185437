"""Bounded fuzzing of ``load_film`` with hypothesis: bytes of real films, mutated.

Each example takes one real film (small DICOMs of every codec, a chest PNG/JPEG, a
16-bit TIFF, a Deflated DICOM) and applies a few mutations: bit flips, bytes set to
00/FF, four-byte 0xFFFFFFFF length fields, truncation, insertion and deletion, biased
towards the header.
``load_film`` must return a valid Film or raise a FilmError with a one-line message.
The run is derandomised (the same examples on every CI run) and bounded: FUZZ_EXAMPLES
examples (env ``XRAYVIEW_FUZZ_EXAMPLES``, default 300) with a 5 s deadline each.
"""

from __future__ import annotations

import io
import os
import tempfile
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.support.corpus_dicom import deflated_dicom
from xrayview.core.io import FilmError, load_film

FUZZ_EXAMPLES = int(os.environ.get("XRAYVIEW_FUZZ_EXAMPLES", "300"))
MAX_PIXELS = 4_000_000  # the corpus test covers the default cap; keep fuzzing light


@pytest.fixture(scope="module")
def fuzz_sources(pydicom_data_dir, pydicom_test_dir, cxr_dir) -> list[tuple[str, bytes]]:
    """(extension, bytes) of the real films that get mutated."""
    out = [(".dcm", (pydicom_test_dir / n).read_bytes()) for n in (
        "MR_small.dcm", "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm",
        "MR_small_jpeg_ls_lossless.dcm", "CT_small.dcm", "MR_small_implicit.dcm")]
    out.append((".dcm", (pydicom_data_dir / "JPEG-LL.dcm").read_bytes()))
    png = cxr_dir / "nih-chestxray14" / "00000427_000.png"
    out.append((".png", png.read_bytes()))
    jpeg = sorted((cxr_dir / "kermany-pediatric-cxr").glob("*.jpeg"))[0]
    out.append((".jpg", jpeg.read_bytes()))
    grey16 = np.asarray(Image.open(png).convert("L").resize((256, 256)), np.uint16) * 257
    buf = io.BytesIO()
    Image.fromarray(grey16).save(buf, format="TIFF", compression="tiff_adobe_deflate")
    out.append((".tif", buf.getvalue()))
    out.append((".dcm", deflated_dicom(grey16[:64, :64])))  # Deflated Explicit VR (issue 17)
    return out


_position = st.one_of(st.integers(0, 2047), st.integers(0, 2**31))
_mutation = st.one_of(
    st.tuples(st.just("flip"), _position, st.integers(1, 255)),
    st.tuples(st.just("set"), _position, st.sampled_from([0x00, 0xFF, 0x7F, 0x80])),
    st.tuples(st.just("ffffffff"), _position, st.just(0)),
    st.tuples(st.just("cut"), _position, st.just(0)),
    st.tuples(st.just("insert"), _position, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), _position, st.integers(1, 64)),
)


def mutate(data: bytes, mutations: list[tuple]) -> bytes:
    """Apply (operation, position, argument) mutations in order; positions wrap around."""
    buf = bytearray(data)
    for op, pos, arg in mutations:
        if not buf:
            break
        at = pos % len(buf)
        if op == "flip":
            buf[at] ^= arg
        elif op == "set":
            buf[at] = arg
        elif op == "ffffffff":
            buf[at:at + 4] = b"\xff\xff\xff\xff"
        elif op == "cut":
            del buf[max(at, 1):]
        elif op == "insert":
            buf[at:at] = arg
        else:
            del buf[at:at + arg]
    return bytes(buf)


@settings(max_examples=FUZZ_EXAMPLES, deadline=timedelta(seconds=5), derandomize=True,
          database=None, suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.function_scoped_fixture])
@given(which=st.integers(0, 10), mutations=st.lists(_mutation, min_size=1, max_size=6))
def test_load_film_survives_mutated_real_films(fuzz_sources, which, mutations):
    ext, data = fuzz_sources[which % len(fuzz_sources)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{ext}"
        path.write_bytes(mutate(data, mutations))
        try:
            film = load_film(path, max_pixels=MAX_PIXELS)
        except FilmError as err:
            text = str(err)
            assert text and "\n" not in text and "Traceback" not in text
            return
    px = film.pixels
    assert px.ndim == 2 and px.dtype == np.float32 and px.size > 0
    assert np.isfinite(px).all() and 0.0 <= px.min() <= px.max() <= 1.0


def test_mutate_is_deterministic_and_changes_bytes():
    data = bytes(range(256)) * 4
    muts = [("flip", 3, 1), ("ffffffff", 10, 0), ("delete", 20, 5), ("insert", 0, b"ab")]
    assert mutate(data, muts) == mutate(data, muts) != data
    assert mutate(data, [("cut", 100, 0)]) == data[:100]
