"""``xrayview --self-test`` as a real process, offscreen, with tiny models."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.model_factory import make_models_dir
from xrayview.core.models.registry import MODELS_ENV


def test_self_test_process_passes(tmp_path):
    env = {**os.environ, MODELS_ENV: str(make_models_dir(tmp_path / "models")),
           "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    proc = subprocess.run([sys.executable, "-m", "xrayview", "--self-test"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "main window created and closed" in proc.stdout
    assert "self-test: passed" in proc.stdout and "dehazing: 2 steps" in proc.stdout


def test_self_test_fails_without_weights(tmp_path):
    env = {**os.environ, MODELS_ENV: str(tmp_path / "empty"), "QT_QPA_PLATFORM": "offscreen"}
    (tmp_path / "empty").mkdir()
    proc = subprocess.run([sys.executable, "-m", "xrayview", "--self-test"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "no trained weights" in proc.stderr
