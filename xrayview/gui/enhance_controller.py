"""EnhanceController: runs the one pipeline for the viewer and writes the viewer's state.

Owns the one ``JobRunner`` of the window. Everything here runs on the main thread; the
job (``core.enhance.pipeline.enhance`` of the panel's recipe) runs on the worker thread
and hands over records with copied arrays. The controller writes ``gui.state.ViewerState``;
the metrics panel, histogram and tag browser observe it, and the controller keeps the
compare view and the panel in step. The stop threshold has three faces kept equal: the
panel's spin box, the line on the metric plot and, during a run, the job's ``StopRule``
(``update`` is thread-safe and read at every step): the one live mechanism.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from xrayview.core.enhance.recipe import Recipe
from xrayview.core.enhance.records import Enhanced, InputReady, StepDone, TileDone
from xrayview.core.enhance.stop_rule import RELATIVE_STOP, default_stop
from xrayview.core.film import Film
from xrayview.core.models import registry
from xrayview.gui.compare import CompareView
from xrayview.gui.enhance_panel import EnhancePanel
from xrayview.gui.jobs import JobRunner
from xrayview.gui.metrics_panel import MetricsPanel
from xrayview.gui.state import ViewerState

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


def enhanced_title(recipe: Recipe, label: str) -> str:
    """Title of the Enhanced view: model and scale, dehazed or not, and ``label``."""
    return (f"Enhanced: {registry.label(recipe.model)} ×{recipe.scale}"
            + (", dehazed" if recipe.dehaze else "") + f" ({label})")


def enhancement_job(pixels: np.ndarray, recipe: Recipe, device: str, stop_rule,
                    lossy: bool = False):
    """The job for ``JobRunner``: the pipeline, imported on the worker thread (torch).
    ``lossy``: the film was lossy-compressed (picks robust weights, ``Recipe.weights``)."""
    def make(cancel):
        from xrayview.core.enhance.pipeline import enhance

        return enhance(pixels, recipe, device, cancel, stop_rule=stop_rule, lossy=lossy)
    return make


class EnhanceController(QObject):
    """Signals: ``resultReady(Enhanced)``, ``jobFinished()``, ``message(str)``."""

    resultReady = Signal(object)
    jobFinished = Signal()
    message = Signal(str)

    def __init__(self, state: ViewerState, compare: CompareView, panel: EnhancePanel,
                 metrics: MetricsPanel, dialog_parent: QWidget) -> None:
        super().__init__(dialog_parent)
        self.state, self.compare, self.panel, self.metrics = state, compare, panel, metrics
        self._parent = dialog_parent
        self.runner = JobRunner(self)
        self._shown_step: int | None = None
        self.events: list[str] = []  # tiling events of the current run (out of memory, ...)
        self.tile: int | None = None  # tile size for runs (None: the device's default)

        self.runner.progress.connect(self._on_progress)
        self.runner.result.connect(self._on_result)
        self.runner.failed.connect(self._on_failed)
        self.runner.cancelled.connect(self._on_cancelled)
        self.runner.finished.connect(self._on_finished)
        panel.runRequested.connect(self.run)
        panel.cancelRequested.connect(self.cancel)
        panel.thresholdEdited.connect(self.set_threshold)
        panel.stopMetricChanged.connect(self._on_metric_changed)
        metrics.thresholdChanged.connect(self.set_threshold)
        metrics.stepClicked.connect(self.show_step)
        metrics.set_threshold(panel.threshold())

    # -- film ---------------------------------------------------------------------------
    @property
    def source(self) -> Film | None:
        """The film as opened (the ground truth in reference mode), or None."""
        return self.state.film

    @property
    def result(self) -> Enhanced | None:
        """The last finished enhancement of this film, or None."""
        return self.state.result

    @property
    def steps(self):
        """The dehazing steps of the current run so far."""
        return self.state.steps

    def set_source(self, film: Film) -> None:
        """A newly opened film: stop any job (waiting for it) and reset the views."""
        self.runner.shutdown()
        self.panel.set_running(False)
        self.panel.show_progress(0.0, "Ready")
        self.compare.set_film(film)
        self.state.open_film(film)
        if self.panel.stop_metric() in RELATIVE_STOP:
            self._offer_default_stop()  # a film-relative threshold follows the film

    # -- running ------------------------------------------------------------------------
    def is_running(self) -> bool:
        """True while a job runs."""
        return self.runner.is_running()

    def run(self) -> None:
        """Start an enhancement with the panel's recipe (ignored while one runs)."""
        film = self.state.film
        if film is None or self.runner.is_running():
            return
        recipe = dataclasses.replace(self.panel.recipe(), tile=self.tile)
        rule = recipe.dehazing.stop_rule() if recipe.dehazing else None  # threshold explicit
        if recipe.reference is None and self.compare.film is not film:
            self.compare.set_film(film)
        self.state.start_run(recipe, rule)
        self.compare.set_reference("truth", None)
        self.compare.set_reference("previous", None)
        self._shown_step, self.events = None, []
        self.panel.set_running(True)
        self.panel.show_progress(0.0, "Starting…")
        self.runner.start(enhancement_job(film.pixels, recipe, self.panel.device(), rule,
                                          film.lossy),
                          "enhancement")

    def cancel(self) -> None:
        """Stop the running job at its next tile or step."""
        if self.runner.is_running():
            self.runner.cancel()
            self.panel.show_progress(self.panel.progress_fraction(), "Cancelling…")

    def shutdown(self) -> None:
        """Cancel and wait for the worker (window closing)."""
        self.runner.shutdown()

    def _on_progress(self, record) -> None:
        recipe = self.state.recipe
        if isinstance(record, InputReady):
            if recipe.reference is not None:
                self.compare.set_film(degraded_film(self.state.film, record.film, recipe.scale),
                                      title=reference_title(recipe.scale,
                                                            recipe.reference.veil))
            self.compare.begin_enhanced(record.bicubic.shape, recipe.scale,
                                        enhanced_title(recipe, "running"))
            self.compare.set_reference("bicubic", record.bicubic)
            self.compare.set_reference("truth", record.truth)
            self.state.add_record(record)
        elif isinstance(record, TileDone):
            p = record.progress
            if record.patch is not None:
                self.compare.fill_region(p.region, record.patch)
            share = SR_SHARE_WITH_DEHAZE if recipe.dehaze else 1.0
            eta = f", about {p.eta_s:.0f} s left" if p.eta_s else ""
            event = f" ({p.event})" if p.event else ""
            self.panel.show_progress(p.fraction * share, f"Tile {p.done}/{p.total} on "
                                     f"{p.device}, {p.elapsed_s:.1f} s{eta}{event}")
            if p.event:
                # An out-of-memory retry or CPU fallback would otherwise show only until the
                # next tile's progress line replaces it: keep it for the final status too.
                self.events.append(p.event)
                self.message.emit(f"Note: {p.event}")
            self.state.add_record(record, self.compare.enhanced_image)
        elif isinstance(record, StepDone):
            step = record.step
            self.state.add_record(record)
            self._show_image(step.step, step.image)
            rule_max = max(self.state.stop_rule.snapshot()["max_steps"], step.step)
            fraction = SR_SHARE_WITH_DEHAZE + (1 - SR_SHARE_WITH_DEHAZE) * step.step / rule_max
            self.panel.show_progress(fraction, f"Dehazing step {step.step} "
                                     f"(at most {rule_max}){': ' + step.reason if step.reason else ''}")

    def _on_result(self, result: Enhanced) -> None:
        self.state.finish(result)
        self.compare.set_reference("bicubic", result.bicubic)
        self._show_image(None, result.image)
        reason = f"; stopped: {result.stop_reason}" if result.stop_reason else ""
        events = "".join(f"; {e}" for e in self.events)
        self.panel.show_progress(1.0, f"Done in {result.seconds:.1f} s{reason}{events}")
        self.message.emit(f"Enhanced: {result.description}{events}")
        self.resultReady.emit(result)

    def _on_failed(self, text: str) -> None:
        self.panel.show_progress(0.0, f"Failed: {text}")
        self.compare.set_enhanced_title("Enhanced (failed)")
        self.state.end("failed", text)
        QMessageBox.critical(self._parent, "Enhancement failed", text)

    def _on_cancelled(self) -> None:
        self.panel.show_progress(0.0, "Cancelled")
        self.compare.set_enhanced_title("Enhanced (cancelled, partial)")
        self.state.end("cancelled")
        self.message.emit("Enhancement cancelled")

    def _on_finished(self) -> None:
        if self.state.running:  # the result came: the run is done
            self.state.end("done")
        self.panel.set_running(False)
        self.jobFinished.emit()

    # -- steps and threshold ------------------------------------------------------------
    def step_image(self, k: int) -> np.ndarray | None:
        """The image after dehazing step ``k`` (0: super-resolution output), or None."""
        return self.state.step_image(k)

    def show_step(self, k: int) -> None:
        """Show dehazing iterate ``k`` in the Enhanced view (from a click on the plot)."""
        image = self.step_image(k)
        if image is not None:
            self._show_image(k, image)

    def _show_image(self, k: int | None, image: np.ndarray) -> None:
        recipe = self.state.recipe
        last = len(self.state.steps)
        if k is None or (k == last and self.state.result is not None):
            label = "final"
        else:
            label = f"step {k}" if k else "before dehazing"
        self._shown_step = k
        prev = self.step_image(k - 1) if k else None
        if k is None:
            prev = self.step_image(last - 1) if last else None
        self.compare.set_reference("previous", prev)
        self.compare.set_enhanced(image, recipe.scale, enhanced_title(recipe, label))
        self.metrics.mark_step(k)

    def set_threshold(self, value: float) -> None:
        """Set the stop threshold everywhere, including the running job's StopRule."""
        self.metrics.set_threshold(value)
        self.panel.set_threshold(value)
        rule = self.state.stop_rule
        if rule is not None and self.runner.is_running():
            rule.update(threshold=float(value))
            log.info("stop threshold changed to %.4f during the run", value)

    def _on_metric_changed(self, metric: str) -> None:
        self.metrics.set_stop_metric(metric)
        self._offer_default_stop()

    def _offer_default_stop(self) -> None:
        """Threshold and direction that suit the chosen stop metric (and the open film)."""
        metric = self.panel.stop_metric()
        value = None
        if metric in RELATIVE_STOP and self.state.film is not None:
            from xrayview.core.quality import metrics as measures  # scipy/skimage: not at start

            value = getattr(measures, metric)(self.state.film.pixels)
        threshold, below = default_stop(metric, value)
        self.panel.set_stop_below(below)
        self.set_threshold(threshold)
