"""``xrayview evaluate``: run the comparison, write CSV, markdown, JSON and figures."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path


from xrayview.commands import BadInput
from xrayview.core.device import pick_device
from xrayview.core.evaluation.figures import sr_comparison
from xrayview.core.evaluation.methods import parse_method
from xrayview.core.evaluation.super_resolution import (
    border_for,
    evaluate_films,
    markdown_table,
    summarise,
)
from xrayview.core.models import registry
from xrayview.core.training.dataset import load_split


def _dehaze_evaluation(args, data: Path, files: list[str], out: Path, device) -> str:
    """Veiled and clean test films through the dehazer; writes dehaze.md/.csv and a figure."""
    from xrayview.core.evaluation.dehazing import dehaze_film, dehaze_table, evaluate_dehazing
    from xrayview.core.evaluation.figures import panel_row, stack_rows, to_gray8
    from xrayview.core.io import load_film

    model = registry.load_model(registry.dehazer())
    if args.dehaze_films:
        files = files[:: max(1, len(files) // args.dehaze_films)][: args.dehaze_films]
    rows = []
    # whole films: the dehazer works on a small copy of the entire film (a veil is a
    # property of the film), and it is cheap enough at full size even on a CPU
    positive = [s for s in args.dehaze_strengths if s > 0]
    total = len(files) * (len(positive) * len(args.veil_families)
                          + (len(positive) < len(args.dehaze_strengths)))
    for i, r in enumerate(evaluate_dehazing(data, files, model, args.dehaze_strengths,
                                            None, device=device,
                                            families=args.veil_families), 1):
        rows.append(r)
        print(f"[dehaze {i}/{total}] {r.film} {r.family} strength "
              f"{r.strength:g}: {r.psnr_input:.2f} -> {r.psnr_output:.2f} dB, SSIM "
              f"{r.ssim_output:.4f}, {r.steps} steps ({r.reason})", file=sys.stderr, flush=True)
    with open(out / "dehaze_per_film.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["film", "dataset", "family", "strength", "psnr_input", "psnr_output",
                    "ssim_output", "brightness_ratio", "contrast_ratio", "steps", "stop"])
        for r in rows:
            w.writerow([r.film, r.dataset, r.family, r.strength, f"{r.psnr_input:.4f}",
                        f"{r.psnr_output:.4f}", f"{r.ssim_output:.5f}",
                        f"{r.brightness_ratio:.5f}", f"{r.contrast_ratio:.5f}", r.steps, r.reason])
    table = dehaze_table(rows)
    (out / "dehaze.md").write_text(table)
    film = files[len(files) // 2]
    truth = load_film(data / film).pixels
    step = max(1, max(truth.shape) // 384)
    scale = max(1, 384 // max(truth.shape))

    def small(label: str, img) -> tuple:
        return label, to_gray8(img[::step, ::step], scale)

    # top row: the clean film and its veiled copies; bottom row: each one dehazed
    runs = [("clean film", dehaze_film(truth, 0.0, 7, model, device=device))]
    runs += [(f"{family} veil (0.6)", dehaze_film(truth, 0.6, 7, model, device=device,
                                                  family=family))
             for family in args.veil_families]
    top = panel_row([small(label, done.film) for label, done in runs])
    bottom = panel_row([small(f"dehazed, {len(done.steps)} step(s)", done.image)
                        for _, done in runs])
    stack_rows([top, bottom], title=f"{film}: dehazing").save(out / "figures" / "dehaze.png")
    return table


def run_evaluation(args: argparse.Namespace) -> int:
    """Evaluate on the chosen split; returns the exit code."""
    data = Path(args.data)
    if not data.is_dir():
        raise BadInput(f"data folder {data} does not exist.")
    files = load_split(Path(args.split))[args.subset]
    if args.films:
        if missing := [f for f in args.films if f not in files]:
            raise BadInput(f"--films: {missing[0]} is not a film of the {args.subset} "
                           f"subset of {args.split}.")
        chosen = set(args.films)
        files = [f for f in files if f in chosen]
    if args.limit:
        files = files[: args.limit]
    if bad := [s for s in args.scales if s not in (2, 3, 4)]:
        raise BadInput(f"--scales must be 2, 3 or 4 (got {bad[0]}).")
    if not args.scales and not args.dehaze_strengths:
        raise BadInput("nothing to evaluate: give --scales and/or --dehaze-strengths.")
    device = pick_device(args.device)
    out = Path(args.out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if args.scales:
        _sr_evaluation(args, data, files, out, device)
    if args.dehaze_strengths:
        print(_dehaze_evaluation(args, data, files, out, device))
    print(f"wrote {out}/ in {(time.perf_counter() - t0) / 60:.1f} min", file=sys.stderr)
    return 0


def _sr_evaluation(args, data: Path, files: list[str], out: Path, device) -> None:
    """Bicubic vs the chosen methods at each scale: per_film.csv, table.md, summary.json."""
    try:
        methods = [parse_method(m).name for m in args.methods]
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    for name in {parse_method(m).model for m in methods} | (
            {registry.dehazer()} if any(parse_method(m).dehaze for m in methods) else set()):
        registry.model_entry(name)  # missing weights: one line before any work
    figure_films = set(files[:: max(1, len(files) // max(args.figures, 1))][: args.figures])
    rows, t0 = [], time.perf_counter()
    total = len(files) * len(args.scales) * len(args.protocols)
    for i, res in enumerate(evaluate_films(data, files, args.scales, methods, args.crop,
                                           keep_images=lambda f: f in figure_films,
                                           device=device, protocols=args.protocols,
                                           weights=args.weights), 1):
        rows.append(res)
        gains = ", ".join(f"{m} {res.scores[m]['psnr'] - res.scores['bicubic']['psnr']:+.2f}"
                          for m in res.scores if m != "bicubic")
        eta = (time.perf_counter() - t0) / i * (total - i)
        print(f"[{i}/{total}] {res.film} x{res.scale} {res.protocol}: bicubic "
              f"{res.scores['bicubic']['psnr']:.2f} dB; {gains}  (ETA {eta / 60:.1f} min)",
              file=sys.stderr, flush=True)
        if res.images:
            name = Path(res.film).stem
            fig = sr_comparison(res.images, res.scores, f"{res.film} x{res.scale} "
                                f"{res.protocol} (crop of the scored region; border "
                                f"{border_for(res.scale)})")
            suffix = "" if res.protocol == "clean" else f"_{res.protocol}"
            fig.save(out / "figures" / f"sr_{name}_x{res.scale}{suffix}.png")
            res.images = {}
    with open(out / "per_film.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["film", "dataset", "scale", "protocol", "method", "psnr", "ssim", "ici",
                    "blockiness_vs_bicubic"])
        for r in rows:
            for m, sc in r.scores.items():
                w.writerow([r.film, r.dataset, r.scale, r.protocol, m, f"{sc['psnr']:.4f}",
                            f"{sc['ssim']:.5f}", f"{sc['ici']:.5f}", f"{sc['blockiness']:.4f}"])
    summary = summarise(rows)
    (out / "summary.json").write_text(json.dumps(
        {"subset": args.subset, "crop": args.crop, "scales": args.scales,
         "protocols": args.protocols, "weights": args.weights,
         "films": len(files), "device": str(device), "summary": summary}, indent=1))
    table = markdown_table(summary, args.crop)
    (out / "table.md").write_text(table)
    print(table)


__all__ = ["run_evaluation"]
