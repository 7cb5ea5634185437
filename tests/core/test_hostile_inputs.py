"""Hostile inputs from issue 17, generated here: non-regular files, user errors that must
be exit 2 (one plain line, no traceback), output-size budgets and terminal-safe text.

Each CLI case runs ``python -m xrayview`` in its own process; the subprocess timeout is
only a safety net against a hang, the assertions are on exit code and message.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.support.corpus_worker import REPO_ROOT
from xrayview.core.io import NotAnImageError, load_film


def xrayview(*args, timeout: float = 300.0) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xrayview", *map(str, args)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=timeout)


def assert_bad_input(proc: subprocess.CompletedProcess, *phrases: str) -> None:
    """Exit 2 with exactly one plain line on stderr that holds every phrase."""
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("xrayview: "), proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


def _png(path, shape=(32, 32), dtype=np.uint8):
    Image.fromarray(np.random.default_rng(0).integers(0, 200, shape).astype(dtype)).save(path)
    return path


# --- non-regular files --------------------------------------------------------------------

@pytest.mark.parametrize("command", ["info", "enhance"])
def test_a_named_pipe_as_film_is_refused_at_once(tmp_path, command):
    fifo = tmp_path / "film.png"
    os.mkfifo(fifo)
    args = [command, fifo] + ([tmp_path / "out.png", "--model", "none"]
                              if command == "enhance" else [])
    assert_bad_input(xrayview(*args, timeout=120), "film.png is a named pipe (FIFO), not a film")


def test_devices_sockets_and_folders_are_not_films(tmp_path):
    sock_path = tmp_path / "s.dcm"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(sock_path))
    try:
        for path, what in (("/dev/zero", "a character device"), (sock_path, "a socket"),
                           (tmp_path, "a folder")):
            with pytest.raises(NotAnImageError, match=what):
                load_film(path)
    finally:
        sock.close()


# --- output-size budget and non-finite network output ----------------------------------

def test_output_budget_names_the_largest_scale_that_fits():
    from xrayview.core.enhance.pipeline import check_output_budget, output_bytes
    from xrayview.core.enhance.recipe import Recipe
    from xrayview.core.io import FilmTooLargeError

    recipe = Recipe(model="none", scale=4)
    shape = (10000, 10000)  # a film at the 100-megapixel load cap
    x2 = output_bytes(shape, Recipe(model="none", scale=2), measure=False)
    available = int(x2 / 0.8) + 1  # room for x2, not for x3
    with pytest.raises(FilmTooLargeError) as err:
        check_output_budget(shape, recipe, measure=False, available=available)
    text = str(err.value)
    assert "40000 x 40000 result" in text and text.endswith("the largest scale that fits is x2.")
    with pytest.raises(FilmTooLargeError, match="even x1 does not fit"):
        check_output_budget(shape, recipe, measure=False, available=1 << 20)
    check_output_budget(shape, Recipe(model="none", scale=2), measure=False, available=available)


def test_enhance_refuses_a_result_too_large_for_memory_with_exit_2(tmp_path, monkeypatch,
                                                                   capsys):
    from xrayview.cli import main
    from xrayview.core.enhance import pipeline

    film = _png(tmp_path / "in.png", (400, 300))
    monkeypatch.setattr(pipeline, "available_memory", lambda: 64 << 20)
    rc = main(["enhance", str(film), str(tmp_path / "out.png"), "--model", "none",
               "--scale", "4"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1, err
    assert "1200 x 1600 result" in err and "the largest scale that fits is x3" in err
    assert not (tmp_path / "out.png").exists()


def test_non_finite_network_output_is_refused_not_saved_black():
    import torch

    from tests.support.model_factory import tiny_model
    from xrayview.core.enhance.pipeline import enhance
    from xrayview.core.enhance.recipe import Recipe
    from xrayview.core.generators import drain
    from xrayview.core.models.registry import WeightsError, weights_for

    net = tiny_model("vdsr")
    with torch.no_grad():
        net.body[0].bias.fill_(float("nan"))
    film = np.random.default_rng(0).random((24, 24), dtype=np.float32)
    with pytest.raises(WeightsError, match="not finite"):
        drain(enhance(film, Recipe(model="vdsr", scale=2, weights="clean"), "cpu",
                      models={weights_for("vdsr", 2): net}))  # what serves x2


# --- the exit-2 rule: user errors are one plain line, JSON is JSON -----------------------

@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e-9", "0", "-3"])
def test_max_megapixels_out_of_range_is_exit_2(tmp_path, value):
    film = _png(tmp_path / "f.png")
    assert_bad_input(xrayview("info", film, f"--max-megapixels={value}"), "--max-megapixels")


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_stop_threshold_not_finite_is_exit_2(tmp_path, value):
    film = _png(tmp_path / "f.png")
    proc = xrayview("enhance", film, tmp_path / "o.png", "--model", "none", "--dehaze-steps",
                    "1", f"--stop-threshold={value}", "--json")
    assert_bad_input(proc, "threshold must be a finite number")
    assert proc.stdout == ""


@pytest.mark.parametrize("shape,scale", [((10, 10), 1), ((2, 100000), 2), ((1, 1), 4)])
def test_films_too_small_to_dehaze_are_exit_2(tmp_path, shape, scale):
    film = _png(tmp_path / "small.png", shape)
    proc = xrayview("enhance", film, tmp_path / "o.png", "--model", "none", "--scale", scale,
                    "--dehaze-steps", "2")
    assert_bad_input(proc, "too small to dehaze", "11 x 11")
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("shape", [(1, 1), (2, 100000), (10, 10)])
def test_json_of_a_tiny_film_has_no_nan_or_infinity(tmp_path, shape):
    film = _png(tmp_path / "tiny.png", shape)
    proc = xrayview("enhance", film, tmp_path / "o.png", "--model", "none", "--scale", "1",
                    "--json")
    assert proc.returncode == 0, proc.stderr
    json.loads(proc.stdout, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))


# --- bounded reads: Deflated Explicit VR DICOM ----------------------------------------

def _deflated(tmp_path, name, **kwargs):
    from tests.support.corpus_dicom import deflated_dicom

    px = (np.arange(64 * 64) % 251).astype(np.uint8).reshape(64, 64)
    path = tmp_path / name
    path.write_bytes(deflated_dicom(px, **kwargs))
    return path, px


def test_a_deflated_dicom_that_inflates_to_2_gib_is_refused_within_its_budget(tmp_path):
    """2 MB on disk, 2 GiB inflated: refused after inflating what its 64 x 64 header
    accounts for plus the slack (pydicom alone inflates it all: 4 GB, 20 s)."""
    import resource

    from xrayview.core.io import FilmTooLargeError
    from xrayview.core.io.deflate import SLACK_BYTES

    bomb, _ = _deflated(tmp_path, "bomb.dcm", padding=2 << 30)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss << 10
    with pytest.raises(FilmTooLargeError, match="inflates to more than the 16 MB"):
        load_film(bomb)
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss << 10) - before
    assert grown < 8 * SLACK_BYTES  # the peak of this process, not 2 GiB


def test_a_good_deflated_dicom_loads_and_exports(tmp_path):
    import pydicom

    from xrayview.core.io.export import save_film

    path, px = _deflated(tmp_path, "ok.dcm")
    film = load_film(path)
    np.testing.assert_allclose(film.pixels, px / 255.0, atol=1e-7)
    assert "Deflated" in film.transfer_syntax
    out = save_film(film.pixels, tmp_path / "out.dcm", film)
    ds = pydicom.dcmread(out)
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    np.testing.assert_array_equal(ds.pixel_array, px)


# --- terminal safety ---------------------------------------------------------------------

def test_info_escapes_control_characters_from_dicom_text(tmp_path):
    """A CR/LF in WindowCenterWidthExplanation must not forge a "Patient name:" line, and
    ESC sequences must not reach the terminal; the real identifiers stay hidden."""
    from tests.support.dicom_factory import make_dicom

    forged = "LUNG\r\nPatient name:  Forged^Name\x1b[2J\x1b]0;title\x07"
    path = make_dicom(tmp_path / "f\x1bname.dcm", np.zeros((16, 16), np.uint16),
                      WindowCenter=100, WindowWidth=200, WindowCenterWidthExplanation=forged,
                      PatientName="Real^Secret", Modality="D\x1bX", SeriesDescription="x")
    proc = xrayview("info", path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "\x1b" not in out and "\r" not in out and "\x07" not in out
    lines = out.splitlines()
    assert not any(ln.startswith("Patient name") for ln in lines)
    window = next(ln for ln in lines if ln.startswith("Window:"))
    assert "LUNG\\r\\nPatient name:  Forged^Name\\x1b[2J" in window
    assert "Real^Secret" not in out and "TEST0001" not in out
    shown = xrayview("info", path, "--show-identifiers").stdout
    assert "Real^Secret" in shown and "\x1b" not in shown


def test_error_lines_escape_control_characters(tmp_path):
    path = tmp_path / "bad\x1b[31mname.png"
    path.write_bytes(b"not an image")
    proc = xrayview("info", path)
    assert proc.returncode == 2 and "\x1b" not in proc.stderr


def test_an_internal_error_is_exit_1_and_names_a_log_with_the_traceback(tmp_path,
                                                                       monkeypatch, capsys):
    import re

    from xrayview import cli

    def bug(args):
        raise RuntimeError("a real bug\x1b[2J")

    monkeypatch.setitem(cli._COMMANDS, "info", bug)
    assert cli.main(["info", str(_png(tmp_path / "f.png"))]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err
    log = re.search(r"details in (\S+\.log)\)", err).group(1)
    text = open(log, encoding="utf-8").read()
    os.unlink(log)
    assert "Traceback" in text and "RuntimeError: a real bug" in text


def test_memory_running_out_past_the_budgets_is_exit_2(tmp_path, monkeypatch, capsys):
    from xrayview import cli

    def short_of_memory(args):
        raise MemoryError

    monkeypatch.setitem(cli._COMMANDS, "enhance", short_of_memory)
    assert cli.main(["enhance", str(_png(tmp_path / "f.png")), str(tmp_path / "o.png")]) == 2
    assert capsys.readouterr().err.startswith("xrayview: not enough memory")


def test_enhance_selects_a_tiff_page_like_a_dicom_frame(tmp_path):
    import tifffile

    pages = np.stack([np.full((16, 12), 10000 * (i + 1), np.uint16) for i in range(3)])
    tifffile.imwrite(tmp_path / "pages.tif", pages, photometric="minisblack")
    proc = xrayview("enhance", tmp_path / "pages.tif", tmp_path / "p2.png", "--model", "none",
                    "--frame", "2")
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_allclose(load_film(tmp_path / "p2.png").pixels, 30000 / 65535, atol=1e-4)
    assert_bad_input(xrayview("enhance", tmp_path / "pages.tif", tmp_path / "p3.png",
                              "--model", "none", "--frame", "3"), "has 3 page(s)")


def test_reference_mode_budgets_the_degraded_film_not_the_truth_times_scale(monkeypatch):
    from xrayview.core.enhance import pipeline
    from xrayview.core.enhance.recipe import Recipe, Reference
    from xrayview.core.generators import drain

    truth = np.random.default_rng(0).random((400, 400), dtype=np.float32)
    recipe = Recipe(model="none", scale=4, reference=Reference())
    room = pipeline.output_bytes((100, 100), recipe) / pipeline.MEMORY_SHARE  # 400 x 400 out
    monkeypatch.setattr(pipeline, "available_memory", lambda: int(room) + 1)
    result = drain(pipeline.enhance(truth, recipe, "cpu"))
    assert result.image.shape == (400, 400)


def test_output_budget_also_names_the_dehazing_steps_that_fit():
    from xrayview.core.enhance.pipeline import check_output_budget, output_bytes
    from xrayview.core.enhance.recipe import Dehazing, Recipe
    from xrayview.core.io import FilmTooLargeError

    many = Recipe(model="none", scale=2, dehazing=Dehazing(max_steps=1000))
    fifty = Recipe(model="none", scale=2, dehazing=Dehazing(max_steps=50))
    room = int(output_bytes((1000, 1000), fifty) / 0.8) + 1
    with pytest.raises(FilmTooLargeError, match="or at most 50 dehazing steps at x2"):
        check_output_budget((1000, 1000), many, available=room)


def test_a_result_wider_than_dicom_allows_is_refused_before_any_work(tmp_path):
    film = _png(tmp_path / "wide.png", (2, 20000))
    proc = xrayview("enhance", film, tmp_path / "wide.dcm", "--model", "none", "--scale", "4")
    assert_bad_input(proc, "a 80000 x 8 image is larger than DICOM allows")
    assert not (tmp_path / "wide.dcm").exists()
