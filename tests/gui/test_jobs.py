"""JobRunner: success, failure, cancel, shutdown mid-run (no sleeping in the test thread)."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest
from PySide6.QtCore import QThread

from xrayview.gui.jobs import JobRunner


@pytest.fixture
def runner(qtbot):
    r = JobRunner()
    yield r
    r.shutdown()


def _record(runner):
    seen = {"progress": [], "result": [], "failed": [], "cancelled": 0, "threads": set()}
    runner.progress.connect(lambda rec: (seen["progress"].append(rec),
                                         seen["threads"].add(QThread.currentThread())))
    runner.result.connect(seen["result"].append)
    runner.failed.connect(seen["failed"].append)
    runner.cancelled.connect(lambda: seen.__setitem__("cancelled", seen["cancelled"] + 1))
    return seen


def test_success_emits_progress_result_finished(runner, qtbot, qapp):
    seen = _record(runner)
    worker_threads = []

    def job(cancel):
        worker_threads.append(threading.current_thread())
        for i in range(3):
            yield np.full((2, 2), i, np.float32)
        return "done"

    with qtbot.waitSignal(runner.finished, timeout=5000):
        runner.start(job)
    assert [int(r[0, 0]) for r in seen["progress"]] == [0, 1, 2]
    assert seen["result"] == ["done"] and not seen["failed"] and not seen["cancelled"]
    assert worker_threads[0] is not threading.main_thread()
    assert seen["threads"] == {qapp.thread()}  # slots ran on the GUI thread
    assert not runner.is_running()


def test_failure_is_one_line_and_runner_reusable(runner, qtbot):
    seen = _record(runner)

    def bad(cancel):
        yield 1
        raise ValueError("boom\nsecond line")

    with qtbot.waitSignal(runner.finished, timeout=5000):
        runner.start(bad)
    assert seen["failed"] == ["ValueError: boom"] and not seen["result"]

    def good(cancel):
        yield 2
        return 42

    with qtbot.waitSignal(runner.result, timeout=5000) as blocker:
        runner.start(good)
    assert blocker.args == [42]
    qtbot.waitUntil(lambda: not runner.is_running())


def test_cancel_stops_within_one_step(runner, qtbot):
    seen = _record(runner)
    yielded = []

    def endless(cancel):
        for i in itertools.count():
            cancel.wait(0.005)  # a "tile" of work that also notices cancel
            yielded.append(i)
            yield i

    runner.progress.connect(lambda rec: runner.cancel() if rec == 2 else None)
    with qtbot.waitSignal(runner.finished, timeout=5000):
        runner.start(endless)
    assert seen["cancelled"] == 1 and not seen["result"] and not seen["failed"]
    assert 3 <= len(yielded)


def test_start_while_running_refused(runner, qtbot):
    gate = threading.Event()

    def waiting(cancel):
        gate.wait(5)
        yield 0

    runner.start(waiting)
    with pytest.raises(RuntimeError):
        runner.start(waiting)
    with qtbot.waitSignal(runner.finished, timeout=5000):
        gate.set()


def test_shutdown_mid_run_waits_and_drops_late_signals(qtbot, qapp):
    runner = JobRunner()
    started = threading.Event()
    seen = _record(runner)
    finished = []
    runner.finished.connect(lambda: finished.append(1))

    def endless(cancel):
        while True:
            started.set()
            cancel.wait(0.005)
            yield 0

    runner.start(endless)
    assert started.wait(5)
    runner.shutdown()  # cancels and blocks until the thread has stopped
    assert not runner.is_running()
    qapp.processEvents()  # deliver what the worker queued: it must be dropped
    assert not finished and seen["cancelled"] == 0
    del runner  # no "QThread: Destroyed while thread is still running"


def test_a_fast_job_cannot_bury_the_gui_thread_under_queued_records(runner, qtbot):
    """Backpressure: however fast the job yields and however slow the GUI takes its
    records, at most MAX_IN_FLIGHT wait; a never-ending job is still cancelled promptly."""
    from xrayview.gui.jobs import MAX_IN_FLIGHT

    produced = itertools.count(1)
    state = {"produced": 0, "taken": 0, "backlog": 0}

    def job(cancel):
        while True:  # never ends by itself
            state["produced"] = next(produced)
            yield state["produced"]

    def take(record):
        state["taken"] += 1
        state["backlog"] = max(state["backlog"], state["produced"] - state["taken"])

    runner.progress.connect(take)
    runner.start(job, "flood")
    qtbot.waitUntil(lambda: state["taken"] >= 200, timeout=60000)
    with qtbot.waitSignal(runner.finished, timeout=60000):
        runner.cancel()
    assert state["backlog"] <= MAX_IN_FLIGHT + 1  # + the record being yielded
