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
  in 1x2, zoomed in;
* ``viewer_vdsr_x4_1x3.png``: the sample film in reference mode downscaled x4, VDSR x4
  (its clean per-scale weights), Original | Enhanced | Difference, zoomed in.
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

    def x4_run() -> None:
        win.open_path(sample_film_path())
        win.compare.set_layout("1x3")
        panel.scale_spin.setValue(4)
        panel.reference_check.setChecked(True)
        panel.veil_spin.setValue(0.0)
        steps.append("x4")
        ctl.run()

    def zoom() -> None:  # the linked views onto a quarter of the film's width, off centre
        vb = win.compare.original.view_box
        vb.autoRange(padding=0)
        (x0, x1), (y0, y1) = vb.viewRange()
        w, h = x1 - x0, y1 - y0
        vb.setRange(xRange=(x0 + w * 0.30, x0 + w * 0.55),
                    yRange=(y0 + h * 0.30, y0 + h * 0.55), padding=0)

    def finished() -> None:
        if steps[-1] == "dehazing":
            win.metrics.show_values(win.metrics.plots["similarity"], 3)
            QTimer.singleShot(600, lambda: (shot("viewer_dehazing_1x3.png"), jpeg_run()))
        elif steps[-1] == "jpeg":
            zoom()
            QTimer.singleShot(800, lambda: (shot("viewer_jpeg_vdsr_1x2.png"), x4_run()))
        else:
            zoom()
            QTimer.singleShot(800, lambda: (shot("viewer_vdsr_x4_1x3.png"), win.close(),
                                            app.quit()))

    ctl.jobFinished.connect(finished)
    QTimer.singleShot(1000, cr)
    QTimer.singleShot(900_000, app.quit)  # a safety net
    return app.exec()


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
