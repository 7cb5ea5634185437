"""Worker faults (issue 5, item 2) and privacy in the viewer (item 5), in a real window.

Faults are injected by wrapping the tiny test models that the pipeline loads: a
network whose forward raises, a dehazer that raises on step 2, a network that raises
``torch.cuda.OutOfMemoryError`` above an input size (or always). Cancel points are
seeded; the worker is made to wait for the user's Cancel after record k, so the check
"stops within one tile/step" is deterministic. No sleeping: waitSignal / waitUntil.
"""

from __future__ import annotations

import gc
import logging
import os
import random
import threading
import tracemalloc

import numpy as np
import pytest
import torch
from PySide6.QtCore import QThread
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QLabel,
    QLineEdit,
    QMainWindow,
    QWidget,
)

from tests.gui.test_enhancement import _run, _setup, never_stop_throttled
from xrayview.core.models import weights
from xrayview.core.generators import drain
from xrayview.core.enhance.super_resolution import super_resolve
from xrayview.core.models.registry import load_model
from xrayview.gui import enhance_controller
from xrayview.gui.jobs import _Worker
from xrayview.core.enhance.records import InputReady, StepDone, TileDone

OOM_TEXT = "CUDA out of memory. Tried to allocate 2.00 GiB (simulated)\nsecond line of details"


class FaultyNet(torch.nn.Module):
    """Wraps a loaded network; raises on the ``fail_call``-th forward, or OOM above a size.

    ``oom_above``: raise ``torch.cuda.OutOfMemoryError`` when an input side exceeds it
    (0: always). Copies the attributes the core reads (halo, weights name/hash...).
    """

    def __init__(self, inner: torch.nn.Module, fail_call: int | None = None,
                 oom_above: int | None = None) -> None:
        super().__init__()
        self.inner, self.fail_call, self.oom_above = inner, fail_call, oom_above
        self.calls, self.oom_events = 0, 0
        for name in ("halo", "autocast_safe", "weights_name", "weights_sha256",
                     "weights_scales"):
            if hasattr(inner, name):
                setattr(self, name, getattr(inner, name))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.fail_call == self.calls:
            raise RuntimeError(f"simulated fault in call {self.calls}\nTraceback-like detail")
        if self.oom_above is not None and max(x.shape[-2:]) > self.oom_above:
            self.oom_events += 1
            raise torch.cuda.OutOfMemoryError(OOM_TEXT)
        return self.inner(x)


@pytest.fixture
def faults(monkeypatch, models):
    """``faults[name] = dict(fail_call=..., oom_above=...)`` wraps model ``name`` when loaded;
    ``faults.nets`` lists the wrappers made (newest last)."""

    class Faults(dict):
        nets: list[FaultyNet]

    plan = Faults()
    plan.nets = []
    real = weights.load_weights  # the registry imports it on the worker at each run

    def fake(name, device="cpu", root=None):
        net = real(name, device=device, root=root)
        if name in plan:
            # ready to run (eval, channels-last on the CPU): the core uses it as it is
            # instead of a private copy, so the counters here see every call
            net = FaultyNet(net, **plan[name]).eval().to(memory_format=torch.channels_last)
            plan.nets.append(net)
        return net

    monkeypatch.setattr(weights, "load_weights", fake)
    return plan


def _idle(win) -> bool:
    return (not win.controller.is_running() and win.panel.run_button.isEnabled()
            and not win.panel.cancel_button.isEnabled())


def _assert_one_line_dialog(critical, *needles):
    assert len(critical) == 1, critical
    title, text = critical[0]
    assert title == "Enhancement failed"
    assert "\n" not in text and "Traceback" not in text and 'File "' not in text
    for needle in needles:
        assert needle in text.lower(), text


# -- 1. exceptions inside model steps ----------------------------------------------------
def test_model_forward_raises_on_second_tile(models_window, qtbot, small_film, faults,
                                             critical):
    win = models_window
    _setup(win, small_film, model="vdsr")
    faults["vdsr"] = {"fail_call": 2}
    assert _run(win, qtbot) is None
    _assert_one_line_dialog(critical, "runtimeerror: simulated fault in call 2")
    assert faults.nets[-1].calls == 2  # it stopped at the failing tile batch
    status = win.panel.status.text()
    assert status.startswith("Failed") and "Traceback" not in status and "\n" not in status
    assert _idle(win)
    faults.clear()  # the app stays usable: a normal run succeeds
    result = _run(win, qtbot)
    assert result is not None and result.image.shape == (192, 160) and len(critical) == 1


def test_dehazer_raises_on_step_two(models_window, qtbot, small_film, faults, critical):
    win = models_window
    _setup(win, small_film, model="none", scale=1, dehaze=True, steps=4)
    faults["dehaze"] = {"fail_call": 2}
    steps = []
    win.controller.runner.progress.connect(
        lambda r: steps.append(r.step.step) if isinstance(r, StepDone) else None)
    assert _run(win, qtbot) is None
    assert steps == [1]
    _assert_one_line_dialog(critical, "simulated fault in call 2")
    assert _idle(win) and "Failed" in win.panel.status.text()
    faults.clear()
    result = _run(win, qtbot)
    assert result is not None and len(result.steps) == 4


# -- 2. (simulated) CUDA out of memory ---------------------------------------------------
def test_out_of_memory_halves_tiles_and_tells_the_user(models_window, qtbot, small_film,
                                                      faults, critical, caplog):
    win = models_window
    _setup(win, small_film, model="vdsr")
    win.controller.tile = 256  # one 192 x 160 tile; OOM above 150 px -> 96-px tiles fit
    faults["vdsr"] = {"oom_above": 150}
    messages = []
    win.statusBar().messageChanged.connect(messages.append)
    with caplog.at_level(logging.WARNING):
        result = _run(win, qtbot)
    assert result is not None and not critical
    assert faults.nets[-1].oom_events == 1
    expected = drain(super_resolve(small_film, load_model("vdsr"), 2, device="cpu", tile=32))
    np.testing.assert_allclose(result.image, expected, atol=1e-5)
    # shown to the user: kept on the final status line and sent to the status bar; logged
    status = win.panel.status.text()
    print(f"\nstatus after OOM retry: {status!r}")
    assert status.startswith("Done") and "out of memory" in status and "96" in status
    assert any("out of memory" in m for m in messages)
    assert any("out of memory" in r.getMessage() for r in caplog.records)


def test_out_of_memory_everywhere_on_cpu_is_a_clear_error(models_window, qtbot, small_film,
                                                        faults, critical):
    win = models_window
    _setup(win, small_film, model="vdsr")
    win.controller.tile = 256
    faults["vdsr"] = {"oom_above": 0}  # always
    assert _run(win, qtbot) is None
    _assert_one_line_dialog(critical, "outofmemoryerror", "out of memory")
    print(f"\nOOM dialog: {critical[0][1]!r}")
    assert faults.nets[-1].oom_events == 2  # 192-px tile, then 96-px tiles, then give up
    assert _idle(win)
    faults.clear()
    assert _run(win, qtbot) is not None and len(critical) == 1


# -- 3. cancel at random points ----------------------------------------------------------
TILES = 30  # 192 x 160 output in 32-px tiles
DEHAZE_STEPS = 3
RECORDS = 1 + TILES + DEHAZE_STEPS  # InputReady, tiles, steps


@pytest.fixture
def slow_after(monkeypatch):
    """Make the worker wait (for Cancel, at most 30 s) after yielding record ``k[0]``, as
    if the next tile or step were slow; counts records the core produced after Cancel."""
    real = enhance_controller.enhancement_job
    state = {"k": None, "after_cancel": 0, "yielded": 0}

    def wrapped_job(*args):
        return lambda cancel: wrapped(real(*args), cancel)

    def wrapped(make, cancel):
        gen = make(cancel)
        n = 0
        while True:
            try:
                record = next(gen)
            except StopIteration as stop:
                return stop.value
            n += 1
            state["yielded"] = n
            if cancel.is_set():
                state["after_cancel"] += 1
            yield record
            if n == state["k"]:
                cancel.wait(30)

    monkeypatch.setattr(enhance_controller, "enhancement_job", wrapped_job)
    return state


def test_cancel_at_seeded_random_points(models_window, qtbot, small_film, slow_after):
    win = models_window
    _setup(win, small_film, model="vdsr", dehaze=True, steps=DEHAZE_STEPS)
    ctl = win.controller
    ks = sorted(random.Random(20240605).sample(range(1, RECORDS), 5))
    received = []

    def on_progress(record):
        received.append(record)
        if len(received) == slow_after["k"]:
            win.panel.cancel_button.click()

    ctl.runner.progress.connect(on_progress)
    outcomes = []
    for k in ks:
        received.clear()
        slow_after.update(k=k, after_cancel=0, yielded=0)
        with qtbot.waitSignal(ctl.runner.cancelled, timeout=60000):
            win.panel.run_button.click()
        qtbot.waitUntil(lambda: _idle(win), timeout=10000)
        outcomes.append((k, len(received), slow_after["yielded"], slow_after["after_cancel"]))
        assert ctl.result is None and win.panel.status.text() == "Cancelled"
        assert slow_after["after_cancel"] <= 1  # at most the tile/step in flight
        assert len(received) <= k + 1
        kinds = {type(r) for r in received}
        assert kinds <= {InputReady, TileDone, StepDone}
    print(f"\ncancel points (k, records received, yielded, after cancel): {outcomes}")
    slow_after.update(k=None)
    received.clear()
    result = _run(win, qtbot)
    assert result is not None and len(result.steps) == DEHAZE_STEPS
    assert len(received) == RECORDS and win.panel.status.text().startswith("Done")


# -- 4. closing the window mid-run -------------------------------------------------------
def _os_threads() -> int:
    return len(os.listdir("/proc/self/task"))



def test_close_mid_run_cancels_and_waits(qtbot, qtlog, settings, models, small_film,
                                         monkeypatch):
    from xrayview.core.enhance.stop_rule import StopRule
    from xrayview.gui.main_window import MainWindow

    # never stops by itself, so it is surely still running when the window closes however
    # busy the machine (only the close's cancel ends it); each step yields the CPU for a
    # moment so the worker cannot bury the GUI thread under a backlog of unbounded steps
    # (a never-ending run outpacing the plots made a busy machine's GUI thread fall minutes
    # behind: faulthandler caught it there)
    monkeypatch.setattr(StopRule, "should_stop", never_stop_throttled)
    gc.collect()
    base_py = threading.active_count()
    win = MainWindow(settings=settings)
    win.show()
    _setup(win, small_film, model="none", scale=1, dehaze=True, steps=100)
    with qtbot.waitSignal(win.controller.runner.progress, timeout=60000):
        win.panel.run_button.click()
    thread = win.controller.runner._thread
    assert thread is not None and thread.isRunning()
    os_during = _os_threads()
    win.close()
    assert thread.isFinished() and not thread.isRunning()
    assert not win.controller.is_running()
    del thread
    win.deleteLater()
    qtbot.waitUntil(lambda: threading.active_count() == base_py, timeout=5000)
    gc.collect()
    messages = [r.message for r in qtlog.records]
    print(f"\nthreads: python {base_py} -> {threading.active_count()}, OS during run "
          f"{os_during} -> after close {_os_threads()}; Qt messages: {messages}")
    assert _os_threads() < os_during
    assert not any("Destroyed while thread" in m for m in messages)
    assert not any("QThread" in m for m in messages)


# -- 5. twenty runs: no leaked threads or memory -----------------------------------------
def _live(cls) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is cls)


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_twenty_runs_leak_no_threads_or_memory(models_window, qtbot, small_film, faults,
                                               critical):
    win = models_window
    ctl = win.controller
    _setup(win, small_film, model="vdsr", dehaze=True, steps=2)
    gc.collect()
    base_py, base_qthreads, base_workers = threading.active_count(), _live(QThread), _live(_Worker)
    seen_live = []
    cancel_now = {"on": False}

    def on_progress(record):
        if not seen_live:
            seen_live.append(_live(QThread))  # sanity: the counter sees a running job
        if cancel_now["on"] and isinstance(record, TileDone):
            ctl.cancel()

    ctl.runner.progress.connect(on_progress)
    figures, outcomes = {}, []
    tracemalloc.start()
    try:
        for i in range(1, 21):
            kind = ("success", "cancel", "failure")[(i - 1) % 3]
            faults.clear()
            if kind == "failure":
                faults["dehaze"] = {"fail_call": 2}
            cancel_now["on"] = kind == "cancel"
            with qtbot.waitSignal(ctl.jobFinished, timeout=60000):
                win.panel.run_button.click()
            outcomes.append((kind, ctl.result is not None, win.panel.status.text().split(":")[0]))
            assert (ctl.result is not None) == (kind == "success"), outcomes[-1]
            if i in (5, 20):
                gc.collect()
                figures[i] = {"py_threads": threading.active_count(), "os_threads": _os_threads(),
                              "qthreads": _live(QThread), "workers": _live(_Worker),
                              "traced_mb": tracemalloc.get_traced_memory()[0] / 2**20,
                              "rss_mb": _rss_mb()}
            if i == 5:
                base_os = _os_threads()  # torch's own pools exist by now
    finally:
        tracemalloc.stop()
    print(f"\nbaseline: python threads {base_py}, QThreads {base_qthreads}, workers "
          f"{base_workers}; seen during a run: {seen_live}")
    for i, f in figures.items():
        print(f"after run {i}: " + ", ".join(f"{k} {v:.1f}" if isinstance(v, float) else
                                             f"{k} {v}" for k, v in f.items()))
    growth_traced = figures[20]["traced_mb"] - figures[5]["traced_mb"]
    growth_rss = figures[20]["rss_mb"] - figures[5]["rss_mb"]
    print(f"growth run 5 -> 20: traced {growth_traced:+.2f} MB, RSS {growth_rss:+.1f} MB")
    assert seen_live and seen_live[0] >= base_qthreads + 1
    assert len(critical) == 6 and all("simulated fault" in t for _, t in critical)
    for f in figures.values():
        assert f["py_threads"] == base_py
        assert f["qthreads"] == base_qthreads and f["workers"] == base_workers
    assert figures[20]["os_threads"] <= base_os
    assert growth_traced < 20.0
    assert growth_rss < 100.0


# -- 6. privacy: identifiers only with "Show identifiers", never in the log --------------
NAME, PID = "Zyxwvut^Quillon", "PID-8675309-XQ"
NEEDLES = ("Zyxwvut", "Quillon", PID)


def _has_children(model, index) -> bool:
    try:
        return model.hasChildren(index)
    except TypeError:  # flat (list/table) models keep it private in PySide
        return False


def _model_texts(model, parent=None) -> list[str]:
    from PySide6.QtCore import QModelIndex, Qt

    parent = parent if parent is not None else QModelIndex()
    roles = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole,
             Qt.ItemDataRole.StatusTipRole, Qt.ItemDataRole.WhatsThisRole)
    out = []
    try:
        columns = model.columnCount(parent)
    except TypeError:  # list models keep columnCount private in PySide
        columns = 1
    for r in range(model.rowCount(parent)):
        for c in range(columns):
            index = model.index(r, c, parent)
            out += [str(model.data(index, role)) for role in roles]
            if c == 0 and _has_children(model, index):
                out += _model_texts(model, index)
    for c in range(columns):
        out.append(str(model.headerData(c, Qt.Orientation.Horizontal)))
    return out


def _all_visible_text(win: QMainWindow) -> str:
    """Every text a user could see: titles, labels, buttons, tooltips, item models, status
    bar, actions, combo items and graphics-scene text (pyqtgraph titles and labels)."""
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QGraphicsTextItem, QGraphicsView

    texts = [win.windowTitle(), win.statusBar().currentMessage()]
    for w in [win, *win.findChildren(QWidget)]:
        texts += [w.windowTitle(), w.toolTip(), w.statusTip(), w.whatsThis(),
                  w.accessibleName(), w.accessibleDescription()]
        if isinstance(w, (QLabel, QAbstractButton, QLineEdit)):
            texts.append(w.text())
        if isinstance(w, QLineEdit):
            texts.append(w.placeholderText())
        if isinstance(w, QComboBox):
            texts += [w.itemText(i) for i in range(w.count())]
        if isinstance(w, QAbstractItemView) and w.model() is not None:
            texts += _model_texts(w.model())
        if isinstance(w, QGraphicsView) and w.scene() is not None:
            texts += [i.toPlainText() for i in w.scene().items()
                      if isinstance(i, QGraphicsTextItem)]
    texts += [t for a in win.findChildren(QAction) for t in (a.text(), a.toolTip())]
    return "\n".join(texts)


def test_identifiers_hidden_until_toggled_and_never_logged(models_window, qtbot, tmp_path,
                                                           caplog):
    from tests.support.dicom_factory import make_dicom

    y, x = np.mgrid[0:96, 0:80]
    px = (200 + 30 * x + 10 * y).astype(np.uint16)
    path = make_dicom(tmp_path / "film.dcm", px, PatientName=NAME, PatientID=PID,
                      OtherPatientIDs="PID-8675309-XQ", ReferringPhysicianName="Quillon^Dr")
    win = models_window
    caplog.set_level(logging.DEBUG)  # root and every xrayview / pydicom logger
    assert win.open_path(path)
    win.tags_dock.raise_()
    text = _all_visible_text(win)
    assert "PatientName" not in text or "(hidden)" in text
    leaks = [n for n in NEEDLES if n in text]
    assert not leaks, f"identifiers visible before the toggle: {leaks}"
    assert len(text) > 500  # the walk did collect the UI's texts

    # an enhancement (super-resolution + dehazing) runs with identifiers still hidden
    p = win.panel
    p.model_combo.setCurrentIndex(p.model_combo.findData("vdsr"))
    p.dehaze_check.setChecked(True)
    p.steps_spin.setValue(2)
    qtbot.waitUntil(lambda: p.devices_known, timeout=30000)
    p.device_combo.setCurrentIndex(p.device_combo.findData("cpu"))
    win.controller.tile = 64
    assert _run(win, qtbot) is not None
    text = _all_visible_text(win)
    assert not [n for n in NEEDLES if n in text]

    win.tags.identifiers_check.setChecked(True)
    shown = "\n".join(_model_texts(win.tags.tree.model()))
    assert NAME in shown and PID in shown
    assert NAME in win.tags.visible_values()
    win.tags.identifiers_check.setChecked(False)
    assert not [n for n in NEEDLES if n in _all_visible_text(win)]

    records = caplog.records
    assert records  # DEBUG capture did see the open and the run
    for r in records:
        blob = r.getMessage() + repr(r.args) + (caplog.handler.format(r) if r.exc_info else "")
        assert not [n for n in NEEDLES if n in blob], f"identifier in log: {r.name}: {blob}"
    print(f"\nprivacy: {len(records)} log records checked, loggers "
          f"{sorted({r.name for r in records})}")
