"""Side panels: the DICOM tag browser and the histogram with the display window on it.

The tag browser hides patient and study identifiers (and any person name) unless its
"Show identifiers" box is ticked; the box starts unticked for every film.
"""

from __future__ import annotations

import logging

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QLineEdit, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from xrayview.core.film import Film
from xrayview.core.io.errors import escape_control
from xrayview.gui.plot_cache import cache_axes
from xrayview.gui.state import ViewerState

log = logging.getLogger(__name__)

IDENTIFYING_KEYWORDS = frozenset({
    "PatientName", "PatientID", "OtherPatientIDs", "OtherPatientNames",
    "OtherPatientIDsSequence", "PatientBirthDate", "PatientBirthTime", "PatientAddress",
    "PatientTelephoneNumbers", "PatientMotherBirthName", "MilitaryRank", "EthnicGroup",
    "IssuerOfPatientID", "MedicalRecordLocator", "AccessionNumber", "StudyID",
    "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID",
    "MediaStorageSOPInstanceUID", "InstitutionName", "InstitutionAddress",
    "InstitutionalDepartmentName", "StationName", "DeviceSerialNumber",
    "ReferringPhysicianName", "PerformingPhysicianName", "OperatorsName",
    "PhysiciansOfRecord", "NameOfPhysiciansReadingStudy", "RequestingPhysician",
    "ScheduledPerformingPhysicianName", "RequestAttributesSequence", "PatientComments",
    "AdditionalPatientHistory", "StudyDate", "StudyTime", "SeriesDate", "SeriesTime",
    "AcquisitionDate", "AcquisitionTime", "ContentDate", "ContentTime",
    "AcquisitionDateTime", "InstanceCreationDate", "InstanceCreationTime",
})
MAX_VALUE_CHARS = 120


def is_identifying(element) -> bool:
    """True for identifiers, dates and person names (VR PN) of a pydicom DataElement."""
    return element.keyword in IDENTIFYING_KEYWORDS or element.VR == "PN"


class DicomTagBrowser(QWidget):
    """Tree of the film's DICOM header (tag, name, VR, value), filterable."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.filter_edit = QLineEdit(placeholderText="Filter tags…")
        self.identifiers_check = QCheckBox("Show identifiers")
        self.identifiers_check.setToolTip("Patient names, IDs, dates and UIDs are hidden "
                                          "unless this is ticked")
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Tag", "Name", "VR", "Value"])
        self.tree.setUniformRowHeights(True)
        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.identifiers_check)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.tree)
        self._header = None
        self.filter_edit.textChanged.connect(self._rebuild)
        self.identifiers_check.toggled.connect(self._rebuild)

    def observe(self, state: ViewerState) -> None:
        """Follow the viewer state's open film."""
        state.film_opened.connect(self.set_film)

    def set_film(self, film: Film | None) -> None:
        """Show ``film``'s header (none for PNG/JPEG/TIFF); hides identifiers again."""
        self._header = None if film is None else film.dicom_header
        self.identifiers_check.blockSignals(True)
        self.identifiers_check.setChecked(False)
        self.identifiers_check.blockSignals(False)
        self._rebuild()

    def _rebuild(self) -> None:
        self.tree.clear()
        if self._header is None:
            QTreeWidgetItem(self.tree, ["", "(not a DICOM film)", "", ""])
            return
        self._add(self.tree.invisibleRootItem(), self._header,
                  self.filter_edit.text().strip().lower())
        self.tree.resizeColumnToContents(0)

    def _add(self, parent, dataset, text: str) -> None:
        show_ids = self.identifiers_check.isChecked()
        for elem in dataset:
            if elem.tag == 0x7FE00010:  # pixel data is not in the header copy; skip if it is
                continue
            hidden = is_identifying(elem) and not show_ids
            if elem.VR == "SQ":
                value = f"{len(elem.value)} item(s)"
            elif hidden:
                value = "(hidden)"
            else:
                value = escape_control(elem.value)  # a CR/LF cannot forge a row
                value = value if len(value) <= MAX_VALUE_CHARS else value[:MAX_VALUE_CHARS] + "…"
            row = [f"({elem.tag.group:04X},{elem.tag.element:04X})", elem.name, elem.VR, value]
            if text and not any(text in c.lower() for c in row) and elem.VR != "SQ":
                continue
            item = QTreeWidgetItem(parent, row)
            if elem.VR == "SQ" and not hidden:
                for i, sub in enumerate(elem.value):
                    child = QTreeWidgetItem(item, ["", f"item {i + 1}", "", ""])
                    self._add(child, sub, text)

    def visible_values(self) -> list[str]:
        """Every Value cell in the tree (for tests)."""
        out: list[str] = []

        def walk(item):
            for i in range(item.childCount()):
                out.append(item.child(i).text(3))
                walk(item.child(i))
        walk(self.tree.invisibleRootItem())
        return out


class StoredValueAxis(pg.AxisItem):
    """A bottom axis over normalised [0, 1] positions labelled in the film's stored units
    (modality values: HU for CT), with round ticks in those units; MONOCHROME1 films read
    right to left, as their stored values fall where the display gets brighter."""

    def __init__(self) -> None:
        super().__init__("bottom")
        self.film: Film | None = None

    def _stored(self, v: float) -> float:
        return float(self.film.stored_values(np.asarray([v], np.float64))[0])

    def tickValues(self, minVal, maxVal, size):  # noqa: N802,N803 (pyqtgraph API)
        """Round ticks in stored units, placed at their normalised positions."""
        if self.film is None or self.film.value_max <= self.film.value_min:
            return super().tickValues(minVal, maxVal, size)
        a, b = sorted((self._stored(minVal), self._stored(maxVal)))
        return [(spacing, [self.film.normalise_value(v) for v in values])
                for spacing, values in super().tickValues(a, b, size)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph API)
        """Each tick's stored value."""
        if self.film is None:
            return super().tickStrings(values, scale, spacing)
        return [f"{self._stored(v):.6g}" for v in values]


def stored_units(film: Film) -> str:
    """The unit of ``film``'s stored values, for axis labels."""
    return "HU" if film.modality == "CT" else "stored value"


class HistogramPanel(QWidget):
    """Histogram of the original (grey) and enhanced (orange) pixels, log counts, over the
    film's stored values (``StoredValueAxis``).

    The shaded region is the display window; dragging it emits ``windowEdited``.
    """

    windowEdited = Signal(float, float)  # center, width (normalised)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.axis = StoredValueAxis()
        self.plot = pg.PlotWidget(axisItems={"bottom": self.axis})
        self.plot.setLabel("bottom", "normalised value")
        self.plot.setLabel("left", "log10 count")
        self.plot.setMenuEnabled(False)
        cache_axes(self.plot)
        self.original_curve = self.plot.plot([], [], stepMode="center", fillLevel=0,
                                             brush=(180, 180, 180, 90), pen="w")
        self.enhanced_curve = self.plot.plot([], [], stepMode="center",
                                             pen=pg.mkPen("#f58231", width=1.5))
        self.region = pg.LinearRegionItem(values=(0.0, 1.0), brush=(70, 130, 230, 50))
        self.region.setZValue(-10)
        self.plot.addItem(self.region)
        self.region.sigRegionChanged.connect(self._on_region)
        self._quiet = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.plot)

    @staticmethod
    def _hist(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        step = max(1, int(np.sqrt(pixels.size / (1 << 20))))
        counts, edges = np.histogram(pixels[::step, ::step], bins=256, range=(0.0, 1.0))
        return edges, np.log10(counts + 1.0)

    def observe(self, state: ViewerState) -> None:
        """Follow the viewer state: the open film, the film being enhanced, the result."""
        state.film_opened.connect(self.set_film)
        state.input_ready.connect(lambda record: self.set_original(record.film))
        state.result_ready.connect(lambda result: self.set_enhanced(result.image))

    def set_film(self, film: Film) -> None:
        """A new film: its histogram, over its stored units."""
        self.axis.film = film
        self.plot.setLabel("bottom", stored_units(film))
        self.axis.picture = None  # redraw the ticks for the new units
        self.axis.update()
        self.set_original(film.pixels)

    def set_original(self, pixels: np.ndarray | None) -> None:
        """Histogram of float32 (H, W) in [0, 1] (None clears)."""
        self.original_curve.setData(*self._hist(pixels)) if pixels is not None \
            else self.original_curve.setData([], [])
        self.enhanced_curve.setData([], [])

    def set_enhanced(self, pixels: np.ndarray | None) -> None:
        """Overlay the enhanced image's histogram (None clears)."""
        if pixels is None:
            self.enhanced_curve.setData([], [])
        else:
            self.enhanced_curve.setData(*self._hist(pixels))

    def set_window(self, center: float, width: float) -> None:
        """Show the display window without emitting ``windowEdited``."""
        self._quiet = True
        try:
            self.region.setRegion((center - width / 2, center + width / 2))
        finally:
            self._quiet = False

    def _on_region(self) -> None:
        if self._quiet:
            return
        lo, hi = self.region.getRegion()
        self.windowEdited.emit((lo + hi) / 2, max(hi - lo, 1e-6))
