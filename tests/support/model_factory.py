"""Tiny randomly initialised models and a models folder with a manifest, for tests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from xrayview.core.nets import ARCHITECTURES

TINY_KWARGS = {
    "srcnn": {"features": 8, "mid_features": 4, "kernels": [3, 3, 3]},
    "vdsr": {"depth": 3, "features": 8},
    "dehaze": {"proxy_size": 16, "features": 4, "embed": 8, "heads": 2, "key_dim": 4,
               "dense": 8, "decoder_features": 4},
}


def tiny_model(arch: str, seed: int = 0) -> torch.nn.Module:
    """A small instance of ``arch`` with random weights (VDSR's last layer made non-trivial)."""
    torch.manual_seed(seed)
    model = ARCHITECTURES[arch](**TINY_KWARGS[arch])
    if arch == "vdsr":
        torch.nn.init.normal_(model.body[-1].weight, std=0.1)
    if arch == "dehaze":  # leave the identity start of the real net: perturb every parameter
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.05 * torch.randn_like(p))
    return model.eval()


def make_models_dir(root: Path, archs=("srcnn", "vdsr", "dehaze"), seed: int = 0) -> Path:
    """Write ``<arch>.pt`` state_dicts and a valid schema-1 manifest.json into ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    models = {}
    for i, arch in enumerate(archs):
        path = root / f"{arch}.pt"
        torch.save(tiny_model(arch, seed + i).state_dict(), path)
        models[arch] = {
            "arch": arch, "file": path.name, "kwargs": TINY_KWARGS[arch],
            "scales": [1] if arch == "dehaze" else [2, 3, 4],
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "training": {"note": "random weights for tests"}, "metrics": {},
        }
    (root / "manifest.json").write_text(json.dumps({"schema": 1, "models": models}, indent=2))
    return root


def add_vdsr_variant(root: Path, name: str, scale: int, seed: int) -> None:
    """Add tiny VDSR weights ``<name>.pt`` serving ``scale`` (e.g. "vdsr-x2-robust") to the
    models folder ``root`` made by ``make_models_dir``."""
    path = root / f"{name}.pt"
    torch.save(tiny_model("vdsr", seed).state_dict(), path)
    data = json.loads((root / "manifest.json").read_text())
    data["models"][name] = {"arch": "vdsr", "file": path.name, "kwargs": TINY_KWARGS["vdsr"],
                            "scales": [scale],
                            "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    (root / "manifest.json").write_text(json.dumps(data))


# the fixtures were made with these: the code before had no robust weights, so none are
# listed (the fixtures' crop of a real film is noisy enough that "auto" would choose them)
FIXTURE_MODELS = ("srcnn", "vdsr", "dehaze")
DEHAZER_BEFORE = Path(__file__).resolve().parents[1] / "data" / "dehaze_before.pt"


def models_dir_with_dehazer_before(root: Path) -> Path:
    """A copy of the shipped models folder in ``root`` with the weights the pipeline
    regression fixtures were made with: the dehazer shipped until the all-family dehazer
    replaced it (``tests/data/dehaze_before.pt``; same architecture), and the
    cross-scale ``srcnn``/``vdsr`` weights only (the per-scale and robust weights promoted
    since, e.g. ``vdsr-x4``, are left out of the manifest, so the cross-scale ones serve)."""
    shipped = Path(__file__).resolve().parents[2] / "models"
    out = root / "models_before"
    out.mkdir()
    for f in shipped.iterdir():
        if f.is_file():
            (out / f.name).write_bytes(f.read_bytes())
    weights = DEHAZER_BEFORE.read_bytes()
    (out / "dehaze.pt").write_bytes(weights)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["models"]["dehaze"]["sha256"] = hashlib.sha256(weights).hexdigest()
    manifest["models"] = {k: v for k, v in manifest["models"].items()
                          if k in FIXTURE_MODELS}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return out
