"""A reading process without a window: answers trials through ReaderStore as the window
does (record, then the next trial), printing each committed index. Used by the SIGKILL
test and the simulated study. Usage: python -m tests.support.study_driver DIR READER [DELAY]
"""

from __future__ import annotations

import sys
import time

import numpy as np

from xrayview.core.study.prepare import load_prepared
from xrayview.core.study.schedule import reader_key
from xrayview.core.study.store import ReaderStore


def simulated_scores(study, trial, rng) -> dict:
    """A seeded rule: enhanced images get slightly better scores, with reader noise."""
    bonus = {"original": 0.0}.get(trial.condition, 0.6 if "vdsr" in trial.condition else 0.2)
    out = {}
    for q in study.questions:
        if q.kind == "likert":
            out[q.id] = int(np.clip(np.rint(3 + bonus * (trial.condition != "original")
                                            + rng.normal(0, 0.8)), 1, 5))
        elif q.kind == "vga":
            v = int(np.clip(np.rint(bonus + rng.normal(0, 0.8)), -2, 2))
            out[q.id] = v if trial.side == "right" else -v  # right relative to left
        else:
            better = rng.random() < 0.5 + bonus / 2
            other = "left" if trial.side == "right" else "right"
            out[q.id] = trial.side if better else other
    return out


def answer_all(root, reader: str, delay: float = 0.0, echo: bool = False,
               seed_offset: int = 0) -> int:
    """Answer every unanswered trial of ``reader``; returns how many were answered.
    ``seed_offset`` changes the simulated answers (another session of the same reader)."""
    study = load_prepared(root)
    rng = np.random.default_rng([study.seed, reader_key(reader), 99 + seed_offset])
    n = 0
    with ReaderStore(root, reader, study) as store:
        while (idx := store.next_index()) is not None:
            trial = store.trials[idx]
            t = 2.0 + rng.random() * 5
            store.record(idx, simulated_scores(study, trial, rng), t,
                         {"left": {"center": 0.5, "width": 1.0, "zoom": 1.0}})
            n += 1
            if echo:
                print(idx, flush=True)
            if delay:
                time.sleep(delay)
    return n


if __name__ == "__main__":
    answer_all(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 0.0,
               echo=True)
