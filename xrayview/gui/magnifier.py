"""A magnifier lens: the scene under the cursor, drawn FACTOR times larger beside it.

The lens renders the view's scene (the image and the measurements, not the overlays)
through the same display path as the view itself (window, lookup table and display
interpolation), so it shows what the view would show at that zoom.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QLabel, QWidget

SIZE = 200  # lens side, screen pixels
FACTOR = 3.0  # magnification over the view's own zoom
OFFSET = 24  # lens corner from the cursor, screen pixels


class Magnifier(QLabel):
    """The lens of one view (a child of its viewport that lets the mouse through)."""

    def __init__(self, viewport: QWidget, scene) -> None:
        super().__init__(viewport)
        self.scene = scene
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setFixedSize(SIZE, SIZE)
        self.enabled = False
        self.hide()

    def set_enabled(self, on: bool) -> None:
        """Turn the lens on or off (off hides it)."""
        self.enabled = bool(on)
        if not on:
            self.hide()

    def show_at(self, scene_pos: QPointF) -> None:
        """Show the magnified scene around ``scene_pos`` next to it."""
        if not self.enabled:
            return
        half = SIZE / FACTOR / 2
        source = QRectF(scene_pos.x() - half, scene_pos.y() - half, 2 * half, 2 * half)
        pixmap = QPixmap(SIZE, SIZE)
        pixmap.fill(QColor(0, 0, 0))
        painter = QPainter(pixmap)
        self.scene.render(painter, QRectF(0, 0, SIZE, SIZE), source)
        painter.setPen(QPen(QColor("#ffd23f"), 2))
        painter.drawRect(1, 1, SIZE - 2, SIZE - 2)
        painter.end()
        self.setPixmap(pixmap)
        parent = self.parentWidget()
        x, y = int(scene_pos.x()) + OFFSET, int(scene_pos.y()) - OFFSET - SIZE
        if x + SIZE > parent.width():
            x = int(scene_pos.x()) - OFFSET - SIZE
        if y < 0:
            y = int(scene_pos.y()) + OFFSET
        self.move(max(x, 0), max(y, 0))
        self.show()
        self.raise_()
