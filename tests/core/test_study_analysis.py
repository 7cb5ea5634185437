"""Export and summary on hand-made answers, checked against hand and numpy/scipy values."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from scipy import stats

from tests.support.study_factory import (HAND, answered_single_study, make_study,
                                      record_answers)
from xrayview.core.study.analysis import icc_2_1, summarise, weighted_kappa, write_csv
from xrayview.core.study.definition import load_study
from xrayview.core.study.prepare import write_study_json
from xrayview.core.study.store import load_answers

@pytest.fixture
def single(tmp_path):
    return answered_single_study(tmp_path)


def test_summary_single_design_matches_hand_values(single):
    root, study = single
    s = summarise(study, load_answers(root))
    assert s["answers"] == 20 and s["readers"] == ["r1", "r2"]  # training excluded
    q = s["questions"]["overall"]
    vd = HAND[("r1", "vdsr_x2")] + HAND[("r2", "vdsr_x2")]
    og = HAND[("r1", "original")] + HAND[("r2", "original")]
    assert q["conditions"]["vdsr_x2"]["mean"] == pytest.approx(4.2)  # 42 / 10
    assert q["conditions"]["vdsr_x2"]["median"] == 4.0
    assert q["conditions"]["original"]["mean"] == pytest.approx(2.8)
    assert q["conditions"]["original"]["median"] == 3.0
    assert np.mean(vd) == 4.2 and np.median(og) == 3.0
    lo, hi = q["conditions"]["vdsr_x2"]["ci95"]
    assert lo < 4.2 < hi and 3.5 < lo and hi <= 5
    # Wilcoxon over cases of (mean over readers of vdsr) - (mean of original)
    diff = [(a + b) / 2 - (c + d) / 2 for a, b, c, d in zip(
        HAND[("r1", "vdsr_x2")], HAND[("r2", "vdsr_x2")],
        HAND[("r1", "original")], HAND[("r2", "original")])]
    assert diff == [1.5, 2.0, 1.0, 2.0, 0.5]
    exact = stats.wilcoxon(diff).pvalue
    assert exact == pytest.approx(0.0625)  # all 5 positive: 2 / 2^5
    assert q["conditions"]["vdsr_x2"]["p"] == pytest.approx(exact)
    # quadratic-weighted kappa over the 10 (case, condition) items, against the
    # moment form 2 cov / (var a + var b + (mean a - mean b)^2) (population moments)
    a = np.array(HAND[("r1", "original")] + HAND[("r1", "vdsr_x2")], float)
    b = np.array(HAND[("r2", "original")] + HAND[("r2", "vdsr_x2")], float)
    moment = 2 * np.cov(a, b, bias=True)[0, 1] / (a.var() + b.var() + (a.mean() - b.mean()) ** 2)
    agr = q["agreement"]
    assert agr["statistic"] == "quadratic_weighted_kappa" and agr["items"] == 10
    assert agr["value"] == pytest.approx(moment)
    # constant answers: no test, kappa undefined
    c = s["questions"]["confidence"]
    assert c["conditions"]["vdsr_x2"]["p"] is None and c["agreement"]["value"] is None


def test_summary_is_seeded(single):
    root, study = single
    rows = load_answers(root)
    assert summarise(study, rows) == summarise(study, rows)


def test_export_csv_rows(single, tmp_path):
    root, study = single
    out = tmp_path / "results.csv"
    assert write_csv(study, load_answers(root), out) == 24
    rows = list(csv.DictReader(out.open()))
    assert rows[0].keys() >= {"reader", "case", "condition", "side", "overall", "confidence",
                              "time_s", "left_center", "left_width", "left_zoom"}
    r = next(r for r in rows if r["reader"] == "r2" and r["case"] == "c04"
             and r["condition"] == "vdsr_x2")
    assert (r["overall"], r["side"], r["left_width"], r["left_zoom"]) == ("5", "single",
                                                                         "0.8", "1.25")
    assert sum(r["training"] == "True" for r in rows) == 4


def test_paired_normalisation_and_2afc(tmp_path):
    study = load_study(make_study(tmp_path / "src", n_cases=4, n_training=0))
    root = tmp_path / "study"
    write_study_json(study, root)
    # r1 always finds the condition one step better and prefers it; answers are given
    # in screen terms, so the raw value flips with the side.
    def scores(t):
        return {"overall": 1 if t.side == "right" else -1, "preferred": t.side}
    record_answers(root, study, "r1", scores)
    s = summarise(study, load_answers(root))
    for cond in ("bicubic_x2", "vdsr_x2"):
        c = s["questions"]["overall"]["conditions"][cond]
        assert (c["n"], c["mean"], c["median"], c["ci95"]) == (4, 1.0, 1.0, [1.0, 1.0])
        assert c["p"] == pytest.approx(stats.wilcoxon([1, 1, 1, 1]).pvalue)
        p = s["questions"]["preferred"]["conditions"][cond]
        assert p["mean"] == 1.0 and p["p"] == pytest.approx(2 / 16)  # binomial 4 of 4
    assert "original" not in s["questions"]["overall"]["conditions"]


def test_icc_shrout_fleiss_example_and_kappa_extremes():
    x = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9],
                  [6, 2, 4, 7]], float)
    assert icc_2_1(x) == pytest.approx(0.29, abs=0.005)  # Shrout & Fleiss (1979), Table 4
    assert weighted_kappa(np.array([1, 2, 3]), np.array([1, 2, 3]), [1, 2, 3]) == 1.0
    assert weighted_kappa(np.array([1, 2]), np.array([2, 1]), [1, 2]) == pytest.approx(-1.0)
