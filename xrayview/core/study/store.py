"""Answers of one reader in one SQLite file: ``DIR/readers/<NAME>.sqlite``.

WAL journal with ``synchronous=FULL``: :meth:`ReaderStore.record` returns only after the
answer is committed and synced, so a crash (even SIGKILL or power loss after the call)
loses nothing already recorded. The reader's schedule is stored in the same file when it
is first opened, so the order survives any later change of code. Reopening resumes at
the first unanswered trial. One file per reader means readers at different workstations
never share a database; :func:`load_answers` merges all files for analysis, and
``merge.merge_reader_dbs`` adds files made elsewhere (``meta.study_sha256`` ties a file
to its study).

Revisions: going back and answering a trial again adds a row with the next
``revision`` number; no row is ever changed or deleted, and analysis uses the latest
revision of each trial (``load_answers(..., all_revisions=False)``). Files made before
revisions existed (``answers`` keyed by trial) are migrated on first write access.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

from xrayview.core.study.definition import _NAME, Study, StudyError
from xrayview.core.study.schedule import Trial, reader_schedule

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (idx INTEGER PRIMARY KEY, case_id TEXT NOT NULL,
    condition TEXT NOT NULL, left TEXT NOT NULL, right TEXT NOT NULL, training INTEGER);
CREATE TABLE IF NOT EXISTS answers (row INTEGER PRIMARY KEY AUTOINCREMENT,
    idx INTEGER NOT NULL REFERENCES trials(idx), revision INTEGER NOT NULL,
    scores TEXT NOT NULL, time_s REAL NOT NULL, display TEXT NOT NULL,
    answered_at REAL NOT NULL, UNIQUE (idx, revision));
"""
_MIGRATE_V1 = """
ALTER TABLE answers RENAME TO answers_v1;
CREATE TABLE answers (row INTEGER PRIMARY KEY AUTOINCREMENT,
    idx INTEGER NOT NULL REFERENCES trials(idx), revision INTEGER NOT NULL,
    scores TEXT NOT NULL, time_s REAL NOT NULL, display TEXT NOT NULL,
    answered_at REAL NOT NULL, UNIQUE (idx, revision));
INSERT INTO answers (idx, revision, scores, time_s, display, answered_at)
    SELECT idx, 0, scores, time_s, display, answered_at FROM answers_v1 ORDER BY idx;
DROP TABLE answers_v1;
"""
ANSWER_COLUMNS = "idx, revision, scores, time_s, display, answered_at"


def study_hash(study: Study) -> str:
    """sha256 of the study's definition (canonical JSON): which study a reader file is of."""
    text = json.dumps(study.as_dict(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _has_revisions(con: sqlite3.Connection) -> bool:
    return "revision" in {r[1] for r in con.execute("PRAGMA table_info(answers)")}


def reader_db_path(root: str | Path, reader: str) -> Path:
    """``DIR/readers/<reader>.sqlite``; StudyError for a name that is not a plain word."""
    if not _NAME.match(reader):
        raise StudyError(f"reader name {reader!r}: use letters, digits, '_', '-' and '.'.")
    return Path(root) / "readers" / f"{reader}.sqlite"


def _connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    """Open a reader database; ``readonly``: a ``file:...?mode=ro`` URI, which never writes
    the database. SQLite still needs the WAL's shared-memory file beside it; on read-only
    media, where that file cannot be made, the database is opened ``immutable`` (nobody
    can be writing to it there). In a writable folder SQLite may leave the empty side
    files (``-wal``, ``-shm``) of the WAL; the database file itself is never written."""
    uri = Path(path).resolve().as_uri()
    if not readonly:
        con = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=10)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        return con
    try:
        con = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None, timeout=10)
        con.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return con
    except sqlite3.OperationalError as exc:
        if "unable to open" not in str(exc) or not Path(path).is_file():
            raise
    return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None)


def _foreign(path: Path) -> StudyError:
    return StudyError(f"reader database {path.name} belongs to a different study (study "
                      "hash differs); it was not made for this study folder.")


def _damaged(path: Path, exc: Exception) -> StudyError:
    return StudyError(f"reader database {path.name} is damaged or not an xrayview reader "
                      f"database ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}).")


class ReaderStore:
    """One reader's schedule and answers; use as a context manager or call :meth:`close`."""

    def __init__(self, root: str | Path, reader: str, study: Study) -> None:
        self.reader, self.study = reader, study
        self.path = reader_db_path(root, reader)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StudyError(f"cannot create the readers folder of {root} "
                             f"({exc.strerror or exc}); reading needs a writable folder.") from None
        try:
            self._con = _connect(self.path)
            self._con.executescript(_SCHEMA)
            if not _has_revisions(self._con):
                self._con.executescript(f"BEGIN; {_MIGRATE_V1} COMMIT;")
            if self._con.execute("SELECT COUNT(*) FROM trials").fetchone()[0] == 0:
                self._write_schedule(reader_schedule(study, reader))
            self._con.execute("INSERT OR IGNORE INTO meta VALUES ('study_sha256', ?)",
                              (study_hash(study),))
            if read_meta(self._con)["study_sha256"] != study_hash(study):
                self._con.close()
                raise _foreign(self.path)
            self.trials = [Trial(i, c, k, lf, rt, bool(t)) for i, c, k, lf, rt, t in
                           self._con.execute("SELECT * FROM trials ORDER BY idx")]
        except sqlite3.OperationalError as exc:
            if "readonly" in str(exc) or "unable to open" in str(exc):
                raise StudyError(f"cannot write the reader database {self.path.name} "
                                 f"({exc}); reading needs a writable study folder.") from None
            raise _damaged(self.path, exc) from None
        except sqlite3.DatabaseError as exc:
            raise _damaged(self.path, exc) from None

    def _write_schedule(self, trials: list[Trial]) -> None:
        with self._con:  # one transaction
            self._con.execute("BEGIN")
            self._con.executemany("INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?)",
                                  [(t.index, t.case, t.condition, t.left, t.right,
                                    int(t.training)) for t in trials])
            self._con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
                ("reader", self.reader), ("seed", str(self.study.seed)),
                ("design", self.study.design), ("created", str(time.time()))])
        log.info("schedule of %d trials recorded for a reader", len(trials))

    def answered(self) -> set[int]:
        """Indices of the trials with a committed answer."""
        return {r[0] for r in self._con.execute("SELECT DISTINCT idx FROM answers")}

    def latest(self, index: int) -> dict[str, Any] | None:
        """The latest committed answer to trial ``index`` (scores, time_s, display,
        revision), or None."""
        row = self._con.execute("SELECT scores, time_s, display, revision FROM answers "
                                "WHERE idx = ? ORDER BY revision DESC LIMIT 1",
                                (index,)).fetchone()
        if row is None:
            return None
        return {"scores": json.loads(row[0]), "time_s": row[1],
                "display": json.loads(row[2]), "revision": row[3]}

    def revisions(self) -> int:
        """How many answers are revisions of an earlier answer."""
        return self._con.execute("SELECT COUNT(*) FROM answers WHERE revision > 0"
                                 ).fetchone()[0]

    def next_index(self) -> int | None:
        """The first unanswered trial's index, or None when the reader is done."""
        done = self.answered()
        return next((t.index for t in self.trials if t.index not in done), None)

    def check_scores(self, scores: dict[str, Any]) -> None:
        """Raise StudyError unless ``scores`` answers every question with an allowed value."""
        for q in self.study.questions:
            if scores.get(q.id) not in q.values:
                raise StudyError(f"question {q.id}: {scores.get(q.id)!r} is not one of "
                                 f"{q.values}.")
        extra = set(scores) - {q.id for q in self.study.questions}
        if extra:
            raise StudyError(f"unknown question {sorted(extra)[0]!r}.")

    def record(self, index: int, scores: dict[str, Any], time_s: float,
               display: dict[str, Any] | None = None, revise: bool = False) -> int:
        """Commit the answer to trial ``index``; returns after the commit is on disk.

        scores: question id -> value (see ``Question.values``). display: window/level,
        preset, inversion and zoom of each view when answered (JSON-able). time_s: the
        time spent on the trial (pauses excluded). Re-answering a trial is refused unless
        ``revise``: then a new row with the next revision number is added (the earlier
        answer stays). Returns the revision number stored (0 for a first answer).
        """
        if not 0 <= index < len(self.trials):
            raise StudyError(f"no trial {index}.")
        self.check_scores(scores)
        last = self._con.execute("SELECT MAX(revision) FROM answers WHERE idx = ?",
                                 (index,)).fetchone()[0]
        if last is not None and not revise:
            raise StudyError(f"trial {index} is already answered.")
        revision = 0 if last is None else last + 1
        self._con.execute(f"INSERT INTO answers ({ANSWER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                          (index, revision, json.dumps(scores), float(time_s),
                           json.dumps(display or {}), time.time()))
        return revision

    def close(self) -> None:
        """Close the database (checkpoints the WAL)."""
        self._con.close()

    def __enter__(self) -> ReaderStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def load_answers(root: str | Path, all_revisions: bool = False,
                 study: Study | None = None) -> list[dict[str, Any]]:
    """The committed answers of every reader DB under ``DIR/readers``, in reader order:
    the latest revision of each trial, or with ``all_revisions`` every row. With
    ``study``, a database made for another study (``meta.study_sha256``) is refused.

    Each row: reader, index, revision, latest, case, condition, left, right, side,
    training, scores (dict), time_s, display (dict), answered_at.

    Databases are opened read-only (``mode=ro``), so analysis works on read-only media
    and never changes a reader's file; a damaged one raises StudyError (one line).
    """
    rows = []
    for path in sorted((Path(root) / "readers").glob("*.sqlite")):
        rows += read_answers(path, path.stem, all_revisions,
                             None if study is None else study_hash(study))
    return rows


def read_meta(con: sqlite3.Connection) -> dict[str, str]:
    """The ``meta`` table of an open reader database."""
    return dict(con.execute("SELECT key, value FROM meta"))


def read_answers(path: Path, reader: str, all_revisions: bool = False,
                 expected_hash: str | None = None) -> list[dict[str, Any]]:
    """The committed answers of one reader database (opened read-only); see load_answers.
    ``expected_hash``: refuse a database whose recorded study hash is another."""
    rows = []
    try:
        con = _connect(path, readonly=True)
    except sqlite3.DatabaseError as exc:
        raise _damaged(path, exc) from None
    try:
        stored = read_meta(con).get("study_sha256")
        if expected_hash is not None and stored is not None and stored != expected_hash:
            raise _foreign(path)
        revision = "a.revision" if _has_revisions(con) else "0"
        found = list(con.execute(
            f"SELECT t.idx, {revision} AS rev, case_id, condition, left, right, training, scores, "
            "time_s, display, answered_at FROM answers a JOIN trials t "
            "ON a.idx = t.idx ORDER BY t.idx, rev"))
        last = {r[0]: r[1] for r in found}  # rows are in revision order
        for idx, rev, case, cond, left, right, training, scores, t, disp, at in found:
            if not all_revisions and rev != last[idx]:
                continue
            trial = Trial(idx, case, cond, left, right, bool(training))
            rows.append({"reader": reader, "index": idx, "revision": rev,
                         "latest": rev == last[idx], "case": case,
                         "condition": cond, "left": left, "right": right,
                         "side": trial.side, "training": bool(training),
                         "scores": json.loads(scores), "time_s": t,
                         "display": json.loads(disp), "answered_at": at})
    except (sqlite3.DatabaseError, ValueError, TypeError) as exc:
        raise _damaged(path, exc) from None
    finally:
        con.close()
    return rows
