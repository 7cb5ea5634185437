"""``xrayview enhance``: super-resolve and/or dehaze one film and save it."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xrayview.commands import EXIT_OK, BadInput

if TYPE_CHECKING:
    from xrayview.core.enhance.recipe import Recipe


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


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, infinity) replaced by None: JSON has
    no such numbers, and ``json.dumps`` would write NaN/Infinity."""
    if isinstance(value, float):
        return _finite(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def _base_recipe(path: str) -> Recipe:
    """The recipe in ``path``: a JSON recipe (``Recipe.to_dict``, or a whole provenance
    object) or a film exported by xrayview, whose provenance holds one."""
    from xrayview.core.enhance.recipe import Recipe, RecipeError
    from xrayview.core.io.provenance import read_provenance

    source = Path(path)
    if not source.is_file():
        raise BadInput(f"recipe file {source.name} does not exist (or is not a file).")
    if source.suffix.lower() == ".json":
        if source.stat().st_size > 1 << 20:
            raise BadInput(f"recipe file {source.name} is too large for a recipe.")
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise BadInput(f"recipe file {source.name} is not valid JSON ({exc}).") from None
    else:
        data = read_provenance(source)
        if data is None:
            raise BadInput(f"{source.name} holds no xrayview recipe (not an xrayview export).")
    if isinstance(data, dict) and isinstance(data.get("recipe"), dict):
        data = data["recipe"]  # a whole provenance object
    try:
        return Recipe.from_dict(data)
    except RecipeError as exc:
        raise BadInput(f"{source.name}: {exc}") from None


def recipe_from_args(args: argparse.Namespace) -> Recipe:
    """The Recipe of ``xrayview enhance``'s options (over ``--recipe FILE`` when given:
    options given on the command line replace the recipe's fields)."""
    from xrayview.core.enhance.recipe import Dehazing, Recipe, RecipeError
    from xrayview.core.models import registry

    base = _base_recipe(args.recipe) if args.recipe else None
    model = args.model or (base.model if base else registry.super_resolution_models()[-1])
    scale = args.scale if args.scale is not None else (
        base.scale if base and not args.model else (1 if model == "none" else 2))
    steps = args.dehaze_steps
    if steps is not None and steps < 0:
        raise BadInput("--dehaze-steps must be 0 or more.")
    old = base.dehazing if base else None
    dehaze = bool(steps) if steps is not None else old is not None
    for flag, value in (("--stop-metric", args.stop_metric),
                        ("--stop-threshold", args.stop_threshold),
                        ("--stop-when", args.stop_when),
                        ("--stop-rollback", args.stop_rollback or None),
                        ("--no-diverging-stop", args.no_diverging_stop or None)):
        if value is not None and not dehaze:
            raise BadInput(f"{flag} needs --dehaze-steps K (K of at least 1).")
    dehazing = None
    if dehaze:
        old = old or Dehazing()
        metric = args.stop_metric or old.metric
        changed_metric = metric != old.metric
        dehazing = Dehazing(
            metric=metric, max_steps=steps or old.max_steps, epsilon=old.epsilon,
            threshold=args.stop_threshold if args.stop_threshold is not None
            else (None if changed_metric else old.threshold),
            stop_below=(args.stop_when == "below") if args.stop_when is not None
            else (None if changed_metric else old.stop_below),
            rollback=args.stop_rollback or old.rollback,
            diverging=old.diverging and not args.no_diverging_stop)
    if args.tile is not None and args.tile < 16:
        raise BadInput("--tile must be at least 16 pixels.")
    ensemble = args.self_ensemble or bool(base and base.self_ensemble and not args.model)
    if ensemble and model == "none":
        raise BadInput("--self-ensemble needs a network (--model srcnn or vdsr).")
    try:
        return Recipe(model=model, scale=scale, dehazing=dehazing,
                      tile=args.tile if args.tile is not None else (base.tile if base else None),
                      batch=base.batch if base else None,
                      precision=args.precision or (base.precision if base else "auto"),
                      self_ensemble=ensemble,
                      weights=args.weights or (base.weights if base else "auto"))
    except RecipeError as exc:
        raise BadInput(str(exc)) from None


def run_enhance(args: argparse.Namespace) -> int:
    from xrayview.commands import load_film_quietly
    from xrayview.core.device import default_tiling, pick_device
    from xrayview.core.enhance.pipeline import StepDone, TileDone, enhance
    from xrayview.core.generators import drive
    from xrayview.core.io.export import check_destination, check_output_shape, save_film
    from xrayview.core.models import registry

    recipe = recipe_from_args(args)
    try:
        device = pick_device(args.device)
    except ValueError as exc:
        raise BadInput(str(exc)) from exc
    film = load_film_quietly(args.input, frame=getattr(args, "frame", 0))
    check_destination(args.output, film)
    if recipe.reference is None:
        check_output_shape(args.output, (film.shape[0] * recipe.scale,
                                         film.shape[1] * recipe.scale))
    needed = [n for n in (recipe.model, registry.dehazer() if recipe.dehaze else None)
              if n and n != registry.BICUBIC]
    for name in needed:  # fail before any work, with the one-line reason
        registry.model_entry(name)
    state: dict = {}
    what = f"{recipe.model} x{recipe.scale}" + (" (self-ensemble x8)" if recipe.self_ensemble
                                                 else "")
    max_steps = recipe.dehazing.max_steps if recipe.dehazing else 0
    t_sr: list[float] = []
    t0 = time.perf_counter()

    def show(record) -> None:
        if isinstance(record, TileDone):
            p = record.progress
            eta = f", about {p.eta_s:.0f} s left" if p.eta_s else ""
            _enhance_progress(f"{what}: tile {p.done}/{p.total} ({p.fraction:.0%}), "
                              f"{p.elapsed_s:.1f} s{eta}", state, final=p.fraction >= 1.0)
            if p.fraction >= 1.0:
                t_sr.append(time.perf_counter() - t0)
        elif isinstance(record, StepDone):
            s = record.step
            _enhance_progress(f"dehazing: step {s.step} of at most {max_steps}, SSIM "
                              f"against its input {s.metrics['ssim_input']:.4f}", state,
                              final=True)

    result = drive(enhance(film.pixels, recipe, device, measure=args.json, lossy=film.lossy),
                   show)
    _enhance_progress(None, state)
    image = result.image
    out_path = save_film(image, args.output, film, scale=recipe.scale,
                         description=result.description, deidentify=args.deidentify,
                         provenance=result.provenance())
    total = time.perf_counter() - t0
    if not args.json:
        print(f"xrayview: wrote {out_path} ({image.shape[1]} x {image.shape[0]}; "
              f"{result.description}; {total:.1f} s)")
        return EXIT_OK
    ran = result.recipe
    tile = ran.tile if ran.tile is not None else default_tiling(device)[0]
    report: dict[str, Any] = {
        "input": str(args.input), "output": str(out_path), "model": ran.model,
        "weights_sha256": result.weights.get(ran.model), "scale": ran.scale,
        "device": result.device, "tile": tile, "description": result.description,
        "recipe": ran.to_dict(),
        "input_size": list(film.shape), "output_size": list(image.shape),
        "seconds": {"super_resolution": round(t_sr[0] if t_sr else total, 3),
                    "total": round(total, 3)},
        "events": result.events,
        "metrics": {"input": result.input_metrics,
                    "output": {k: result.metrics[k] for k in result.input_metrics}},
        "dehazing": None if ran.dehazing is None else {
            "weights_sha256": result.weights.get(registry.dehazer()),
            "stop_rule": {"metric": ran.dehazing.metric, "threshold": ran.dehazing.threshold,
                          "epsilon": ran.dehazing.epsilon, "max_steps": ran.dehazing.max_steps,
                          "stop_below": ran.dehazing.stop_below,
                          "rollback": ran.dehazing.rollback,
                          "diverging": ran.dehazing.diverging},
            "steps": [{"step": s.step, "stopped": s.stopped, "reason": s.reason,
                       "metrics": {k: _finite(v) for k, v in s.metrics.items()}}
                      for s in result.steps],
            "stop_reason": result.stop_reason},
    }
    if ran.model != "none" or result.steps:
        report["metrics"]["vs_bicubic"] = {"psnr": _finite(result.metrics["psnr_vs_bicubic"]),
                                           "ssim": result.metrics["ssim_vs_bicubic"]}
    print(json.dumps(json_safe(report), indent=2, allow_nan=False))
    return EXIT_OK
