"""On-image overlays in the corners of a view, as reading software shows them.

* top left: patient lines (name, ID, study date) only when identifiers are shown, else
  nothing that identifies; top right: modality, body part, view position;
* bottom left: window/level in the film's stored units (or "VOI LUT") and the zoom
  (screen pixels per film pixel, in %); bottom right: a scale bar in mm where the pixel
  spacing is known ("detector plane" when it is ImagerPixelSpacing, not corrected for
  magnification), else nothing;
* edge midpoints: orientation markers from DICOM PatientOrientation (the direction of
  increasing column and row), their opposites on the left and top.

Text from files is made safe before it is shown (control characters escaped,
``core.io.errors.escape_control``). Overlays
are child widgets of the view's viewport that let the mouse through; ``set_visible``
toggles them all.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QLabel, QWidget

from xrayview.core.film import Film
from xrayview.core.io.errors import escape_control as printable  # the one text sanitiser

OPPOSITE = {"L": "R", "R": "L", "A": "P", "P": "A", "H": "F", "F": "H"}
MARGIN = 6
BAR_TARGET_PX = 120  # the scale bar is a round length about this long on screen
_NICE = (1.0, 2.0, 5.0)


def opposite(direction: str) -> str:
    """The opposite patient direction of "L", "AF", ... (letters it does not know stay)."""
    return "".join(OPPOSITE.get(ch, ch) for ch in direction)


def orientation_markers(film: Film | None) -> dict[str, str]:
    """{"left", "right", "top", "bottom"} -> direction letters from PatientOrientation,
    or {} when the film does not give it."""
    header = getattr(film, "dicom_header", None)
    value = header.get("PatientOrientation") if header is not None else None
    if value is None or isinstance(value, str) or len(value) != 2:
        return {}
    row_dir, col_dir = (printable(v).strip().upper() for v in value)
    if not row_dir or not col_dir:
        return {}
    return {"right": row_dir, "left": opposite(row_dir), "bottom": col_dir,
            "top": opposite(col_dir)}


def patient_lines(film: Film | None, show_identifiers: bool) -> list[str]:
    """Patient name, ID and study date, only when ``show_identifiers``."""
    if film is None or not show_identifiers:
        return []
    ids, header = film.identifiers, film.dicom_header
    lines = [printable(ids.patient_name).replace("^", " ").strip(), printable(ids.patient_id)]
    date = header.get("StudyDate", "") if header is not None else ""
    if date:
        lines.append(printable(date))
    return [line for line in lines if line]


def study_lines(film: Film | None) -> list[str]:
    """Modality, body part and view position (no identifiers)."""
    if film is None:
        return []
    header = film.dicom_header
    parts = [film.modality or film.source_format]
    if header is not None:
        parts += [str(header.get(k, "") or "") for k in ("BodyPartExamined", "ViewPosition")]
    return [" ".join(printable(p) for p in parts if p)]


def window_text(film: Film, center: float, width: float, uses_lut: bool) -> str:
    """"WL 1234  WW 567" in the film's stored units (MONOCHROME1 in its own sense)."""
    if uses_lut:
        return "VOI LUT"
    span = film.value_max - film.value_min
    c = film.value_max - center * span if film.inverted else film.value_min + center * span
    return f"WL {c:.5g}  WW {width * span:.5g}"


def nice_length(target: float) -> float:
    """The round length (1, 2 or 5 x 10^k) nearest below ``target`` > 0."""
    power = 10.0 ** math.floor(math.log10(target))
    return max(n * power for n in _NICE if n * power <= target)


class ScaleBar(QWidget):
    """A horizontal bar of a round length in mm with its label; mouse-transparent."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.length_px = 0.0
        self.text = ""
        self.resize(BAR_TARGET_PX * 2 + 20, 34)

    def set_scale(self, mm_per_screen_px: float | None, note: str = "") -> None:
        """Show a bar for ``mm_per_screen_px`` (None hides it); ``note`` after the length."""
        if not mm_per_screen_px or not math.isfinite(mm_per_screen_px) or mm_per_screen_px <= 0:
            self.length_px, self.text = 0.0, ""
            self.hide()
            return
        mm = nice_length(BAR_TARGET_PX * mm_per_screen_px)
        self.length_px = mm / mm_per_screen_px
        self.text = f"{mm:g} mm" + (f" ({note})" if note else "")
        self.show()
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt override)
        """The bar, right-aligned, with end ticks and the label above it."""
        if not self.length_px:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        right = self.width() - 2
        left = right - self.length_px
        y = self.height() - 6
        for colour, width in ((QColor(0, 0, 0, 200), 4), (QColor(255, 255, 160), 2)):
            p.setPen(QPen(colour, width))
            p.drawLine(int(left), y, int(right), y)
            p.drawLine(int(left), y - 5, int(left), y + 3)
            p.drawLine(int(right), y - 5, int(right), y + 3)
        p.setPen(QColor(255, 255, 160))
        p.drawText(QRect(0, 0, self.width() - 2, y - 6),
                   Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom, self.text)
        p.end()


def _corner_label(parent: QWidget, align: Qt.AlignmentFlag) -> QLabel:
    label = QLabel(parent)
    label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    label.setAlignment(align)
    label.setStyleSheet("color: #f0f0c8; background: rgba(0, 0, 0, 120); padding: 1px 3px;")
    font = QFont(label.font())
    font.setPointSizeF(max(font.pointSizeF() - 0.5, 7.0))
    label.setFont(font)
    return label


class ViewOverlay:
    """The overlays of one view's ``viewport`` (see the module docstring)."""

    def __init__(self, viewport: QWidget) -> None:
        top, bottom = Qt.AlignmentFlag.AlignTop, Qt.AlignmentFlag.AlignBottom
        left, right = Qt.AlignmentFlag.AlignLeft, Qt.AlignmentFlag.AlignRight
        centre = Qt.AlignmentFlag.AlignCenter
        self.viewport = viewport
        self.corners = {"top_left": _corner_label(viewport, top | left),
                        "top_right": _corner_label(viewport, top | right),
                        "bottom_left": _corner_label(viewport, bottom | left)}
        self.markers = {side: _corner_label(viewport, centre)
                        for side in ("left", "right", "top", "bottom")}
        for marker in self.markers.values():
            font = QFont(marker.font())
            font.setBold(True)
            font.setPointSizeF(font.pointSizeF() + 2)
            marker.setFont(font)
        self.scale_bar = ScaleBar(viewport)
        self.visible = True

    def set_text(self, corner: str, lines: list[str]) -> None:
        """The lines of one corner ("top_left", "top_right", "bottom_left")."""
        label = self.corners[corner]
        label.setText("\n".join(lines))
        self.layout()

    def text(self, corner: str) -> str:
        """What a corner says (for tests and exports)."""
        return self.corners[corner].text()

    def set_markers(self, markers: dict[str, str]) -> None:
        """Orientation letters per side ({} clears them)."""
        for side, label in self.markers.items():
            label.setText(markers.get(side, ""))
        self.layout()

    def set_visible(self, visible: bool) -> None:
        """Show or hide every overlay of the view."""
        self.visible = bool(visible)
        self.layout()

    def layout(self) -> None:
        """Place the overlays in the viewport's corners and edge midpoints."""
        w, h = self.viewport.width(), self.viewport.height()
        for name, label in self.corners.items():
            label.setVisible(self.visible and bool(label.text()))
            label.adjustSize()
            x = MARGIN if name.endswith("left") else w - label.width() - MARGIN
            y = MARGIN if name.startswith("top") else h - label.height() - MARGIN
            label.move(max(x, 0), max(y, 0))
        for side, label in self.markers.items():
            label.setVisible(self.visible and bool(label.text()))
            label.adjustSize()
            x = {"left": MARGIN, "right": w - label.width() - MARGIN}.get(
                side, (w - label.width()) // 2)
            y = {"top": MARGIN, "bottom": h - label.height() - MARGIN}.get(
                side, (h - label.height()) // 2)
            label.move(max(x, 0), max(y, 0))
        bar = self.scale_bar
        bar.setVisible(self.visible and bool(bar.length_px))
        bar.move(max(w - bar.width() - MARGIN, 0), max(h - bar.height() - MARGIN, 0))
