"""``xrayview study merge DIR READER_DB...``: add reader databases made on other workstations.

Each file is checked before anything is written:
  * it is an intact xrayview reader database (``PRAGMA quick_check``, opened read-only);
  * it belongs to this study: its ``meta.study_sha256`` equals ``store.study_hash`` of
    ``DIR/study.json`` (same cases, conditions, questions and seed), and its schedule is
    the one the study gives its reader;
  * its reader does not collide: when ``DIR/readers/<reader>.sqlite`` exists already, the
    two must hold exactly the same schedule and answers (then the file is skipped);
    the same reader name with different answers is refused, as are two given files of
    one reader that differ (a file here with no answers at all, made when the reader
    only opened the study, is replaced).
Only then is each new file copied in, atomically (``atomic_write`` of SQLite's
serialised image of the database: the copy is whole or absent). Sources are never
written (read-only connections).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from xrayview.core.io.files import atomic_write
from xrayview.core.study.definition import _NAME, Study, StudyError
from xrayview.core.study.schedule import reader_schedule
from xrayview.core.study.store import (
    ANSWER_COLUMNS,
    _connect,
    _damaged,
    _has_revisions,
    read_meta,
    reader_db_path,
    study_hash,
)


@dataclass(frozen=True)
class MergeResult:
    """What happened to one given file: ``status`` "added" or "skipped"."""

    source: Path
    reader: str
    answers: int
    status: str


@dataclass
class _Checked:
    source: Path
    reader: str
    content: tuple
    image: bytes


def _content(con: sqlite3.Connection) -> tuple:
    trials = tuple(con.execute("SELECT * FROM trials ORDER BY idx"))
    cols = ANSWER_COLUMNS if _has_revisions(con) else ANSWER_COLUMNS.replace(
        "revision", "0")
    answers = tuple(con.execute(f"SELECT {cols} FROM answers ORDER BY idx, 2"))
    return trials, answers


def _check(path: Path, study: Study, digest: str) -> _Checked:
    if not path.is_file():
        raise StudyError(f"reader database not found: {path}")
    try:
        con = _connect(path, readonly=True)
    except sqlite3.DatabaseError as exc:
        raise _damaged(path, exc) from None
    try:
        if con.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise StudyError(f"reader database {path.name} is damaged (quick_check failed).")
        meta = read_meta(con)
        content = _content(con)
        image = con.serialize()
    except sqlite3.DatabaseError as exc:
        raise _damaged(path, exc) from None
    finally:
        con.close()
    reader = meta.get("reader", "")
    if not _NAME.match(reader):
        raise StudyError(f"{path.name}: no valid reader name in the database.")
    if meta.get("study_sha256") != digest:
        raise StudyError(f"{path.name} (reader {reader}) belongs to a different study "
                         "(study hash differs); merge only databases read from this study.")
    expected = tuple((t.index, t.case, t.condition, t.left, t.right, int(t.training))
                     for t in reader_schedule(study, reader))
    if content[0] != expected:
        raise StudyError(f"{path.name}: its schedule is not the one this study gives "
                         f"reader {reader}.")
    return _Checked(path, reader, content, image)


def _side_files(dest: Path) -> list[Path]:
    """The WAL side files beside ``dest``; StudyError if its log holds data (a reading
    window may have it open, or it was not closed): such a log would be applied to the
    new file."""
    wal, shm = Path(f"{dest}-wal"), Path(f"{dest}-shm")
    if wal.is_file() and wal.stat().st_size > 0:
        raise StudyError(f"{dest.name} in the study has an unfinished write-ahead log (is "
                         "a reading window open on it?); close it and merge again.")
    return [wal, shm]


def merge_reader_dbs(root: str | Path, study: Study, sources: list[str | Path]
                     ) -> list[MergeResult]:
    """Check every file in ``sources`` against the study folder ``root``, then copy the new
    ones to ``DIR/readers/``; returns one result per source. StudyError (one line) for the
    first problem, before anything is written."""
    root = Path(root)
    digest = study_hash(study)
    checked = [_check(Path(s), study, digest) for s in sources]
    results, plan = [], {}
    for c in checked:
        dest = reader_db_path(root, c.reader)
        status = "added"
        if c.reader in plan:
            if plan[c.reader].content != c.content:
                raise StudyError(f"{plan[c.reader].source.name} and {c.source.name} are both "
                                 f"reader {c.reader} with different answers.")
            status = "skipped"
        elif dest.exists() and _check(dest, study, digest).content[1] == ():
            plan[c.reader] = c  # opened here but never answered: nothing to lose
        elif dest.exists():
            existing = _check(dest, study, digest)
            if existing.content != c.content:
                raise StudyError(f"reader {c.reader} is already in the study with different "
                                 f"answers; refusing {c.source.name} (rename neither file, "
                                 "ask which is right).")
            status = "skipped"
        else:
            plan[c.reader] = c
        results.append(MergeResult(c.source, c.reader, len(c.content[1]), status))
    stale = {reader: _side_files(reader_db_path(root, reader)) for reader in plan}
    if plan:
        (root / "readers").mkdir(parents=True, exist_ok=True)
    for reader, c in plan.items():
        for side in stale[reader]:  # empty leftovers of an earlier connection
            side.unlink(missing_ok=True)
        atomic_write(reader_db_path(root, reader), lambda fh, data=c.image: fh.write(data))
    return results
