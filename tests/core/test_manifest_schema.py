"""models/manifest.json against its JSON Schema: the schema is valid JSON Schema, the
built-in validator agrees with the reference ``jsonschema`` package, messages are clear,
and a sha256 mismatch or a pickle with code in it is refused (without running it)."""

from __future__ import annotations

import copy
import hashlib
import json
import pickle
from pathlib import Path

import pytest
import torch

from tests.support.model_factory import make_models_dir
from xrayview.core.models.schema import MANIFEST_SCHEMA, validate_manifest
from xrayview.core.nets import ARCHITECTURES
from xrayview.core.models.registry import MODELS_ENV, WeightsError, load_model

REPO_MANIFEST = Path(__file__).resolve().parents[2] / "models" / "manifest.json"


@pytest.fixture
def valid(tmp_path):
    root = make_models_dir(tmp_path / "models", archs=("srcnn", "vdsr", "dehaze"))
    return json.loads((root / "manifest.json").read_text())


def _variants(valid):
    """(label, manifest) pairs, all but the first invalid."""
    def changed(fn):
        data = copy.deepcopy(valid)
        fn(data)
        return data
    m = lambda d: d["models"]["vdsr"]  # noqa: E731
    return [
        ("valid", valid),
        ("not an object", []),
        ("schema 2", changed(lambda d: d.update(schema=2))),
        ("schema '1'", changed(lambda d: d.update(schema="1"))),
        ("no models", changed(lambda d: d.pop("models"))),
        ("entry a string", changed(lambda d: d["models"].update(vdsr="vdsr.pt"))),
        ("bad model name", changed(lambda d: d["models"].update({"../x": m(d)}))),
        ("no file", changed(lambda d: m(d).pop("file"))),
        ("arch edsr", changed(lambda d: m(d).update(arch="edsr"))),
        ("kwargs list", changed(lambda d: m(d).update(kwargs=[1]))),
        ("scales float", changed(lambda d: m(d).update(scales=[2.5]))),
        ("scales 9", changed(lambda d: m(d).update(scales=[2, 9]))),
        ("scales bool", changed(lambda d: m(d).update(scales=[True]))),
        ("sha short", changed(lambda d: m(d).update(sha256="ab" * 31))),
        ("sha not hex", changed(lambda d: m(d).update(sha256="zz" * 32))),
        ("absolute file", changed(lambda d: m(d).update(file="/etc/passwd"))),
        ("dotdot file", changed(lambda d: m(d).update(file="sub/../../x.pt"))),
        ("windows drive", changed(lambda d: m(d).update(file="C:\\x.pt"))),
        ("training list", changed(lambda d: m(d).update(training=[]))),
    ]


def test_schema_enum_matches_the_architectures():
    assert MANIFEST_SCHEMA["$defs"]["entry"]["properties"]["arch"]["enum"] == sorted(ARCHITECTURES)


def test_builtin_validator_agrees_with_jsonschema(valid):
    jsonschema = pytest.importorskip("jsonschema", reason="reference validator not installed")
    jsonschema.Draft202012Validator.check_schema(MANIFEST_SCHEMA)
    reference = jsonschema.Draft202012Validator(MANIFEST_SCHEMA)
    for label, data in _variants(valid):
        assert reference.is_valid(data) == (validate_manifest(data) == []), label
        assert reference.is_valid(data) == (label == "valid"), label


def test_messages_are_one_clear_line_each(valid):
    for label, data in _variants(valid)[1:]:
        problems = validate_manifest(data)
        assert problems, label
        for text in problems:
            assert text.startswith("models/manifest.json") and "\n" not in text, (label, text)
    by_label = dict(_variants(valid))
    assert validate_manifest(by_label["sha short"]) == [
        "models/manifest.json, model 'vdsr': sha256 must be 64 hexadecimal digits"]
    assert validate_manifest(by_label["scales 9"]) == [
        "models/manifest.json, model 'vdsr': scales must be a non-empty list of integers 1..8"]
    assert "unknown arch 'edsr'" in validate_manifest(by_label["arch edsr"])[0]


def test_the_repository_manifest_follows_the_schema():
    if not REPO_MANIFEST.is_file():
        pytest.skip("models/manifest.json not written yet (no trained weights)")
    assert validate_manifest(json.loads(REPO_MANIFEST.read_text())) == []


@pytest.fixture
def models(tmp_path, monkeypatch):
    root = make_models_dir(tmp_path / "models", archs=("vdsr",))
    monkeypatch.setenv(MODELS_ENV, str(root))
    return root


def test_sha256_mismatch_names_file_and_both_hashes(models):
    (models / "vdsr.pt").write_bytes((models / "vdsr.pt").read_bytes() + b"\0")
    with pytest.raises(WeightsError) as err:
        load_model("vdsr")
    text = str(err.value)
    assert text.startswith("refusing vdsr.pt: its sha256 ") and "does not match the manifest" in text
    assert "damaged or replaced" in text and "\n" not in text


class _Boom:
    """Unpickling this calls ``_boom_marker`` (a stand-in for arbitrary code)."""

    def __reduce__(self):
        return (_boom_marker, ("pwned",))


CALLS: list[str] = []


def _boom_marker(arg):
    CALLS.append(arg)
    return {}


def test_malicious_reduce_is_refused_without_running(models):
    path = models / "vdsr.pt"
    torch.save({"body.0.weight": _Boom()}, path)  # a torch zip whose pickle calls a function
    blob = path.read_bytes()
    manifest = json.loads((models / "manifest.json").read_text())
    manifest["models"]["vdsr"]["sha256"] = hashlib.sha256(blob).hexdigest()  # hash "trusted"
    (models / "manifest.json").write_text(json.dumps(manifest))
    CALLS.clear()
    with pytest.raises(WeightsError, match="cannot be loaded as weights"):
        load_model("vdsr")
    assert CALLS == []  # weights_only=True refused the global before calling it
    assert b"_boom_marker" in blob  # the file really carried the call


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_plain_pickle_with_reduce_is_refused(models):
    path = models / "vdsr.pt"
    path.write_bytes(pickle.dumps(_Boom()))
    manifest = json.loads((models / "manifest.json").read_text())
    manifest["models"]["vdsr"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (models / "manifest.json").write_text(json.dumps(manifest))
    CALLS.clear()
    with pytest.raises(WeightsError):
        load_model("vdsr")
    assert CALLS == []
