"""MetricsPanel: live dehazing metric curves, a draggable stop threshold, a metrics table.

Two plots share the step axis: PSNR metrics (dB) and the unitless ones (SSIM, ICI,
contrast, brightness, gradient, step change). Each curve grows by one point per step;
the legends sit beside the plots, so they never cover the curves.
The stop threshold is a horizontal ``InfiniteLine`` in the plot holding the stop metric;
dragging it emits ``thresholdChanged`` (the controller forwards it to the running
``StopRule`` and to the spin box). Clicking a plot emits ``stepClicked(step)`` for the
nearest step (0 = before dehazing).
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHeaderView, QSizePolicy, QSplitter, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from xrayview.core.enhance.stop_rule import METRIC_LABELS, METRIC_NAMES, DehazeStep
from xrayview.gui.plot_cache import cache_axes
from xrayview.gui.state import ViewerState

log = logging.getLogger(__name__)

DB_METRICS = ("psnr_prev", "psnr_input")
TABLE_LABELS = {  # result table rows (keys of pipeline.result_metrics and the controller)
    "psnr_vs_bicubic": "PSNR vs bicubic (dB)", "ssim_vs_bicubic": "SSIM vs bicubic",
    "rms_contrast": "RMS contrast", "mean_brightness": "Mean brightness",
    "mean_gradient": "Mean gradient",
    "true_psnr_result": "Result: PSNR vs truth (dB)", "true_ssim_result": "Result: SSIM vs truth",
    "true_ici_result": "Result: ICI vs truth",
    "true_psnr_bicubic": "Bicubic: PSNR vs truth (dB)",
    "true_ssim_bicubic": "Bicubic: SSIM vs truth", "true_ici_bicubic": "Bicubic: ICI vs truth",
    "seconds": "Time (s)", "dehazing_steps": "Dehazing steps",
}
COLORS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
          "#bfef45", "#fabed4")


def _finite(value: float) -> float:
    return float(value) if math.isfinite(value) else float("nan")


class StepAxis(pg.AxisItem):
    """A bottom axis for dehazing steps: ticks only at whole steps."""

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph API)
        levels = [(spacing, offset) for spacing, offset in super().tickSpacing(minVal, maxVal, size)
                  if spacing >= 1.0]
        return levels or [(1.0, 0.0)]


class MetricsPanel(QWidget):
    """Signals: ``thresholdChanged(float)`` (line dragged), ``stepClicked(int)``."""

    thresholdChanged = Signal(float)
    stepClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db_plot = pg.PlotWidget(title="PSNR (dB)",
                                     axisItems={"bottom": StepAxis("bottom")})
        self.unit_plot = pg.PlotWidget(title="Similarity, contrast, change",
                                       axisItems={"bottom": StepAxis("bottom")})
        self.legends: dict[pg.PlotWidget, pg.LegendItem] = {}
        for plot in (self.db_plot, self.unit_plot):
            plot.setLabel("bottom", "dehazing step")
            plot.showGrid(x=True, y=True, alpha=0.3)
            legend = pg.LegendItem(labelTextSize="8pt", colCount=1, verSpacing=-6)
            legend.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            layout = plot.getPlotItem().layout
            layout.addItem(legend, 2, 3)  # right of the data area
            layout.setAlignment(legend, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            self.legends[plot] = legend
            plot.setMenuEnabled(False)
            cache_axes(plot)
            plot.scene().sigMouseClicked.connect(
                lambda ev, p=plot: self._on_click(p, ev))
        self.unit_plot.setXLink(self.db_plot)
        self.curves: dict[str, pg.PlotDataItem] = {}
        for i, name in enumerate(METRIC_NAMES):
            plot = self.db_plot if name in DB_METRICS else self.unit_plot
            self.curves[name] = plot.plot([], [], name=name, symbol="o", symbolSize=5,
                                          pen=pg.mkPen(COLORS[i % len(COLORS)], width=2),
                                          symbolBrush=COLORS[i % len(COLORS)])
            self.legends[plot].addItem(self.curves[name], METRIC_LABELS.get(name, name))
        self.threshold_line = pg.InfiniteLine(angle=0, movable=True,
                                              pen=pg.mkPen("y", width=2, style=Qt.PenStyle.DashLine),
                                              hoverPen=pg.mkPen("r", width=3),
                                              label="stop {value:.4f}",
                                              labelOpts={"position": 0.9, "color": "y"})
        self.threshold_line.sigPositionChanged.connect(self._on_line_moved)
        self.step_marker = pg.InfiniteLine(angle=90, movable=False,
                                           pen=pg.mkPen("w", width=1, style=Qt.PenStyle.DotLine))
        self.db_plot.addItem(self.step_marker, ignoreBounds=True)
        self.step_marker.hide()
        self._line_plot: pg.PlotWidget | None = None
        self._quiet = False
        self.history: dict[str, list[float]] = {n: [] for n in METRIC_NAMES}
        self.steps: list[int] = []

        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["metric", "value"])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumWidth(250)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)

        plots = QSplitter(Qt.Orientation.Horizontal)  # side by side: the dock is short
        plots.addWidget(self.unit_plot)
        plots.addWidget(self.db_plot)
        outer = QSplitter(Qt.Orientation.Horizontal)
        outer.addWidget(plots)
        outer.addWidget(self.table)
        outer.setStretchFactor(0, 3)
        outer.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(outer)
        self.set_stop_metric("ssim_input")

    # -- curves -------------------------------------------------------------------------
    def observe(self, state: ViewerState) -> None:
        """Follow the viewer state: curves per dehazing step, the result's table."""
        def reset(*_args) -> None:
            self.clear()
            self.set_table({})

        def result(done) -> None:
            table = {**done.metrics, "seconds": done.seconds}
            if done.steps:
                table["dehazing_steps"] = float(len(done.steps))
            self.set_table(table)

        state.film_opened.connect(reset)
        state.run_started.connect(reset)
        state.step_done.connect(self.add_step)
        state.step_shown.connect(self.mark_step)
        state.result_ready.connect(result)

    def clear(self) -> None:
        """Forget the step history (a new run starts)."""
        self.steps.clear()
        for name in METRIC_NAMES:
            self.history[name] = []
            self.curves[name].setData([], [])
        self.step_marker.hide()

    def add_step(self, step: DehazeStep) -> None:
        """Append one step's metrics to every curve."""
        self.steps.append(step.step)
        x = np.asarray(self.steps, dtype=float)
        for name in METRIC_NAMES:
            self.history[name].append(_finite(step.metrics.get(name, float("nan"))))
            self.curves[name].setData(x, np.asarray(self.history[name]), connect="finite")

    def mark_step(self, step: int | None) -> None:
        """Show which step is in the Enhanced view (None: the final result)."""
        self.step_marker.setVisible(step is not None)
        if step is not None:
            self.step_marker.setValue(step)

    # -- threshold ----------------------------------------------------------------------
    def set_stop_metric(self, name: str) -> None:
        """Put the threshold line in the plot that holds metric ``name``."""
        plot = self.db_plot if name in DB_METRICS else self.unit_plot
        if plot is not self._line_plot:
            if self._line_plot is not None:
                self._line_plot.removeItem(self.threshold_line)
            plot.addItem(self.threshold_line)
            self._line_plot = plot
        for n, curve in self.curves.items():
            curve.setPen(pg.mkPen(curve.opts["symbolBrush"], width=4 if n == name else 1.5))

    @property
    def threshold(self) -> float:
        """The line's value."""
        return float(self.threshold_line.value())

    def set_threshold(self, value: float) -> None:
        """Move the line without emitting ``thresholdChanged``."""
        if abs(self.threshold - value) < 1e-12:
            return
        self._quiet = True
        try:
            self.threshold_line.setValue(value)
        finally:
            self._quiet = False

    def _on_line_moved(self) -> None:
        if not self._quiet:
            self.thresholdChanged.emit(self.threshold)

    # -- clicks and table ---------------------------------------------------------------
    def _on_click(self, plot: pg.PlotWidget, ev) -> None:
        if not self.steps or ev.button() != Qt.MouseButton.LeftButton:
            return
        vb = plot.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        self.select_x(vb.mapSceneToView(ev.scenePos()).x())

    def select_x(self, x: float) -> None:
        """Emit ``stepClicked`` for the step nearest to plot position ``x`` (0 allowed)."""
        candidates = [0, *self.steps]
        self.stepClicked.emit(min(candidates, key=lambda s: abs(s - x)))

    def set_table(self, values: dict[str, float]) -> None:
        """Show ``values`` (key -> number) in the table, each row under its readable label."""
        self.table.setRowCount(len(values))
        for row, (name, value) in enumerate(values.items()):
            label = QTableWidgetItem(TABLE_LABELS.get(name, name))
            label.setData(Qt.ItemDataRole.UserRole, name)
            label.setToolTip(name)
            self.table.setItem(row, 0, label)
            text = f"{value:.4f}" if math.isfinite(value) else str(value)
            item = QTableWidgetItem(text)
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, 1, item)

    def table_values(self) -> dict[str, str]:
        """The table as key -> shown value text (for tests and exports)."""
        key = Qt.ItemDataRole.UserRole
        return {self.table.item(r, 0).data(key): self.table.item(r, 1).text()
                for r in range(self.table.rowCount())}

    def table_labels(self) -> list[str]:
        """The row labels as shown."""
        return [self.table.item(r, 0).text() for r in range(self.table.rowCount())]

