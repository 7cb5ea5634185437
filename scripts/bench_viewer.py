"""Viewer timings (issue 6): cold start, file open to first pixels, redraw after pan/zoom.

    QT_QPA_PLATFORM=offscreen python scripts/bench_viewer.py [--json]

- cold start: a fresh ``python -c`` process that imports the app, builds the main window
  with the bundled sample film, shows it and processes events once (wall time of the
  process from its start, median of 3);
- open 2k DICOM: ``MainWindow.open_path`` of a 2048 x 2048 12-bit DICOM written once into a
  temporary folder, up to the first rendered frame (``grab()`` of the views), median of 5;
- redraw: with a x2 result of 4096 x 4096 (an 8192 x 8192 float32 enhanced image over a
  4096 x 4096 original) in the three views, one pan/zoom step (``setRange`` on the linked
  view box) plus a forced repaint of the whole window (``grab()``), median of 20.
Targets (issue 6): cold start <= 3 s, open <= 0.5 s, redraw <= 30 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

COLD = """
import time, sys
from PySide6.QtWidgets import QApplication
from PySide6.QtCore import QSettings
app = QApplication(sys.argv[:1])
from xrayview.gui.main_window import MainWindow
from xrayview.core.resources import sample_film_path
w = MainWindow(settings=QSettings("{ini}", QSettings.Format.IniFormat))
w.show(); w.open_path(sample_film_path()); app.processEvents(); w.grab()
print("ready")
"""


def cold_start(tmp: Path) -> float:
    times = []
    for i in range(3):
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", COLD.format(ini=tmp / f"c{i}.ini")],
                             capture_output=True, text=True, timeout=120)
        if "ready" not in out.stdout:
            raise RuntimeError(out.stderr[-500:])
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def in_process(tmp: Path) -> dict[str, float]:
    import numpy as np
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from xrayview.core.bench_items import write_test_dicom
    from xrayview.core.film import Film
    from xrayview.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    win = MainWindow(settings=QSettings(str(tmp / "w.ini"), QSettings.Format.IniFormat))
    win.resize(1600, 1000)
    win.show()
    app.processEvents()
    dcm = write_test_dicom(tmp / "film2k.dcm", 2048)
    opens = []
    for _ in range(5):
        t0 = time.perf_counter()
        win.open_path(dcm)
        app.processEvents()
        win.compare.grab()
        opens.append(time.perf_counter() - t0)
    big = np.random.default_rng(1).random((4096, 4096), dtype=np.float32)
    win.compare.set_film(Film(pixels=big, source_format="PNG", bits_stored=16,
                              value_min=0.0, value_max=65535.0))
    enhanced = np.repeat(np.repeat(big, 2, 0), 2, 1)
    win.compare.set_enhanced(enhanced, 2)
    app.processEvents()
    win.grab()
    vb = win.compare.original.view_box
    redraws = []
    for i in range(20):
        x0 = 500 + 40 * i
        t0 = time.perf_counter()
        vb.setRange(xRange=(x0, x0 + 1200 - 20 * i), yRange=(800, 1800 - 20 * i), padding=0)
        app.processEvents()
        win.grab()
        redraws.append(time.perf_counter() - t0)
    win.close()
    return {"open_2k_dicom_s": statistics.median(opens),
            "redraw_x2_4096_ms": 1000 * statistics.median(redraws)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        res = {"cold_start_s": cold_start(tmp), **in_process(tmp)}
    targets = {"cold_start_s": 3.0, "open_2k_dicom_s": 0.5, "redraw_x2_4096_ms": 30.0}
    if args.json:
        print(json.dumps({"results": res, "targets": targets}, indent=1))
    else:
        for k, v in res.items():
            print(f"{k:22s} {v:8.3f}   target <= {targets[k]:g}   "
                  f"{'met' if v <= targets[k] else 'missed'}")


if __name__ == "__main__":
    main()
