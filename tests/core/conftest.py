"""Fixtures for the core tests: the malformed-film corpus, built and run once per session."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.corpus_worker import run_corpus
from tests.support.malformed_corpus import Case, build_corpus, load_sources

REPORT_ENV = "XRAYVIEW_CORPUS_REPORT"
"""Set to a file path to keep the corpus run's per-case results (JSON)."""


@dataclass
class CorpusRun:
    """The corpus folder, its cases and how each ended (see corpus_worker.run_case)."""

    folder: Path
    cases: list[Case]
    results: dict[int, dict]

    def rows(self) -> list[dict]:
        """One dict per case: the case's fields and its result."""
        return [{**c.__dict__, **self.results.get(i, {"outcome": "MISSING"})}
                for i, c in enumerate(self.cases)]


@pytest.fixture(scope="session")
def malformed_corpus(tmp_path_factory, pydicom_data_dir, pydicom_test_dir, cxr_dir) -> CorpusRun:
    """Build the corpus from the real films and run load_film on every case in
    resource-limited worker processes (one hang or crash costs one case)."""
    folder = tmp_path_factory.mktemp("malformed")
    cases = build_corpus(folder, load_sources(pydicom_data_dir, pydicom_test_dir, cxr_dir))
    run = CorpusRun(folder, cases, run_corpus(folder, len(cases)))
    if os.environ.get(REPORT_ENV):
        Path(os.environ[REPORT_ENV]).write_text(json.dumps(run.rows(), indent=1))
    return run
