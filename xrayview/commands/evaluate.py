"""``xrayview evaluate``: run the comparison, write CSV, markdown, JSON and figures."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path


from xrayview.commands import BadInput
from xrayview.core.dataset import load_split
from xrayview.core.device import pick_device
from xrayview.core.evaluate import (
    border_for,
    evaluate_films,
    markdown_table,
    restore,
    summarise,
)
from xrayview.core.report_figures import sr_comparison
from xrayview.core.weights import load_model


def _methods(names: list[str], device) -> dict:
    from xrayview.core.dehazing import StopRule, dehaze_steps
    from xrayview.core.enhance import drain

    methods = {}
    for name in names:
        base = name.split("+")[0]
        if base not in ("srcnn", "vdsr"):
            raise ValueError(f"unknown method {name!r}")
        if "+" in name:
            dehazer = load_model("dehaze", device=device)
            methods[name] = lambda img, m=dehazer: drain(
                dehaze_steps(img, m, StopRule(), device=device))
        else:
            net = load_model(base, device=device)
            methods[name] = lambda img, m=net: restore(m, img, device=device)
    return methods


def run_evaluation(args: argparse.Namespace) -> int:
    """Evaluate on the chosen split; returns the exit code."""
    data = Path(args.data)
    if not data.is_dir():
        raise BadInput(f"data folder {data} does not exist.")
    files = load_split(Path(args.split))[args.subset]
    if args.limit:
        files = files[: args.limit]
    device = pick_device(args.device)
    methods = _methods(args.methods, device)
    out = Path(args.out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    figure_films = set(files[:: max(1, len(files) // max(args.figures, 1))][: args.figures])
    rows, t0 = [], time.perf_counter()
    total = len(files) * len(args.scales)
    for i, res in enumerate(evaluate_films(data, files, args.scales, methods, args.crop,
                                           keep_images=lambda f: f in figure_films), 1):
        rows.append(res)
        gains = ", ".join(f"{m} {res.scores[m]['psnr'] - res.scores['bicubic']['psnr']:+.2f}"
                          for m in res.scores if m != "bicubic")
        eta = (time.perf_counter() - t0) / i * (total - i)
        print(f"[{i}/{total}] {res.film} x{res.scale}: bicubic "
              f"{res.scores['bicubic']['psnr']:.2f} dB; {gains}  (ETA {eta / 60:.1f} min)",
              file=sys.stderr, flush=True)
        if res.images:
            name = Path(res.film).stem
            fig = sr_comparison(res.images, res.scores, f"{res.film} x{res.scale} "
                                f"(crop of the scored region; border {border_for(res.scale)})")
            fig.save(out / "figures" / f"sr_{name}_x{res.scale}.png")
            res.images = {}
    with open(out / "per_film.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["film", "dataset", "scale", "method", "psnr", "ssim", "ici"])
        for r in rows:
            for m, sc in r.scores.items():
                w.writerow([r.film, r.dataset, r.scale, m, f"{sc['psnr']:.4f}",
                            f"{sc['ssim']:.5f}", f"{sc['ici']:.5f}"])
    summary = summarise(rows)
    (out / "summary.json").write_text(json.dumps(
        {"subset": args.subset, "crop": args.crop, "scales": args.scales,
         "films": len(files), "device": str(device), "summary": summary}, indent=1))
    table = markdown_table(summary, args.crop)
    (out / "table.md").write_text(table)
    print(table)
    print(f"wrote {out}/per_film.csv, table.md, summary.json, figures/ in "
          f"{(time.perf_counter() - t0) / 60:.1f} min", file=sys.stderr)
    return 0


__all__ = ["run_evaluation"]
