"""EnhancePanel: the form for an enhancement run (model, scale, dehazing, device, run).

Models without trained weights are listed but disabled, with a tooltip saying why. The
panel only collects settings and shows progress; ``gui.enhance_controller`` runs jobs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from xrayview.core.dehazing import METRIC_NAMES, StopRule
from xrayview.core.device import list_devices
from xrayview.core.weights import WeightsError, available_models

log = logging.getLogger(__name__)

MODEL_LABELS = {"none": "None (bicubic only)", "srcnn": "SRCNN", "vdsr": "VDSR"}
METRIC_LABELS = {
    "psnr_prev": "PSNR vs previous step (dB)", "ssim_prev": "SSIM vs previous step",
    "psnr_input": "PSNR vs input (dB)", "ssim_input": "SSIM vs input",
    "ici_input": "ICI vs input", "rms_contrast": "RMS contrast",
    "mean_brightness": "Mean brightness", "mean_gradient": "Mean gradient",
    "step_change": "Step change",
}


@dataclass(frozen=True)
class PanelSettings:
    """What the user chose. ``veil``: reference-mode veil strength in [0, 1]."""

    model: str
    scale: int
    dehaze: bool
    max_steps: int
    stop_metric: str
    threshold: float
    device: str
    reference_mode: bool
    veil: float


def model_availability() -> dict[str, str]:
    """Model name -> "" when usable, else the reason it is not (for tooltips)."""
    try:
        present = set(available_models())
    except WeightsError as exc:
        return {name: str(exc) for name in ("srcnn", "vdsr", "dehaze")} | {"none": ""}
    return {name: "" if name == "none" or name in present
            else f"no trained weights for {name} in the models folder (train it first)"
            for name in ("none", "srcnn", "vdsr", "dehaze")}


class EnhancePanel(QWidget):
    """Signals: ``runRequested()``, ``cancelRequested()``, ``thresholdEdited(float)``."""

    runRequested = Signal()
    cancelRequested = Signal()
    thresholdEdited = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_combo = QComboBox()
        for name, label in MODEL_LABELS.items():
            self.model_combo.addItem(label, name)
        self.scale_spin = QSpinBox(minimum=1, maximum=4, value=2, suffix=" ×")
        self.device_combo = QComboBox()
        for info in list_devices():
            self.device_combo.addItem(info.label, info.name)

        self.dehaze_check = QCheckBox("Dehazing")
        self.steps_spin = QSpinBox(minimum=1, maximum=100, value=5)
        self.metric_combo = QComboBox()
        for name in METRIC_NAMES:
            self.metric_combo.addItem(METRIC_LABELS.get(name, name), name)
        self.metric_combo.setCurrentIndex(METRIC_NAMES.index(StopRule.metric))
        self.threshold_spin = QDoubleSpinBox(minimum=-1000.0, maximum=1000.0, decimals=4,
                                             singleStep=0.005, value=StopRule.threshold)
        self.threshold_spin.setToolTip("Stop when the metric falls below this value "
                                       "(drag the line on the metric plot, even during a run)")
        self.reference_check = QCheckBox("Reference mode")
        self.reference_check.setToolTip(
            "Treat the loaded film as ground truth: degrade it (×scale, optional veil), "
            "enhance the degraded film and measure true PSNR/SSIM/ICI against the film")
        self.veil_spin = QDoubleSpinBox(minimum=0.0, maximum=1.0, decimals=2, singleStep=0.1)
        self.veil_spin.setToolTip("Scatter veil strength added to the degraded film (0: none)")

        self.run_button = QPushButton("Run")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.status = QLabel("Ready")
        self.status.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Model", self.model_combo)
        form.addRow("Scale", self.scale_spin)
        form.addRow("Device", self.device_combo)
        dehaze_box = QGroupBox("Dehazing")
        dform = QFormLayout(dehaze_box)
        dform.addRow(self.dehaze_check)
        dform.addRow("Max steps", self.steps_spin)
        dform.addRow("Stop metric", self.metric_combo)
        dform.addRow("Threshold", self.threshold_spin)
        ref_box = QGroupBox("Reference mode")
        rform = QFormLayout(ref_box)
        rform.addRow(self.reference_check)
        rform.addRow("Veil", self.veil_spin)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(dehaze_box)
        layout.addWidget(ref_box)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addStretch(1)

        # lambdas, not signal-to-signal: PySide6 mishandles the refcount of clicked()'s bool
        # when it is forwarded to a signal without arguments (crash at interpreter exit)
        self.run_button.clicked.connect(lambda: self.runRequested.emit())
        self.cancel_button.clicked.connect(lambda: self.cancelRequested.emit())
        self.threshold_spin.valueChanged.connect(self.thresholdEdited)
        self.dehaze_check.toggled.connect(self._update_enabled)
        self.refresh_models()

    def refresh_models(self) -> None:
        """Enable the models whose weights exist; disabled ones say why in a tooltip."""
        reasons = model_availability()
        model = self.model_combo.model()
        assert isinstance(model, QStandardItemModel)
        for i in range(self.model_combo.count()):
            name = self.model_combo.itemData(i)
            item = model.item(i)
            item.setEnabled(not reasons.get(name))
            item.setToolTip(reasons.get(name) or f"{MODEL_LABELS[name]}: weights found")
            item.setData(reasons.get(name) or None, Qt.ItemDataRole.ToolTipRole)
        if not model.item(self.model_combo.currentIndex()).isEnabled():
            usable = [i for i in range(self.model_combo.count()) if model.item(i).isEnabled()]
            self.model_combo.setCurrentIndex(usable[-1] if usable else 0)
        self.dehaze_reason = reasons.get("dehaze", "")
        self.dehaze_check.setToolTip(self.dehaze_reason or "Iterative CNN dehazing after "
                                     "super-resolution, one step at a time")
        if self.dehaze_reason:
            self.dehaze_check.setChecked(False)
        self._update_enabled()

    def model_enabled(self, name: str) -> bool:
        """Whether ``name`` can be chosen."""
        i = self.model_combo.findData(name)
        return i >= 0 and self.model_combo.model().item(i).isEnabled()

    def _update_enabled(self) -> None:
        self.dehaze_check.setEnabled(not self.dehaze_reason)
        on = self.dehaze_check.isChecked()
        for w in (self.steps_spin, self.metric_combo):
            w.setEnabled(on)

    def settings(self) -> PanelSettings:
        """The current choices."""
        return PanelSettings(
            model=self.model_combo.currentData(), scale=self.scale_spin.value(),
            dehaze=self.dehaze_check.isChecked(), max_steps=self.steps_spin.value(),
            stop_metric=self.metric_combo.currentData(),
            threshold=self.threshold_spin.value(), device=self.device_combo.currentData(),
            reference_mode=self.reference_check.isChecked(), veil=self.veil_spin.value())

    def set_running(self, running: bool) -> None:
        """Run/Cancel buttons and the form while a job runs (the threshold stays live)."""
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for w in (self.model_combo, self.scale_spin, self.device_combo, self.dehaze_check,
                  self.steps_spin, self.metric_combo, self.reference_check, self.veil_spin):
            w.setEnabled(not running)
        if not running:
            self._update_enabled()

    def show_progress(self, fraction: float, text: str) -> None:
        """Progress bar at ``fraction`` in [0, 1] and a status line."""
        self.progress.setValue(int(round(1000 * min(max(fraction, 0.0), 1.0))))
        self.progress.setFormat(f"{fraction:.0%}")
        self.status.setText(text)
