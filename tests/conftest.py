"""Shared fixtures: real DICOM films (pydicom-data, pydicom's own test files), the CXR corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CXR_DIR = REPO_ROOT.parent / "shared" / "data" / "cxr"


def _pydicom_data_dir() -> Path:
    import data_store  # the import name of the pydicom-data package

    return Path(data_store.__file__).parent / "data"


def _pydicom_test_dir() -> Path:
    import pydicom

    return Path(pydicom.__file__).parent / "data" / "test_files"


@pytest.fixture(scope="session")
def pydicom_data_dir() -> Path:
    """Folder of pydicom-data's real films (RG1_UNCR.dcm, RG3_*.dcm, MR2_*, CT, US ...)."""
    return _pydicom_data_dir()


@pytest.fixture(scope="session")
def pydicom_test_dir() -> Path:
    """Folder of small DICOM files that pydicom ships for its own tests."""
    return _pydicom_test_dir()


@pytest.fixture(scope="session")
def cxr_dir() -> Path:
    """The shared chest radiograph corpus (../shared/data/cxr)."""
    if not CXR_DIR.is_dir():
        pytest.skip(f"shared CXR corpus not found at {CXR_DIR}")
    return CXR_DIR


def pytest_collection_modifyitems(config, items):
    """Skip @pytest.mark.gpu tests honestly when CUDA is not available (as MONAI does)."""
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
