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


# -- the subpackages of core: which may import which (issue 13) ---------------------------
# A subpackage may import those listed for it (and the foundation modules film, cancel,
# device, generators, resources, io, nets, quality, models); never one above it.
FOUNDATION = {"film", "cancel", "device", "generators", "resources"}
ALLOWED = {
    "io": set(),
    "nets": set(),
    "models": {"io", "nets"},
    "quality": set(),
    "enhance": {"io", "nets", "models", "quality"},
    "training": {"io", "nets", "models", "quality", "enhance"},
    "evaluation": {"io", "nets", "models", "quality", "enhance"},
    "bench": {"io", "nets", "models", "quality", "enhance"},
    "study": {"io", "nets", "models", "quality", "enhance"},
}


def _core_imports(path: Path) -> set[str]:
    """First component below xrayview.core of every import in ``path`` (lazy ones too)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        mods = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
        if isinstance(node, ast.ImportFrom) and node.module == "xrayview.core":
            mods = [f"xrayview.core.{a.name}" for a in node.names]
        for m in mods:
            if m.startswith("xrayview.core."):
                found.add(m.split(".")[2])
    return found


def test_core_subpackages_import_only_downwards():
    offenders = []
    for pkg, allowed in ALLOWED.items():
        for path in (CORE / pkg).rglob("*.py"):
            bad = _core_imports(path) - allowed - FOUNDATION - {pkg}
            offenders += [f"core/{pkg}/{path.name} imports core.{b}" for b in sorted(bad)]
    assert not offenders, offenders
    # every subpackage of core is listed above
    packages = {p.name for p in CORE.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(ALLOWED)


def test_foundation_modules_import_no_subpackage():
    for name in FOUNDATION:
        path = CORE / f"{name}.py"
        assert not (_core_imports(path) - FOUNDATION), name


def test_gui_modules_import_no_torch_at_module_level():
    gui = Path(xrayview.__file__).parent / "gui"
    offenders = []
    for path in gui.glob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in tree.body:  # module level only; functions may import lazily
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            offenders += [f"{path.name}: {m}" for m in mods
                          if m.split(".")[0] in ("torch", "scipy", "skimage")
                          or m in TORCH_MODULES]
    assert not offenders, offenders


# core modules that import torch at module level (the GUI reaches them on its worker only)
TORCH_MODULES = {"xrayview.core.enhance.pipeline", "xrayview.core.enhance.super_resolution",
                 "xrayview.core.enhance.tiling", "xrayview.core.enhance.dehazing",
                 "xrayview.core.models.weights", "xrayview.core.device",
                 "xrayview.core.quality.metrics", "xrayview.core.quality.degrade"}


def test_model_names_are_literals_only_in_the_registry_and_architecture_table():
    """Every other product module asks ``core.models.registry`` for model names."""
    import tokenize

    from xrayview.core.models.registry import MODELS

    names = set(MODELS)
    root = Path(xrayview.__file__).parent
    holders = set()
    for path in root.rglob("*.py"):
        with open(path, "rb") as fh:
            tokens = list(tokenize.tokenize(fh.readline))
        for i, tok in enumerate(tokens):
            if tok.type != tokenize.STRING or tok.string[:1] in "fFbB":
                continue
            try:
                value = ast.literal_eval(tok.string)
            except (ValueError, SyntaxError):
                continue
            if value in names:
                holders.add(path.relative_to(root).as_posix())
    assert holders <= {"core/models/registry.py", "core/nets/__init__.py"}, holders
