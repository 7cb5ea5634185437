"""Per-reader trial order: randomised, seeded, reproducible; training trials first.

The generator of a reader is ``numpy.random.default_rng([study.seed, reader_key(name)])``
where ``reader_key`` is the first 8 bytes of sha256(name), so the order depends on the
study seed and the reader only (not on Python's salted ``hash``). Training trials and
study trials are shuffled separately; training trials come first. In the paired design
each trial also draws whether the condition goes left or right (the original takes the
other side). The schedule is recorded in the reader's database (``store``).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

import numpy as np

from xrayview.core.study.definition import Study

ORIGINAL = "original"


@dataclass(frozen=True)
class Trial:
    """One screen of the reading session.

    ``left`` / ``right``: the condition shown on each side (single design: ``left`` only,
    ``right`` is ""). ``index`` is the 0-based position in the reader's schedule.
    """

    index: int
    case: str
    condition: str
    left: str
    right: str
    training: bool

    @property
    def side(self) -> str:
        """Where the condition under test is: "left", "right", or "single"."""
        if not self.right:
            return "single"
        return "left" if self.left == self.condition else "right"

    def as_dict(self) -> dict:
        """Plain data (for the database)."""
        return asdict(self)


def reader_key(name: str) -> int:
    """A stable 64-bit integer from a reader name (the seed's second word)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")


def _pairs(study: Study, training: bool) -> list[tuple[str, str]]:
    cases = [c.id for c in study.cases if c.training == training]
    conds = [c.name for c in study.conditions]
    if study.design == "paired":
        conds = [c for c in conds if c != ORIGINAL]
    return [(case, cond) for case in cases for cond in conds]


def reader_schedule(study: Study, reader: str) -> list[Trial]:
    """The reader's trials in reading order (training first), reproducible from the seed."""
    rng = np.random.default_rng([study.seed, reader_key(reader)])
    trials: list[Trial] = []
    for training in (True, False):
        pairs = _pairs(study, training)
        order = rng.permutation(len(pairs))
        for k in order:
            case, cond = pairs[int(k)]
            left, right = cond, ""
            if study.design == "paired":
                left, right = (cond, ORIGINAL) if rng.random() < 0.5 else (ORIGINAL, cond)
            trials.append(Trial(len(trials), case, cond, left, right, training))
    return trials
