"""Keep patient identifiers out of logs, warnings and error messages.

pydicom quotes element values in its warnings and log records ("Invalid value for VR LO:
'...'"), and third-party exception texts can do the same. So:

* ``redact(text, secrets)`` replaces every identifying value of the data set (and any
  quoted value longer than four characters) with ``<redacted>``; the loaders and the
  exporter pass every third-party text through it before it reaches a FilmError
  message or a log record;
* ``QuietWarnings`` records the warnings raised while a film is read or written and
  logs them at DEBUG, redacted, instead of letting Python print them to stderr;
* ``RedactQuotedValues`` is a logging filter installed on the ``pydicom`` logger (by
  ``install_pydicom_log_filter``) that masks quoted values in pydicom's own records.

The identifiers are listed in ``IDENTIFYING_KEYWORDS`` (names, IDs, dates of birth,
accession and study numbers, physicians, institution, instance UIDs).
"""

from __future__ import annotations

import logging
import re
import threading
import warnings
from typing import Any, Iterable

REDACTED = "<redacted>"
IDENTIFYING_KEYWORDS = (
    "PatientName", "PatientID", "OtherPatientIDs", "OtherPatientNames", "PatientBirthDate",
    "PatientBirthName", "PatientMotherBirthName", "PatientAddress", "PatientTelephoneNumbers",
    "IssuerOfPatientID", "MedicalRecordLocator", "PatientComments", "AdditionalPatientHistory",
    "AccessionNumber", "StudyID", "ReferringPhysicianName", "PerformingPhysicianName",
    "NameOfPhysiciansReadingStudy", "OperatorsName", "InstitutionName", "InstitutionAddress",
    "StationName", "DeviceSerialNumber", "StudyInstanceUID", "SeriesInstanceUID",
    "SOPInstanceUID",
)
_QUOTED = re.compile(r"""(['"])([^'"]{5,})\1""")


def identifying_values(ds: Any) -> list[str]:
    """The identifying values of a pydicom Dataset as strings (raw and decoded forms,
    and each name component), longest first; never raises, even on a damaged data set."""
    from pydicom.datadict import tag_for_keyword

    found: set[str] = set()
    for keyword in IDENTIFYING_KEYWORDS:
        try:
            elem = ds.get_item(tag_for_keyword(keyword))
        except Exception:  # noqa: BLE001 - a damaged element must not stop redaction
            continue
        if elem is None:
            continue
        raw = elem.value
        texts: list[str] = []
        if isinstance(raw, (bytes, bytearray)):
            texts += [bytes(raw).decode("latin-1"), bytes(raw).decode("utf-8", "replace")]
        elif raw is not None:
            texts.append(str(raw))
        for text in texts:
            for part in re.split(r"[\\^=]", text) + [text]:
                part = part.strip(" \x00")
                if len(part) >= 2:
                    found.update({part, repr(part)[1:-1]})
    return sorted(found, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret and every quoted value of 5+ characters masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return _QUOTED.sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(1)}", text)


def short_reason(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """The first line of an exception's text (or its type), redacted, at most 160 chars."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    line = redact(line, secrets)
    return line if len(line) <= 160 else line[:157] + "..."


class QuietWarnings:
    """Context manager: record warnings, then log them (redacted) at DEBUG on exit.

    Set ``secrets`` (e.g. from ``identifying_values``) once the data set is known.
    ``caught`` holds the recorded ``warnings.WarningMessage`` objects.
    ``warnings.catch_warnings`` swaps process-wide state, so blocks are serialised by a
    lock (re-entrant: a block may nest in the same thread); films loaded on several
    threads at once therefore take turns.
    """

    _lock = threading.RLock()

    def __init__(self, logger: logging.Logger, what: str = "") -> None:
        self.logger, self.what = logger, what
        self.secrets: list[str] = []
        self.caught: list[warnings.WarningMessage] = []
        self._ctx = warnings.catch_warnings(record=True)

    def __enter__(self) -> "QuietWarnings":
        self._lock.acquire()
        try:
            self.caught = self._ctx.__enter__()
            warnings.simplefilter("always")
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(self, *exc_info: Any) -> None:
        try:
            self._ctx.__exit__(*exc_info)
        finally:
            self._lock.release()
        for w in self.caught:
            self.logger.debug("%s%s: %s", self.what, w.category.__name__,
                              redact(str(w.message), self.secrets))

    def any_message(self, fragment: str) -> bool:
        """Whether a recorded warning's text contains ``fragment``."""
        return any(fragment in str(w.message) for w in self.caught)


class RedactQuotedValues(logging.Filter):
    """Logging filter: mask quoted values (which may be identifiers) in a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: leave the record alone
            return True
        record.msg, record.args = redact(message), ()
        return True


def install_pydicom_log_filter() -> None:
    """Add ``RedactQuotedValues`` to the ``pydicom`` logger once."""
    logger = logging.getLogger("pydicom")
    if not any(isinstance(f, RedactQuotedValues) for f in logger.filters):
        logger.addFilter(RedactQuotedValues())


class RedactedCause(Exception):
    """Stands in for a third-party exception as a FilmError's cause: the original type,
    where it was raised (file:line) and its first line with identifiers masked. It holds
    no traceback, so no frame (and no local holding a data set or pixels) is kept alive
    or shown by a crash report."""


def redacted_cause(exc: BaseException, secrets: Iterable[str] = ()) -> RedactedCause:
    """A ``RedactedCause`` for ``exc`` (use as ``raise FilmError(...) from cause``)."""
    import traceback
    from pathlib import Path

    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return RedactedCause(f"{type(exc).__name__}{where}: {short_reason(exc, secrets)}")
