"""Promote a campaign run's best checkpoint to shipped weights — only if it beats the
weights now serving that scale on the validation split.

Usage: python scripts/promote_campaign.py RUN SCALE [--name vdsr-x2] [--data ../shared/data/cxr]
       [--checkpoint best|last] [--judge-on jpeg75 jpeg90 noisy]
Super-resolution runs become scale-specific weights (default name "<arch>-x<SCALE>");
a dehazer run (SCALE 1) replaces the dehazer's weights, compared on the run's veil
families (pooled, unrolled validation gain, as in training).
Compares the two on the run's own validation patches and protocols
(``loop.validate_protocols``; the decision on the mean over ``--judge-on`` protocols when
given: robust weights are judged on the inputs they serve, not on clean ones). The
weights compared against are those of ``--name`` when the manifest has it (e.g. the
robust weights being replaced), else the ones serving that scale now; on a win copies the
weights to models/<name>.pt and writes its manifest entry (scales [SCALE]; the registry
then serves it at that scale only).
Exit 0 promoted, 1 not better, 2 bad input. Adds the baseline as the curve's iteration 0
when the run was warm-started from the shipped weights and has no such point.
``--stage DIR`` copies the models folder to DIR and promotes there whatever the
comparison says: a candidate to evaluate on the test split with
``XRAYVIEW_MODELS_DIR=DIR xrayview evaluate ...``, the shipped models untouched.
"""

import argparse
import datetime as dt
import json
import shutil
import sys
from pathlib import Path

import torch

from xrayview.core.models import registry
from xrayview.core.models.manifest import read_manifest, read_manifest_data, write_manifest
from xrayview.core.nets import ARCHITECTURES
from xrayview.core.training.dataset import extract_film_views, extract_patches, load_split
from xrayview.core.training.loop import hardware_label, validate, validate_protocols
from xrayview.core.training.register import full_kwargs

ap = argparse.ArgumentParser()
ap.add_argument("run")
ap.add_argument("scale", type=int)
ap.add_argument("--name", default=None)
ap.add_argument("--campaign", default="models/campaign")
ap.add_argument("--models", default="models")
ap.add_argument("--data", default="../shared/data/cxr")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--checkpoint", choices=["best", "last"], default="best",
                help="the run's best checkpoint (by its mean validation gain) or its last")
ap.add_argument("--judge-on", nargs="+", default=None, metavar="PROTOCOL",
                help="decide on the mean gain over these validation protocols only")
ap.add_argument("--stage", type=Path, default=None,
                help="promote into a copy of the models folder here, unconditionally")
args = ap.parse_args()
torch.set_num_threads(args.threads)
ck_dir = Path(args.campaign, "checkpoints")
ck_path = ck_dir / f"{args.run}_{args.checkpoint}.pt"
if not ck_path.is_file():
    sys.exit(print(f"error: no checkpoint {ck_path}", file=sys.stderr) or 2)
ck = torch.load(ck_path, map_location="cpu", weights_only=True)
cfg = json.loads(ck["config"])
name = args.name or registry.scale_variant(cfg["arch"], args.scale)
model = ARCHITECTURES[cfg["arch"]](**cfg["kwargs"])
model.load_state_dict(ck["model"])
model.eval()
split = load_split(Path(cfg["split_file"]))
cpu = torch.device("cpu")
dehazer = registry.is_dehazer(cfg["arch"])
if dehazer:
    name = args.name or registry.dehazer()
    val = extract_film_views(Path(args.data), split["val"], cfg["patch"], cfg["val_per_film"],
                             cfg["seed"] + 99)

    def measure(net, scales=None):
        return {"mean": validate(net, cfg["arch"], val, [1], cfg["loss_border"], cpu,
                                 cfg["clean_fraction"], cfg["unroll"],
                                 tuple(cfg["veil_families"]))}
else:
    val = extract_patches(Path(args.data), split["val"], cfg["patch"], cfg["val_per_film"],
                          cfg["seed"] + 99)

    def measure(net, scales=None):
        return validate_protocols(net, val, scales or [args.scale], cfg["val_protocols"],
                                  cfg["loss_border"], cpu)
ours = measure(model)
if not dehazer and name in (read_manifest(Path(args.models)) or {}):
    serving = name  # the weights this promotion would replace
    base_model = registry.load_model(name, root=Path(args.models))
else:
    serving = registry.weights_for(cfg["arch"], args.scale)
    base_model = registry.load_model(cfg["arch"], scale=None if dehazer else args.scale)
base = measure(base_model)
mean = lambda g: sum(g.values()) / len(g)  # noqa: E731
judged = [f"x{args.scale}/{p}" for p in args.judge_on or []]
if bad := [k for k in judged if k not in ours]:
    sys.exit(print(f"error: --judge-on {bad[0]} was not validated by {args.run} "
                   f"(it has {', '.join(ours)})", file=sys.stderr) or 2)
judge = (lambda g: sum(g[k] for k in judged) / len(judged)) if judged else mean  # noqa: E731
print(f"{args.run} (iteration {ck['iteration']}): "
      + ", ".join(f"{k} {v:+.3f}" for k, v in ours.items()) + f"; mean {mean(ours):+.3f} dB")
print(f"serving now ({serving}): " + ", ".join(f"{k} {v:+.3f}" for k, v in base.items())
      + f"; mean {mean(base):+.3f} dB")
curve = ck_dir / f"{args.run}_curve.json"
points = json.loads(curve.read_text()) if curve.is_file() else []
if cfg.get("init") and Path(cfg["init"]).name == f"{cfg['arch']}.pt" and \
        not any(p["iteration"] == 0 for p in points):
    base_all = measure(base_model if serving == cfg["arch"] else
                       registry.load_model(cfg["arch"]), cfg["scales"])
    points = [{"iteration": 0, "device_hours": 0.0, "hardware": "(warm start: shipped weights)",
               "gains": {**base_all, "mean": mean(base_all)}}] + points
    curve.write_text(json.dumps(points, indent=1) + "\n")
if judged:
    print(f"judged on {', '.join(judged)}: {judge(ours):+.3f} against {judge(base):+.3f} dB")
if args.stage is None and judge(ours) <= judge(base):
    print(f"not promoted: {name} would not beat {serving} on validation")
    sys.exit(1)
models = Path(args.models)
if args.stage is not None:  # a copy: the manifest and weights files, not the campaign
    args.stage.mkdir(parents=True, exist_ok=True)
    for f in models.iterdir():
        if f.is_file() and f.suffix in (".json", ".pt"):
            shutil.copy2(f, args.stage / f.name)
    models = args.stage
target = models / f"{name}.pt"
tmp = target.with_name(target.name + ".tmp")
torch.save(ck["model"], tmp)
tmp.replace(target)
manifest = read_manifest_data(models)
train_cfg = {k: v for k, v in cfg.items() if k not in ("out_dir", "resume", "device", "threads")}
manifest["models"][name] = {
    "arch": cfg["arch"], "file": target.name, "kwargs": full_kwargs(cfg["arch"], cfg["kwargs"]),
    "scales": [1] if dehazer else [args.scale], "sha256": registry.sha256_file(target),
    "training": {**train_cfg,
                 "data": "shared/data/cxr (NIH ChestX-ray14, Hannover COVID-19, Kermany pediatric)",
                 "split": "train (models/data_split.json); model selection on val",
                 "campaign_run": args.run, "iterations_run": int(ck["iteration"]),
                 "device_hours": round(float(ck.get("device_hours", 0.0)), 3),
                 "hardware": points[-1].get("hardware", hardware_label(cpu)) if points else "",
                 "promoted_on": dt.date.today().isoformat()},
    "metrics": {"validation_gain_db": {k: round(v, 4) for k, v in ours.items()},
                "replaced_validation_gain_db": {k: round(v, 4) for k, v in base.items()},
                "replaced": serving},
}
write_manifest(models, manifest)
print(f"promoted: {target} serves {cfg['arch']}"
      + ("" if dehazer else f" at x{args.scale}"))
