"""Screenshots of the real viewer (run under Xvfb); not a test.

    xvfb-run -s "-screen 0 1600x1000x24" python tests/gui/make_screenshots.py OUT_DIR [FILM]

Without trained weights in models/ it uses tiny random models (tests/core/model_factory),
so the enhanced images show the machinery, not the models' quality.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.core.model_factory import make_models_dir  # noqa: E402
from xrayview.core.resources import sample_film_path  # noqa: E402
from xrayview.core.models.registry import MODELS_ENV, available_models  # noqa: E402

log = logging.getLogger("screenshots")


def main() -> int:
    logging.basicConfig(level=logging.INFO)
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    film = Path(sys.argv[2]) if len(sys.argv) > 2 else sample_film_path()
    tmp = Path(tempfile.mkdtemp())
    if not {"srcnn", "vdsr", "dehaze"} <= set(available_models()):
        os.environ[MODELS_ENV] = str(make_models_dir(tmp / "models"))
    app = QApplication(sys.argv[:1])
    from xrayview.gui.main_window import MainWindow

    win = MainWindow(settings=QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat))
    win.resize(1600, 1000)
    win.show()
    win.open_path(film)
    panel, ctl = win.panel, win.controller
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("vdsr"))
    panel.scale_spin.setValue(2)
    panel.dehaze_check.setChecked(True)
    panel.steps_spin.setValue(4)
    panel.threshold_spin.setValue(0.5)
    state = {"mid": False, "phase": 0}

    def on_progress(record):
        p = getattr(record, "progress", None)
        if p is not None and not state["mid"] and p.fraction > 0.4:
            state["mid"] = True
            QTimer.singleShot(150, lambda: win.grab().save(str(out / "1_running.png")))

    def on_finished():
        state["phase"] += 1
        if state["phase"] == 1:
            QTimer.singleShot(300, after_first)
        elif state["phase"] == 2:
            QTimer.singleShot(300, after_reference)

    def after_first():
        win.grab().save(str(out / "2_done.png"))
        vb = win.compare.original.view_box
        vb.setRange(xRange=(380, 560), yRange=(300, 480), padding=0)
        app.processEvents()
        win.grab().save(str(out / "3_zoomed.png"))
        win.act.swipe.trigger()
        win.compare.fit()
        app.processEvents()
        win.grab().save(str(out / "4_swipe.png"))
        win.act.swipe.trigger()
        panel.reference_check.setChecked(True)
        panel.veil_spin.setValue(0.3)
        win.act.reference_combo.setCurrentIndex(win.act.reference_combo.findData("truth"))
        ctl.run()

    def after_reference():
        win.grab().save(str(out / "5_reference.png"))
        win.export_snapshot(str(out / "6_snapshot.png"))
        win.close()
        app.quit()

    ctl.runner.progress.connect(on_progress)
    ctl.jobFinished.connect(on_finished)
    QTimer.singleShot(500, ctl.run)
    QTimer.singleShot(280_000, app.quit)  # a safety net
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
