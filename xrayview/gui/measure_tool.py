"""Measurements drawn on the compare views: a ruler and rectangle/ellipse ROIs, linked.

All views share original-pixel coordinates, so one measurement is one ``core.measurements
.Shape`` drawn as a pyqtgraph ROI in every view; moving or resizing it in one view moves
it in the others. Each view labels it with its own numbers: the length (mm where the
spacing is known, else px) or the ROI's mean, SD, min and max of *that* view's image in
the film's stored units (the Difference view: the difference in stored units).

A tool ("distance", "rectangle", "ellipse") turns the next left-drag in any view into a
new measurement instead of a pan; the tool is then put down. ``rows()`` gives the CSV
rows (``core.measurements.CSV_HEADER``), one per measurement and view.
"""

from __future__ import annotations

import logging
import math
from functools import partial

import pyqtgraph as pg
from PySide6.QtCore import QObject, QPointF, Signal

from xrayview.core.measurements import Shape, Stats, csv_row, distance, roi_stats

log = logging.getLogger(__name__)

PEN = pg.mkPen("#ffd23f", width=2)
HOVER_PEN = pg.mkPen("#ff8c1a", width=2)
MIN_DRAG = 0.5  # original pixels: a shorter drag makes no measurement


class MeasurementLayer(QObject):
    """Measurements of a ``CompareView`` (see the module docstring).

    Signals: ``changed()`` (a measurement was added, moved or removed),
    ``toolChanged(tool)`` (the active tool; "" when none).
    """

    changed = Signal()
    toolChanged = Signal(str)

    def __init__(self, compare) -> None:
        super().__init__(compare)
        self.compare = compare
        self.shapes: dict[int, Shape] = {}
        self._items: dict[int, list[tuple[object, pg.ROI, pg.TextItem]]] = {}
        self._next_id = 1
        self._drawing: int | None = None
        self._syncing = False
        self.tool = ""
        for view in compare.views:
            view.view_box.shapeDragged.connect(partial(self._on_drag, view))

    # -- tools ---------------------------------------------------------------------------
    def set_tool(self, tool: str | None) -> None:
        """Arm ``tool`` for the next left-drag ("" or None: pan again)."""
        self.tool = tool or ""
        for view in self.compare.views:
            view.view_box.tool = self.tool
        self.toolChanged.emit(self.tool)

    def _on_drag(self, view, kind: str, p0: QPointF, p1: QPointF, finished: bool) -> None:
        if self._drawing is None:
            if math.hypot(p1.x() - p0.x(), p1.y() - p0.y()) < MIN_DRAG and not finished:
                return
            self._drawing = self.add(Shape(kind, p0.x(), p0.y(), p1.x(), p1.y()))
        else:
            old = self.shapes[self._drawing]
            self._update(Shape(old.kind, old.x0, old.y0, p1.x(), p1.y(), old.id))
        if finished:
            self._drawing = None
            self.set_tool("")

    # -- shapes --------------------------------------------------------------------------
    def add(self, shape: Shape) -> int:
        """Draw ``shape`` in every view; returns its id."""
        shape = Shape(shape.kind, shape.x0, shape.y0, shape.x1, shape.y1, self._next_id)
        self._next_id += 1
        self.shapes[shape.id] = shape
        items = []
        for view in self.compare.views:
            roi = self._make_roi(shape)
            label = pg.TextItem(color="#ffd23f", fill=pg.mkBrush(0, 0, 0, 150), anchor=(0, 1))
            view.view_box.addItem(roi, ignoreBounds=True)
            view.view_box.addItem(label, ignoreBounds=True)
            roi.sigRegionChanged.connect(partial(self._on_roi_moved, shape.id, roi))
            items.append((view, roi, label))
        self._items[shape.id] = items
        self._relabel(shape.id)
        self.changed.emit()
        return shape.id

    def remove(self, shape_id: int) -> None:
        """Delete one measurement from every view."""
        for view, roi, label in self._items.pop(shape_id, []):
            view.view_box.removeItem(roi)
            view.view_box.removeItem(label)
        self.shapes.pop(shape_id, None)
        self.changed.emit()

    def clear(self) -> None:
        """Delete every measurement (a new film)."""
        for shape_id in list(self.shapes):
            self.remove(shape_id)
        self._drawing = None

    @staticmethod
    def _make_roi(shape: Shape) -> pg.ROI:
        if shape.kind == "distance":
            return pg.LineSegmentROI(positions=[(shape.x0, shape.y0), (shape.x1, shape.y1)],
                                     pen=PEN, hoverPen=HOVER_PEN)
        left, top, right, bottom = shape.box()
        cls = pg.EllipseROI if shape.kind == "ellipse" else pg.RectROI
        return cls((left, top), (max(right - left, 1e-3), max(bottom - top, 1e-3)), pen=PEN,
                   hoverPen=HOVER_PEN)

    def _shape_of(self, shape_id: int, view, roi: pg.ROI) -> Shape:
        old = self.shapes[shape_id]
        if old.kind == "distance":
            (_, a), (_, b) = roi.getSceneHandlePositions()[:2]
            p, q = view.view_box.mapSceneToView(a), view.view_box.mapSceneToView(b)
            return Shape(old.kind, p.x(), p.y(), q.x(), q.y(), shape_id)
        pos, size = roi.pos(), roi.size()
        return Shape(old.kind, pos.x(), pos.y(), pos.x() + size.x(), pos.y() + size.y(),
                     shape_id)

    def _on_roi_moved(self, shape_id: int, roi: pg.ROI, *_signal_args) -> None:
        if self._syncing or shape_id not in self._items:
            return
        view = next(v for v, r, _ in self._items[shape_id] if r is roi)
        self._update(self._shape_of(shape_id, view, roi), source=roi)

    def _update(self, shape: Shape, source: pg.ROI | None = None) -> None:
        """Move every view's drawing of ``shape.id`` to ``shape`` and relabel."""
        self.shapes[shape.id] = shape
        self._syncing = True
        try:
            for _view, roi, _label in self._items[shape.id]:
                if roi is source:
                    continue
                if shape.kind == "distance":
                    a, b = roi.getHandles()[:2]
                    roi.movePoint(a, QPointF(shape.x0, shape.y0), finish=False)
                    roi.movePoint(b, QPointF(shape.x1, shape.y1), finish=False)
                else:
                    left, top, right, bottom = shape.box()
                    roi.setPos(QPointF(left, top), update=False, finish=False)
                    roi.setSize(QPointF(max(right - left, 1e-3), max(bottom - top, 1e-3)),
                                finish=False)
        finally:
            self._syncing = False
        self._relabel(shape.id)
        self.changed.emit()

    # -- numbers -------------------------------------------------------------------------
    def stats(self, shape_id: int, view) -> Stats | None:
        """The ROI statistics of ``view``'s image (None: a distance, or no image)."""
        shape, film = self.shapes[shape_id], self.compare.film
        if shape.kind == "distance" or film is None or view.image is None:
            return None
        return roi_stats(shape, view.image, film, view.image_scale,
                         difference=view is self.compare.difference)

    def label_text(self, shape_id: int, view) -> str:
        """What ``view`` writes beside the measurement."""
        shape, film = self.shapes[shape_id], self.compare.film
        if film is None:
            return ""
        if shape.kind == "distance":
            length, unit = distance(shape, film)
            return f"{length:.1f} {unit}"
        s = self.stats(shape_id, view)
        if s is None or s.pixels == 0:
            return "(no pixels)" if s is not None else ""
        return (f"mean {s.mean:.5g}  SD {s.sd:.4g}\nmin {s.min:.5g}  max {s.max:.5g}"
                f"  ({s.unit}, {s.pixels} px)")

    def _relabel(self, shape_id: int) -> None:
        shape = self.shapes[shape_id]
        left, top, right, _bottom = shape.box()
        anchor = (shape.x1, shape.y1) if shape.kind == "distance" else (right, top)
        for view, _roi, label in self._items[shape_id]:
            label.setText(self.label_text(shape_id, view))
            label.setPos(*anchor)

    def refresh(self) -> None:
        """Relabel every measurement (the images on show changed)."""
        for shape_id in self.shapes:
            self._relabel(shape_id)

    def rows(self) -> list[list[str]]:
        """CSV rows, one per measurement and view (``CSV_HEADER`` columns)."""
        film = self.compare.film
        out = []
        if film is None:
            return out
        names = ("original", "enhanced", "difference")
        for shape_id, shape in self.shapes.items():
            for name, view in zip(names, self.compare.views):
                if shape.kind != "distance" and view.image is None:
                    continue
                if shape.kind == "distance":
                    out.append(csv_row(shape, "all", film, None))  # the same in every view
                    break
                out.append(csv_row(shape, name, film, self.stats(shape_id, view)))
        return out
