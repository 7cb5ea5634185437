"""Run ``load_film`` over a malformed corpus in a separate, resource-limited process.

The parent (``run_corpus``) starts ``python -m tests.support.corpus_worker FOLDER START``;
the worker caps its address space (RLIMIT_AS), then for every case from START on prints
``START i`` and, once the case has ended, ``RESULT {json}`` (flushed). A hang or a hard
crash therefore costs one case, not the test run: the parent kills the worker after
``timeout_s`` without news, records HANG or CRASH for that case and starts a new worker
after it. Each result holds the outcome (``Film`` or the FilmError subclass; anything
else is ``ESCAPED:<type>``), wall and CPU seconds, the peak RSS growth during the case
(Linux: VmHWM after resetting it through /proc/self/clear_refs), the bytes written to
file descriptor 2 by C libraries, and whether a MemoryError was hit.
"""

from __future__ import annotations

import json
import os
import queue
import resource
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
HEADROOM_BYTES = 3 << 30  # address space a case may add before MemoryError (safety net)


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _film_problem(film) -> str | None:
    import numpy as np

    px = film.pixels
    if px.ndim != 2 or px.dtype != np.float32 or px.size == 0:
        return f"pixels {px.dtype} {px.shape}"
    if not np.isfinite(px).all() or px.min() < 0 or px.max() > 1:
        return "pixels not finite or outside [0, 1]"
    return None


def run_case(path: Path) -> dict:
    """Load one file; measure time, memory and stray stderr output; classify the end."""
    from xrayview.core.io import FilmError, load_film

    err_file = tempfile.TemporaryFile()
    saved_fd2 = os.dup(2)
    os.dup2(err_file.fileno(), 2)
    exact = _reset_peak()
    rss0 = _status_kb("VmRSS")
    t0, c0 = time.perf_counter(), time.process_time()
    out: dict = {"memory_error": False}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                film = load_film(path)
            except FilmError as exc:
                out.update(outcome=type(exc).__name__, message=str(exc))
                cause: BaseException | None = exc
                while cause is not None:
                    out["memory_error"] |= (isinstance(cause, MemoryError)
                                            or "MemoryError" in str(cause)
                                            or "in memory" in str(cause))
                    cause = cause.__cause__ or cause.__context__
            except BaseException as exc:  # noqa: BLE001 - exactly what this harness looks for
                out.update(outcome=f"ESCAPED:{type(exc).__name__}", message=str(exc)[:300])
            else:
                problem = _film_problem(film)
                out.update(outcome="Film" if problem is None else "BAD-FILM", message=problem or "")
                del film
    finally:
        out["seconds"] = time.perf_counter() - t0
        out["cpu_seconds"] = time.process_time() - c0
        out["peak_rss_mb"] = max(0, _status_kb("VmHWM") - rss0) / 1024 if exact else None
        os.dup2(saved_fd2, 2)
        os.close(saved_fd2)
        err_file.seek(0)
        stray = err_file.read()
        err_file.close()
    out["stderr"] = stray[:200].decode("utf-8", "replace")
    out["stderr_bytes"] = len(stray)
    out["warnings"] = [f"{w.category.__name__}: {str(w.message)[:120]}" for w in caught]
    return out


def _worker(folder: Path, start: int) -> None:
    import logging

    # Log records are not stray output: keep them off stderr (lastResort would print them).
    logging.basicConfig(level=logging.DEBUG, handlers=[logging.NullHandler()])
    cases = json.loads((folder / "cases.json").read_text())
    from tests.support.malformed_corpus import warm_up

    warm_up()  # import the decoders before the first measured case
    limit = _status_kb("VmSize") * 1024 + HEADROOM_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    for i in range(start, len(cases)):
        print(f"START {i}", flush=True)
        result = run_case(folder / cases[i]["file"])
        print("RESULT " + json.dumps({"index": i, **result}), flush=True)
    print("DONE", flush=True)


def _pump(stream, lines: queue.Queue) -> None:
    """Copy a worker's output lines into ``lines``; None marks its end."""
    for line in stream:
        lines.put(line)
    lines.put(None)


def run_corpus(folder: Path, n_cases: int, timeout_s: float = 20.0) -> dict[int, dict]:
    """Run the corpus in ``folder`` (written by build_corpus, with cases.json) in workers.

    Returns {case index: result}; a case that hung or crashed its worker gets outcome
    "HANG" or "CRASH (exit code N)".
    """
    results: dict[int, dict] = {}
    start = 0
    while start < n_cases:
        proc = subprocess.Popen([sys.executable, "-m", "tests.support.corpus_worker", str(folder),
                                 str(start)], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
        current = start
        while True:
            try:
                line = lines.get(timeout=timeout_s if current > start else timeout_s + 30)
            except queue.Empty:
                proc.kill()
                proc.wait()
                results[current] = {"index": current, "outcome": "HANG", "seconds": timeout_s}
                start = current + 1
                break
            if line is None:
                rc = proc.wait()
                if current not in results:
                    results[current] = {"index": current, "outcome": f"CRASH (exit code {rc})"}
                start = current + 1
                break
            if line.startswith("START "):
                current = int(line.split()[1])
            elif line.startswith("RESULT "):
                result = json.loads(line[7:])
                results[result["index"]] = result
            elif line.startswith("DONE"):
                proc.wait()
                start = n_cases
                break
    return results


if __name__ == "__main__":
    _worker(Path(sys.argv[1]), int(sys.argv[2]))
