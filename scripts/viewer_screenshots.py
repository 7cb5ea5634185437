"""Screenshots of the real viewer for the README, in a real window (run under Xvfb).

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python scripts/viewer_screenshots.py \
        OUT_DIR JPEG_FILM

Writes, at 1920 x 1080:
* ``viewer_cr_overlays.png``: a CR-like 15-bit MONOCHROME1 DICOM (``tests/support/cr_film``,
  made from the bundled NIH sample) in 1x1 on the automatic window, with overlays, a ruler
  and an ellipse ROI;
* ``viewer_dehazing_1x3.png``: the sample film in reference mode (downscaled x2 and
  veiled 0.4), VDSR x2 + dehazing, Original | Enhanced | Difference with the live charts;
* ``viewer_jpeg_vdsr_1x2.png``: ``JPEG_FILM`` (a lossy film: robust weights) with VDSR x2
  in 1x2, zoomed in.
Uses the trained weights in ``models/``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.cr_film import make_cr_film  # noqa: E402
from xrayview.core.measurements import Shape  # noqa: E402
from xrayview.core.resources import sample_film_path  # noqa: E402


def main(out: Path, jpeg: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp())
    app = QApplication(sys.argv[:1])
    from xrayview.gui.main_window import MainWindow

    win = MainWindow(settings=QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat))
    win.resize(1920, 1050)
    win.show()
    panel, ctl = win.panel, win.controller
    steps = []

    def shot(name: str) -> None:
        app.processEvents()
        win.grab().save(str(out / name))
        print("wrote", out / name, flush=True)

    def cr() -> None:
        win.open_path(make_cr_film(tmp / "cr.dcm"))
        win.compare.set_layout("1x1-o")
        win.compare.apply_preset("auto")
        m = win.compare.measurements
        m.add(Shape("distance", 180, 140, 330, 140))
        m.add(Shape("ellipse", 380, 250, 470, 340))
        QTimer.singleShot(600, lambda: (shot("viewer_cr_overlays.png"), dehazing()))

    def dehazing() -> None:
        win.open_path(sample_film_path())
        win.compare.set_layout("1x3")
        panel.model_combo.setCurrentIndex(panel.model_combo.findData("vdsr"))
        panel.scale_spin.setValue(2)
        panel.dehaze_check.setChecked(True)
        panel.steps_spin.setValue(5)
        panel.reference_check.setChecked(True)
        panel.veil_spin.setValue(0.4)
        steps.append("dehazing")
        QTimer.singleShot(1500, ctl.run)  # once the device list is in

    def jpeg_run() -> None:
        win.open_path(jpeg)
        win.compare.set_layout("1x2")
        panel.dehaze_check.setChecked(False)
        panel.reference_check.setChecked(False)
        steps.append("jpeg")
        ctl.run()

    def finished() -> None:
        if steps[-1] == "dehazing":
            win.metrics.show_values(win.metrics.plots["similarity"], 3)
            QTimer.singleShot(600, lambda: (shot("viewer_dehazing_1x3.png"), jpeg_run()))
        else:
            vb = win.compare.original.view_box
            rows, cols = win.film.shape
            vb.setRange(xRange=(cols * 0.30, cols * 0.55), yRange=(rows * 0.30, rows * 0.55),
                        padding=0)
            QTimer.singleShot(800, lambda: (shot("viewer_jpeg_vdsr_1x2.png"), win.close(),
                                            app.quit()))

    ctl.jobFinished.connect(finished)
    QTimer.singleShot(1000, cr)
    QTimer.singleShot(900_000, app.quit)  # a safety net
    return app.exec()


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
