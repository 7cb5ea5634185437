"""The campaign's learning curve: docs/evaluation/learning_curve.png from every run's
models/campaign/checkpoints/<run>_curve.json (validation gain per scale and protocol
against device-hours; super-resolution runs above, dehazer runs below), plus a markdown
table of each run's latest and best points.

Usage: python scripts/campaign_report.py [--campaign models/campaign] [--out docs/evaluation]
"""

import argparse
import json
from pathlib import Path

from PIL import Image

from xrayview.core.evaluation.figures import learning_curve

ap = argparse.ArgumentParser()
ap.add_argument("--campaign", default="models/campaign")
ap.add_argument("--out", default="docs/evaluation")
args = ap.parse_args()
series, rows = {}, []
for path in sorted(Path(args.campaign, "checkpoints").glob("*_curve.json")):
    run = path.name[: -len("_curve.json")]
    points = json.loads(path.read_text())
    keys = [k for k in points[-1]["gains"] if k != "mean"] or ["mean"]
    for key in points[-1]["gains"]:
        if key in keys:
            series[f"{run} {key.split('/')[-1]}"] = [(p["device_hours"], p["gains"][key])
                                                    for p in points if key in p["gains"]]
    best = max(points, key=lambda p: p["gains"]["mean"])
    rows.append(f"| {run} | {points[-1]['iteration']} | {points[-1]['device_hours']:.2f} | "
                + ", ".join(f"{k} {v:+.3f}" for k, v in points[-1]["gains"].items()) + " | "
                + f"{best['iteration']}: mean {best['gains']['mean']:+.3f} | "
                + points[-1].get("hardware", "") + " |")
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
dehazer = {k: v for k, v in series.items() if k.startswith("dehaze")}
panels = [learning_curve({k: v for k, v in series.items() if k not in dehazer},
                         "xrayview CPU training campaign (validation split): super-resolution",
                         y_label="validation gain over bicubic (dB)"),
          learning_curve(dehazer, "xrayview CPU training campaign (validation split): dehazer",
                         y_label="validation gain over the veiled input (dB)")]
figure = Image.new("RGB", (panels[0].width, sum(p.height for p in panels)), "white")
for i, panel in enumerate(panels):
    figure.paste(panel, (0, i * panels[0].height))
figure.save(out / "learning_curve.png")
table = ["| run | iteration | device-hours | latest validation gains (dB) | best (mean) | hardware |",
         "| --- | ---: | ---: | --- | --- | --- |", *rows]
(out / "learning_curve.md").write_text("\n".join(table) + "\n")
print("\n".join(table))
