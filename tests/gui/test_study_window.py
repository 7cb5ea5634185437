"""The reading window: blinded text, answer-before-next, commit per case, resume, reading
by keyboard alone (answers, back and revise, pause, end screen), linked or free panes."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QGroupBox, QLabel, QWidget

from tests.support.study_factory import make_study
from xrayview.core.generators import drain
from xrayview.core.study.definition import load_study
from xrayview.core.study.prepare import prepare_study
from xrayview.core.study.store import load_answers
from xrayview.gui.study_window import TITLE, StudyWindow


class FakeClock:
    """A clock the test moves by hand (no sleeping, no real time)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


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


def keys(qtbot, win, *names):
    for name in names:
        qtbot.keyClick(win, getattr(Qt.Key, f"Key_{name}"))


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
    assert win.pages.currentWidget() is win.end_page and "All cases are read" in \
        win.end_title.text()
    text = " | ".join(visible_text(win)).lower()
    assert not any(word.lower() in text for word in forbidden)


def test_answers_committed_and_reopening_resumes(prepared, qtbot):
    root, study = prepared
    win = StudyWindow(root, "bob")
    qtbot.addWidget(win)
    win.show()
    # cases are counted (1 training film, read as 2 pairs), not trials
    assert win.counter.text() == "Training case 1 of 1  (pair 1 of 2)"
    assert win.training_label.isVisible()
    answer(win, qtbot, choice=1)
    assert win.counter.text() == "Training case 1 of 1  (pair 2 of 2)"
    answer(win, qtbot)
    assert win.counter.text() == "Case 1 of 2  (pair 1 of 2)"
    assert not win.training_label.isVisible()
    win.views[0].set_window(0.3, 0.4)  # window/level is logged with the answer
    assert win.views[1].window == (0.3, 0.4)  # linked views
    answer(win, qtbot)
    rows = load_answers(root)
    assert [r["index"] for r in rows] == [0, 1, 2]
    assert rows[0]["scores"] == {"overall": -1, "preferred": "right"}
    assert rows[2]["display"]["left"]["center"] == 0.3
    assert rows[2]["display"]["right"]["width"] == 0.4
    assert rows[2]["display"]["left"]["zoom"] > 0 and rows[2]["time_s"] >= 0
    assert rows[2]["display"]["linked"] and rows[2]["display"]["preset"] == "default"
    win.close()
    again = StudyWindow(root, "bob")
    qtbot.addWidget(again)
    assert again.trial.index == 3 and again.counter.text() == "Case 1 of 2  (pair 2 of 2)"
    again.close()


def test_single_design_shows_one_unlabelled_view(tmp_path, models, qtbot):
    study = load_study(make_study(tmp_path / "src", n_cases=1, n_training=0, design="single"))
    drain(prepare_study(study, tmp_path / "study", device="cpu"))
    win = StudyWindow(tmp_path / "study", "dan")
    qtbot.addWidget(win)
    win.show()
    assert win.counter.text() == "Case 1 of 1  (image 1 of 3)"  # original, bicubic, vdsr
    assert win.views[0].isVisible() and not win.views[1].isVisible()
    assert not win.captions[0].isVisible()
    # every condition, the original too, is on the x2 grid, shown 1:1 on it
    assert win.views[0].image.shape == (96, 96) and win.views[0].film.shape == (96, 96)
    answer(win, qtbot, choice=4)
    row = load_answers(tmp_path / "study")[0]
    assert row["scores"] == {"overall": 5, "confidence": 5} and row["side"] == "single"
    assert set(row["display"]) == {"left", "preset", "linked"}
    win.close()


def test_a_whole_study_by_keyboard_alone(prepared, qtbot):
    """Digits, arrows, Enter, Backspace, P: revise, pause, end screen, close."""
    root, study = prepared
    clock = FakeClock()
    win = StudyWindow(root, "kay", clock=clock)
    qtbot.addWidget(win)
    win.show()
    n = len(win.store.trials)
    # trial 0: "4" answers the current (vga) question, Right the forced choice
    keys(qtbot, win, "4")
    assert not win.next_button.isEnabled() and win._current_q == 1
    keys(qtbot, win, "Right")
    clock.now += 7.0
    keys(qtbot, win, "Return")
    assert win.position == 1
    # trial 1: 3 s reading, a 100 s pause (timer stopped, images hidden, keys ignored),
    # 2 s more
    clock.now += 3.0
    keys(qtbot, win, "P")
    assert win.paused and win.image_stack.currentWidget() is win.pause_label
    clock.now += 100.0
    keys(qtbot, win, "2", "Left", "Return")
    assert win.position == 1 and win.scores() is None  # nothing happened while paused
    keys(qtbot, win, "P")
    assert not win.paused and win.image_stack.currentIndex() == 0
    clock.now += 2.0
    keys(qtbot, win, "2", "Left", "Return")
    assert win.position == 2
    # back two trials to revise the first; its earlier answer is shown, checked
    keys(qtbot, win, "Backspace")
    assert win.position == 1 and win.counter.text() == "Training case 1 of 1  (pair 2 of 2)"
    keys(qtbot, win, "Backspace")
    assert win.position == 0 and not win.back_button.isEnabled()
    assert win.position == 0 and win.scores() == {"overall": 1, "preferred": "right"}
    keys(qtbot, win, "Down", "Up", "1", "Return")  # Down, Up: back on the vga question; 1 = "-2"
    assert win.position == 1 and win.scores() == {"overall": -1, "preferred": "left"}
    keys(qtbot, win, "Return")              # unchanged: no new row, on to the next
    assert win.position == 2
    for _ in range(2, n):
        keys(qtbot, win, "3", "Left", "Return")
    assert win.finished and win.pages.currentWidget() is win.end_page
    assert "cases read" in win.end_summary.text() and "1 revised" in win.end_summary.text()
    keys(qtbot, win, "Backspace")           # no going back from the end
    assert win.finished
    every = load_answers(root, all_revisions=True)
    assert len(every) == n + 1
    first = [r for r in every if r["index"] == 0]
    assert [r["scores"]["overall"] for r in first] == [1, -2]  # the earlier answer kept
    assert [r["latest"] for r in first] == [False, True]
    latest = {r["index"]: r for r in load_answers(root)}
    assert latest[0]["scores"] == {"overall": -2, "preferred": "right"}
    assert latest[0]["revision"] == 1
    assert latest[1]["time_s"] == pytest.approx(5.0)  # 3 + 2 s, the pause excluded
    assert latest[0]["display"]["left"]["inverted"] is False
    keys(qtbot, win, "Return")              # Close
    qtbot.waitUntil(lambda: not win.isVisible())
    again = StudyWindow(root, "kay")        # reopened: still the end screen
    qtbot.addWidget(again)
    assert again.finished and again.trial is None
    again.close()


def test_presets_and_invert_are_recorded_and_apply_to_every_pane(prepared, qtbot):
    root, _ = prepared
    win = StudyWindow(root, "pat")
    qtbot.addWidget(win)
    win.show()
    win.preset_box.setCurrentIndex(win.preset_box.findData("lung"))
    assert win.views[0].window == win.views[1].window != (0.5, 1.0)
    keys(qtbot, win, "I")
    assert win.views[0].inverted and win.views[1].inverted
    keys(qtbot, win, "5", "Left", "Return")
    row = load_answers(root)[0]
    assert row["display"]["preset"] == "lung"
    assert row["display"]["left"]["inverted"] and row["display"]["right"]["inverted"]
    # the next case starts again on the default window, not inverted
    assert win.preset == "default" and not win.views[0].inverted


def test_views_can_be_unlinked(tmp_path, models, qtbot):
    toml = make_study(tmp_path / "src", n_cases=1, n_training=0)
    toml.write_text(toml.read_text().replace("crop = 0", "crop = 0\nlink_views = false"))
    study = load_study(toml)
    assert study.link_views is False
    drain(prepare_study(study, tmp_path / "study", device="cpu"))
    win = StudyWindow(tmp_path / "study", "lin")
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    win.views[0].set_window(0.3, 0.4)
    assert win.views[1].window != (0.3, 0.4)
    before = win.views[1].view_box.viewRange()
    win.views[0].view_box.scaleBy((0.5, 0.5))
    assert win.views[1].view_box.viewRange() == before
    keys(qtbot, win, "5", "Left", "Return")
    assert load_answers(tmp_path / "study")[0]["display"]["linked"] is False


def test_cli_read_refuses_bad_reader_name(tmp_path, prepared, capsys):
    from xrayview.cli import main

    root, _ = prepared
    assert main(["study", "read", str(root), "--reader", "../x"]) == 2
    assert "reader name" in capsys.readouterr().err
