"""The blinded reading window of a reader study (``xrayview study read DIR --reader NAME``).

Blinding: the window shows only "xrayview reader study", the case counter, neutral
"Left image" / "Right image" captions, the questions and buttons. Images are the
prepared 16-bit PNGs of the study folder (no source file names, no DICOM tags); nothing
names a condition or a case. Every image of a case is on the same pixel grid
(``core.study.prepare``) and every pane shows it through the same display path
(``gui.study_panes``: smooth magnification, fitted, the case's own window, presets from
the case's reference image; linked unless the study sets ``link_views = false``).

Reading like ViewDEX, by keyboard alone: digits answer the current question (1 = first
answer; the current question then moves on; Up/Down choose it), Left/Right answer the
forced-choice question, Enter commits and goes on, Backspace goes back to revise an
earlier case (each revision is a new row; the earlier answer stays), P pauses (the
images are hidden and the case timer stops), I inverts, R resets the view. The time
spent on a case (pauses excluded), the window, preset, inversion and zoom are stored with
each answer. The answer is committed to the reader's SQLite file before the next case
is shown, so closing or a crash loses at most the case on screen; reopening resumes at
the first unanswered case. The end screen shows a summary and a Close button.
Loading one prepared PNG takes well under a second, so it runs on the GUI thread rather
than through ``gui.jobs``.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from xrayview.core.study.prepare import load_prepared
from xrayview.core.study.schedule import Trial
from xrayview.core.study.store import ReaderStore
from xrayview.gui.presets import PRESETS
from xrayview.gui.study_panes import StudyPanes
from xrayview.gui.viewer import FilmView

log = logging.getLogger(__name__)

TITLE = "xrayview reader study"
DIGIT_KEYS = {getattr(Qt.Key, f"Key_{i}"): i for i in range(1, 10)}
_BOX_STYLE = ("QGroupBox { margin-top: 1.3em; border: %s; border-radius: 3px; "
              "padding-top: 2px; } QGroupBox::title { subcontrol-origin: margin; left: 8px; "
              "color: #3a7bd5; font-weight: bold; }")
HELP = ("Keys: 1-5 answer, Left/Right choose, Enter next, Backspace back, P pause, "
        "I invert, R reset. Wheel: zoom. Left-drag: pan. Right-drag: window/level.")


class StudyWindow(QMainWindow):
    """One reader's session over a prepared study folder ``root``.

    ``clock``: seconds as a float (default ``time.monotonic``; tests pass their own).
    """

    def __init__(self, root: str | Path, reader: str, parent: QWidget | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent)
        self.root = Path(root)
        self.study = load_prepared(self.root)
        self.store = ReaderStore(self.root, reader, self.study)
        self.clock = clock
        self.trial: Trial | None = None
        self.position: int | None = None
        self.paused = False
        self.finished = False
        self._elapsed = 0.0
        self._active_since: float | None = None
        self._current_q = 0
        self.setWindowTitle(TITLE)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self.counter = QLabel()
        self.counter.setObjectName("studyCounter")
        self.counter.setStyleSheet("font-size: 16pt; font-weight: bold;")
        self.training_label = QLabel("Training case: for practice, not scored")
        self.training_label.setStyleSheet("color: #d08000; font-weight: bold;")
        self.panes = StudyPanes(self.root, self.study.link_views)
        self.views, self.captions = self.panes.views, self.panes.captions

        panel = QVBoxLayout()
        self.groups: dict[str, QButtonGroup] = {}
        self.boxes: list[QGroupBox] = []
        for q in self.study.questions:
            box = QGroupBox()
            lay = QVBoxLayout(box)
            text = QLabel(q.text)
            text.setWordWrap(True)
            lay.addWidget(text)
            group = QButtonGroup(box)
            for i, label in enumerate(q.labels):
                key = ("Left", "Right")[i] if q.kind == "2afc" else str(i + 1)
                button = QRadioButton(f"[{key}]  {label}")
                button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
                group.addButton(button, i)
                lay.addWidget(button)
            group.idClicked.connect(lambda _i, k=len(self.boxes): self._answered(k))
            self.groups[q.id] = group
            self.boxes.append(box)
            panel.addWidget(box)

        self.preset_box = QComboBox()
        for key, label in PRESETS.items():
            self.preset_box.addItem(label, key)
        self.preset_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.preset_box.currentIndexChanged.connect(
            lambda i: self.apply_preset(self.preset_box.itemData(i)))
        self.invert_box = QCheckBox("Invert [I]")
        self.invert_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.invert_box.toggled.connect(self.set_inverted)
        display = QHBoxLayout()
        display.addWidget(QLabel("Window:"))
        display.addWidget(self.preset_box, 1)
        display.addWidget(self.invert_box)
        self.reset_button = QPushButton("Reset view [R]")
        self.reset_button.clicked.connect(self.reset_view)
        self.back_button = QPushButton("Back [Backspace]")
        self.back_button.clicked.connect(self.back)
        self.pause_button = QPushButton("Pause [P]")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.next_button = QPushButton("Next [Enter]")
        self.next_button.clicked.connect(self.submit)
        for b in (self.reset_button, self.back_button, self.pause_button, self.next_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        nav = QHBoxLayout()
        nav.addWidget(self.back_button)
        nav.addWidget(self.pause_button)
        panel.addStretch(1)
        panel.addLayout(display)
        panel.addWidget(self.reset_button)
        panel.addLayout(nav)
        panel.addWidget(self.next_button)
        self.side = QWidget()
        self.side.setLayout(panel)
        self.side.setFixedWidth(360)

        self.pause_label = QLabel("Paused. The case timer is stopped.\n"
                                  "Press P or Resume to continue.")
        self.pause_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pause_label.setStyleSheet("font-size: 16pt;")
        self.image_stack = QStackedWidget()
        self.image_stack.addWidget(self.panes)
        self.image_stack.addWidget(self.pause_label)

        top = QHBoxLayout()
        top.addWidget(self.counter)
        top.addWidget(self.training_label)
        top.addStretch(1)
        body = QHBoxLayout()
        body.addWidget(self.image_stack, 1)
        body.addWidget(self.side)
        reading = QWidget()
        outer = QVBoxLayout(reading)
        outer.addLayout(top)
        outer.addLayout(body, 1)

        self.end_page = QWidget()
        end = QVBoxLayout(self.end_page)
        self.end_title = QLabel("All cases are read. Thank you.")
        self.end_title.setStyleSheet("font-size: 18pt; font-weight: bold;")
        self.end_summary = QLabel()
        self.end_summary.setObjectName("studySummary")
        self.close_button = QPushButton("Close [Enter]")
        self.close_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.close_button.clicked.connect(self.close)
        end.addStretch(1)
        for w in (self.end_title, self.end_summary, self.close_button):
            end.addWidget(w, 0, Qt.AlignmentFlag.AlignCenter)
        end.addStretch(2)

        self.pages = QStackedWidget()
        self.pages.addWidget(reading)
        self.pages.addWidget(self.end_page)
        self.setCentralWidget(self.pages)
        self.statusBar().showMessage(HELP)
        self.show_trial(self.store.next_index())

    # -- trials -------------------------------------------------------------------------
    def _counter_text(self, t: Trial) -> str:
        phase = [x for x in self.store.trials if x.training == t.training]
        if self.study.order != "by_case":
            n = sum(1 for x in phase if x.index <= t.index)
            return f"{'Training image' if t.training else 'Image'} {n} of {len(phase)}"
        cases = list(dict.fromkeys(x.case for x in phase))
        mine = [x for x in phase if x.case == t.case]
        text = (f"{'Training case' if t.training else 'Case'} {cases.index(t.case) + 1} of "
                f"{len(cases)}")
        if len(mine) > 1:
            text += f"  ({'pair' if t.right else 'image'} {mine.index(t) + 1} of {len(mine)})"
        return text

    def show_trial(self, position: int | None) -> None:
        """Show the trial at ``position`` (its latest answer checked, if any), or the end
        screen when ``position`` is None."""
        self.position = position
        self.trial = None if position is None else self.store.trials[position]
        self._set_checked(None if self.trial is None else self.store.latest(position))
        if self.trial is None:
            self._show_end()
            return
        t = self.trial
        self.counter.setText(self._counter_text(t))
        self.training_label.setVisible(t.training)
        self.panes.show_trial(t)
        self._sync_display_controls()
        self.back_button.setEnabled(position > 0)
        self._current_q = self._first_unanswered()
        self._update()
        self._elapsed, self._active_since = 0.0, None if self.paused else self.clock()

    def _show_end(self) -> None:
        self.finished = True
        self.panes.clear()
        answered = len(self.store.answered())
        main = [t for t in self.store.trials if not t.training]
        total_s = sum(a["time_s"] for i in self.store.answered()
                      if (a := self.store.latest(i)) is not None)
        cases = len({t.case for t in main})
        self.end_summary.setText(
            f"{cases} cases read ({answered} answers, {len(self.store.trials) - len(main)} "
            f"of them training), {self.store.revisions()} revised.\n"
            f"Reading time {total_s / 60:.1f} min, pauses excluded.\n"
            "Every answer is saved. You may close this window.")
        self.pages.setCurrentWidget(self.end_page)
        self.statusBar().showMessage("Study complete. Enter or Close closes the window.")

    def _set_checked(self, latest: dict | None) -> None:
        for q in self.study.questions:
            group = self.groups[q.id]
            group.setExclusive(False)
            for b in group.buttons():
                b.setChecked(False)
            group.setExclusive(True)
            if latest is not None and latest["scores"].get(q.id) in q.values:
                group.button(q.values.index(latest["scores"][q.id])).setChecked(True)

    def _first_unanswered(self) -> int:
        return next((k for k, q in enumerate(self.study.questions)
                     if self.groups[q.id].checkedId() < 0), 0)

    def _answered(self, k: int) -> None:
        """Question ``k`` got an answer: the next unanswered one becomes current."""
        n = len(self.study.questions)
        later = [j for j in range(k + 1, n) if self.groups[self.study.questions[j].id]
                 .checkedId() < 0]
        self._current_q = later[0] if later else (self._first_unanswered()
                                                  if self.scores() is None else k)
        self._update()

    def _update(self) -> None:
        for k, box in enumerate(self.boxes):
            current = k == self._current_q
            box.setTitle("Current question" if current else "")
            box.setStyleSheet(_BOX_STYLE % ("2px solid #3a7bd5" if current
                                            else "1px solid #c8c8c8"))
        ok = self.trial is not None and not self.paused and self.scores() is not None
        self.next_button.setEnabled(ok)
        for box in self.boxes:
            box.setEnabled(not self.paused)

    # -- answering ----------------------------------------------------------------------
    def answer(self, question: int, choice: int) -> None:
        """Check answer ``choice`` (0-based) of question ``question`` (as a key does)."""
        if self.trial is None or self.paused:
            return
        group = self.groups[self.study.questions[question].id]
        if 0 <= choice < len(group.buttons()):
            group.button(choice).setChecked(True)
            self._answered(question)

    def scores(self) -> dict | None:
        """The checked answers (question id -> value), or None while one is missing."""
        out = {}
        for q in self.study.questions:
            i = self.groups[q.id].checkedId()
            if i < 0:
                return None
            out[q.id] = q.values[i]
        return out

    def case_time(self) -> float:
        """Seconds spent on the trial on screen so far, pauses excluded."""
        running = 0.0 if self._active_since is None else self.clock() - self._active_since
        return self._elapsed + running

    def submit(self) -> None:
        """Commit the answer (synchronously, to disk), then show the next trial. A trial
        revisited with Back and answered differently gets a new revision; unchanged, it
        is left as it was."""
        scores = self.scores()
        if self.trial is None or scores is None or self.paused:
            return
        latest = self.store.latest(self.trial.index)
        if latest is None or latest["scores"] != scores:
            self.store.record(self.trial.index, scores, self.case_time(),
                              self.display_state(), revise=latest is not None)
        following = self.trial.index + 1
        first_open = self.store.next_index()
        if following >= len(self.store.trials) or first_open is None:
            self.show_trial(None if first_open is None else first_open)
        else:
            self.show_trial(min(following, first_open))

    def back(self) -> None:
        """Go back one trial to revise it (not from the end screen)."""
        if self.trial is not None and not self.paused and self.position > 0:
            self.show_trial(self.position - 1)

    def toggle_pause(self) -> None:
        """Pause (images hidden, timer stopped) or resume."""
        if self.trial is None:
            return
        self.paused = not self.paused
        if self.paused:
            self._elapsed = self.case_time()
            self._active_since = None
            self.image_stack.setCurrentWidget(self.pause_label)
            self.pause_button.setText("Resume [P]")
        else:
            self._active_since = self.clock()
            self.image_stack.setCurrentIndex(0)
            self.pause_button.setText("Pause [P]")
        self._update()

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """The reading keys (see the module docstring)."""
        key = event.key()
        if self.finished:
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape):
                self.close()
            return
        questions = self.study.questions
        if key == Qt.Key.Key_P:
            self.toggle_pause()
        elif self.paused:
            return
        elif key in DIGIT_KEYS and questions[self._current_q].kind != "2afc":
            self.answer(self._current_q, DIGIT_KEYS[key] - 1)
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            afc = [k for k, q in enumerate(questions) if q.kind == "2afc"]
            if afc:
                k = self._current_q if self._current_q in afc else afc[0]
                self.answer(k, 0 if key == Qt.Key.Key_Left else 1)
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            step = -1 if key == Qt.Key.Key_Up else 1
            self._current_q = (self._current_q + step) % len(questions)
            self._update()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.submit()
        elif key == Qt.Key.Key_Backspace:
            self.back()
        elif key == Qt.Key.Key_I:
            self.invert_box.toggle()
        elif key == Qt.Key.Key_R:
            self.reset_view()
        else:
            super().keyPressEvent(event)

    # -- display ------------------------------------------------------------------------
    @property
    def linked(self) -> bool:
        """Whether the panes share zoom, pan and window/level."""
        return self.panes.linked

    @property
    def preset(self) -> str:
        """The window preset in use ("default": the case's own window)."""
        return self.panes.preset

    def _sync_display_controls(self) -> None:
        for widget, change in ((self.preset_box, lambda: self.preset_box.setCurrentIndex(
                self.preset_box.findData(self.panes.preset))),
                               (self.invert_box, lambda: self.invert_box.setChecked(
                                   self.panes.inverted))):
            widget.blockSignals(True)
            change()
            widget.blockSignals(False)

    def apply_preset(self, name: str) -> None:
        """Window preset ``name`` on every pane alike (``StudyPanes.apply_preset``)."""
        self.panes.apply_preset(name)
        self._sync_display_controls()

    def set_inverted(self, inverted: bool) -> None:
        """Invert every pane's greyscale (display only)."""
        self.panes.set_inverted(inverted)
        self._sync_display_controls()

    def reset_view(self) -> None:
        """The case's default window, no inversion, the whole image in view, every pane."""
        self.panes.reset()
        self._sync_display_controls()

    def display_state(self) -> dict:
        """The panes' display, stored with each answer (``StudyPanes.display_state``)."""
        return self.panes.display_state()

    def pane_display(self, view: FilmView) -> dict:
        """How ``view`` draws, all but the pixels (``StudyPanes.pane_display``)."""
        return self.panes.pane_display(view)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """Fit the images again once the panes have their real size."""
        super().showEvent(event)
        self.panes.fit()

    def closeEvent(self, event) -> None:
        """Close the reader's database; committed answers are already on disk."""
        self.store.close()
        super().closeEvent(event)


def run_reader(root: str | Path, reader: str) -> int:
    """Open the reading window (a QApplication of its own, in the reading-room theme the
    reader chose in the viewer, dark by default); returns the exit code."""
    from xrayview.gui.main_window import default_settings
    from xrayview.gui.theme import DEFAULT_THEME, THEMES, apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    theme = str(default_settings().value("view/theme", DEFAULT_THEME))
    apply_theme(app, theme if theme in THEMES else DEFAULT_THEME)
    win = StudyWindow(root, reader)
    win.resize(1500, 950)
    win.show()
    return app.exec()
