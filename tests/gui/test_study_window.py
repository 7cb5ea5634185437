"""The reading window: blinded text, answer-before-next, commit per case, resume."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QAbstractButton, QGroupBox, QLabel, QWidget

from tests.core.study_factory import make_study
from xrayview.core.generators import drain
from xrayview.core.study.definition import load_study
from xrayview.core.study.prepare import prepare_study
from xrayview.core.study.store import load_answers
from xrayview.gui.study_window import TITLE, StudyWindow


@pytest.fixture
def prepared(tmp_path, models):
    study = load_study(make_study(tmp_path / "src", n_cases=2, n_training=1))
    drain(prepare_study(study, tmp_path / "study", device="cpu"))
    return tmp_path / "study", study


def visible_text(win) -> list[str]:
    """Every string the window can show: title, labels, buttons, group titles, tooltips,
    status tips, what's-this, accessible names, the status bar message."""
    texts = [win.windowTitle(), win.statusBar().currentMessage()]
    for w in [win, *win.findChildren(QWidget)]:
        texts += [w.toolTip(), w.statusTip(), w.whatsThis(), w.accessibleName(),
                  w.accessibleDescription(), w.windowTitle()]
        if isinstance(w, QLabel):
            texts.append(w.text())
        if isinstance(w, QAbstractButton):
            texts.append(w.text())
        if isinstance(w, QGroupBox):
            texts.append(w.title())
    return [t for t in texts if t]


def answer(win, qtbot, choice=0):
    assert not win.next_button.isEnabled()
    groups = list(win.groups.values())
    for i, group in enumerate(groups):
        group.buttons()[choice].click()
        assert win.next_button.isEnabled() == (i == len(groups) - 1)
    win.next_button.click()


def test_window_text_reveals_no_condition_or_file(prepared, qtbot):
    root, study = prepared
    win = StudyWindow(root, "alice")
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    forbidden = ([c.name for c in study.conditions] + ["bicubic", "vdsr", "srcnn", "dehaz",
                 "x2", "patient", "secret", ".png", "c01", "t01", str(root), "alice"])
    seen = 0
    while win.trial is not None:
        assert win.windowTitle() == TITLE
        text = " | ".join(visible_text(win)).lower()
        for word in forbidden:
            assert word.lower() not in text, (word, text)
        answer(win, qtbot)
        seen += 1
    assert seen == 6  # 1 training + 2 cases, x 2 conditions besides the original
    assert "All cases are read" in win.counter.text()


def test_answers_committed_and_reopening_resumes(prepared, qtbot):
    root, study = prepared
    win = StudyWindow(root, "bob")
    qtbot.addWidget(win)
    win.show()
    assert win.counter.text() == "Training case 1 of 2" and win.training_label.isVisible()
    answer(win, qtbot, choice=1)
    answer(win, qtbot)
    assert win.counter.text() == "Case 1 of 4" and not win.training_label.isVisible()
    win.views[0].set_window(0.3, 0.4)  # window/level is logged with the answer
    assert win.views[1].window == (0.3, 0.4)  # linked views
    answer(win, qtbot)
    rows = load_answers(root)
    assert [r["index"] for r in rows] == [0, 1, 2]
    assert rows[0]["scores"] == {"overall": -1, "preferred": "right"}
    assert rows[2]["display"]["left"]["center"] == 0.3
    assert rows[2]["display"]["right"]["width"] == 0.4
    assert rows[2]["display"]["left"]["zoom"] > 0 and rows[2]["time_s"] >= 0
    win.close()
    again = StudyWindow(root, "bob")
    qtbot.addWidget(again)
    assert again.trial.index == 3 and again.counter.text() == "Case 2 of 4"
    again.close()


def test_single_design_shows_one_unlabelled_view(tmp_path, models, qtbot):
    study = load_study(make_study(tmp_path / "src", n_cases=1, n_training=0, design="single"))
    drain(prepare_study(study, tmp_path / "study", device="cpu"))
    win = StudyWindow(tmp_path / "study", "dan")
    qtbot.addWidget(win)
    win.show()
    assert win.counter.text() == "Case 1 of 3"  # original, bicubic_x2, vdsr_x2
    assert win.views[0].isVisible() and not win.views[1].isVisible()
    assert not win.captions[0].isVisible()
    cond = win.trial.condition
    expected = (48, 48) if cond == "original" else (96, 96)
    assert win.views[0].image.shape == expected and win.views[0].film.shape == (48, 48)
    answer(win, qtbot, choice=4)
    row = load_answers(tmp_path / "study")[0]
    assert row["scores"] == {"overall": 5, "confidence": 5} and row["side"] == "single"
    assert set(row["display"]) == {"left"}
    win.close()


def test_cli_read_refuses_bad_reader_name(tmp_path, prepared, capsys):
    from xrayview.cli import main

    root, _ = prepared
    assert main(["study", "read", str(root), "--reader", "../x"]) == 2
    assert "reader name" in capsys.readouterr().err
