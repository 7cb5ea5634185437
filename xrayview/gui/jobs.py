"""The one job runner of the GUI (DESIGN §3): a core generator on a QThread.

A job is a callable ``make(cancel) -> generator``; the generator yields progress records
and returns its result, as every long operation of the core does. ``JobRunner`` runs it
on a worker thread and re-emits, on the main thread:

* ``progress(record)`` for each yielded record,
* ``result(value)`` with the generator's return value,
* ``failed(text)`` with a one-line message when the job raised (logged in full),
* ``cancelled()`` when the job stopped because of :meth:`JobRunner.cancel`,
* ``finished()`` last, in every case, once the thread has stopped.

Records and the result cross threads as they are: the job must yield arrays it will not
touch again (copies), never Qt objects. Cancel is a ``threading.Event`` handed to the job
(so the core checks it between tiles/steps) and also checked by the runner between
yields: the latency is one tile or one step. :meth:`JobRunner.shutdown` cancels and
waits, so a closing window never destroys a running thread.

Progress is pulled, not pushed: the worker puts records into a bounded queue (at most
``MAX_IN_FLIGHT``; when it is full the worker waits, still checking cancel) and a GUI
timer takes them every ``POLL_MS``. A job that yields faster than the GUI draws (many
quick dehazing steps on a busy machine) used to post one queued signal per record, and
Qt keeps delivering posted events in one pass while new ones arrive: the GUI thread never
got back to its own event loop (found with faulthandler in the close-mid-run tests; a
bounded semaphore alone did not break that chain). Records still arrive in order and
before the job's result, failure or cancellation.
"""

from __future__ import annotations

import logging
import queue
import threading
import traceback
from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

from xrayview.core.cancel import Cancelled

log = logging.getLogger(__name__)

JobFactory = Callable[[threading.Event], Generator[Any, None, Any]]


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message``, at most 200 characters."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"


def _forget_dummy_thread() -> None:
    """Drop the ``threading._DummyThread`` entry Python made for this (Qt) thread, if any.

    Python before 3.13 registers a dummy the first time a thread it did not start calls
    ``threading.current_thread()`` (every log record does) and never removes it, so each
    finished worker that logged would stay in ``threading.enumerate()``/``active_count()``.
    Private names are looked up defensively; where they differ this does nothing.
    """
    dummy = getattr(threading, "_DummyThread", None)
    active = getattr(threading, "_active", None)
    lock = getattr(threading, "_active_limbo_lock", None)
    if dummy is None or not isinstance(active, dict) or lock is None:
        return
    ident = threading.get_ident()
    with lock:
        if isinstance(active.get(ident), dummy):
            del active[ident]


MAX_IN_FLIGHT = 4  # progress records queued for the main thread at most
POLL_MS = 10  # how often the GUI takes the queued records
_PUT_WAIT_S = 0.05  # how often a waiting worker looks at the cancel flag


class _Worker(QObject):
    """Lives on the worker thread; iterates the job's generator."""

    result = Signal(int, object)
    failed = Signal(int, str)
    cancelled = Signal(int)
    done = Signal()

    def __init__(self, make: JobFactory, cancel: threading.Event, name: str,
                 job_id: int, records: queue.Queue) -> None:
        super().__init__()
        self._make, self._cancel, self._name, self._id = make, cancel, name, job_id
        self._records = records  # bounded; the runner's timer takes from it

    @Slot()
    def run(self) -> None:
        gen = None
        try:
            gen = self._make(self._cancel)
            while True:
                if self._cancel.is_set():
                    raise Cancelled(f"{self._name} cancelled")
                try:
                    record = next(gen)
                except StopIteration as stop:
                    value = stop.value
                    break
                while True:
                    try:
                        self._records.put(record, timeout=_PUT_WAIT_S)
                        break
                    except queue.Full:
                        if self._cancel.is_set():
                            raise Cancelled(f"{self._name} cancelled") from None
            if self._cancel.is_set():
                raise Cancelled(f"{self._name} cancelled")
            self.result.emit(self._id, value)
        except Cancelled:
            log.info("%s cancelled", self._name)
            self.cancelled.emit(self._id)
        except Exception as exc:  # noqa: BLE001 - any failure becomes a message
            # The full traceback goes to the log as text, not as ``exc_info``: a record
            # holding the live traceback pins its frames (this worker, the generator, the
            # model, the film's arrays) for as long as any handler keeps records.
            log.error("%s failed\n%s", self._name,
                      "".join(traceback.format_exception(exc)).rstrip())
            self.failed.emit(self._id, one_line(exc))
        finally:
            if gen is not None:
                gen.close()
            gen = None
            _forget_dummy_thread()
            self.done.emit()


class JobRunner(QObject):
    """Runs one job at a time on a worker thread; see the module docstring."""

    progress = Signal(object)
    result = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()
    started = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: _Worker | None = None
        self._cancel = threading.Event()
        self._records: queue.Queue = queue.Queue(MAX_IN_FLIGHT)
        self._poll = QTimer(self, interval=POLL_MS)
        self._poll.timeout.connect(self._take_records)
        self._job_id = 0  # signals of any other job id are stale and dropped

    def is_running(self) -> bool:
        """True from :meth:`start` until ``finished`` is emitted."""
        return self._thread is not None

    def start(self, make: JobFactory, name: str = "job") -> None:
        """Run ``make(cancel_event)``'s generator on a new worker thread.

        Raises RuntimeError when a job is already running.
        """
        if self._thread is not None:
            raise RuntimeError("a job is already running")
        self._cancel = threading.Event()
        self._records = queue.Queue(MAX_IN_FLIGHT)
        thread = QThread()
        thread.setObjectName(f"xrayview-{name}")
        self._job_id += 1
        worker = _Worker(make, self._cancel, name, self._job_id, self._records)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.result.connect(self._on_result)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        # direct: quit() is thread-safe, and a queued call would wait on a blocked GUI thread
        worker.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._worker = thread, worker
        log.debug("starting %s", name)
        thread.start()
        self._poll.start()
        self.started.emit()

    def cancel(self) -> None:
        """Ask the running job to stop at its next tile or step (returns at once)."""
        self._cancel.set()

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until the worker thread has stopped; True if it has (or none ran).

        Queued signals are delivered later by the event loop; call from the main thread.
        """
        thread = self._thread
        if thread is None:
            return True
        return thread.wait() if timeout_ms < 0 else thread.wait(timeout_ms)

    def shutdown(self) -> None:
        """Cancel and wait for the worker (for closing windows); emits nothing further."""
        if self._thread is None:
            return
        self.cancel()
        self._thread.wait()
        self._on_thread_finished(emit=False)

    # Slots of the runner run on the main thread (the timer, or queued from the worker).
    @Slot()
    def _take_records(self) -> None:
        """Emit ``progress`` for the records queued now (at most MAX_IN_FLIGHT)."""
        records = self._records
        for _ in range(MAX_IN_FLIGHT):
            if records is not self._records:
                return  # a handler shut the job down: the rest is stale
            try:
                record = records.get_nowait()
            except queue.Empty:
                return
            self.progress.emit(record)

    @Slot(int, object)
    def _on_result(self, job_id: int, value: object) -> None:
        if job_id == self._job_id:
            self._take_records()  # every record before the result
            self.result.emit(value)

    @Slot(int, str)
    def _on_failed(self, job_id: int, text: str) -> None:
        if job_id == self._job_id:
            self._take_records()
            self.failed.emit(text)

    @Slot(int)
    def _on_cancelled(self, job_id: int) -> None:
        if job_id == self._job_id:
            self._take_records()
            self.cancelled.emit()

    @Slot()
    def _on_thread_finished(self, emit: bool = True) -> None:
        thread, worker = self._thread, self._worker
        if thread is None:
            return
        thread.wait()  # ``finished`` is its last act; make sure run() has fully returned
        self._poll.stop()
        if emit:
            self._take_records()
        self._thread = self._worker = None
        self._records = queue.Queue(MAX_IN_FLIGHT)  # a shut-down job's records are stale
        if not emit:  # shutting down: whatever the worker queued is now stale
            self._job_id += 1
        # Both are owned by Python and freed here, on the GUI thread, after the thread
        # stopped (no deleteLater racing with Python's own deletion).
        del worker, thread
        if emit:
            self.finished.emit()
