"""The benchmark behind ``xrayview bench``: how close the enhancement runs to the hardware.

``run_bench(device, quick=False)`` is a generator (DESIGN §3): it yields one
:class:`BenchResult` per item and returns a :class:`BenchReport`. Items, in order:
``matmul_<dtype>`` (the device's own square matrix-multiply throughput: fp32, plus bf16
and fp16 on CUDA, bf16 on a CPU that runs it natively), ``srcnn_x1``, ``srcnn_x2``,
``vdsr_x1``, ``vdsr_x2`` (``super_resolve`` end to end: film in host memory -> bicubic ->
tiled network -> result in host memory), each once in fp32 and once more in the reduced
precision the device runs natively (``<name>_bf16``; with the output's max absolute
difference and PSNR against the fp32 output, and ``speedup`` over the fp32 row),
``dehaze_step`` (one ``dehaze_steps`` step, its metrics included) and ``load_dicom``
(``load_film`` of a 12-bit DICOM written once into a temporary folder).

The networks are randomly initialised instances of the real architectures (default
hyperparameters, as in ``models/manifest.json``): the cost does not depend on the weights,
so no trained weights are needed. The film is synthetic: smooth anatomy-like structure
plus noise, quantised to 16 bits, ``size`` x ``size`` (2048 by default, 128 in quick mode).

Each item runs once to warm up (a crop with the same tile shapes for the large ones), then
``repeats`` times; the median is reported (an expensive item stops repeating once its
runs pass ``budget_s``). TFLOP/s come from the layer arithmetic (``core.flops``) of the
useful output only, so halo overlap and bicubic upsampling count against them; the ratio
is to the same run's matmul in the precision the network ran in. Peak RSS is per item on
Linux (the kernel's high-water mark is reset before each item, ``/proc/self/clear_refs``),
so it includes the process's own baseline (Python, torch); elsewhere it is the process
peak so far (``BenchReport.rss_scope`` says which).
"""

from __future__ import annotations

import gc
import logging
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from xrayview.core.bench.items import dehaze_item, dicom_item, film_crop, sr_item, synthetic_film
from xrayview.core.device import autocast_dtype, pick_device
from xrayview.core.models import registry

log = logging.getLogger(__name__)

SR_ITEMS = tuple((name, s) for name in registry.super_resolution_models() for s in (1, 2))
DTYPE_NAMES = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}


@dataclass(frozen=True)
class BenchResult:
    """One measured item. ``seconds``: median of ``repeats`` runs; ``megapixels``: output
    size; ``tflops``/``ratio_to_matmul``: None where no arithmetic is counted (loading);
    ``precision``: "fp32", "bf16" or "fp16" (what the network or matmul ran in);
    ``max_abs_vs_fp32`` / ``psnr_vs_fp32``: for a reduced-precision row, how far its output
    is from the fp32 row's (None otherwise); ``speedup``: fp32 seconds / these seconds."""

    name: str
    seconds: float
    megapixels: float
    tflops: float | None
    ratio_to_matmul: float | None
    peak_rss_mb: float
    precision: str
    repeats: int
    max_abs_vs_fp32: float | None = None
    psnr_vs_fp32: float | None = None
    speedup: float | None = None

    @property
    def s_per_mp(self) -> float:
        return self.seconds / self.megapixels if self.megapixels else self.seconds


@dataclass
class BenchReport:
    """Everything ``run_bench`` measured. ``matmul``: TFLOP/s per precision name;
    ``skipped``: items that could not run here, with the reason."""

    device: str
    device_label: str
    threads: int
    size: int
    quick: bool
    rss_scope: str
    matmul: dict[str, float] = field(default_factory=dict)
    results: list[BenchResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _reset_peak_rss() -> bool:
    """Reset this process's resident high-water mark (Linux >= 4.0); False if impossible."""
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """Peak resident memory in MB: VmHWM (resettable) on Linux, else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def time_runs(fn: Callable[[], object], repeats: int, budget_s: float = float("inf"),
              warmup: Callable[[], object] | None = None) -> tuple[float, int]:
    """(median seconds, runs): one warm-up (``warmup`` or ``fn``), then up to ``repeats``
    timed runs, stopping early once the timed runs together pass ``budget_s``."""
    (warmup or fn)()
    times: list[float] = []
    while not times or (len(times) < repeats and sum(times) < budget_s):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), len(times)


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def matmul_tflops(dev: torch.device, dtype: torch.dtype = torch.float32, n: int = 2048,
                  repeats: int = 5) -> float:
    """Square (n x n) @ (n x n) throughput of ``dev`` in ``dtype``, TFLOP/s (2·n³ per run),
    from the fastest of ``repeats`` runs after a warm-up: the ceiling to compare against
    (a median would let a busy moment lower the bar; ``run_bench`` also measures it at the
    start and at the end of the run and keeps the higher).

    On CUDA float32 is true fp32 (TF32 switched off for the measurement).
    """
    gen = torch.Generator(device="cpu").manual_seed(0)
    a = torch.randn(n, n, generator=gen).to(dev, dtype)
    b = torch.randn(n, n, generator=gen).to(dev, dtype)
    tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        def run() -> None:
            torch.matmul(a, b)
            _sync(dev)

        run()  # warm-up
        seconds = min(_timed(run) for _ in range(max(1, repeats)))  # the hardware's best
    finally:
        torch.backends.cuda.matmul.allow_tf32 = tf32
    return 2 * n**3 / seconds / 1e12


def _matmul_dtypes(dev: torch.device) -> list[torch.dtype]:
    if dev.type == "cuda":
        return [torch.float32, torch.bfloat16, torch.float16]
    if dev.type == "cpu" and autocast_dtype(dev, "bf16") is not None:
        return [torch.float32, torch.bfloat16]
    return [torch.float32]


def output_difference(reference, other) -> tuple[float, float]:
    """(max abs difference, PSNR in dB, peak 1) of float32 images ``other`` vs ``reference``."""
    import numpy as np

    diff = np.abs(np.asarray(other, np.float64) - np.asarray(reference, np.float64))
    mse = float(np.mean(diff * diff))
    return float(diff.max()), (float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse))


def run_bench(device: str | torch.device = "cpu", quick: bool = False, size: int | None = None,
              repeats: int | None = None, budget_s: float | None = None,
              workdir: str | Path | None = None) -> Generator[BenchResult, None, BenchReport]:
    """Benchmark ``device``; yields each :class:`BenchResult`, returns the report.

    quick: a 128-pixel film and small matmuls (CI); size: film side in pixels (default
    2048, or 128 in quick mode; the DICOM is 2048 unless ``size`` is given).
    repeats: timed runs per item (default 3); budget_s: stop repeating an item once its
    runs together take this long (default 60 s). workdir: where the DICOM is written
    (default: a temporary folder, removed afterwards).
    """
    dev = pick_device(device)
    side = size or (128 if quick else 2048)
    if side < 32:
        raise ValueError(f"bench size must be at least 32 pixels, not {side}")
    repeats = repeats or 3
    budget = budget_s if budget_s is not None else 60.0
    from xrayview.core.device import device_label

    report = BenchReport(str(dev), device_label(dev), torch.get_num_threads(), side, quick,
                         "item" if _reset_peak_rss() else "process")
    film = synthetic_film(side)
    if dev.type == "cuda":
        n = 4096 if quick else 8192
    else:
        n = 1024 if quick else 2048
    for dtype in _matmul_dtypes(dev):
        _reset_peak_rss()
        t0 = time.perf_counter()
        tflops = matmul_tflops(dev, dtype, n, repeats=10)
        name = DTYPE_NAMES[dtype]
        report.matmul[name] = tflops
        result = BenchResult(f"matmul_{name}", 2 * n**3 / tflops / 1e12, 0.0, tflops, 1.0,
                             peak_rss_mb(), name, repeats)
        log.info("matmul %s n=%d: %.3f TFLOP/s (%.1f s)", name, n, tflops,
                 time.perf_counter() - t0)
        yield result
    reduced = autocast_dtype(dev, "bf16")
    for arch, scale in SR_ITEMS:
        name = f"{arch}_x{scale}"
        fp32 = None
        for mode in ("fp32", "bf16"):
            _reset_peak_rss()
            item = sr_item(arch, scale, film, dev, precision=mode)
            if mode == "bf16" and (reduced is None or not item.autocast_safe):
                break
            seconds, runs = time_runs(item.run, repeats, budget, warmup=item.warmup)
            precision = "fp32" if mode == "fp32" else DTYPE_NAMES[reduced]
            result = _result(report, name if mode == "fp32" else f"{name}_{precision}",
                             seconds, item.megapixels, item.flops, precision, runs)
            if fp32 is None:
                fp32 = (result, item.output())
            else:
                max_abs, psnr_db = output_difference(fp32[1], item.output())
                result = replace(result, max_abs_vs_fp32=max_abs, psnr_vs_fp32=psnr_db,
                                 speedup=fp32[0].seconds / seconds)
                report.results[-1] = result
            yield result
            del item
    _reset_peak_rss()
    item = dehaze_item(film, dev)
    seconds, runs = time_runs(item.run, repeats, budget)
    yield _result(report, "dehaze_step", seconds, item.megapixels, item.flops, "fp32", runs)
    del item, film
    with tempfile.TemporaryDirectory(prefix="xrayview-bench-") as tmp:
        folder = Path(workdir) if workdir is not None else Path(tmp)
        try:
            item = dicom_item(folder, size or 2048)
        except ImportError as exc:  # a bare GPU machine may lack pydicom
            log.warning("load_dicom skipped: %s", exc)
            report.skipped.append(f"load_dicom ({exc})")
            _remeasure_matmul(report, dev, n)
            return report
        _reset_peak_rss()
        seconds, runs = time_runs(item.run, repeats, budget)
        yield _result(report, "load_dicom", seconds, item.megapixels, None, "-", runs)
    _remeasure_matmul(report, dev, n)
    return report


def _remeasure_matmul(report: BenchReport, dev: torch.device, n: int) -> None:
    """Measure matmul again at the end; keep the higher figure and redo the ratios."""
    for name in list(report.matmul):
        dtype = next(d for d, k in DTYPE_NAMES.items() if k == name)
        report.matmul[name] = max(report.matmul[name], matmul_tflops(dev, dtype, n, 10))
    for i, r in enumerate(report.results):
        base = report.matmul.get(r.precision) or report.matmul.get("fp32")
        if r.tflops is not None and base:
            report.results[i] = replace(r, ratio_to_matmul=r.tflops / base)


def _result(report: BenchReport, name: str, seconds: float, megapixels: float,
            flops: int | None, precision: str, runs: int) -> BenchResult:
    tflops = flops / seconds / 1e12 if flops else None
    base = report.matmul.get(precision) or report.matmul.get("fp32")
    ratio = tflops / base if tflops is not None and base else None
    result = BenchResult(name, seconds, megapixels, tflops, ratio, peak_rss_mb(), precision,
                         runs)
    report.results.append(result)
    log.info("%s: %.3f s (%.3f s/MP), %s TFLOP/s", name, seconds, result.s_per_mp, tflops)
    return result


__all__ = ["BenchReport", "BenchResult", "film_crop", "matmul_tflops", "peak_rss_mb",
           "run_bench", "synthetic_film", "time_runs"]
