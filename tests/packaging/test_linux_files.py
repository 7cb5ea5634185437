"""The Linux packaging files: desktop entry, MIME type, per-user installer, versions.

The bundle itself is built and tested by ``packaging/test_package.sh`` (``make package``
then ``make package-test``, run by CI); these checks are quick enough for every run.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import xrayview
from tests.conftest import REPO_ROOT

LINUX = REPO_ROOT / "packaging" / "linux"
MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"


def _desktop_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


def test_desktop_entry_opens_films_with_the_installed_app():
    entry = _desktop_entry(LINUX / "xrayview.desktop")
    assert entry["Type"] == "Application" and entry["Icon"] == "xrayview"
    assert entry["Exec"] == "/opt/xrayview/xrayview gui %F"
    assert entry["Terminal"] == "false"
    mimes = entry["MimeType"].rstrip(";").split(";")
    assert "application/dicom" in mimes and {"image/png", "image/tiff"} <= set(mimes)
    assert "not for diagnosis" in entry["Comment"]


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None,
                    reason="desktop-file-utils not installed")
def test_desktop_entry_validates():
    out = subprocess.run(["desktop-file-validate", str(LINUX / "xrayview.desktop")],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "error" not in out.stdout.lower(), out.stdout


def test_mime_type_matches_real_dicom_files(pydicom_data_dir):
    root = ET.parse(LINUX / "xrayview-mime.xml").getroot()
    mime = root.find(f"{MIME_NS}mime-type")
    assert mime is not None and mime.get("type") == "application/dicom"
    globs = {g.get("pattern") for g in mime.iter(f"{MIME_NS}glob")}
    assert "*.dcm" in globs
    match = next(mime.iter(f"{MIME_NS}match"))
    offset, value = int(match.get("offset")), match.get("value").encode()
    real = sorted(pydicom_data_dir.glob("*.dcm"))[:10]
    assert real, "no real DICOM files to check the magic against"
    for path in real:  # every Part 10 file has "DICM" after its 128-byte preamble
        assert path.read_bytes()[offset:offset + len(value)] == value, path.name


def test_portable_desktop_entry_installs_and_removes_per_user(tmp_path):
    folder = tmp_path / "xrayview-portable with space"
    folder.mkdir()
    for name in ("xrayview.desktop", "xrayview-mime.xml", "install-desktop-entry.sh"):
        shutil.copy(LINUX / name, folder / name)
    shutil.copy(REPO_ROOT / "resources" / "icons" / "xrayview.svg", folder / "xrayview.svg")
    data = tmp_path / "data"
    env = dict(os.environ, XDG_DATA_HOME=str(data))
    subprocess.run(["bash", str(folder / "install-desktop-entry.sh")], env=env, check=True,
                   capture_output=True)
    entry = _desktop_entry(data / "applications" / "xrayview.desktop")
    assert entry["Exec"] == f'"{folder}/xrayview" gui %F'
    assert (data / "icons/hicolor/scalable/apps/xrayview.svg").is_file()
    assert (data / "mime/packages/xrayview.xml").is_file()
    subprocess.run(["bash", str(folder / "install-desktop-entry.sh"), "--remove"], env=env,
                   check=True, capture_output=True)
    assert not (data / "applications" / "xrayview.desktop").exists()
    assert not (data / "mime/packages/xrayview.xml").exists()


def test_versions_agree():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert xrayview.__version__ == project["version"]
    iss = (REPO_ROOT / "packaging" / "windows" / "xrayview.iss").read_text()
    assert re.search(r'#define AppVersion "([^"]+)"', iss).group(1) == project["version"]


def test_bundle_spec_names_existing_files():
    spec = (REPO_ROOT / "build.spec").read_text()
    for rel in ("packaging/entry.py", "packaging/THIRD_PARTY_NOTICES.md", "LICENSE",
                "models/manifest.json", "models/MODEL_CARD.md", "resources/sample/ATTRIBUTION.md"):
        assert (REPO_ROOT / rel).is_file(), rel
    assert "COLLECT(" in spec and "exclude_binaries=True" in spec  # one-folder build
