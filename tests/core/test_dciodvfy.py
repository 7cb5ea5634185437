"""Derived DICOM exports validated with dciodvfy (Debian package dicom3tools).

The derived file may not have any error the source itself does not have; the test
runs dciodvfy on pydicom-data's RG3_UNCR.dcm (a CR film without errors) first. The
exports are also read back with pydicom. Skipped only when dciodvfy is not installed
(``.ci/run`` installs it: ``apt-get install dicom3tools``).
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pydicom
import pytest

from xrayview.core.enhance.super_resolution import upsample
from xrayview.core.io import load_film
from xrayview.core.io.export import save_film

DCIODVFY = shutil.which("dciodvfy")
pytestmark = pytest.mark.skipif(
    DCIODVFY is None, reason="dciodvfy not installed (apt-get install dicom3tools; .ci/run does)")


def dciodvfy(path) -> tuple[list[str], list[str]]:
    """(error lines, warning lines) that dciodvfy reports for ``path``."""
    proc = subprocess.run([DCIODVFY, str(path)], capture_output=True, text=True, timeout=120)
    lines = [ln.strip() for ln in (proc.stdout + proc.stderr).splitlines()]
    return ([ln for ln in lines if ln.startswith("Error")],
            [ln for ln in lines if ln.startswith("Warning")])


@pytest.fixture(scope="module")
def rg3(pydicom_data_dir):
    path = pydicom_data_dir / "RG3_UNCR.dcm"
    return path, load_film(path), dciodvfy(path)


@pytest.mark.parametrize("deidentify", [False, True])
def test_derived_cr_has_no_errors_beyond_the_source(rg3, tmp_path, deidentify, capsys):
    path, film, (src_errors, src_warnings) = rg3
    out = save_film(upsample(film.pixels[:400, :300], 2), tmp_path / "derived.dcm", film,
                    scale=2, description="vdsr x2 (weights sha256 0123456789abcdef); "
                    "dehazing 3 step(s), stop threshold 0.9", deidentify=deidentify)
    errors, warnings = dciodvfy(out)
    with capsys.disabled():
        print(f"\ndciodvfy source RG3_UNCR.dcm: {src_errors or 'no errors'}; "
              f"warnings {src_warnings}")
        print(f"dciodvfy derived (deidentify={deidentify}): {errors or 'no errors'}; "
              f"warnings {warnings}")
    assert src_errors == []  # the premise: a source without errors
    assert set(errors) <= set(src_errors), errors
    ds = pydicom.dcmread(out)
    a = pydicom.dcmread(path, stop_before_pixels=True)
    assert ds.SOPClassUID == a.SOPClassUID and list(ds.ImageType)[:2] == ["DERIVED", "SECONDARY"]
    assert ds.pixel_array.shape == (800, 600) == (ds.Rows, ds.Columns)
    assert ds.PhotometricInterpretation == a.PhotometricInterpretation == "MONOCHROME1"
    assert ds.SOPInstanceUID != a.SOPInstanceUID and ds.SeriesInstanceUID != a.SeriesInstanceUID
    assert "dehazing 3 step(s)" in ds.DerivationDescription
    assert ds.SourceImageSequence[0].ReferencedSOPClassUID == a.SOPClassUID
    assert (ds.StudyInstanceUID == a.StudyInstanceUID) is not deidentify
    again = load_film(out)
    assert again.inverted and np.abs(again.pixels - upsample(film.pixels[:400, :300], 2)).max() \
        <= 0.5 / 1023 + 1e-6


def test_secondary_capture_from_a_png_has_no_errors(cxr_dir, tmp_path):
    film = load_film(cxr_dir / "nih-chestxray14" / "00000427_000.png")
    out = save_film(film.pixels[:200, :200], tmp_path / "sc.dcm", film, description="x1")
    errors, _ = dciodvfy(out)
    assert errors == []
    assert pydicom.dcmread(out).pixel_array.shape == (200, 200)


def _test_films(pydicom_data_dir, pydicom_test_dir):
    return sorted(p for d in (pydicom_test_dir, pydicom_data_dir) for p in d.rglob("*")
                  if p.is_file() and p.suffix.lower() in (".dcm", "")
                  and p.stat().st_size <= 30_000_000)


def test_no_export_adds_an_error_over_its_source(pydicom_data_dir, pydicom_test_dir, tmp_path):
    """Every DICOM of pydicom's and pydicom-data's test files that loads (8-bit, 16-bit,
    big-endian, deflated, colour, multi-frame, every codec): exported as derived DICOM,
    dciodvfy reports no error the source itself does not have."""
    from xrayview.core.io import FilmError

    problems, exported = [], 0
    for path in _test_films(pydicom_data_dir, pydicom_test_dir):
        try:
            film = load_film(path, max_pixels=20_000_000)
        except FilmError:
            continue
        out = tmp_path / f"{exported:03d}.dcm"
        try:
            save_film(film.pixels[:128, :128], out, film, description="x1")
        except FilmError as exc:
            problems.append(f"{path.name}: refused: {exc}")
            continue
        exported += 1
        new = set(dciodvfy(out)[0]) - set(dciodvfy(path)[0])
        if new:
            problems.append(f"{path.name}: {sorted(new)[:2]}")
    assert exported >= 100
    assert not problems, "\n".join(problems)
