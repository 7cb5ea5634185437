"""De-identified derived DICOM (PS3.15 Basic Profile) and ``xrayview enhance --deidentify``."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from tests.support.dicom_factory import make_dicom
from xrayview.cli import main
from xrayview.core.enhance.super_resolution import upsample
from xrayview.core.io import load_film
from xrayview.core.io.deidentify import REMOVE, ZERO, replacement_uid
from xrayview.core.io.export import ExportError, save_film

SECRETS = {"PatientName": "Qzarwick^Eloise", "PatientID": "MRN-77441902",
           "PatientBirthDate": "19530412", "AccessionNumber": "ACC99173",
           "InstitutionName": "St Quillon Hospital", "OperatorsName": "Tech^Ravelle",
           "ReferringPhysicianName": "Dr^Pemberwick", "StudyDescription": "Chest Qzarwick",
           "PatientAddress": "12 Lantern Row", "OtherPatientIDs": "ALT-55120"}


@pytest.fixture
def identified(tmp_path):
    stored = np.random.default_rng(0).integers(0, 4096, (24, 20), dtype=np.uint16)
    ref = Dataset()
    ref.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.3"
    ref.ReferencedSOPInstanceUID = "1.2.3.4.5.6.7"
    path = make_dicom(tmp_path / "id.dcm", stored, modality="CR", PatientSex="F",
                      StudyDate="20240102", StudyTime="101010", AcquisitionDate="20240102",
                      FrameOfReferenceUID="1.2.3.4.99", PixelSpacing=[0.2, 0.2],
                      ReferencedPerformedProcedureStepSequence=Sequence([ref]), **SECRETS)
    ds = pydicom.dcmread(path)
    ds.private_block(0x0011, "ACME", create=True).add_new(0x01, "LO", "private Qzarwick")
    ds.save_as(path)
    return path


def test_deidentified_export_follows_the_basic_profile(identified, tmp_path):
    src = load_film(identified)
    a = pydicom.dcmread(identified)
    out = save_film(upsample(src.pixels, 2), tmp_path / "anon.dcm", src, scale=2,
                    description="vdsr x2 (weights sha256 abcd)", deidentify=True)
    raw = out.read_bytes()
    for value in SECRETS.values():
        assert value.encode() not in raw, value
    assert b"Qzarwick" not in raw and b"20240102" not in raw
    ds = pydicom.dcmread(out)
    for keyword in ZERO:
        assert keyword not in ds or ds[keyword].value in ("", None), keyword
    for keyword in REMOVE:
        assert keyword not in ds, keyword
    assert not any(e.tag.is_private for e in ds)
    assert ds.PatientIdentityRemoved == "YES" and "Basic" in ds.DeidentificationMethod
    assert ds.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
    assert ds.StudyInstanceUID == replacement_uid(a.StudyInstanceUID) != a.StudyInstanceUID
    assert ds.FrameOfReferenceUID == replacement_uid("1.2.3.4.99")
    ref = ds.SourceImageSequence[0]
    assert ref.ReferencedSOPInstanceUID == replacement_uid(a.SOPInstanceUID)
    assert ds.DerivationDescription == "vdsr x2 (weights sha256 abcd)"
    assert list(ds.ImageType)[:2] == ["DERIVED", "SECONDARY"] and ds.Modality == "CR"
    assert [float(v) for v in ds.PixelSpacing] == pytest.approx([0.1, 0.1])
    assert (ds.Rows, ds.Columns) == (48, 40)


def test_same_study_gets_the_same_new_uid_within_a_session(identified, tmp_path):
    src = load_film(identified)
    one = pydicom.dcmread(save_film(src.pixels, tmp_path / "1.dcm", src, deidentify=True))
    two = pydicom.dcmread(save_film(src.pixels, tmp_path / "2.dcm", src, deidentify=True))
    assert one.StudyInstanceUID == two.StudyInstanceUID
    assert one.SOPInstanceUID != two.SOPInstanceUID
    assert one.SeriesInstanceUID != two.SeriesInstanceUID


def test_identifiers_kept_without_the_option(identified, tmp_path):
    src = load_film(identified)
    ds = pydicom.dcmread(save_film(src.pixels, tmp_path / "kept.dcm", src))
    assert ds.PatientName == SECRETS["PatientName"] and ds.PatientID == SECRETS["PatientID"]
    assert "PatientIdentityRemoved" not in ds


def test_burned_in_annotation_refuses_deidentified_export(tmp_path):
    path = make_dicom(tmp_path / "burned.dcm", np.zeros((8, 8), np.uint16),
                      BurnedInAnnotation="YES")
    src = load_film(path)
    with pytest.raises(ExportError, match="burned-in annotation"):
        save_film(src.pixels, tmp_path / "out.dcm", src, deidentify=True)
    save_film(src.pixels, tmp_path / "out.dcm", src)  # without the option: allowed
    assert not list(tmp_path.glob("*.part"))


def test_enhance_cli_deidentify(identified, tmp_path, capsys):
    out = tmp_path / "cli.dcm"
    assert main(["enhance", str(identified), str(out), "--model", "none", "--scale", "2",
                 "--device", "cpu", "--deidentify"]) == 0
    printed = capsys.readouterr()
    ds = pydicom.dcmread(out)
    assert ds.PatientIdentityRemoved == "YES" and ds.PatientName == ""
    assert (ds.Rows, ds.Columns) == (48, 40)
    assert SECRETS["PatientName"] not in printed.out + printed.err
    kept = tmp_path / "kept.dcm"
    assert main(["enhance", str(identified), str(kept), "--model", "none", "--scale", "1",
                 "--device", "cpu"]) == 0
    assert pydicom.dcmread(kept).PatientID == SECRETS["PatientID"]
