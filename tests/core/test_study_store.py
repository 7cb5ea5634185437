"""Schedules (per reader, seeded) and the SQLite answer store, including a SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.study_factory import make_study
from xrayview.core.study.definition import StudyError, load_study
from xrayview.core.study.prepare import write_study_json
from xrayview.core.study.schedule import reader_schedule
from xrayview.core.study.store import ReaderStore, load_answers

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def study_dir(tmp_path):
    """A study folder holding study.json only (the store needs no images)."""
    study = load_study(make_study(tmp_path / "src", n_cases=6, n_training=2))
    write_study_json(study, tmp_path / "study")
    return tmp_path / "study", study


def test_schedule_reproducible_and_differs_between_readers(study_dir):
    _, study = study_dir
    a1, a2, b = (reader_schedule(study, "alice"), reader_schedule(study, "alice"),
                 reader_schedule(study, "bob"))
    assert a1 == a2
    key = lambda s: [(t.case, t.condition, t.left) for t in s]
    assert key(a1) != key(b)
    assert sorted(key(a1), key=str) != key(a1)  # shuffled, not in definition order
    # every (case, condition) exactly once; training trials first
    assert sorted((t.case, t.condition) for t in a1) == sorted((t.case, t.condition) for t in b)
    assert len(a1) == 8 * 2
    flags = [t.training for t in a1]
    assert flags == sorted(flags, reverse=True) and sum(flags) == 4
    assert {t.side for t in a1} == {"left", "right"}
    # a different study seed changes the order
    study.seed += 1
    assert key(reader_schedule(study, "alice")) != key(a1)


def test_store_records_resumes_and_refuses_bad_answers(study_dir):
    root, study = study_dir
    with ReaderStore(root, "alice", study) as st:
        assert st.next_index() == 0
        st.record(0, {"overall": 1, "preferred": "left"}, 3.5, {"left": {"zoom": 2.0}})
        with pytest.raises(StudyError, match="already answered"):
            st.record(0, {"overall": 1, "preferred": "left"}, 1.0)
        with pytest.raises(StudyError, match="question overall"):
            st.record(1, {"overall": 7, "preferred": "left"}, 1.0)
        with pytest.raises(StudyError, match="question preferred"):
            st.record(1, {"overall": 0}, 1.0)
        schedule = st.trials
    with ReaderStore(root, "alice", study) as st:
        assert st.next_index() == 1 and st.trials == schedule
    rows = load_answers(root)
    assert len(rows) == 1 and rows[0]["display"] == {"left": {"zoom": 2.0}}
    with pytest.raises(StudyError, match="reader name"):
        ReaderStore(root, "../evil", study)


def test_sigkill_mid_study_loses_no_committed_answer(study_dir):
    root, study = study_dir
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.study_driver", str(root),
                             "carol", "0.2"], stdout=subprocess.PIPE, text=True, cwd=REPO,
                            env=env)
    committed = []
    try:
        for line in proc.stdout:
            committed.append(int(line))
            if len(committed) == 5:
                proc.send_signal(signal.SIGKILL)  # mid-study, without warning
                break
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert committed == [0, 1, 2, 3, 4]
    with ReaderStore(root, "carol", study) as st:
        answered = st.answered()
        assert set(committed) <= answered          # nothing reported committed is lost
        assert answered == set(range(len(answered)))  # and nothing is half-written
        resume = st.next_index()
        assert resume == len(answered)
    # the study resumes: a new process continues from the first unanswered trial
    out = subprocess.run([sys.executable, "-m", "tests.support.study_driver", str(root), "carol"],
                         capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert out.returncode == 0
    assert [int(x) for x in out.stdout.split()] == list(range(resume, len(st.trials)))
    rows = [r for r in load_answers(root) if r["reader"] == "carol"]
    assert sorted(r["index"] for r in rows) == list(range(len(st.trials)))


def test_revisions_are_new_rows_and_analysis_uses_the_latest(study_dir, tmp_path):
    from xrayview.core.study.analysis import write_csv

    root, study = study_dir
    with ReaderStore(root, "alice", study) as st:
        assert st.record(0, {"overall": 1, "preferred": "left"}, 2.0) == 0
        assert st.record(1, {"overall": 0, "preferred": "left"}, 2.0) == 0
        assert st.record(0, {"overall": -2, "preferred": "right"}, 1.0, revise=True) == 1
        assert st.record(0, {"overall": 2, "preferred": "right"}, 1.5, revise=True) == 2
        assert st.latest(0)["scores"] == {"overall": 2, "preferred": "right"}
        assert st.latest(0)["revision"] == 2 and st.latest(5) is None
        assert st.answered() == {0, 1} and st.next_index() == 2 and st.revisions() == 2
    latest = load_answers(root)
    assert [(r["index"], r["revision"], r["scores"]["overall"]) for r in latest] == [
        (0, 2, 2), (1, 0, 0)]
    every = load_answers(root, all_revisions=True)
    assert [(r["index"], r["revision"], r["latest"]) for r in every] == [
        (0, 0, False), (0, 1, False), (0, 2, True), (1, 0, True)]
    assert write_csv(study, every, tmp_path / "all.csv") == 4  # revisions are exported
    assert "revision,latest" in (tmp_path / "all.csv").read_text().splitlines()[0]


def test_a_database_from_before_revisions_is_read_and_migrated(study_dir):
    import sqlite3

    root, study = study_dir
    with ReaderStore(root, "old", study) as st:
        trials = st.trials
    path = root / "readers" / "old.sqlite"
    con = sqlite3.connect(path)
    con.executescript("DROP TABLE answers; CREATE TABLE answers (idx INTEGER PRIMARY KEY "
                      "REFERENCES trials(idx), scores TEXT NOT NULL, time_s REAL NOT NULL, "
                      "display TEXT NOT NULL, answered_at REAL NOT NULL);"
                      "INSERT INTO answers VALUES (0, '{\"overall\": 1, \"preferred\": "
                      "\"left\"}', 3.0, '{}', 1.0);")
    con.close()
    assert [(r["index"], r["revision"]) for r in load_answers(root)] == [(0, 0)]
    with ReaderStore(root, "old", study) as st:   # migrated on first write access
        assert st.trials == trials and st.next_index() == 1
        assert st.record(0, {"overall": 2, "preferred": "left"}, 1.0, revise=True) == 1
    assert [r["scores"]["overall"] for r in load_answers(root, all_revisions=True)] == [1, 2]


def test_by_case_order_keeps_a_case_together_and_random_order_does_not(study_dir):
    import dataclasses

    _, study = study_dir
    assert study.order == "by_case"
    trials = reader_schedule(study, "alice")
    blocks = [t.case for t in trials]
    runs = [c for i, c in enumerate(blocks) if i == 0 or blocks[i - 1] != c]
    assert len(runs) == len(set(blocks)) == 8          # each case read in one go
    assert runs != sorted(runs)                        # cases shuffled
    per_case = {c: [t.condition for t in trials if t.case == c] for c in runs}
    assert len({tuple(v) for v in per_case.values()}) == 2  # conditions shuffled per case
    mixed = reader_schedule(dataclasses.replace(study, order="random"), "alice")
    cases = [t.case for t in mixed]
    assert len([c for i, c in enumerate(cases) if i == 0 or cases[i - 1] != c]) > 8
    assert sorted((t.case, t.condition) for t in mixed) == sorted(
        (t.case, t.condition) for t in trials)
