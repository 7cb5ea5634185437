"""Per-reader trial order: randomised, seeded, reproducible; training trials first.

The generator of a reader is ``numpy.random.default_rng([study.seed, reader_key(name)])``
where ``reader_key`` is the first 8 bytes of sha256(name), so the order depends on the
study seed and the reader only (not on Python's salted ``hash``). Training trials and
study trials are shuffled separately; training trials come first. In the paired design
each trial also draws whether the condition goes left or right (the original takes the
other side). The schedule is recorded in the reader's database (``store``).

Order (``Study.order``): ``by_case`` (default, as ViewDEX reads a case): the cases are
shuffled and each case's trials (its conditions, shuffled) follow each other, so the
window can count cases ("Case 3 of 20", "image 2 of 4"); ``random``: all trials of a
phase shuffled together (no case counter, "Image 17 of 80").
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


def trial_conditions(study: Study) -> list[str]:
    """The conditions a case is read under (paired design: all but the original)."""
    conds = [c.name for c in study.conditions]
    return [c for c in conds if c != ORIGINAL] if study.design == "paired" else conds


def _pairs(study: Study, training: bool, rng: np.random.Generator
           ) -> list[tuple[str, str]]:
    """(case, condition) of one phase in reading order."""
    cases = [c.id for c in study.cases if c.training == training]
    conds = trial_conditions(study)
    if study.order == "by_case":
        return [(cases[int(i)], conds[int(j)]) for i in rng.permutation(len(cases))
                for j in rng.permutation(len(conds))]
    pairs = [(case, cond) for case in cases for cond in conds]
    return [pairs[int(k)] for k in rng.permutation(len(pairs))]


def reader_schedule(study: Study, reader: str) -> list[Trial]:
    """The reader's trials in reading order (training first), reproducible from the seed."""
    rng = np.random.default_rng([study.seed, reader_key(reader)])
    trials: list[Trial] = []
    for training in (True, False):
        for case, cond in _pairs(study, training, rng):
            left, right = cond, ""
            if study.design == "paired":
                left, right = (cond, ORIGINAL) if rng.random() < 0.5 else (ORIGINAL, cond)
            trials.append(Trial(len(trials), case, cond, left, right, training))
    return trials
