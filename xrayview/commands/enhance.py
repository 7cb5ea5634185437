"""``xrayview enhance``: super-resolve and/or dehaze one film and save it."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any

from xrayview.commands import EXIT_OK, BadInput

if TYPE_CHECKING:
    from xrayview.core.stop_rule import StopRule


def _enhance_progress(text: str | None, state: dict, final: bool = False) -> None:
    """One updating line on stderr (at most 10 redraws/s) when it is a terminal; else nothing."""
    if not sys.stderr.isatty():
        return
    if text is None:
        if state.get("width"):
            sys.stderr.write("\n")
        return
    now = time.monotonic()
    if not final and now - state.get("drawn", 0.0) < 0.1:
        return
    state["drawn"] = now
    state["width"] = max(state.get("width", 0), len(text))
    sys.stderr.write("\r" + text.ljust(state["width"]))
    sys.stderr.flush()


def _finite(x: float) -> float | None:
    import math

    return float(x) if math.isfinite(x) else None


def _stop_rule(args: argparse.Namespace, image) -> StopRule:
    """The dehazing stop rule from the --stop-* options; what is not
    given comes from the metric's default (``default_stop``, film-relative measures taken
    on ``image``, the dehazer's input)."""
    from xrayview.core import metrics as measures
    from xrayview.core.stop_rule import RELATIVE_STOP, StopRule, default_stop

    metric = args.stop_metric or "ssim_input"
    value = getattr(measures, metric)(image) if metric in RELATIVE_STOP else None
    threshold, below = default_stop(metric, value)
    if args.stop_threshold is not None:
        threshold = args.stop_threshold
    if args.stop_when is not None:
        below = args.stop_when == "below"
    return StopRule(metric=metric, threshold=threshold, stop_below=below,
                    rollback=args.stop_rollback, max_steps=args.dehaze_steps)


def run_enhance(args: argparse.Namespace) -> int:
    from xrayview.commands import load_film_quietly
    from xrayview.core import metrics
    from xrayview.core.device import pick_device
    from xrayview.core.enhance import (
        dehaze_steps,
        describe_enhancement,
        super_resolve,
        upsample,
    )
    from xrayview.core.io.export import check_destination, save_film
    from xrayview.core.weights import WeightsError, load_model

    scale = args.scale if args.scale is not None else (1 if args.model == "none" else 2)
    if args.dehaze_steps < 0:
        raise BadInput("--dehaze-steps must be 0 or more.")
    for flag, value in (("--stop-metric", args.stop_metric),
                        ("--stop-threshold", args.stop_threshold),
                        ("--stop-when", args.stop_when),
                        ("--stop-rollback", args.stop_rollback or None)):
        if value is not None and not args.dehaze_steps:
            raise BadInput(f"{flag} needs --dehaze-steps K (K of at least 1).")
    if args.tile is not None and args.tile < 16:
        raise BadInput("--tile must be at least 16 pixels.")
    try:
        device = pick_device(args.device)
    except ValueError as exc:
        raise BadInput(str(exc)) from exc
    if args.tile is None:  # the device's default (see core.device.default_tiling)
        from xrayview.core.device import default_tiling

        args.tile = default_tiling(device)[0]
    film = load_film_quietly(args.input)
    check_destination(args.output, film)
    try:
        net = None if args.model == "none" else load_model(args.model, device="cpu")
        dnet = load_model("dehaze", device="cpu") if args.dehaze_steps else None
    except WeightsError as exc:
        raise BadInput(str(exc)) from exc

    state: dict = {}
    t0 = time.perf_counter()
    events: list[str] = []
    ensemble = getattr(args, "self_ensemble", False)
    if ensemble and net is None:
        raise BadInput("--self-ensemble needs a network (--model srcnn or vdsr).")
    gen = super_resolve(film, net if net is not None else "none", scale, device=device,
                        tile=args.tile, self_ensemble=ensemble)
    while True:
        try:
            p = next(gen)
        except StopIteration as stop:
            image = stop.value
            break
        if p.event:
            events.append(p.event)
        eta = f", about {p.eta_s:.0f} s left" if p.eta_s else ""
        what = f"{args.model} x{scale}" + (" (self-ensemble x8)" if ensemble else "")
        _enhance_progress(f"{what}: tile {p.done}/{p.total} ({p.fraction:.0%}), "
                          f"{p.elapsed_s:.1f} s{eta}", state, final=p.fraction >= 1.0)
    t_sr = time.perf_counter() - t0
    steps, reason, rule = [], "", None
    if dnet is not None:
        rule = _stop_rule(args, image)
        gen = dehaze_steps(image, dnet, rule, device=device)
        while True:
            try:
                s = next(gen)
            except StopIteration as stop:
                image = stop.value
                break
            steps.append({"step": s.step, "stopped": s.stopped, "reason": s.reason,
                          "metrics": {k: _finite(v) for k, v in s.metrics.items()}})
            reason = s.reason or reason
            _enhance_progress(f"dehazing: step {s.step} of at most {args.dehaze_steps}, "
                              f"SSIM against its input {s.metrics['ssim_input']:.4f}", state,
                              final=True)
    _enhance_progress(None, state)
    description = describe_enhancement(net if net is not None else "none", scale, dehaze=dnet,
                                       dehaze_steps_run=len(steps),
                                       stop_threshold=rule.threshold if rule else None,
                                       stop_reason=reason, self_ensemble=ensemble)
    out_path = save_film(image, args.output, film, scale=scale, description=description,
                         deidentify=getattr(args, "deidentify", False))
    total = time.perf_counter() - t0
    if not args.json:
        print(f"xrayview: wrote {out_path} ({image.shape[1]} x {image.shape[0]}; "
              f"{description}; {total:.1f} s)")
        return EXIT_OK
    nr = lambda img: {"mean_brightness": metrics.mean_brightness(img),  # noqa: E731
                      "rms_contrast": metrics.rms_contrast(img),
                      "mean_gradient": metrics.mean_gradient(img)}
    report: dict[str, Any] = {
        "input": str(args.input), "output": str(out_path), "model": args.model,
        "weights_sha256": getattr(net, "weights_sha256", None), "scale": scale,
        "device": str(device), "tile": args.tile, "description": description,
        "input_size": list(film.shape), "output_size": list(image.shape),
        "seconds": {"super_resolution": round(t_sr, 3), "total": round(total, 3)},
        "events": events,
        "metrics": {"input": nr(film.pixels), "output": nr(image)},
        "dehazing": None if rule is None else {
            "weights_sha256": getattr(dnet, "weights_sha256", None),
            "stop_rule": {k: v for k, v in rule.snapshot().items()},
            "steps": steps, "stop_reason": reason},
    }
    if net is not None or steps:
        bicubic = upsample(film.pixels, scale)
        report["metrics"]["vs_bicubic"] = {"psnr": _finite(metrics.psnr(bicubic, image)),
                                           "ssim": metrics.ssim(bicubic, image)}
    print(json.dumps(report, indent=2))
    return EXIT_OK
