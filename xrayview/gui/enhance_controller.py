"""EnhanceController: runs enhancement jobs and keeps views, panel and plots in step.

Owns the one ``JobRunner`` of the window. Everything here runs on the main thread; the
job (``gui.pipeline.run_enhancement``) runs on the worker thread and only hands over
copied arrays. The stop threshold has three faces kept equal: the panel's spin box, the
line on the metric plot and, during a run, the job's ``StopRule`` (``update`` is
thread-safe and read at every step).
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from xrayview.core.film import Film
from xrayview.core.stop_rule import RELATIVE_STOP, DehazeStep, StopRule, default_stop
from xrayview.gui.compare import CompareView
from xrayview.gui.docks import HistogramPanel
from xrayview.gui.enhance_panel import MODEL_LABELS, EnhancePanel
from xrayview.gui.jobs import JobRunner
from xrayview.gui.metrics_panel import MetricsPanel
from xrayview.gui.pipeline import (EnhanceRequest, EnhanceResult, InputReady, StepUpdate,
                                   TileUpdate, reference_input, run_enhancement)

log = logging.getLogger(__name__)

SR_SHARE_WITH_DEHAZE = 0.4  # progress-bar share of super-resolution when dehazing follows


def degraded_film(film: Film, pixels: np.ndarray, scale: int) -> Film:
    """``film``'s metadata around degraded ``pixels`` float32 (H/s, W/s) (spacing x s)."""
    spacing = film.pixel_spacing_mm
    return dataclasses.replace(
        film, pixels=pixels, notes=[*film.notes, f"reference mode: degraded ×{scale}"],
        pixel_spacing_mm=None if spacing is None else (spacing[0] * scale, spacing[1] * scale))


def reference_title(scale: int, veil: float) -> str:
    """Title of the Original view in reference mode: what was done to the film."""
    done = [f"downscaled ×{scale}"] if scale > 1 else []
    done += [f"veiled {veil:g}"] if veil > 0 else []
    return f"Original: the film {' and '.join(done) or 'unchanged'} (reference mode)"


class EnhanceController(QObject):
    """Signals: ``resultReady(EnhanceResult)``, ``jobFinished()``, ``message(str)``."""

    resultReady = Signal(object)
    jobFinished = Signal()
    message = Signal(str)

    def __init__(self, compare: CompareView, panel: EnhancePanel, metrics: MetricsPanel,
                 histogram: HistogramPanel, dialog_parent: QWidget) -> None:
        super().__init__(dialog_parent)
        self.compare, self.panel, self.metrics, self.histogram = compare, panel, metrics, histogram
        self._parent = dialog_parent
        self.runner = JobRunner(self)
        self.source: Film | None = None
        self.result: EnhanceResult | None = None
        self.steps: list[DehazeStep] = []
        self.stop_rule: StopRule | None = None
        self._request: EnhanceRequest | None = None
        self._super_resolved: np.ndarray | None = None
        self._shown_step: int | None = None
        self.events: list[str] = []  # tiling events of the current run (out of memory, ...)
        self.tile = 256  # super-resolution tile size (output pixels)

        self.runner.progress.connect(self._on_progress)
        self.runner.result.connect(self._on_result)
        self.runner.failed.connect(self._on_failed)
        self.runner.cancelled.connect(self._on_cancelled)
        self.runner.finished.connect(self._on_finished)
        panel.runRequested.connect(self.run)
        panel.cancelRequested.connect(self.cancel)
        panel.thresholdEdited.connect(self.set_threshold)
        panel.metric_combo.currentIndexChanged.connect(self._on_metric_changed)
        metrics.thresholdChanged.connect(self.set_threshold)
        metrics.stepClicked.connect(self.show_step)
        metrics.set_threshold(panel.threshold_spin.value())

    # -- film ---------------------------------------------------------------------------
    def set_source(self, film: Film) -> None:
        """A newly opened film: stop any job (waiting for it) and reset the views."""
        self.runner.shutdown()
        self.panel.set_running(False)
        self.source, self.result, self.steps = film, None, []
        self._super_resolved = None
        self.compare.set_film(film)
        self.metrics.clear()
        self.metrics.set_table({})
        self.histogram.set_original(film.pixels)
        if self.panel.metric_combo.currentData() in RELATIVE_STOP:
            self._offer_default_stop()  # a film-relative threshold follows the film

    # -- running ------------------------------------------------------------------------
    def is_running(self) -> bool:
        """True while a job runs."""
        return self.runner.is_running()

    def run(self) -> None:
        """Start an enhancement with the panel's settings (ignored while one runs)."""
        if self.source is None or self.runner.is_running():
            return
        s = self.panel.settings()
        truth = None
        if s.reference_mode:
            low, truth = reference_input(self.source.pixels, s.scale, s.veil)
            self.compare.set_film(degraded_film(self.source, low, s.scale),
                                  title=reference_title(s.scale, s.veil))
        elif self.compare.film is not self.source:
            self.compare.set_film(self.source)
        film = self.compare.film
        self.histogram.set_original(film.pixels)
        self.stop_rule = StopRule(metric=s.stop_metric, threshold=s.threshold,
                                  stop_below=s.stop_below, rollback=s.rollback,
                                  max_steps=s.max_steps)
        self._request = EnhanceRequest(film.pixels, s.model, s.scale, s.dehaze, self.stop_rule,
                                       s.device, tile=self.tile, ground_truth=truth)
        rows, cols = film.shape
        self.compare.begin_enhanced((rows * s.scale, cols * s.scale), s.scale,
                                    f"Enhanced: {MODEL_LABELS[s.model]} ×{s.scale} (running)")
        self.compare.set_reference("truth", truth)
        self.compare.set_reference("previous", None)
        self.result, self.steps, self._super_resolved, self._shown_step = None, [], None, None
        self.events = []
        self.metrics.clear()
        self.metrics.set_table({})
        self.panel.set_running(True)
        self.panel.show_progress(0.0, "Starting…")
        request = self._request
        self.runner.start(lambda cancel: run_enhancement(request, cancel), "enhancement")

    def cancel(self) -> None:
        """Stop the running job at its next tile or step."""
        if self.runner.is_running():
            self.runner.cancel()
            self.panel.show_progress(self.panel.progress.value() / 1000, "Cancelling…")

    def shutdown(self) -> None:
        """Cancel and wait for the worker (window closing)."""
        self.runner.shutdown()

    def _on_progress(self, record) -> None:
        req = self._request
        if isinstance(record, InputReady):
            self.compare.set_reference("bicubic", record.bicubic)
        elif isinstance(record, TileUpdate):
            p = record.progress
            self.compare.fill_region(p.region, record.patch)
            share = SR_SHARE_WITH_DEHAZE if req.dehaze else 1.0
            eta = f", about {p.eta_s:.0f} s left" if p.eta_s else ""
            event = f" ({p.event})" if p.event else ""
            self.panel.show_progress(p.fraction * share, f"Tile {p.done}/{p.total} on "
                                     f"{p.device}, {p.elapsed_s:.1f} s{eta}{event}")
            if p.event:
                # An out-of-memory retry or CPU fallback would otherwise show only until the
                # next tile's progress line replaces it: keep it for the final status too.
                self.events.append(p.event)
                self.message.emit(f"Note: {p.event}")
            if p.fraction >= 1.0:
                self._super_resolved = self.compare.enhanced_image
        elif isinstance(record, StepUpdate):
            step = record.step
            self.steps.append(step)
            self.metrics.add_step(step)
            self._show_image(step.step, step.image)
            rule_max = max(req.stop_rule.snapshot()["max_steps"], step.step)
            fraction = SR_SHARE_WITH_DEHAZE + (1 - SR_SHARE_WITH_DEHAZE) * step.step / rule_max
            self.panel.show_progress(fraction, f"Dehazing step {step.step} "
                                     f"(at most {rule_max}){': ' + step.reason if step.reason else ''}")

    def _on_result(self, result: EnhanceResult) -> None:
        self.result = result
        self._super_resolved = result.super_resolved
        self.steps = list(result.steps)
        self.compare.set_reference("bicubic", result.bicubic)
        self._show_image(None, result.image)
        table = dict(result.metrics)
        table["seconds"] = result.seconds
        if result.steps:
            table["dehazing_steps"] = float(len(result.steps))
        self.metrics.set_table(table)
        self.histogram.set_enhanced(result.image)
        reason = f"; stopped: {result.stop_reason}" if result.stop_reason else ""
        events = "".join(f"; {e}" for e in self.events)
        self.panel.show_progress(1.0, f"Done in {result.seconds:.1f} s{reason}{events}")
        self.message.emit(f"Enhanced: {result.description}{events}")
        self.resultReady.emit(result)

    def _on_failed(self, text: str) -> None:
        self.panel.show_progress(0.0, f"Failed: {text}")
        self.compare.enhanced.title_label.setText("Enhanced (failed)")
        QMessageBox.critical(self._parent, "Enhancement failed", text)

    def _on_cancelled(self) -> None:
        self.panel.show_progress(0.0, "Cancelled")
        self.compare.enhanced.title_label.setText("Enhanced (cancelled, partial)")
        self.message.emit("Enhancement cancelled")

    def _on_finished(self) -> None:
        self.panel.set_running(False)
        self.jobFinished.emit()

    # -- steps and threshold ------------------------------------------------------------
    def step_image(self, k: int) -> np.ndarray | None:
        """The image after dehazing step ``k`` (0: super-resolution output), or None."""
        if k == 0:
            return self._super_resolved
        return self.steps[k - 1].image if 0 < k <= len(self.steps) else None

    def show_step(self, k: int) -> None:
        """Show dehazing iterate ``k`` in the Enhanced view (from a click on the plot)."""
        image = self.step_image(k)
        if image is not None:
            self._show_image(k, image)

    def _show_image(self, k: int | None, image: np.ndarray) -> None:
        req = self._request
        last = len(self.steps)
        if k is None or (k == last and self.result is not None):
            label = "final"
        else:
            label = f"step {k}" if k else "before dehazing"
        self._shown_step = k
        prev = self.step_image(k - 1) if k else None
        if k is None:
            prev = self.step_image(last - 1) if last else None
        self.compare.set_reference("previous", prev)
        self.compare.set_enhanced(image, req.scale,
                                  f"Enhanced: {MODEL_LABELS[req.model]} ×{req.scale}"
                                  + (", dehazed" if req.dehaze else "") + f" ({label})")
        self.metrics.mark_step(k)

    def set_threshold(self, value: float) -> None:
        """Set the stop threshold everywhere, including the running job's StopRule."""
        self.metrics.set_threshold(value)
        if abs(self.panel.threshold_spin.value() - value) > 1e-9:
            self.panel.threshold_spin.blockSignals(True)
            self.panel.threshold_spin.setValue(value)
            self.panel.threshold_spin.blockSignals(False)
        if self.stop_rule is not None and self.runner.is_running():
            self.stop_rule.update(threshold=float(value))
            log.info("stop threshold changed to %.4f during the run", value)

    def _on_metric_changed(self) -> None:
        self.metrics.set_stop_metric(self.panel.metric_combo.currentData())
        self._offer_default_stop()

    def _offer_default_stop(self) -> None:
        """Threshold and direction that suit the chosen stop metric (and the open film)."""
        metric = self.panel.metric_combo.currentData()
        value = None
        if metric in RELATIVE_STOP and self.source is not None:
            from xrayview.core import metrics as measures  # scipy/skimage: not at start-up

            value = getattr(measures, metric)(self.source.pixels)
        threshold, below = default_stop(metric, value)
        self.panel.set_stop_below(below)
        self.set_threshold(threshold)
