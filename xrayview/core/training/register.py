"""Record trained weights in ``models/manifest.json`` (arch, kwargs, sha256, provenance)."""

from __future__ import annotations

import datetime as _dt
import inspect
from dataclasses import asdict
from pathlib import Path

import torch

from xrayview.core.models import registry
from xrayview.core.models.manifest import read_manifest_data, write_manifest
from xrayview.core.nets import ARCHITECTURES
from xrayview.core.training.loop import TrainConfig, TrainResult, hardware_label




def full_kwargs(arch: str, kwargs: dict) -> dict:
    """Constructor arguments with defaults filled in, so the manifest is self-contained."""
    sig = inspect.signature(ARCHITECTURES[arch])
    out = {k: p.default for k, p in sig.parameters.items() if p.default is not p.empty}
    out.update(kwargs)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


def register_weights(cfg: TrainConfig, result: TrainResult) -> dict:
    """Add or replace the manifest entry for ``cfg.arch``; returns the entry."""
    models_dir = Path(cfg.out_dir)
    weights = Path(result.weights_path)
    manifest = read_manifest_data(models_dir)
    old = manifest["models"].get(cfg.arch, {})
    device = torch.device("cuda" if cfg.device != "cpu" and torch.cuda.is_available() else "cpu")
    train_cfg = asdict(cfg)
    for key in ("out_dir", "resume", "device", "threads"):
        train_cfg.pop(key, None)
    entry = {
        "arch": cfg.arch,
        "file": weights.name,
        "kwargs": full_kwargs(cfg.arch, cfg.kwargs),
        "scales": [1] if registry.is_dehazer(cfg.arch) else sorted(set(cfg.scales)),
        "sha256": registry.sha256_file(weights),
        "training": {
            **train_cfg,
            "data": "shared/data/cxr (NIH ChestX-ray14, Hannover COVID-19, Kermany pediatric)",
            "split": "train (models/data_split.json); model selection on val",
            "iterations_run": result.iterations,
            "wall_minutes": round(result.wall_s / 60, 1),
            "hardware": hardware_label(device),
            "best_val_gain_db": round(result.best_val_gain_db, 4),
            "trained_on": _dt.date.today().isoformat(),
        },
        "metrics": old.get("metrics", {}),
    }
    manifest["models"][cfg.arch] = entry
    write_manifest(models_dir, manifest)
    return entry
