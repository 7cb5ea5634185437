"""Exports of the viewer: metrics/step history as CSV and a PNG snapshot of the views.

The enhanced film itself is written by ``core.io.export.save_film`` (16-bit PNG/TIFF,
derived DICOM). The CSV is in long format, one value per row::

    record,step,metric,value
    result,,psnr_vs_bicubic,41.2
    step,1,ssim_input,0.97
    step,1,stopped,0
    step,1,reason,
"""

from __future__ import annotations

import csv
import io
import logging
import math
from pathlib import Path

from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QWidget

from xrayview.core.enhance.records import Enhanced
from xrayview.core.io.files import atomic_write

log = logging.getLogger(__name__)


def write_metrics_csv(path: str | Path, result: Enhanced) -> Path:
    """Write the result's recipe, metrics and dehazing step history to ``path`` (CSV,
    UTF-8), atomically (``core.io.files.atomic_write``: ExportError on failure)."""
    recipe = result.recipe
    rows: list[list] = [["run", "", key, value] for key, value in (
        ("model", recipe.model), ("scale", recipe.scale), ("description", result.description),
        ("stop_reason", result.stop_reason), ("recipe", recipe.to_json()))]
    rows += [["result", "", name, _number(value)] for name, value in result.metrics.items()]
    for step in result.steps:
        rows += [["step", step.step, name, _number(value)] for name, value in step.metrics.items()]
        rows += [["step", step.step, "stopped", int(step.stopped)],
                 ["step", step.step, "reason", step.reason]]
    return write_csv(path, ["record", "step", "metric", "value"], rows)


def write_measurements_csv(path: str | Path, rows: list[list[str]]) -> Path:
    """Write measurement ``rows`` (``core.measurements.CSV_HEADER`` columns) to ``path``."""
    from xrayview.core.measurements import CSV_HEADER

    return write_csv(path, CSV_HEADER, rows)


def write_csv(path: str | Path, header: list[str], rows: list[list]) -> Path:
    """``header`` and ``rows`` as CSV (UTF-8) at ``path``, written atomically
    (``core.io.files.atomic_write``: ExportError on failure)."""
    path = Path(path)
    text = io.StringIO(newline="")
    w = csv.writer(text)
    w.writerow(header)
    w.writerows(rows)
    data = text.getvalue().encode("utf-8")
    atomic_write(path, lambda fh: fh.write(data))
    return path


def _number(value: float) -> str:
    return repr(float(value)) if math.isfinite(value) else ("inf" if value > 0 else "nan")


def snapshot_image(views: QWidget, lines: list[str]) -> QImage:
    """The ``views`` widget as rendered now, with ``lines`` of text underneath."""
    shot = views.grab().toImage()
    font = QFont()
    font.setPointSize(10)
    line_h = 18
    out = QImage(shot.width(), shot.height() + line_h * len(lines) + 10,
                 QImage.Format.Format_RGB32)
    out.fill(QColor(20, 20, 20))
    painter = QPainter(out)
    try:
        painter.drawImage(QPoint(0, 0), shot)
        painter.setFont(font)
        painter.setPen(QColor(230, 230, 230))
        for i, line in enumerate(lines):
            painter.drawText(8, shot.height() + 5 + line_h * (i + 1) - 4, line)
    finally:
        painter.end()
    return out


def save_snapshot(views: QWidget, lines: list[str], path: str | Path) -> Path:
    """Save :func:`snapshot_image` as PNG; raises OSError when it cannot be written."""
    path = Path(path)
    if not snapshot_image(views, lines).save(str(path), "PNG"):
        raise OSError(f"could not write {path.name}")
    return path


def metrics_lines(result: Enhanced | None, per_line: int = 4) -> list[str]:
    """The result's description and metrics as a few lines of text for a snapshot."""
    if result is None:
        return ["(no enhancement)"]
    items = [f"{k} {v:.4g}" for k, v in result.metrics.items()]
    lines = [result.description]
    lines += ["   ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return lines

