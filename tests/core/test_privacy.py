"""Patient identifiers never reach logs, warnings, stderr or error messages.

A DICOM with distinctive identifiers, two of them invalid for their VR so that pydicom
warns and logs *with the value* (a DA birth date and a UI study UID), is loaded,
enhanced, exported (kept and de-identified) and damaged in several ways, with logging
at DEBUG everywhere, every warning recorded and file descriptors 1 and 2 captured.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pydicom
import pytest
from pydicom.dataelem import RawDataElement
from pydicom.tag import Tag

from tests.support.dicom_factory import make_dicom
from xrayview.cli import main
from xrayview.core.enhance.super_resolution import super_resolve
from xrayview.core.io import FilmError, load_film
from xrayview.core.io.export import save_film
from xrayview.core.generators import drain

NAME, PATIENT_ID = "Vexmoor^Ottoline", "VXM-5531907"
BIRTH, STUDY_UID = "1953-04-12", "1.2.840.99.VEXMOOR.5531907"  # both invalid for their VR
SECRETS = ("Vexmoor", "Ottoline", "5531907", "1953-04-12", "VEXMOOR")


def _raw(ds, keyword, vr, value: bytes):
    tag = Tag(pydicom.datadict.tag_for_keyword(keyword))
    value += b" " if len(value) % 2 else b""
    ds[tag] = RawDataElement(tag, vr, len(value), value, 0, False, True)


@pytest.fixture
def films(tmp_path):
    """The identified film and damaged variants of it: {name: path}."""
    stored = np.random.default_rng(3).integers(0, 1024, (40, 32), dtype=np.uint16)
    good = make_dicom(tmp_path / "patient.dcm", stored, bits_stored=10, modality="DX",
                      PatientName=NAME, PatientID=PATIENT_ID, PixelSpacing=[0.2, 0.2])
    ds = pydicom.dcmread(good)
    _raw(ds, "PatientBirthDate", "DA", BIRTH.encode())
    _raw(ds, "StudyInstanceUID", "UI", STUDY_UID.encode())
    ds.save_as(good)
    variants = {"good": good}
    data = good.read_bytes()
    for name, blob in (("truncated-header", data[:data.index(b"VXM") + 5]),
                       ("truncated-pixels", data[:-500])):
        variants[name] = tmp_path / f"{name}.dcm"
        variants[name].write_bytes(blob)
    for name, keyword, vr, value in (("slope", "RescaleSlope", "DS", b"Vexmoor"),
                                     ("frames", "NumberOfFrames", "IS", b"5531907x"),
                                     ("photometric", "PhotometricInterpretation", "CS",
                                      b"VEXMOOR")):
        bad = pydicom.dcmread(good)
        _raw(bad, keyword, vr, value)
        variants[name] = tmp_path / f"{name}.dcm"
        bad.save_as(variants[name])
    return variants


def _chain(exc: BaseException | None) -> str:
    """The exception and its causes as a traceback (or a crash reporter) would show them."""
    texts = []
    while exc is not None:
        texts.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return " | ".join(texts)


def test_identifiers_never_reach_logs_warnings_stderr_or_errors(films, tmp_path, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="pydicom")
    seen: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        film = load_film(films["good"])
        seen += [repr(film), str(film.summary()), repr(film.identifiers)]
        image = drain(super_resolve(film, "none", 2, device="cpu", tile=32))
        for name, kwargs in (("kept.dcm", {}), ("anon.dcm", {"deidentify": True}),
                             ("out.png", {})):
            save_film(image, tmp_path / name, film, scale=2, description="bicubic x2", **kwargs)
        for name, path in films.items():
            if name == "good":
                continue
            with pytest.raises(FilmError) as err:
                load_film(path)
            seen.append(_chain(err.value))
    seen += [f"{w.category.__name__}: {w.message}" for w in caught]
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    out = capfd.readouterr()
    everything = "\n".join(seen) + logged + out.out + out.err
    assert "<redacted>" in logged  # pydicom did warn about the bad values: redacted
    for secret in SECRETS:
        assert secret not in everything, secret
    assert pydicom.dcmread(tmp_path / "kept.dcm").PatientName == NAME  # kept where asked


def test_cli_never_prints_identifiers(films, capfd):
    for args in (["info", str(films["good"])], ["info", "--json", str(films["good"])],
                 ["--debug", "info", str(films["slope"])], ["info", str(films["frames"])],
                 ["--debug", "info", str(films["photometric"])]):
        main(args)
    out = capfd.readouterr()
    for secret in SECRETS:
        assert secret not in out.out + out.err, secret
    logging.getLogger("pydicom").setLevel(logging.WARNING)  # main() lowered it
