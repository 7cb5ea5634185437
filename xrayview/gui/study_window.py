"""The blinded reading window of a reader study (``xrayview study read DIR --reader NAME``).

Blinding: the window shows only "xrayview reader study", the case counter, neutral
"Left image" / "Right image" captions, the questions and buttons. Images are the
prepared 16-bit PNGs of the study folder (no source file names, no DICOM tags); nothing
names a condition or a case. Window/level (right-drag) and zoom/pan (wheel, left-drag) are
free, linked between the two views, and logged with each answer together with the time
spent on the case. Next is enabled once every question is answered; the answer is
committed to the reader's SQLite file (``ReaderStore.record``) before the next case is
shown, so closing or a crash loses at most the case on screen, and reopening resumes at
the first unanswered case. Loading one prepared PNG takes well under a second, so it
runs on the GUI thread rather than through ``gui.jobs``.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from xrayview.core.io import load_film
from xrayview.core.study.prepare import image_path, load_prepared
from xrayview.core.study.schedule import Trial
from xrayview.core.study.store import ReaderStore
from xrayview.gui.viewer import FilmView

log = logging.getLogger(__name__)

TITLE = "xrayview reader study"


class StudyWindow(QMainWindow):
    """One reader's session over a prepared study folder ``root``."""

    def __init__(self, root: str | Path, reader: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.root = Path(root)
        self.study = load_prepared(self.root)
        self.store = ReaderStore(self.root, reader, self.study)
        self._scales = {c.name: c.scale for c in self.study.conditions}
        self._n_main = sum(not t.training for t in self.store.trials)
        self._n_training = len(self.store.trials) - self._n_main
        self.trial: Trial | None = None
        self._shown_at = 0.0
        self.setWindowTitle(TITLE)

        self.counter = QLabel()
        self.counter.setObjectName("studyCounter")
        self.counter.setStyleSheet("font-size: 16pt; font-weight: bold;")
        self.training_label = QLabel("Training case: for practice, not scored")
        self.training_label.setStyleSheet("color: #d08000; font-weight: bold;")
        self.views = [FilmView(), FilmView()]
        self.captions = [QLabel("Left image"), QLabel("Right image")]
        images = QHBoxLayout()
        for caption, view in zip(self.captions, self.views):
            col = QVBoxLayout()
            col.addWidget(caption)
            col.addWidget(view, 1)
            images.addLayout(col, 1)
        self.views[1].view_box.setXLink(self.views[0].view_box)
        self.views[1].view_box.setYLink(self.views[0].view_box)
        for view in self.views:
            view.windowChanged.connect(self._sync_window)

        panel = QVBoxLayout()
        self.groups: dict[str, QButtonGroup] = {}
        for q in self.study.questions:
            box = QGroupBox()
            lay = QVBoxLayout(box)
            text = QLabel(q.text)
            text.setWordWrap(True)
            lay.addWidget(text)
            group = QButtonGroup(box)
            for i, label in enumerate(q.labels):
                button = QRadioButton(label)
                group.addButton(button, i)
                lay.addWidget(button)
            group.idClicked.connect(self._update_next)
            self.groups[q.id] = group
            panel.addWidget(box)
        self.reset_button = QPushButton("Reset view")
        self.reset_button.clicked.connect(self.reset_view)
        self.next_button = QPushButton("Next")
        self.next_button.setDefault(True)
        self.next_button.clicked.connect(self.submit)
        panel.addStretch(1)
        panel.addWidget(self.reset_button)
        panel.addWidget(self.next_button)
        side = QWidget()
        side.setLayout(panel)
        side.setFixedWidth(340)

        top = QHBoxLayout()
        top.addWidget(self.counter)
        top.addWidget(self.training_label)
        top.addStretch(1)
        body = QHBoxLayout()
        body.addLayout(images, 1)
        body.addWidget(side)
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.addLayout(top)
        outer.addLayout(body, 1)
        self.setCentralWidget(central)
        self.statusBar().showMessage("Wheel: zoom. Left-drag: pan. Right-drag: window/level. "
                                     "Each answer is saved when you press Next.")
        self.show_next()

    # -- trials -------------------------------------------------------------------------
    def _film(self, case: str, condition: str):
        return load_film(image_path(self.root, case, condition))

    def show_next(self) -> None:
        """Show the first unanswered trial, or the end screen."""
        idx = self.store.next_index()
        self.trial = None if idx is None else self.store.trials[idx]
        for group in self.groups.values():
            group.setExclusive(False)
            for b in group.buttons():
                b.setChecked(False)
            group.setExclusive(True)
        if self.trial is None:
            self.counter.setText("All cases are read. Thank you.")
            self.training_label.hide()
            for view in self.views:
                view.clear()
            self.next_button.setEnabled(False)
            return
        t = self.trial
        before = sum(1 for x in self.store.trials[:t.index] if x.training == t.training)
        total = self._n_training if t.training else self._n_main
        self.counter.setText(f"{'Training case' if t.training else 'Case'} {before + 1} of "
                             f"{total}")
        self.training_label.setVisible(t.training)
        base = self._film(t.case, "original")
        paired = bool(t.right)
        for view, caption, cond in zip(self.views, self.captions, (t.left, t.right)):
            view.setVisible(bool(cond))
            caption.setVisible(paired)
            if cond:
                film = base if cond == "original" else self._film(t.case, cond)
                view.set_film(base, film.pixels, scale=self._scales[cond])
        self.views[0].fit()
        self._update_next()
        self._shown_at = time.monotonic()

    def _sync_window(self, center: float, width: float) -> None:
        for view in self.views:
            if view.window != (center, width):
                view.set_window(center, width)

    def reset_view(self) -> None:
        """Default window and the whole film in view."""
        for view in self.views:
            view.reset_window()
        self.views[0].fit()

    def scores(self) -> dict | None:
        """The checked answers (question id -> value), or None while one is missing."""
        out = {}
        for q in self.study.questions:
            i = self.groups[q.id].checkedId()
            if i < 0:
                return None
            out[q.id] = q.values[i]
        return out

    def _update_next(self, *_) -> None:
        self.next_button.setEnabled(self.trial is not None and self.scores() is not None)

    def display_state(self) -> dict:
        """Window (center, width, normalised) and zoom (screen px per film px) per view."""
        out = {}
        for name, view in zip(("left", "right"), self.views):
            if not view.isVisibleTo(self) or view.film is None:
                continue
            (x0, x1), _ = view.view_box.viewRange()
            c, w = view.window
            out[name] = {"center": round(c, 5), "width": round(w, 5),
                         "zoom": round(view.view_box.width() / max(x1 - x0, 1e-9), 5)}
        return out

    def submit(self) -> None:
        """Commit the answer (synchronously, to disk), then show the next trial."""
        scores = self.scores()
        if self.trial is None or scores is None:
            return
        self.store.record(self.trial.index, scores, time.monotonic() - self._shown_at,
                          self.display_state())
        self.show_next()

    def closeEvent(self, event) -> None:
        """Close the reader's database; committed answers are already on disk."""
        self.store.close()
        super().closeEvent(event)


def run_reader(root: str | Path, reader: str) -> int:
    """Open the reading window (a QApplication of its own); returns the exit code."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    win = StudyWindow(root, reader)
    win.resize(1500, 950)
    win.show()
    return app.exec()
