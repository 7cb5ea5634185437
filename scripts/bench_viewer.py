"""Viewer timings (issue 6): cold start, file open to first pixels, redraw after pan/zoom.

    QT_QPA_PLATFORM=offscreen python scripts/bench_viewer.py [--json]

- cold start: a fresh ``python -c`` process that imports the app, builds the main window
  with the bundled sample film, shows it, processes events once and paints the window:
  wall time from launching the process to its "ready" line, median of 3. The same
  process then keeps a 10 ms timer running until the device list (a background thread
  that imports torch) is filled in, and reports when that happened and the longest gap
  between ticks meanwhile (how usable the window is while torch loads);
- open 2k DICOM: ``MainWindow.open_path`` of a 2048 x 2048 12-bit DICOM written once into a
  temporary folder, up to the first rendered frame (``grab()`` of the views), median of 5;
- redraw: with a x2 result of 4096 x 4096 (an 8192 x 8192 float32 enhanced image over a
  4096 x 4096 original) in the three views, one pan/zoom step (``setRange`` on the linked
  view box) plus a forced repaint, median of 20: of the three views (what a pan/zoom
  repaints on screen) and of the whole window (every dock too, an upper bound). The
  slowest view step is reported too: when the zoom changes pyqtgraph's downsampling
  factor, the 8192^2 image is downsampled again (a one-off stall per zoom level).
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
print("ready", flush=True)
from PySide6.QtCore import QTimer
t_ready, ticks, listed = time.perf_counter(), [time.perf_counter()], []
timer = QTimer(interval=10, timeout=lambda: ticks.append(time.perf_counter()))
timer.start()
w.panel.devicesListed.connect(lambda: listed.append(time.perf_counter()))
while not listed and time.perf_counter() - t_ready < 60:
    app.processEvents()
    time.sleep(0.002)
gap = max(b - a for a, b in zip(ticks, ticks[1:])) if len(ticks) > 1 else float("nan")
print("devices", (listed[0] - t_ready) if listed else float("nan"), "gap", gap, flush=True)
"""


def cold_start(tmp: Path) -> dict[str, float]:
    ready, devices, gaps = [], [], []
    for i in range(3):
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", COLD.format(ini=tmp / f"c{i}.ini")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        ready.append(time.perf_counter() - t0)
        rest, err = proc.communicate(timeout=120)
        if not line.startswith("ready") or "devices" not in rest:
            raise RuntimeError(err[-500:])
        fields = rest.split()
        devices.append(ready[-1] + float(fields[fields.index("devices") + 1]))
        gaps.append(1000 * float(fields[fields.index("gap") + 1]))
    return {"cold_start_s": statistics.median(ready),
            "devices_listed_s": statistics.median(devices),
            "max_ui_gap_while_torch_loads_ms": statistics.median(gaps)}


def in_process(tmp: Path) -> dict[str, float]:
    import numpy as np
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from xrayview.core.bench.items import write_test_dicom
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
    redraws: dict[str, list[float]] = {"views": [], "window": []}
    for target, key in ((win.compare, "views"), (win, "window")):
        for i in range(20):
            x0 = 500 + 40 * i
            t0 = time.perf_counter()
            vb.setRange(xRange=(x0, x0 + 1200 - 20 * i), yRange=(800, 1800 - 20 * i),
                        padding=0)
            app.processEvents()
            target.grab()
            redraws[key].append(time.perf_counter() - t0)
    win.close()
    return {"open_2k_dicom_s": statistics.median(opens),
            "redraw_x2_4096_ms": 1000 * statistics.median(redraws["views"]),
            "redraw_x2_4096_window_ms": 1000 * statistics.median(redraws["window"]),
            "redraw_x2_4096_slowest_ms": 1000 * max(redraws["views"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        res = {**cold_start(tmp), **in_process(tmp)}
    targets = {"cold_start_s": 3.0, "open_2k_dicom_s": 0.5, "redraw_x2_4096_ms": 30.0}
    if args.json:
        print(json.dumps({"results": res, "targets": targets}, indent=1))
    else:
        for k, v in res.items():
            verdict = (f"target <= {targets[k]:g}   {'met' if v <= targets[k] else 'missed'}"
                       if k in targets else "")
            print(f"{k:34s} {v:9.3f}   {verdict}")


if __name__ == "__main__":
    main()
