"""``study merge``: reader databases from other workstations, checked by study hash and
reader collisions, copied atomically; no path writes over or truncates a file."""

from __future__ import annotations

import errno
import shutil

import pytest

from tests.support.study_driver import answer_all
from tests.support.study_factory import make_study
from tests.core.test_study_safety import one_line_exit_2, snapshot
from xrayview.cli import main
from xrayview.core.study.definition import load_study
from xrayview.core.study.prepare import write_study_json
from xrayview.core.study.store import ReaderStore, load_answers


@pytest.fixture
def sites(tmp_path):
    """The study folder at the coordinator (A) and at two other workstations (B, C)."""
    study = load_study(make_study(tmp_path / "src", n_cases=3, n_training=1))
    roots = [tmp_path / name for name in ("A", "B", "C")]
    for root in roots:
        write_study_json(study, root)
    answer_all(roots[0], "ann")
    return study, *roots


def test_merge_adds_skips_identical_and_refuses_collisions(sites, capsys):
    study, a, b, c = sites
    answer_all(b, "dan")
    src = b / "readers" / "dan.sqlite"
    src_before = snapshot(b)
    assert main(["study", "merge", str(a), str(src)]) == 0
    assert "reader dan, 8 answers: added" in capsys.readouterr().out
    theirs = [{**r, "reader": "dan"} for r in load_answers(b)]
    assert [r for r in load_answers(a) if r["reader"] == "dan"] == theirs
    assert snapshot(b) == src_before                        # the source is never written
    # the merged file is a working reader database
    with ReaderStore(a, "dan", study) as st:
        assert st.next_index() is None and len(st.answered()) == 8
    # again: identical, skipped
    merged = snapshot(a)["readers/dan.sqlite"]
    assert main(["study", "merge", str(a), str(src)]) == 0
    assert "skipped" in capsys.readouterr().out
    # the same reader name with different answers (workstation C): refused, nothing changed
    answer_all(c, "dan", seed_offset=1)
    before = snapshot(a)
    one_line_exit_2(capsys, ["study", "merge", a, c / "readers" / "dan.sqlite"],
                    "reader dan is already in the study with different answers")
    assert snapshot(a) == before and before["readers/dan.sqlite"] == merged


def test_merge_refuses_another_study_and_bad_files(sites, tmp_path, capsys):
    study, a, b, _ = sites
    other = load_study(make_study(tmp_path / "src2", n_cases=3, n_training=1, seed=8))
    write_study_json(other, tmp_path / "other")
    answer_all(tmp_path / "other", "eve")
    before = snapshot(a)
    one_line_exit_2(capsys, ["study", "merge", a, tmp_path / "other/readers/eve.sqlite"],
                    "belongs to a different study")
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"not a database" * 200)
    one_line_exit_2(capsys, ["study", "merge", a, bad], "bad.sqlite is damaged")
    one_line_exit_2(capsys, ["study", "merge", a, tmp_path / "none.sqlite"], "not found")
    assert snapshot(a) == before


def test_two_files_of_one_reader_that_differ_add_nothing(sites, tmp_path, capsys):
    study, a, b, c = sites
    answer_all(b, "fay")
    answer_all(c, "fay", seed_offset=1)
    answer_all(b, "gus")
    one_line_exit_2(capsys, ["study", "merge", a, b / "readers/gus.sqlite",
                             b / "readers/fay.sqlite", c / "readers/fay.sqlite"],
                    "are both reader fay with different answers")
    assert not (a / "readers/gus.sqlite").exists()  # checked first, then written


def test_merge_is_atomic_on_a_full_disk(sites, capsys, monkeypatch):
    study, a, b, _ = sites
    answer_all(b, "hal")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr("xrayview.core.io.files.os.fsync", full)
    one_line_exit_2(capsys, ["study", "merge", a, b / "readers/hal.sqlite"], "No space left")
    assert sorted(p.name for p in (a / "readers").iterdir()) == ["ann.sqlite"]


def test_merge_of_a_renamed_copy_uses_the_reader_inside(sites, tmp_path, capsys):
    study, a, b, _ = sites
    answer_all(b, "ivy")
    copy = tmp_path / "usb" / "from_site_b.sqlite"
    copy.parent.mkdir()
    shutil.copy(b / "readers/ivy.sqlite", copy)
    assert main(["study", "merge", str(a), str(copy)]) == 0
    assert (a / "readers/ivy.sqlite").is_file()
    assert {r["reader"] for r in load_answers(a)} == {"ann", "ivy"}


def test_a_foreign_reader_file_in_the_study_folder_is_refused(sites, tmp_path, capsys):
    study, a, _, _ = sites
    other = load_study(make_study(tmp_path / "src2", n_cases=3, n_training=1, seed=8))
    write_study_json(other, tmp_path / "other")
    answer_all(tmp_path / "other", "eve")
    shutil.copy(tmp_path / "other/readers/eve.sqlite", a / "readers/eve.sqlite")
    before = snapshot(a)
    one_line_exit_2(capsys, ["study", "summary", a], "eve.sqlite belongs to a different study")
    one_line_exit_2(capsys, ["study", "read", a, "--reader", "eve"], "different study")
    assert snapshot(a) == before


def test_an_unanswered_local_file_of_the_reader_is_replaced(sites, capsys):
    study, a, b, _ = sites
    ReaderStore(a, "joe", study).close()     # joe opened the study here, answered nothing
    answer_all(b, "joe")                     # and read it at workstation B
    assert main(["study", "merge", str(a), str(b / "readers/joe.sqlite")]) == 0
    assert "added" in capsys.readouterr().out
    assert len([r for r in load_answers(a) if r["reader"] == "joe"]) == 8


def test_a_local_file_with_a_live_write_ahead_log_is_not_replaced(sites, capsys):
    study, a, b, _ = sites
    store = ReaderStore(a, "kim", study)     # a reading window open on it, nothing answered
    store._con.execute("INSERT INTO meta VALUES ('note', 'open')")  # a frame in the log
    answer_all(b, "kim")
    try:
        one_line_exit_2(capsys, ["study", "merge", a, b / "readers/kim.sqlite"],
                        "unfinished write-ahead log")
    finally:
        store.close()
    assert main(["study", "merge", str(a), str(b / "readers/kim.sqlite")]) == 0  # closed
    assert len([r for r in load_answers(a) if r["reader"] == "kim"]) == 8
