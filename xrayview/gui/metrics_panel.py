"""MetricsPanel: live dehazing metric curves, a draggable stop threshold, a metrics table.

One small chart per metric family, each with its own y axis (``FAMILIES``: similarity,
PSNR in dB, contrast and brightness, step change), sharing an integer step axis that
starts at 1. Each curve grows by one point per step; legends sit beside the charts, so
they never cover the curves; hovering a chart shows the values at the nearest step.
The stop threshold is a horizontal ``InfiniteLine`` on the chart of the chosen stop
metric; dragging it emits ``thresholdChanged`` (the controller forwards it to the running
``StopRule`` and to the spin box). Clicking a chart emits ``stepClicked(step)`` for the
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

FAMILIES = {  # chart name -> (title, the metrics it draws)
    "similarity": ("Similarity (SSIM)", ("ssim_prev", "ssim_input")),
    "psnr": ("PSNR (dB)", ("psnr_prev", "psnr_input")),
    "contrast": ("Contrast and brightness", ("ici_input", "rms_contrast", "mean_brightness",
                                             "mean_gradient")),
    "change": ("Step change", ("step_change",)),
}
FAMILY_OF = {m: family for family, (_title, metrics) in FAMILIES.items() for m in metrics}
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
        self.plots: dict[str, pg.PlotWidget] = {}
        self.legends: dict[pg.PlotWidget, pg.LegendItem] = {}
        self.hover_labels: dict[pg.PlotWidget, pg.TextItem] = {}
        for family, (title, _metrics) in FAMILIES.items():
            plot = pg.PlotWidget(title=title, axisItems={"bottom": StepAxis("bottom")})
            plot.setLabel("bottom", "dehazing step")
            plot.showGrid(x=True, y=True, alpha=0.3)
            legend = pg.LegendItem(labelTextSize="8pt", colCount=1, verSpacing=-6)
            legend.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            layout = plot.getPlotItem().layout
            layout.addItem(legend, 2, 3)  # right of the data area
            layout.setAlignment(legend, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            self.legends[plot] = legend
            plot.setMenuEnabled(False)
            plot.setXRange(0.5, 1.5, padding=0)
            cache_axes(plot)
            plot.scene().sigMouseClicked.connect(lambda ev, p=plot: self._on_click(p, ev))
            plot.scene().sigMouseMoved.connect(lambda pos, p=plot: self._on_hover(p, pos))
            hover = pg.TextItem(color="#e8e8e8", fill=pg.mkBrush(0, 0, 0, 170), anchor=(0, 0))
            hover.setZValue(20)
            plot.addItem(hover, ignoreBounds=True)
            hover.hide()
            self.hover_labels[plot] = hover
            self.plots[family] = plot
        first = self.plots["similarity"]
        for plot in self.plots.values():
            if plot is not first:
                plot.setXLink(first)
        self.curves: dict[str, pg.PlotDataItem] = {}
        for i, name in enumerate(METRIC_NAMES):
            plot = self.plots[FAMILY_OF[name]]
            self.curves[name] = plot.plot([], [], name=name, symbol="o", symbolSize=5,
                                          pen=pg.mkPen(COLORS[i % len(COLORS)], width=2),
                                          symbolBrush=COLORS[i % len(COLORS)])
            self.legends[plot].addItem(self.curves[name], METRIC_LABELS.get(name, name))
        self.threshold_line = pg.InfiniteLine(angle=0, movable=True,
                                              pen=pg.mkPen("y", width=2, style=Qt.PenStyle.DashLine),
                                              hoverPen=pg.mkPen("r", width=3),
                                              label="stop {value:.4g}",
                                              labelOpts={"position": 0.55, "color": "y"})
        self.threshold_line.sigPositionChanged.connect(self._on_line_moved)
        self.step_markers = {}
        for plot in self.plots.values():
            marker = pg.InfiniteLine(angle=90, movable=False,
                                     pen=pg.mkPen("w", width=1, style=Qt.PenStyle.DotLine))
            plot.addItem(marker, ignoreBounds=True)
            marker.hide()
            self.step_markers[plot] = marker
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
        for plot in self.plots.values():
            plots.addWidget(plot)
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
        for plot, marker in self.step_markers.items():
            marker.hide()
            self.hover_labels[plot].hide()
            plot.setYRange(0.0, 1.0, padding=0.05)  # no axes left over from the last run
            plot.enableAutoRange(axis="y")
        self.plots["similarity"].setXRange(0.5, 1.5, padding=0)

    def add_step(self, step: DehazeStep) -> None:
        """Append one step's metrics to every curve."""
        self.steps.append(step.step)
        x = np.asarray(self.steps, dtype=float)
        for name in METRIC_NAMES:
            self.history[name].append(_finite(step.metrics.get(name, float("nan"))))
            self.curves[name].setData(x, np.asarray(self.history[name]), connect="finite")
        # the step axis runs from step 1 to the last step, never below 1 or to fractions
        self.plots["similarity"].setXRange(0.5, max(self.steps) + 0.5, padding=0)

    def mark_step(self, step: int | None) -> None:
        """Show which step is in the Enhanced view (None: the final result)."""
        for marker in self.step_markers.values():
            marker.setVisible(step is not None)
            if step is not None:
                marker.setValue(step)

    # -- threshold ----------------------------------------------------------------------
    def set_stop_metric(self, name: str) -> None:
        """Put the threshold line on the chart that holds metric ``name``."""
        plot = self.plots[FAMILY_OF[name]]
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

    def _on_hover(self, plot: pg.PlotWidget, scene_pos) -> None:
        label = self.hover_labels[plot]
        vb = plot.getPlotItem().vb
        if not self.steps or not vb.sceneBoundingRect().contains(scene_pos):
            label.hide()
            return
        self.show_values(plot, vb.mapSceneToView(scene_pos).x())

    def hover_text(self, plot: pg.PlotWidget, x: float) -> str:
        """The values of ``plot``'s curves at the step nearest to ``x``."""
        i = int(np.argmin([abs(s - x) for s in self.steps]))
        family = next(f for f, p in self.plots.items() if p is plot)
        lines = [f"step {self.steps[i]}"]
        for name in FAMILIES[family][1]:
            value = self.history[name][i]
            lines.append(f"{METRIC_LABELS.get(name, name)}: "
                         + ("-" if math.isnan(value) else f"{value:.4g}"))
        return "\n".join(lines)

    def show_values(self, plot: pg.PlotWidget, x: float) -> None:
        """Show the hover label of ``plot`` at step position ``x``."""
        label = self.hover_labels[plot]
        label.setText(self.hover_text(plot, x))
        (x0, _x1), (_y0, y1) = plot.getPlotItem().vb.viewRange()
        label.setPos(x0, y1)
        label.show()

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

