"""Hostile inputs from issue 17, generated here: non-regular files, user errors that must
be exit 2 (one plain line, no traceback), output-size budgets and terminal-safe text.

Each CLI case runs ``python -m xrayview`` in its own process; the subprocess timeout is
only a safety net against a hang, the assertions are on exit code and message.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.core.corpus_worker import REPO_ROOT
from xrayview.core.io import NotAnImageError, load_film


def xrayview(*args, timeout: float = 300.0) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xrayview", *map(str, args)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=timeout)


def assert_bad_input(proc: subprocess.CompletedProcess, *phrases: str) -> None:
    """Exit 2 with exactly one plain line on stderr that holds every phrase."""
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("xrayview: "), proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


def _png(path, shape=(32, 32), dtype=np.uint8):
    Image.fromarray(np.random.default_rng(0).integers(0, 200, shape).astype(dtype)).save(path)
    return path


# --- non-regular files --------------------------------------------------------------------

@pytest.mark.parametrize("command", ["info", "enhance"])
def test_a_named_pipe_as_film_is_refused_at_once(tmp_path, command):
    fifo = tmp_path / "film.png"
    os.mkfifo(fifo)
    args = [command, fifo] + ([tmp_path / "out.png", "--model", "none"]
                              if command == "enhance" else [])
    assert_bad_input(xrayview(*args, timeout=120), "film.png is a named pipe (FIFO), not a film")


def test_devices_sockets_and_folders_are_not_films(tmp_path):
    sock_path = tmp_path / "s.dcm"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(sock_path))
    try:
        for path, what in (("/dev/zero", "a character device"), (sock_path, "a socket"),
                           (tmp_path, "a folder")):
            with pytest.raises(NotAnImageError, match=what):
                load_film(path)
    finally:
        sock.close()
