"""VGC analysis (Båth & Månsson 2007) against a hand-computed example, its case bootstrap
against a brute-force one, and ``study summary`` text, --json and --plot."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from tests.support.study_factory import HAND, answered_single_study, make_study
from xrayview.cli import main
from xrayview.core.study.analysis import summarise, summary_text
from xrayview.core.study.definition import load_study
from xrayview.core.study.prepare import write_study_json
from xrayview.core.study.store import load_answers
from xrayview.core.study.vgc import _with_ci, auc_from_counts, auc_vgc, vgc_curve


@pytest.fixture
def single(tmp_path):
    return answered_single_study(tmp_path)


def test_hand_computed_vgc_example():
    # r1: original [2, 3, 3, 2, 4], vdsr_x2 [3, 5, 4, 4, 4] (25 pairs).
    # condition 3: 2 reference ratings below, 2 tied -> 2 + 1 = 3
    # condition 5: all 5 below -> 5;  condition 4 (x3): 4 below, 1 tied -> 3 x 4.5 = 13.5
    # AUC = (3 + 5 + 13.5) / 25 = 0.86
    ref, cond = HAND[("r1", "original")], HAND[("r1", "vdsr_x2")]
    assert auc_vgc(cond, ref) == pytest.approx(0.86)
    counts = lambda v: np.bincount(v, minlength=6)[1:]  # categories 1..5
    assert auc_from_counts(counts(cond), counts(ref)) == pytest.approx(0.86)
    # the curve, thresholds t = 5, 4, 3, 2, 1: (fraction of reference >= t, of condition)
    curve = vgc_curve(counts(cond), counts(ref))
    assert curve == [[0, 0], [0, 0.2], [0.2, 0.8], [0.6, 1], [1, 1], [1, 1]]
    # its trapezoid area is the same number (ties give the diagonal segments)
    xs, ys = np.array(curve).T
    assert np.trapezoid(ys, xs) == pytest.approx(0.86)
    # r2: original [2, 2, 3, 3, 4], vdsr_x2 [4, 4, 4, 5, 5]: (3 x 4.5 + 2 x 5) / 25 = 0.94
    assert auc_vgc(HAND[("r2", "vdsr_x2")], HAND[("r2", "original")]) == pytest.approx(0.94)
    # pooled (10 vs 10): condition 3: 4 below + 4 tied/2 = 6; 4 (x6): 8 + 1 = 9;
    # 5 (x3): 10 -> (6 + 54 + 30) / 100 = 0.90
    assert auc_vgc(HAND[("r1", "vdsr_x2")] + HAND[("r2", "vdsr_x2")],
                   HAND[("r1", "original")] + HAND[("r2", "original")]) == pytest.approx(0.90)
    assert auc_vgc([1, 2], [1, 2]) == 0.5 and auc_vgc([1], [5]) == 0.0


def test_case_bootstrap_matches_a_brute_force_one():
    cond = {f"c{i}": [float(v)] for i, v in enumerate(HAND[("r1", "vdsr_x2")])}
    ref = {f"c{i}": [float(v)] for i, v in enumerate(HAND[("r1", "original")])}
    cats = [1.0, 2.0, 3.0, 4.0, 5.0]
    res = _with_ci(cond, ref, cats, np.random.default_rng(5), 400)
    draw = np.random.default_rng(5).integers(0, 5, size=(400, 5))
    cases = sorted(cond)
    boot = [auc_vgc([cond[cases[i]][0] for i in row], [ref[cases[i]][0] for i in row])
            for row in draw]
    assert res["ci95"] == pytest.approx(list(np.quantile(boot, [0.025, 0.975])))
    assert res["auc"] == pytest.approx(0.86) and res["n_cases"] == 5


def test_summary_carries_vgc_per_reader_and_pooled(single):
    root, study = single
    s = summarise(study, load_answers(root))
    v = s["questions"]["overall"]["vgc"]["vdsr_x2"]
    assert v["pooled"]["auc"] == pytest.approx(0.90)
    assert v["readers"]["r1"]["auc"] == pytest.approx(0.86)
    assert v["readers"]["r2"]["auc"] == pytest.approx(0.94)
    for r in (v["pooled"], *v["readers"].values()):
        lo, hi = r["ci95"]
        assert lo <= r["auc"] <= hi <= 1.0 and lo > 0.5
    assert v["pooled"]["n_condition"] == v["pooled"]["n_reference"] == 10
    # constant answers: a tie everywhere, AUC 0.5 and a degenerate CI
    c = s["questions"]["confidence"]["vgc"]["vdsr_x2"]["pooled"]
    assert (c["auc"], c["ci95"]) == (0.5, [0.5, 0.5])
    assert summarise(study, load_answers(root)) == s  # seeded
    text = summary_text(s)
    assert "VGC vs original" in text and "0.900  [" in text and "r2" in text


def test_summary_cli_json_and_plot(single, tmp_path, capsys):
    root, _ = single
    plot = tmp_path / "vgc.png"
    assert main(["study", "summary", str(root), "--json", "--plot", str(plot)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["questions"]["overall"]["vgc"]["vdsr_x2"]["pooled"]["auc"] == pytest.approx(0.9)
    img = Image.open(plot)
    assert img.format == "PNG" and img.size == (2 * (360 + 2 * 60), 360 + 2 * 60 + 50 + 18)
    assert img.size[0] > 400 and len(img.getcolors(1 << 16)) > 3  # drawn, not blank
    # the plot may not go into the study folder
    before = (root / "study.json").read_bytes()
    assert main(["study", "summary", str(root), "--plot", str(root / "study.json")]) == 2
    assert "inside the study folder" in capsys.readouterr().err
    assert (root / "study.json").read_bytes() == before


def test_plot_needs_likert_questions(tmp_path, capsys):
    from tests.support.study_driver import answer_all

    study = load_study(make_study(tmp_path / "src", n_cases=2, n_training=0))
    root = tmp_path / "study"
    write_study_json(study, root)
    answer_all(root, "ann")
    assert main(["study", "summary", str(root), "--plot", str(tmp_path / "v.png")]) == 2
    err = capsys.readouterr().err
    assert "no VGC to plot" in err and err.count("\n") == 1
    assert not (tmp_path / "v.png").exists()
