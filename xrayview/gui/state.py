"""The viewer's state in one place, free of Qt: the open film, the run and its records.

``ViewerState`` holds what the window shows: the film as opened, the recipe of the
current (or last) run, the pipeline's records of that run (``InputReady``, the dehazing
steps, the final ``Enhanced``) and the live stop rule. Only the controller writes it
(on the main thread); panels and views observe it through its events (napari's evented
models are the model), so no widget reaches into another. Opening a film or starting a
run clears everything that belonged to the previous one, so nothing leaks across films.

Events (``Event.connect(callback)``; callbacks run synchronously, in connection order):

* ``film_opened(film)``: a new film; every run record is gone;
* ``run_started(recipe)``: a run began (records cleared);
* ``input_ready(InputReady)``: the film being enhanced and its bicubic upsampling;
* ``tile_done(TileDone)``, ``step_done(DehazeStep)``: progress of the run;
* ``step_shown(k)``: the Enhanced view is to show dehazing step ``k`` (0: before
  dehazing; None: the final result);
* ``result_ready(Enhanced)``: the run finished;
* ``run_ended(outcome, text)``: "done", "failed" or "cancelled", after the above.

The super-resolved image grows tile by tile in ``progressive`` (float32 (H*s, W*s),
zeros where no tile has landed), which the views show as it fills.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from xrayview.core.enhance.recipe import Recipe
from xrayview.core.enhance.records import Enhanced, InputReady, TileDone
from xrayview.core.enhance.stop_rule import DehazeStep, StopRule
from xrayview.core.film import Film

log = logging.getLogger(__name__)


class Event:
    """A list of callbacks called with the event's arguments (no Qt, no threads)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> None:
        """Call ``callback(*args)`` on every emission."""
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[..., Any]) -> None:
        """Stop calling ``callback`` (ValueError when it was not connected)."""
        self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        """Call every callback with ``args``."""
        for callback in list(self._callbacks):
            callback(*args)


class ViewerState:
    """See the module docstring. Attributes are read-only for everyone but the writer."""

    def __init__(self) -> None:
        self.film: Film | None = None  # as opened (the ground truth in reference mode)
        self.recipe: Recipe | None = None
        self.stop_rule: StopRule | None = None
        self.input: InputReady | None = None
        self.steps: list[DehazeStep] = []
        self.result: Enhanced | None = None
        self.super_resolved: np.ndarray | None = None  # once the last tile is in
        self.progressive: np.ndarray | None = None  # the super-resolved image as it fills
        self.shown_step: int | None = None  # in the Enhanced view (None: the final image)
        self.running = False
        self.film_opened = Event("film_opened")
        self.run_started = Event("run_started")
        self.input_ready = Event("input_ready")
        self.tile_done = Event("tile_done")
        self.step_done = Event("step_done")
        self.step_shown = Event("step_shown")
        self.result_ready = Event("result_ready")
        self.run_ended = Event("run_ended")

    def _clear_run(self) -> None:
        self.recipe, self.stop_rule, self.input, self.result = None, None, None, None
        self.super_resolved, self.progressive, self.shown_step = None, None, None
        self.steps = []

    # -- writing (the controller) ---------------------------------------------------------
    def open_film(self, film: Film) -> None:
        """A new film: forget the previous film's run."""
        self._clear_run()
        self.running = False
        self.film = film
        self.film_opened.emit(film)

    def start_run(self, recipe: Recipe, stop_rule: StopRule | None) -> None:
        """A run of ``recipe`` (with its live ``stop_rule``) begins."""
        self._clear_run()
        self.recipe, self.stop_rule, self.running = recipe, stop_rule, True
        self.run_started.emit(recipe)

    def add_record(self, record: object) -> None:
        """A record of the running pipeline (InputReady, TileDone or StepDone). Tiles are
        copied into ``progressive``; after the last one it is ``super_resolved`` (step 0,
        shown again on request while dehazing runs)."""
        if isinstance(record, InputReady):
            self.input = record
            self.progressive = np.zeros(record.bicubic.shape, np.float32)
            self.input_ready.emit(record)
        elif isinstance(record, TileDone):
            if record.patch is not None and self.progressive is not None:
                y0, y1, x0, x1 = record.progress.region
                self.progressive[y0:y1, x0:x1] = record.patch
            if record.progress.fraction >= 1.0 and self.progressive is not None:
                self.super_resolved = self.progressive
            self.tile_done.emit(record)
        else:  # StepDone
            self.steps.append(record.step)
            self.step_done.emit(record.step)

    def show_step(self, k: int | None) -> None:
        """Show dehazing step ``k`` (0: before dehazing, None: the final result)."""
        self.shown_step = k
        self.step_shown.emit(k)

    def finish(self, result: Enhanced) -> None:
        """The run's result (its steps replace the ones collected on the way)."""
        self.result = result
        self.super_resolved = result.super_resolved
        self.steps = list(result.steps)
        self.result_ready.emit(result)

    def end(self, outcome: str, text: str = "") -> None:
        """The run is over: ``outcome`` "done", "failed" or "cancelled"."""
        self.running = False
        self.run_ended.emit(outcome, text)

    # -- reading ----------------------------------------------------------------------------
    def step_image(self, k: int) -> np.ndarray | None:
        """The image after dehazing step ``k`` (0: before dehazing), or None."""
        if k == 0:
            return self.super_resolved
        return self.steps[k - 1].image if 0 < k <= len(self.steps) else None

    def is_final(self, k: int | None) -> bool:
        """Whether step ``k`` (None: the result) is the run's final image."""
        return k is None or (self.result is not None and k == len(self.steps))


def degraded_film(film: Film, pixels: np.ndarray, scale: int) -> Film:
    """``film``'s metadata around degraded ``pixels`` float32 (H/s, W/s) (spacing x s):
    the Original view's film in reference mode."""
    spacing = film.pixel_spacing_mm
    return dataclasses.replace(
        film, pixels=pixels, notes=[*film.notes, f"reference mode: degraded ×{scale}"],
        pixel_spacing_mm=None if spacing is None else (spacing[0] * scale, spacing[1] * scale))
