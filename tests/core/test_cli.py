"""The command line: info output, JSON, exit codes and stderr for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pydicom
import pytest

from xrayview.cli import main


def test_info_text_on_chest_cr(pydicom_data_dir, capsys):
    assert main(["info", str(pydicom_data_dir / "RG1_UNCR.dcm")]) == 0
    out = capsys.readouterr().out
    assert "1841 x 1955" in out and "MONOCHROME1 (inverted on load)" in out
    assert "Bits stored:" in out and "15" in out and "Explicit VR Little Endian" in out
    assert "centre 15000, width 30000" in out


def test_info_json(pydicom_test_dir, capsys):
    assert main(["info", "--json", str(pydicom_test_dir / "CT_small.dcm")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rows"] == 128 and data["bits_stored"] == 16 and data["modality"] == "CT"
    assert data["pixel_spacing_mm"] == pytest.approx([0.661468, 0.661468])
    assert "identifiers" not in data


def test_identifiers_hidden_unless_asked(pydicom_test_dir, capsys):
    path = pydicom_test_dir / "CT_small.dcm"
    ds = pydicom.dcmread(path)
    main(["info", str(path)])
    main(["info", "--json", str(path)])
    hidden = capsys.readouterr().out
    assert str(ds.PatientName) not in hidden and ds.StudyInstanceUID not in hidden
    main(["info", "--show-identifiers", str(path)])
    shown = capsys.readouterr().out
    assert str(ds.PatientName) in shown and ds.StudyInstanceUID in shown


def test_info_on_corpus_film(cxr_dir, capsys):
    path = next((cxr_dir / "mhh-covid19-image-repository").iterdir())
    assert main(["info", str(path)]) == 0
    assert "2000 x 2000" in capsys.readouterr().out


def _run(*args):
    return subprocess.run([sys.executable, "-m", "xrayview", *args], capture_output=True,
                          text=True, timeout=120)


def test_bad_input_exit_code_2_one_line_no_traceback(tmp_path):
    bad = tmp_path / "report.dcm"
    bad.write_text("not a film")
    proc = _run("info", str(bad))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "not an image" in lines[0] and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_missing_file_exit_code_2():
    proc = _run("info", "/nonexistent/film.dcm")
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_truncated_dicom_exit_code_2(pydicom_test_dir):
    proc = _run("info", str(pydicom_test_dir / "MR_truncated.dcm"))
    assert proc.returncode == 2 and "truncated" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_version_and_help():
    proc = _run("--help")
    assert proc.returncode == 0 and "info" in proc.stdout and "not for diagnosis" in proc.stdout
