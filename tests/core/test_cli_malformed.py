"""``xrayview info`` on a sample of the malformed corpus, each in its own process: exit
code 2, exactly one plain line on stderr, no traceback (DESIGN section 4)."""

from __future__ import annotations

import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.corpus_worker import REPO_ROOT

pytestmark = pytest.mark.slow
PER_KIND = 2


def _sample(rows: list[dict]) -> list[dict]:
    """Per kind, PER_KIND cases that ended in a FilmError, plus up to three cases where a
    C library wrote to stderr (libtiff, GDCM's libjpeg), which the CLI must silence."""
    rng = random.Random(5)
    failed = [r for r in rows if r["outcome"] not in ("Film",) and "message" in r]
    by_kind: dict[str, list[dict]] = {}
    for r in failed:
        by_kind.setdefault(r["kind"], []).append(r)
    sample = [r for group in by_kind.values() for r in rng.sample(group, min(PER_KIND, len(group)))]
    noisy = [r for r in failed if r.get("stderr_bytes") and r not in sample]
    return sample + noisy[:3]


def _info(path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xrayview", "info", str(path)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


def test_info_on_malformed_films_exits_2_with_one_line(malformed_corpus):
    sample = _sample(malformed_corpus.rows())
    assert len(sample) >= 20
    with ThreadPoolExecutor(max_workers=3) as pool:
        procs = list(pool.map(lambda r: _info(malformed_corpus.folder / r["file"]), sample))
    problems = []
    for row, proc in zip(sample, procs):
        lines = proc.stderr.strip().splitlines()
        if proc.returncode != 2 or len(lines) != 1 or "Traceback" in proc.stderr \
                or not lines[0].startswith("xrayview: ") or proc.stdout:
            problems.append(f"{row['name']}: exit {proc.returncode}, stderr {proc.stderr!r}")
    assert not problems, "\n".join(problems)
