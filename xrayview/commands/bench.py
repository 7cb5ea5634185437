"""``xrayview bench``: run ``core.bench`` and print a table, or JSON with ``--json``.

JSON (stdout)::

    {"device": "cpu", "matmul_tflops": 0.12, "matmul": {"fp32": 0.12},
     "results": [{"name": "vdsr_x2", "s_per_mp": ..., "tflops": ..., "ratio_to_matmul": ...,
                  "peak_rss_mb": ..., "precision": "fp32", "max_abs_vs_fp32": null,
                  "psnr_vs_fp32": null, "speedup_vs_fp32": null},
                 {"name": "vdsr_x2_bf16", ..., "precision": "bf16",
                  "max_abs_vs_fp32": 0.003, "psnr_vs_fp32": 69.0, "speedup_vs_fp32": 0.8}]}

``matmul_tflops`` is the fp32 figure; ``matmul`` adds bf16/fp16 on CUDA. ``tflops`` and
``ratio_to_matmul`` are null for ``load_dicom`` (no arithmetic is counted). Progress goes
to stderr, one line per item.
"""

from __future__ import annotations

import argparse
import json
import sys

from xrayview.commands import EXIT_OK, BadInput


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else float(f"{x:.{digits}g}")


def report_json(report) -> dict:
    """The JSON document for a ``core.bench.BenchReport``."""
    return {
        "device": report.device,
        "matmul_tflops": _round(report.matmul.get("fp32")),
        "matmul": {k: _round(v) for k, v in report.matmul.items()},
        "results": [{"name": r.name, "s_per_mp": _round(r.s_per_mp),
                     "tflops": _round(r.tflops), "ratio_to_matmul": _round(r.ratio_to_matmul, 3),
                     "peak_rss_mb": round(r.peak_rss_mb, 1), "precision": r.precision,
                     "max_abs_vs_fp32": _round(r.max_abs_vs_fp32, 3),
                     "psnr_vs_fp32": _finite(r.psnr_vs_fp32),
                     "speedup_vs_fp32": _round(r.speedup, 3)}
                    for r in report.results],
    }


def _finite(x: float | None) -> float | str | None:
    """A JSON-safe PSNR: rounded, "inf" as the string "inf" (identical outputs)."""
    if x is None:
        return None
    return "inf" if x == float("inf") else _round(x)


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def report_table(report) -> str:
    """A plain-text table of a ``core.bench.BenchReport`` for people."""
    mode = "quick" if report.quick else "full"
    matmul = ", ".join(f"{k} {v:.3f}" for k, v in report.matmul.items())
    lines = [f"device: {report.device} ({report.device_label}), torch threads "
             f"{report.threads}",
             f"film: {report.size} x {report.size} synthetic 16-bit ({mode} mode); "
             f"matmul TFLOP/s: {matmul}",
             "",
             f"{'item':<14} {'s/MP':>8} {'seconds':>8} {'MP out':>7} {'TFLOP/s':>8} "
             f"{'x matmul':>8} {'prec':>5} {'peak RSS MB':>11} {'runs':>4} "
             f"{'speedup':>7} {'max|d|':>8} {'PSNR dB':>7}"]
    for r in report.results:
        lines.append(f"{r.name:<14} {r.s_per_mp:>8.3f} {r.seconds:>8.3f} {r.megapixels:>7.2f} "
                     f"{_fmt(r.tflops, '.4f'):>8} {_fmt(r.ratio_to_matmul, '.2f'):>8} "
                     f"{r.precision:>5} {r.peak_rss_mb:>11.0f} {r.repeats:>4} "
                     f"{_fmt(r.speedup, '.2f'):>7} {_fmt(r.max_abs_vs_fp32, '.1e'):>8} "
                     f"{_fmt(r.psnr_vs_fp32, '.1f'):>7}")
    scope = ("per item (high-water mark reset before each)" if report.rss_scope == "item"
             else "process peak so far")
    lines += ["", f"peak RSS: {scope}, including the process's own baseline"]
    lines += [f"skipped: {s}" for s in report.skipped]
    return "\n".join(lines)


def add_bench_parser(sub) -> None:
    """Add the ``bench`` subcommand to an argparse subparsers object."""
    b = sub.add_parser("bench", help="time SRCNN, VDSR, dehazing and DICOM loading",
                       description="Benchmark on a synthetic 2048 x 2048 16-bit film with "
                                   "randomly initialised networks: seconds per megapixel, "
                                   "TFLOP/s and their ratio to the device's own matmul, "
                                   "peak resident memory.")
    b.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N, auto or mps")
    b.add_argument("--json", action="store_true", help="print JSON on stdout")
    b.add_argument("--quick", action="store_true", help="a 128-pixel film (CI, smoke tests)")
    b.add_argument("--size", type=int, default=None, help="film side in pixels")
    b.add_argument("--repeats", type=int, default=None, help="timed runs per item (default 3)")


def run_bench_command(args: argparse.Namespace) -> int:
    from xrayview.core.bench.runner import run_bench
    from xrayview.core.device import pick_device

    if args.size is not None and args.size < 32:
        raise BadInput("--size must be at least 32 pixels.")
    if args.repeats is not None and args.repeats < 1:
        raise BadInput("--repeats must be at least 1.")
    try:
        device = pick_device(args.device)
    except ValueError as exc:  # an unknown or absent device
        raise BadInput(str(exc)) from exc
    gen = run_bench(device, quick=args.quick, size=args.size, repeats=args.repeats)
    while True:
        try:
            r = next(gen)
        except StopIteration as stop:
            report = stop.value
            break
        print(f"bench: {r.name}: {r.seconds:.3f} s", file=sys.stderr, flush=True)
    print(json.dumps(report_json(report), indent=2) if args.json else report_table(report))
    return EXIT_OK
