"""Split, patch sampling, the training loop (single process and DDP), registry, evaluation."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from xrayview.core.training.dataset import (
    corpus_files,
    extract_film_views,
    extract_patches,
    load_split,
    make_split,
    patient_key,
)
from xrayview.core.evaluation.super_resolution import FilmResult, markdown_table, summarise
from xrayview.cli import main
from xrayview.core.training.loop import TrainConfig, _iterates, train, validate
from xrayview.core.models.registry import sha256_file
from xrayview.core.training.register import register_weights
from xrayview.core.models.registry import load_model
from xrayview.core.generators import collect

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def tiny_corpus(tmp_path) -> tuple[Path, Path]:
    """Six small real-content films in two 'datasets', and a split file."""
    from xrayview.core.io import load_film
    from xrayview.core.resources import sample_film_path

    src = load_film(sample_film_path()).pixels
    data = tmp_path / "data"
    files = []
    for i in range(6):
        folder = "a" if i < 3 else "b"
        (data / folder).mkdir(parents=True, exist_ok=True)
        crop = src[100 * i: 100 * i + 96, 200: 296]
        name = f"{folder}/film{i}.png"
        Image.fromarray(np.round(crop * 65535).astype(np.uint16)).save(data / name)
        files.append(name)
    split = {"train": files[:2] + files[3:5], "val": [files[2]], "test": [files[5]]}
    split_file = tmp_path / "split.json"
    split_file.write_text(json.dumps(split))
    return data, split_file


def test_split_is_deterministic_disjoint_and_stratified():
    files = [f"a/{i:08d}_000.png" for i in range(40)] + [f"b/person{i}_bacteria_{j}.jpeg"
                                                         for i in range(10) for j in (1, 2)]
    s1, s2 = make_split(files), make_split(files)
    assert s1 == s2
    parts = [set(s1[k]) for k in ("train", "val", "test")]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert set().union(*parts) == set(files)
    for k in ("val", "test"):
        assert any(f.startswith("a/") for f in s1[k]) and any(f.startswith("b/") for f in s1[k])
    for k, members in s1.items():  # a patient's two films stay together
        keys = {patient_key(f) for f in members if f.startswith("b/")}
        for other in set(s1) - {k}:
            assert not keys & {patient_key(f) for f in s1[other] if f.startswith("b/")}


def test_committed_split_matches_the_procedure(cxr_dir):
    committed = load_split(REPO / "models" / "data_split.json")
    assert committed == make_split(corpus_files(cxr_dir))
    assert len(committed["test"]) >= 30


def test_patch_banks(tiny_corpus):
    data, split_file = tiny_corpus
    files = load_split(split_file)["train"]
    bank = extract_patches(data, files, patch=48, per_film=5, seed=0)
    assert bank.patches.shape == (20, 48, 48) and bank.patches.dtype == np.uint16
    batch = bank.batch(np.array([0, 3]))
    assert batch.shape == (2, 1, 48, 48) and 0 <= batch.min() and batch.max() <= 1
    views = extract_film_views(data, files, size=32, per_film=2, seed=0)
    assert views.patches.shape == (8, 32, 32)
    again = extract_patches(data, files, patch=48, per_film=5, seed=0)
    np.testing.assert_array_equal(bank.patches, again.patches)


@pytest.mark.parametrize("arch", ["srcnn", "vdsr", "dehaze"])
def test_train_writes_loadable_registered_weights(tiny_corpus, tmp_path, monkeypatch, arch):
    data, split_file = tiny_corpus
    out = tmp_path / "models"
    kwargs = {"depth": 3} if arch == "vdsr" else {"proxy_size": 16} if arch == "dehaze" else {}
    cfg = TrainConfig(arch=arch, data_dir=str(data), split_file=str(split_file),
                      out_dir=str(out), iterations=4, batch=2, patch=36, per_film=3,
                      val_per_film=2, val_every=2, kwargs=kwargs, mixed_precision="off")
    records, result = collect(train(cfg))
    assert [r.iteration for r in records] == [1, 2, 3, 4]
    assert records[1].val_gain_db is not None and np.isfinite(records[1].val_gain_db)
    assert Path(result.weights_path).is_file()
    entry = register_weights(cfg, result)
    assert entry["sha256"] == sha256_file(out / f"{arch}.pt")
    assert entry["kwargs"] == {**entry["kwargs"], **kwargs}
    monkeypatch.setenv("XRAYVIEW_MODELS_DIR", str(out))
    model = load_model(arch)
    x = torch.rand(1, 1, 40, 40)
    assert model(x).shape == x.shape


def test_resume_continues_from_the_checkpoint(tiny_corpus, tmp_path):
    data, split_file = tiny_corpus
    out = tmp_path / "m"
    base = dict(arch="srcnn", data_dir=str(data), split_file=str(split_file), out_dir=str(out),
                batch=2, patch=36, per_film=2, val_per_film=1, val_every=2,
                mixed_precision="off")
    collect(train(TrainConfig(iterations=2, **base)))
    records, _ = collect(train(TrainConfig(iterations=4, resume=str(out / "checkpoints" /
                                                                   "srcnn_last.pt"), **base)))
    assert [r.iteration for r in records] == [3, 4]


class _Brighten(torch.nn.Module):
    """Adds 0.01 per application and counts its calls."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return x + 0.01


def test_unrolled_application_and_its_validation(tiny_corpus):
    net = _Brighten()
    x = torch.zeros(1, 1, 8, 8)
    steps = _iterates(net, x, 3)
    assert [float(y.max()) for y in steps] == pytest.approx([0.01, 0.02, 0.03]) and net.calls == 3
    data, split_file = tiny_corpus
    val = extract_film_views(data, load_split(split_file)["train"], size=32, per_film=4, seed=0)
    once = validate(_Brighten(), "dehaze", val, [1], 2, torch.device("cpu"), 0.5, unroll=1)
    twice = validate(_Brighten(), "dehaze", val, [1], 2, torch.device("cpu"), 0.5, unroll=2)
    assert np.isfinite(once) and twice < once  # a drift that repeats is scored as such
    identity = validate(torch.nn.Identity(), "dehaze", val, [1], 2, torch.device("cpu"), 0.5, 3)
    assert identity == pytest.approx(0.0, abs=1e-9)


def test_dehazer_trains_unrolled_with_clean_fraction(tiny_corpus, tmp_path):
    data, split_file = tiny_corpus
    cfg = TrainConfig(arch="dehaze", data_dir=str(data), split_file=str(split_file),
                      out_dir=str(tmp_path / "m"), iterations=2, batch=2, patch=36,
                      per_film=2, val_per_film=6, val_every=2, kwargs={"proxy_size": 16},
                      mixed_precision="off", clean_fraction=0.3, unroll=2)
    records, result = collect(train(cfg))
    assert np.isfinite(records[-1].val_gain_db)
    entry = register_weights(cfg, result)
    assert entry["training"]["unroll"] == 2 and entry["training"]["clean_fraction"] == 0.3
    with pytest.raises(ValueError, match="unroll"):
        next(train(TrainConfig(**{**cfg.__dict__, "unroll": 0})))
    with pytest.raises(ValueError, match="clean_fraction"):
        next(train(TrainConfig(**{**cfg.__dict__, "clean_fraction": 1.0})))


@pytest.mark.parametrize("flags, message", [(["--clean-fraction", "1"], "--clean-fraction"),
                                            (["--unroll", "0"], "--unroll")])
def test_train_cli_rejects_bad_dehazer_options(tiny_corpus, tmp_path, capsys, flags, message):
    data, split_file = tiny_corpus
    code = main(["train", "--arch", "dehaze", "--data", str(data), "--split", str(split_file),
                 "--out", str(tmp_path / "m"), *flags])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_ddp_under_torchrun(tiny_corpus, tmp_path):
    """Two CPU processes through torch's own launcher (gloo backend)."""
    data, split_file = tiny_corpus
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "xrayview", "train", "--arch", "srcnn", "--data", str(data), "--split",
         str(split_file), "--out", str(out), "--iterations", "3", "--batch", "2", "--patch",
         "36", "--per-film", "2", "--val-per-film", "1", "--val-every", "3", "--device", "cpu",
         "--mixed-precision", "off"],
        capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["models"]["srcnn"]["sha256"] == sha256_file(out / "srcnn.pt")


def test_evaluate_command_end_to_end(tiny_corpus, tmp_path, monkeypatch, capsys):
    from tests.support.model_factory import make_models_dir
    from xrayview.core.models.registry import MODELS_ENV

    data, split_file = tiny_corpus
    monkeypatch.setenv(MODELS_ENV, str(make_models_dir(tmp_path / "models")))
    out = tmp_path / "eval"
    args = ["evaluate", "--data", str(data), "--split", str(split_file), "--subset", "train",
            "--out"]
    assert main([*args, str(out), "--scales", "2", "--methods", "srcnn", "vdsr",
                 "--figures", "1", "--dehaze-strengths", "0", "0.5"]) == 0
    rows = list(csv.DictReader(open(out / "per_film.csv", encoding="utf-8")))
    assert len(rows) == 4 * 3 and {r["method"] for r in rows} == {"bicubic", "srcnn", "vdsr"}
    assert all(np.isfinite(float(r["psnr"])) for r in rows)
    assert "| all | x2 | vdsr | 4 |" in (out / "table.md").read_text()
    dehaze = list(csv.DictReader(open(out / "dehaze_per_film.csv", encoding="utf-8")))
    assert len(dehaze) == 4 * 2 and (out / "figures" / "dehaze.png").is_file()
    # dehazing only (no scales): no super-resolution files are written
    only = tmp_path / "dehaze_only"
    assert main([*args, str(only), "--scales", "--dehaze-strengths", "0.5"]) == 0
    assert (only / "dehaze.md").is_file() and not (only / "per_film.csv").exists()
    # a chosen subset of the films, by the split's paths
    chosen = sorted({r["film"] for r in rows})[:2]
    some = tmp_path / "some"
    assert main([*args, str(some), "--scales", "2", "--methods", "vdsr", "--figures", "0",
                 "--films", *chosen]) == 0
    assert sorted({r["film"] for r in csv.DictReader(open(some / "per_film.csv",
                                                           encoding="utf-8"))}) == chosen
    capsys.readouterr()
    for bad, message in ((["--scales", "5"], "--scales"),
                         (["--scales", "--dehaze-strengths"], "nothing to evaluate"),
                         (["--films", "nowhere/film.png"], "is not a film of the train subset")):
        assert main([*args, str(tmp_path / "bad"), *bad]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err


def test_summary_statistics_on_hand_made_scores():
    rows = []
    for i in range(8):
        r = FilmResult(f"d/f{i}.png", "d", 2, (64, 64))
        r.scores["bicubic"] = {"psnr": 40.0 + i, "ssim": 0.90, "ici": 0.9}
        r.scores["vdsr"] = {"psnr": 41.0 + i + (0.5 if i % 2 else 0), "ssim": 0.91 if i else 0.89,
                            "ici": 0.92}
        rows.append(r)
    summary = summarise(rows)
    v = next(e for e in summary if e["dataset"] == "all" and e["method"] == "vdsr")
    assert v["n"] == 8 and v["gain_db"] == pytest.approx(1.25)
    assert v["psnr"] == pytest.approx(np.mean([41 + i + (0.5 if i % 2 else 0) for i in range(8)]))
    assert v["ssim_ge_bicubic"] == pytest.approx(7 / 8)
    assert 0 < v["wilcoxon_p"] < 0.01  # all eight differences positive
    table = markdown_table(summary, crop=None)
    assert "| all | x2 | vdsr | 8 |" in table and "+1.25" in table


def test_a_resumed_run_continues_exactly_and_keeps_its_learning_curve(tiny_corpus, tmp_path):
    """Checkpoints carry the random states: 2 + 2 resumed iterations = 4 in one go."""
    data, split_file = tiny_corpus
    base = dict(arch="vdsr", data_dir=str(data), split_file=str(split_file), batch=2,
                patch=36, per_film=2, val_per_film=1, val_every=2, scales=[2],
                mixed_precision="off", kwargs={"depth": 3, "features": 8},
                degradation="realistic", val_protocols=["clean", "jpeg75"], run_name="v")
    straight, _ = collect(train(TrainConfig(iterations=4, out_dir=str(tmp_path / "a"), **base)))
    out = tmp_path / "b"
    first, _ = collect(train(TrainConfig(iterations=4, out_dir=str(out),
                                         chunk_minutes=1e-9, **base)))
    assert [r.iteration for r in first] == [1]  # the chunk ended after one iteration
    last = out / "checkpoints" / "v_last.pt"
    rest, result = collect(train(TrainConfig(iterations=4, out_dir=str(out),
                                             resume=str(last), **base)))
    assert [r.iteration for r in rest] == [2, 3, 4]
    assert [r.loss for r in first + rest] == pytest.approx([r.loss for r in straight], rel=1e-5)
    curve = json.loads((out / "checkpoints" / "v_curve.json").read_text())
    assert [p["iteration"] for p in curve] == [1, 2, 4]
    assert set(curve[-1]["gains"]) == {"x2/clean", "x2/jpeg75", "mean"}
    assert curve[-1]["device_hours"] > curve[0]["device_hours"] > 0
    assert Path(result.weights_path).name == "v.pt"


def test_bad_training_settings_are_refused(tiny_corpus, tmp_path):
    data, split_file = tiny_corpus
    base = TrainConfig(arch="vdsr", data_dir=str(data), split_file=str(split_file),
                       out_dir=str(tmp_path))
    with pytest.raises(ValueError, match="degradation"):
        next(train(TrainConfig(**{**base.__dict__, "degradation": "jpeg"})))
    with pytest.raises(ValueError, match="validation protocols"):
        next(train(TrainConfig(**{**base.__dict__, "val_protocols": ["blurry"]})))
    for argv, msg in ((["--chunk-minutes", "0"], "--chunk-minutes"),
                      (["--init", str(tmp_path / "none.pt")], "--init"),
                      (["--resume", str(tmp_path / "none.pt")], "--resume")):
        with pytest.raises(SystemExit) as exc:
            raise SystemExit(main(["train", "--arch", "vdsr", "--data", str(data),
                                   "--split", str(split_file), *argv]))
        assert exc.value.code == 2


def test_learning_curve_figure_draws_each_series():
    from xrayview.core.evaluation.figures import learning_curve

    im = learning_curve({"run clean": [(0.0, 0.5), (1.0, 0.8)], "run jpeg75": [(0.0, -0.3)],
                         "empty": []}, "campaign")
    a = np.asarray(im)
    assert im.size == (900, 520)
    colours = {tuple(c) for c in a.reshape(-1, 3)}
    assert (31, 119, 180) in colours and (214, 39, 40) in colours  # two series drawn
    blank = np.asarray(learning_curve({}, "campaign"))
    assert len({tuple(c) for c in blank.reshape(-1, 3)}) < len(colours)


def test_promote_campaign_judges_robust_weights_against_the_ones_they_replace(tiny_corpus,
                                                                             tmp_path):
    """scripts/promote_campaign.py: --checkpoint last, --judge-on, --stage; the weights
    compared against are those of --name (the robust ones it would replace)."""
    from tests.support.model_factory import TINY_KWARGS, add_vdsr_variant, make_models_dir

    data, split_file = tiny_corpus
    campaign = tmp_path / "campaign"
    collect(train(TrainConfig(
        arch="vdsr", data_dir=str(data), split_file=str(split_file), batch=2, patch=36,
        per_film=2, val_per_film=1, val_every=2, scales=[2], mixed_precision="off",
        kwargs=TINY_KWARGS["vdsr"], degradation="lossy", val_protocols=["clean", "jpeg75"],
        run_name="lossy", iterations=2, out_dir=str(campaign))))
    models = make_models_dir(tmp_path / "models")
    add_vdsr_variant(models, "vdsr-x2-robust", 2, seed=7)
    before = (models / "manifest.json").read_text()

    def promote(*extra):
        return subprocess.run(
            [sys.executable, str(REPO / "scripts" / "promote_campaign.py"), "lossy", "2",
             "--name", "vdsr-x2-robust", "--campaign", str(campaign), "--models", str(models),
             "--data", str(data), "--threads", "1", *extra], cwd=REPO, capture_output=True,
            text=True, env={**os.environ, "XRAYVIEW_MODELS_DIR": str(models)}, timeout=600)

    bad = promote("--checkpoint", "last", "--judge-on", "noisy")
    assert bad.returncode == 2 and "--judge-on x2/noisy was not validated" in bad.stderr
    stage = tmp_path / "stage"
    ok = promote("--checkpoint", "last", "--judge-on", "jpeg75", "--stage", str(stage))
    assert ok.returncode == 0, ok.stderr
    assert "serving now (vdsr-x2-robust)" in ok.stdout and "judged on x2/jpeg75" in ok.stdout
    entry = json.loads((stage / "manifest.json").read_text())["models"]["vdsr-x2-robust"]
    assert entry["training"]["campaign_run"] == "lossy" and entry["scales"] == [2]
    assert entry["training"]["degradation"] == "lossy" and entry["training"]["iterations_run"] == 2
    assert entry["sha256"] == sha256_file(stage / "vdsr-x2-robust.pt")
    assert (models / "manifest.json").read_text() == before  # staging leaves models alone
