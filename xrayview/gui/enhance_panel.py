"""EnhancePanel: the form for an enhancement run (model, scale, weights, dehazing, device,
run).

Models (from the registry) without trained weights are listed but disabled, with a
tooltip saying why. The panel only collects settings (as a ``Recipe``) and shows
progress; ``gui.enhance_controller`` runs jobs. Devices are listed through a
``JobRunner`` once the event loop runs (listing them imports torch, ~1.5 s); until then
the list holds "Automatic", which a run may use.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from xrayview.core.enhance.recipe import Dehazing, Recipe, Reference
from xrayview.core.enhance.stop_rule import METRIC_LABELS, METRIC_NAMES, StopRule
from xrayview.core.models import registry
from xrayview.gui.jobs import JobRunner
from xrayview.gui.labels import METRIC_TOOLTIPS

log = logging.getLogger(__name__)

PRECISION_CHOICES = {"auto": "Automatic (bf16 where faster)", "fp32": "fp32 (exact)",
                     "bf16": "bf16 (where native)"}
WEIGHTS_CHOICES = {"auto": "Automatic (robust for noisy or JPEG films)",
                   "clean": "Clean (sharpest on noise-free films)",
                   "robust": "Robust (noise and compression)"}

@dataclass(frozen=True)
class PanelSettings:
    """What the user chose. ``veil``: reference-mode veil strength in [0, 1];
    ``stop_below``: stop when the metric falls below the threshold (else rises above);
    ``rollback``: when the threshold stops the run, keep the step before it;
    ``diverging``: stop when a step changes the film more than the one before it."""

    model: str
    scale: int
    dehaze: bool
    max_steps: int
    stop_metric: str
    threshold: float
    device: str
    reference_mode: bool
    veil: float
    stop_below: bool = True
    rollback: bool = False
    diverging: bool = True
    epsilon: float = StopRule.epsilon  # convergence rule; 0: off
    precision: str = "auto"  # a mode of core.device.autocast_dtype
    weights: str = "auto"  # a key of WEIGHTS_CHOICES (Recipe.weights)

    def recipe(self) -> Recipe:
        """The pipeline recipe of these settings (the threshold explicit, as shown)."""
        dehazing = Dehazing(metric=self.stop_metric, threshold=self.threshold,
                            stop_below=self.stop_below, max_steps=self.max_steps,
                            epsilon=self.epsilon, rollback=self.rollback,
                            diverging=self.diverging) \
            if self.dehaze else None
        return Recipe(model=self.model, scale=self.scale, dehazing=dehazing,
                      precision=self.precision, weights=self.weights,
                      reference=Reference(veil=self.veil) if self.reference_mode else None)


def list_devices_job(cancel):
    """Job for the JobRunner: the usable devices (importing torch takes ~1.5 s)."""
    from xrayview.core.device import list_devices

    return list_devices()
    yield  # a generator, as every job is (it yields nothing)


class EnhancePanel(QWidget):
    """Signals: ``runRequested()``, ``cancelRequested()``, ``thresholdEdited(float)``,
    ``stopMetricChanged(str)``, ``devicesListed()`` (the device list is filled in)."""

    runRequested = Signal()
    cancelRequested = Signal()
    thresholdEdited = Signal(float)
    stopMetricChanged = Signal(str)
    devicesListed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_combo = QComboBox()
        for name in registry.model_choices():
            self.model_combo.addItem(registry.label(name), name)
        self.scale_spin = QSpinBox(minimum=1, maximum=4, value=2, suffix=" ×")
        self.device_combo = QComboBox()
        self.device_combo.addItem("Automatic (listing devices…)", "auto")
        self.device_combo.setToolTip("GPU when there is one, else the CPU")
        self.devices_known = False
        self._probe = JobRunner(self)
        self._probe.result.connect(self._set_devices)
        self._probe.failed.connect(self._devices_failed)
        QTimer.singleShot(0, self._start_probe)  # once the window is up

        self.precision_combo = QComboBox()
        for mode, text in PRECISION_CHOICES.items():
            self.precision_combo.addItem(text, mode)
        self.precision_combo.setToolTip(
            "Automatic: bfloat16 on GPUs, and on CPUs with native bfloat16 where a one-time "
            "probe finds it faster; fp32 is exact; bf16 forces bfloat16 where it is native")

        self.weights_combo = QComboBox()
        for mode, text in WEIGHTS_CHOICES.items():
            self.weights_combo.addItem(text, mode)
        self.weights_combo.setToolTip(
            "Which trained weights run. Automatic: the robust ones (trained on JPEG "
            "compression and noise) for a lossy-compressed film or one whose measured noise "
            "is above the corpus's clean level, else the clean ones; the status line says "
            "which ran and why. Models without robust weights at a scale run their own.")

        self.dehaze_check = QCheckBox("Dehazing")
        self.steps_spin = QSpinBox(minimum=1, maximum=100, value=5)
        self.metric_combo = QComboBox()
        for i, name in enumerate(METRIC_NAMES):
            self.metric_combo.addItem(METRIC_LABELS.get(name, name), name)
            self.metric_combo.setItemData(i, METRIC_TOOLTIPS.get(name, ""),
                                          Qt.ItemDataRole.ToolTipRole)
        self.metric_combo.setCurrentIndex(METRIC_NAMES.index(StopRule.metric))
        self.threshold_spin = QDoubleSpinBox(minimum=-1000.0, maximum=1000.0, decimals=4,
                                             singleStep=0.005, value=StopRule.threshold)
        self.threshold_spin.setToolTip("Stop when the metric crosses this value (drag the "
                                       "line on the metric plot, even during a run)")
        self.direction_combo = QComboBox()
        self.direction_combo.addItem("falls below the threshold", True)
        self.direction_combo.addItem("rises above the threshold", False)
        self.direction_combo.setToolTip("Which side of the threshold stops the dehazing; "
                                        "choosing a stop metric sets a sensible default")
        self.converge_check = QCheckBox("Also stop when a step changes the film by less than")
        self.converge_check.setChecked(True)
        self.converge_check.setToolTip("The convergence rule: stop once the mean absolute "
                                       "change of a step falls below this value")
        self.epsilon_spin = QDoubleSpinBox(minimum=1e-6, maximum=0.1, decimals=6,
                                           singleStep=1e-4, value=StopRule.epsilon)
        self.epsilon_spin.setToolTip("Mean absolute grey-value change per step (0..1 scale)")
        self.rollback_check = QCheckBox("Keep the last step within the threshold")
        self.rollback_check.setToolTip("When the threshold stops the dehazing, the result is "
                                       "the step before the one that crossed it")
        self.diverging_check = QCheckBox("Stop when a step changes more than the one before")
        self.diverging_check.setChecked(True)
        self.diverging_check.setToolTip("The divergence rule: a step that changes the film "
                                        "more than the previous step did overshoots; stop "
                                        "and keep the step before it")
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
        form.addRow("Weights", self.weights_combo)
        form.addRow("Device", self.device_combo)
        form.addRow("Precision", self.precision_combo)
        dehaze_box = QGroupBox("Dehazing")
        dform = QFormLayout(dehaze_box)
        dform.addRow(self.dehaze_check)
        dform.addRow("Max steps", self.steps_spin)
        dform.addRow("Stop metric", self.metric_combo)
        dform.addRow("Stop when", self.direction_combo)
        dform.addRow("Threshold", self.threshold_spin)
        dform.addRow(self.converge_check)
        dform.addRow("", self.epsilon_spin)
        dform.addRow(self.diverging_check)
        dform.addRow(self.rollback_check)
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
        self.metric_combo.currentIndexChanged.connect(
            lambda _i: self.stopMetricChanged.emit(self.metric_combo.currentData()))
        self.dehaze_check.toggled.connect(self._update_enabled)
        self.converge_check.toggled.connect(self._update_enabled)
        self.refresh_models()
        self.select_best_model()

    def _start_probe(self) -> None:
        if not self._probe.is_running() and not self.devices_known:
            self._probe.start(list_devices_job, "device-probe")

    def shutdown(self) -> None:
        """Wait for the device listing (window closing)."""
        self._probe.shutdown()

    def _devices_failed(self, text: str) -> None:
        log.warning("listing devices failed: %s", text)
        self._set_devices(f"devices could not be listed ({text}); using automatic")

    def _set_devices(self, found: object) -> None:
        """Fill the device list: "Automatic", then CUDA GPUs, MPS, the CPU (DeviceInfo)."""
        self.device_combo.setItemText(0, "Automatic (GPU if available)")
        if isinstance(found, str):
            self.device_combo.setToolTip(found)
        else:
            for info in found:
                self.device_combo.addItem(info.label, info.name)
            # the best device first, as "auto" would pick it; "Automatic" stays available
            self.device_combo.setCurrentIndex(1 if self.device_combo.count() > 1 else 0)
        self.devices_known = True
        self.devicesListed.emit()

    def refresh_models(self) -> None:
        """Enable the models whose weights exist; disabled ones say why in a tooltip."""
        reasons = registry.availability()
        model = self.model_combo.model()
        assert isinstance(model, QStandardItemModel)
        for i in range(self.model_combo.count()):
            name = self.model_combo.itemData(i)
            item = model.item(i)
            item.setEnabled(not reasons.get(name))
            item.setToolTip(reasons.get(name) or f"{registry.label(name)}: weights found")
            item.setData(reasons.get(name) or None, Qt.ItemDataRole.ToolTipRole)
        if not model.item(self.model_combo.currentIndex()).isEnabled():
            self.select_best_model()
        self.dehaze_reason = reasons.get(registry.dehazer(), "")
        self.dehaze_check.setToolTip(self.dehaze_reason or "Iterative CNN dehazing after "
                                     "super-resolution, one step at a time")
        if self.dehaze_reason:
            self.dehaze_check.setChecked(False)
        self._update_enabled()

    def select_best_model(self) -> None:
        """Choose the strongest model with weights (VDSR, else SRCNN, else none)."""
        model = self.model_combo.model()
        usable = [i for i in range(self.model_combo.count()) if model.item(i).isEnabled()]
        self.model_combo.setCurrentIndex(usable[-1] if usable else 0)

    def model_enabled(self, name: str) -> bool:
        """Whether ``name`` can be chosen."""
        i = self.model_combo.findData(name)
        return i >= 0 and self.model_combo.model().item(i).isEnabled()

    def _update_enabled(self) -> None:
        self.dehaze_check.setEnabled(not self.dehaze_reason)
        on = self.dehaze_check.isChecked()
        for w in (self.steps_spin, self.metric_combo, self.direction_combo,
                  self.rollback_check, self.converge_check, self.diverging_check):
            w.setEnabled(on)
        self.epsilon_spin.setEnabled(on and self.converge_check.isChecked())

    def settings(self) -> PanelSettings:
        """The current choices."""
        return PanelSettings(
            model=self.model_combo.currentData(), scale=self.scale_spin.value(),
            dehaze=self.dehaze_check.isChecked(), max_steps=self.steps_spin.value(),
            stop_metric=self.metric_combo.currentData(),
            threshold=self.threshold_spin.value(), device=self.device_combo.currentData(),
            reference_mode=self.reference_check.isChecked(), veil=self.veil_spin.value(),
            stop_below=bool(self.direction_combo.currentData()),
            rollback=self.rollback_check.isChecked(),
            diverging=self.diverging_check.isChecked(),
            epsilon=self.epsilon_spin.value() if self.converge_check.isChecked() else 0.0,
            precision=self.precision_combo.currentData(),
            weights=self.weights_combo.currentData())

    def recipe(self) -> Recipe:
        """The current choices as a pipeline recipe."""
        return self.settings().recipe()

    def device(self) -> str:
        """The chosen device spec ("auto", "cpu", "cuda:0", ...)."""
        return self.device_combo.currentData()

    def stop_metric(self) -> str:
        """The chosen stop metric (a key of ``METRIC_NAMES``)."""
        return self.metric_combo.currentData()

    def threshold(self) -> float:
        """The stop threshold shown."""
        return self.threshold_spin.value()

    def set_threshold(self, value: float) -> None:
        """Show ``value`` as the threshold without emitting ``thresholdEdited``."""
        if abs(self.threshold_spin.value() - value) > 1e-9:
            self.threshold_spin.blockSignals(True)
            self.threshold_spin.setValue(value)
            self.threshold_spin.blockSignals(False)

    def progress_fraction(self) -> float:
        """The progress bar's position in [0, 1]."""
        return self.progress.value() / 1000

    def set_running(self, running: bool) -> None:
        """Run/Cancel buttons and the form while a job runs (the threshold stays live)."""
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for w in (self.model_combo, self.scale_spin, self.device_combo, self.precision_combo,
                  self.dehaze_check,
                  self.steps_spin, self.metric_combo, self.direction_combo,
                  self.rollback_check, self.converge_check, self.epsilon_spin,
                  self.diverging_check, self.reference_check, self.veil_spin):
            w.setEnabled(not running)
        if not running:
            self._update_enabled()

    def set_stop_below(self, below: bool) -> None:
        """Select the stop direction (True: falls below the threshold)."""
        self.direction_combo.setCurrentIndex(self.direction_combo.findData(below))

    def show_progress(self, fraction: float, text: str) -> None:
        """Progress bar at ``fraction`` in [0, 1] and a status line."""
        self.progress.setValue(int(round(1000 * min(max(fraction, 0.0), 1.0))))
        self.progress.setFormat(f"{fraction:.0%}")
        self.status.setText(text)
