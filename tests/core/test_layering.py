"""xrayview.core must never import Qt (GPU servers and batch machines often have none)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import xrayview

FORBIDDEN = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6", "xrayview.gui")
CORE = Path(xrayview.__file__).parent / "core"

BLOCK_QT = """
import importlib.abc, sys
class BlockQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6"):
            raise ImportError(f"{name} is blocked for this test")
sys.meta_path.insert(0, BlockQt())
"""


def test_core_sources_import_no_qt():
    offenders = []
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(FORBIDDEN)]
    assert not offenders


def test_core_loads_films_with_qt_unimportable(pydicom_data_dir):
    film = pydicom_data_dir / "RG3_J2KR.dcm"
    code = BLOCK_QT + f"""
import xrayview.core.io, xrayview.core.film, xrayview.core.resources
from xrayview.core.io import load_film
f = load_film({str(film)!r})
s = load_film(xrayview.core.resources.sample_film_path())
assert f.shape == (1760, 1760) and s.shape == (1024, 1024)
leaked = [m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph")]
assert not leaked, leaked
from xrayview.cli import main
assert main(["info", {str(film)!r}]) == 0
print("OK")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stdout
