"""Screenshots of the reading window for the README, in the reading-room theme.

    xvfb-run -a -s "-screen 0 1920x1080x24" python scripts/study_screenshots.py STUDY_DIR OUT_DIR

(without a display it falls back to offscreen Qt).

STUDY_DIR: a prepared study (e.g. ``xrayview study prepare resources/study_example.toml
--out my_study``). Writes ``study_reading_case.png`` (a case, fitted),
``study_reading_1to1.png`` (both panes at one screen pixel per image pixel),
``study_reading_zoomed.png`` (both panes at 6x, where interpolation shows) and
``study_reading_end.png`` (the end screen). The reader "screenshot" is used and its
database removed afterwards.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from xrayview.gui.study_window import StudyWindow  # noqa: E402


def main(study_dir: str, out_dir: str) -> None:
    from xrayview.gui.theme import DEFAULT_THEME, apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app, DEFAULT_THEME)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    db = Path(study_dir) / "readers" / "screenshot.sqlite"
    win = StudyWindow(study_dir, "screenshot")
    try:
        win.resize(1600, 1000)
        win.show()
        app.processEvents()
        while win.trial is not None and win.trial.training:  # a scored case, not training
            win.answer(0, 2)
            for k, q in enumerate(win.study.questions):
                win.answer(k, 0 if q.kind == "2afc" else 2)
            win.submit()
        win.answer(0, 3)
        app.processEvents()
        win.grab().save(str(out / "study_reading_case.png"))
        win.views[0].actual_size()
        app.processEvents()
        win.grab().save(str(out / "study_reading_1to1.png"))
        from PySide6.QtCore import QPointF

        win.views[0].view_box.scaleBy((1 / 6, 1 / 6), center=QPointF(300, 260))
        app.processEvents()
        win.grab().save(str(out / "study_reading_zoomed.png"))
        while win.trial is not None:
            for k, q in enumerate(win.study.questions):
                win.answer(k, 0 if q.kind == "2afc" else 2)
            win.submit()
        app.processEvents()
        win.grab().save(str(out / "study_reading_end.png"))
    finally:
        win.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
