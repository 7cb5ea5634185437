"""Safe study files: exports refuse the study folder and the sources and are atomic,
analysis opens reader databases read-only (read-only media too), every bad input is
exit code 2 with one line, and no failing path destroys or truncates a file."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.model_factory import make_models_dir
from tests.support.study_driver import answer_all
from tests.support.study_factory import make_study
from xrayview.cli import main
from xrayview.core.generators import drain
from xrayview.core.models.registry import MODELS_ENV
from xrayview.core.study.definition import StudyError, load_study
from xrayview.core.study.prepare import prepare_study, write_study_json
from xrayview.core.study.store import load_answers


@pytest.fixture
def models(tmp_path, monkeypatch):
    root = make_models_dir(tmp_path / "models")
    monkeypatch.setenv(MODELS_ENV, str(root))
    return root


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file under ``folder``: size and sha256 (what must not change). Left out:
    the shared-memory index (``-shm``) and an empty write-ahead log (``-wal``) that
    SQLite makes beside a WAL database for any connection, a read-only one included
    (they hold no data; the database file itself is compared)."""
    return {str(p.relative_to(folder)): (p.stat().st_size,
                                         hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*")) if p.is_file()
            and not p.name.endswith("-shm")
            and not (p.name.endswith("-wal") and p.stat().st_size == 0)}


@pytest.fixture
def answered(tmp_path):
    """A study folder (definition only) with two readers' complete answers."""
    toml = make_study(tmp_path / "src", n_cases=3, n_training=1)
    study = load_study(toml)
    root = tmp_path / "study"
    write_study_json(study, root)
    for reader in ("alice", "bob"):
        answer_all(root, reader)
    return root, study


def one_line_exit_2(capsys, argv, message):
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("target", ["readers/alice.sqlite", "study.json", ".",
                                    "results.csv", "readers/new.csv"])
def test_export_refuses_paths_inside_the_study(answered, capsys, target):
    root, _ = answered
    before = snapshot(root)
    one_line_exit_2(capsys, ["study", "export", root, "--out", root / target],
                    "inside the study folder")
    assert snapshot(root) == before


def test_export_refuses_a_source_film_and_a_link_to_it(answered, tmp_path, capsys):
    root, study = answered
    film = Path(study.cases[0].path)
    data = film.read_bytes()
    one_line_exit_2(capsys, ["study", "export", root, "--out", film], "source films")
    link = tmp_path / "link.csv"
    link.symlink_to(film)
    one_line_exit_2(capsys, ["study", "export", root, "--out", link], "source films")
    assert film.read_bytes() == data


def test_export_is_atomic_on_a_full_disk(answered, tmp_path, capsys, monkeypatch):
    root, _ = answered
    out = tmp_path / "results.csv"
    assert main(["study", "export", str(root), "--out", str(out)]) == 0
    good = out.read_bytes()
    assert good.count(b"\n") == 1 + 2 * 8
    capsys.readouterr()

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr("xrayview.core.io.files.os.fsync", full)
    one_line_exit_2(capsys, ["study", "export", root, "--out", out], "No space left")
    assert out.read_bytes() == good                  # the previous export is intact
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".part")) == []


def _make_read_only(folder: Path) -> list[Path]:
    """chmod a-w everything; as root (whom chmod does not stop) also chattr +i, which
    stops root too, like a read-only medium. Returns what was made immutable."""
    paths = sorted(folder.rglob("*"), reverse=True) + [folder]
    for p in paths:
        p.chmod(0o555 if p.is_dir() else 0o444)
    immutable = []
    if os.geteuid() == 0:
        for p in paths:
            if subprocess.run(["chattr", "+i", str(p)], capture_output=True).returncode == 0:
                immutable.append(p)
    return immutable


def _undo_read_only(folder: Path, immutable: list[Path]) -> None:
    for p in immutable:
        subprocess.run(["chattr", "-i", str(p)], capture_output=True)
    for p in [folder, *folder.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)


def test_summary_and_export_work_on_a_read_only_study(answered, tmp_path, capsys):
    root, _ = answered
    rows_before = load_answers(root)
    # a clean close leaves the database alone (no -wal or -shm beside it)
    for p in (root / "readers").glob("*.sqlite-*"):
        p.unlink()
    before = snapshot(root)
    immutable = _make_read_only(root)
    try:
        if os.geteuid() == 0 and not immutable:
            pytest.skip("running as root without chattr: cannot make a read-only folder")
        assert main(["study", "summary", str(root), "--json"]) == 0
        assert '"answers": 12' in capsys.readouterr().out
        assert main(["study", "export", str(root), "--out", str(tmp_path / "r.csv")]) == 0
        assert load_answers(root) == rows_before
        # reading needs a writable folder: one line, exit 2, nothing written
        err = one_line_exit_2(capsys, ["study", "read", root, "--reader", "newcomer"],
                              "writable")
        assert "cannot" in err
    finally:
        _undo_read_only(root, immutable)
    assert snapshot(root) == before


def test_damaged_reader_database_is_exit_2_and_left_alone(answered, tmp_path, capsys):
    root, _ = answered
    bad = root / "readers" / "zed.sqlite"
    bad.write_bytes(b"this is not SQLite " * 300)
    before = snapshot(root)
    for argv in (["study", "summary", root],
                 ["study", "export", root, "--out", tmp_path / "r.csv"]):
        one_line_exit_2(capsys, argv, "reader database zed.sqlite is damaged")
    # a database with the wrong tables is damaged too
    import sqlite3
    con = sqlite3.connect(root / "readers" / "yan.sqlite")
    con.execute("CREATE TABLE other (x)")
    con.close()
    one_line_exit_2(capsys, ["study", "summary", root], "reader database yan.sqlite")
    assert snapshot(root)["readers/zed.sqlite"] == before["readers/zed.sqlite"]
    assert not (tmp_path / "r.csv").exists()


def test_read_refuses_a_damaged_database_before_any_window(answered, capsys):
    root, _ = answered
    (root / "readers" / "zed.sqlite").write_bytes(b"\0garbage" * 100)
    one_line_exit_2(capsys, ["study", "read", root, "--reader", "zed"], "is damaged")


@pytest.mark.parametrize("seed", ["-1", "4294967296", "123456789012345678901234567890"])
def test_prepare_refuses_negative_and_huge_seeds(tmp_path, capsys, seed):
    toml = make_study(tmp_path / "src")
    toml.write_text(toml.read_text().replace("seed = 7", f"seed = {seed}"))
    one_line_exit_2(capsys, ["study", "prepare", toml, "--out", tmp_path / "o"],
                    "seed must be an integer from 0 to 4294967295")
    assert not (tmp_path / "o").exists()


def test_a_prepared_folder_with_a_bad_seed_is_exit_2(answered, capsys):
    root, _ = answered
    text = (root / "study.json").read_text()
    (root / "study.json").write_text(text.replace('"seed": 7', '"seed": -1'))
    for argv in (["study", "summary", root], ["study", "read", root, "--reader", "x"]):
        one_line_exit_2(capsys, argv, "seed must be")


def test_missing_film_and_missing_images_are_exit_2(tmp_path, models, capsys):
    toml = make_study(tmp_path / "src", n_cases=2, n_training=0)
    study = load_study(toml)
    Path(study.cases[1].path).unlink()  # gone after the definition was checked
    with pytest.raises(StudyError, match="case c02: cannot read its film"):
        drain(prepare_study(study, tmp_path / "a", device="cpu"))
    one_line_exit_2(capsys, ["study", "prepare", toml, "--out", tmp_path / "b"],
                    "film not found")
    # a prepared folder that lost an image cannot be read
    one_line_exit_2(capsys, ["study", "read", tmp_path / "a", "--reader", "ann"],
                    "is incomplete")
