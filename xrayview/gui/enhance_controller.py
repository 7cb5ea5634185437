"""EnhanceController: runs the one pipeline for the viewer and writes the viewer's state.

Owns the one ``JobRunner`` of the window. Everything here runs on the main thread; the
job (``core.enhance.pipeline.enhance`` of the panel's recipe) runs on the worker thread
and hands over records with copied arrays. The controller writes ``gui.state.ViewerState``;
the compare view, metrics panel, histogram and tag browser observe it; the controller
keeps only the panel (its form and progress line) in step. The stop threshold has three faces kept equal: the
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
from xrayview.core.enhance.records import Enhanced, StepDone, TileDone
from xrayview.core.enhance.stop_rule import RELATIVE_STOP, default_stop
from xrayview.core.film import Film
from xrayview.gui.enhance_panel import EnhancePanel
from xrayview.gui.jobs import JobRunner
from xrayview.gui.metrics_panel import MetricsPanel
from xrayview.gui.state import ViewerState

log = logging.getLogger(__name__)

SR_SHARE_WITH_DEHAZE = 0.4  # progress-bar share of super-resolution when dehazing follows


def stop_rule_name(reason: str) -> str:
    """Which rule stopped a run, in words, from a ``StopRule`` reason ("threshold: ...",
    "diverging: ...", "converged: ...", "max steps: ...")."""
    kind, _, detail = reason.partition(":")
    words = {"threshold": "the threshold", "diverging": "the divergence rule",
             "converged": "the convergence rule",
             "max steps": "the step limit"}.get(kind.strip())
    return f"{words} ({detail.strip()})" if words else reason


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

    def __init__(self, state: ViewerState, panel: EnhancePanel, metrics: MetricsPanel,
                 dialog_parent: QWidget) -> None:
        super().__init__(dialog_parent)
        self.state, self.panel, self.metrics = state, panel, metrics
        self._parent = dialog_parent
        self.runner = JobRunner(self)
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
        """A newly opened film: stop any job (waiting for it) and reset the views; the stop
        threshold goes back to the chosen metric's default for this film (a threshold
        dragged on the last film must not stop this one's run)."""
        self.runner.shutdown()
        self.panel.set_running(False)
        self.panel.show_progress(0.0, "Ready")
        self.state.open_film(film)
        self._offer_default_stop()

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
        self.state.start_run(recipe, rule)
        self.events = []
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
        self.state.add_record(record)
        if isinstance(record, TileDone):
            p = record.progress
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
        elif isinstance(record, StepDone):
            step = record.step
            self.state.show_step(step.step)
            rule_max = max(self.state.stop_rule.snapshot()["max_steps"], step.step)
            fraction = SR_SHARE_WITH_DEHAZE + (1 - SR_SHARE_WITH_DEHAZE) * step.step / rule_max
            self.panel.show_progress(fraction, f"Dehazing step {step.step} "
                                     f"(at most {rule_max}){': ' + step.reason if step.reason else ''}")

    def _on_result(self, result: Enhanced) -> None:
        self.state.finish(result)
        self.state.show_step(None)
        reason = f"; stopped by {stop_rule_name(result.stop_reason)}" \
            if result.stop_reason else ""
        events = "".join(f"; {e}" for e in self.events)
        self.panel.show_progress(1.0, f"Done in {result.seconds:.1f} s{reason}{events}")
        self.message.emit(f"Enhanced: {result.description}{events}")
        self.resultReady.emit(result)

    def _on_failed(self, text: str) -> None:
        self.panel.show_progress(0.0, f"Failed: {text}")
        self.state.end("failed", text)
        QMessageBox.critical(self._parent, "Enhancement failed", text)

    def _on_cancelled(self) -> None:
        self.panel.show_progress(0.0, "Cancelled")
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
        if self.step_image(k) is not None:
            self.state.show_step(k)

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
