"""Training loop for SRCNN, VDSR and the dehazer (CPU, one GPU, or DDP under torchrun).

``train(cfg)`` is a generator: it yields a ``TrainProgress`` per iteration (loss, ETA and,
every ``val_every`` iterations, the validation gain over the degraded input) and returns
a ``TrainResult``. Several GPUs or machines: run the same command under
``torchrun --nproc_per_node=N -m xrayview train ...``; each rank samples its own batches
(seed + rank), gradients are averaged by DistributedDataParallel, rank 0 validates and
writes checkpoints and weights.

Dehazer batches: whole-film views resized to ``patch`` pixels (``extract_film_views``),
veiled by ``degrade.veil_batch`` (a ``clean_fraction`` of them left clean); with
``unroll`` K > 1 the model is applied K times in succession, as the viewer applies it
step by step, and the loss is the mean over the K iterates: the first step is taught to
remove the whole veil and the later ones to leave a dehazed (or clean) film alone. The
validation scores the last iterate.
Super-resolution batches: uint16 patches of ``patch`` pixels (a multiple of 12, so every
scale in {2, 3, 4} divides it) are degraded on the fly (``degrade.low_resolution_pair``,
one random scale per batch), flipped/rotated, and the L1 loss is taken over the patch
less a ``loss_border`` frame. With ``degradation="realistic"`` or ``"lossy"`` the inputs
come from ``core.quality.realistic`` (that mixture of blur, random kernel, noise, JPEG)
instead, and validation reports the gain per scale and evaluation protocol (``validate_protocols``).
Campaigns: ``init`` warm-starts, ``chunk_minutes`` ends a run resumably, ``resume``
continues it exactly (checkpoints carry the random states; see ``train``).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Generator

import numpy as np
import torch
import torch.nn.functional as F

from xrayview.core.training.dataset import PatchBank, extract_film_views, extract_patches, load_split
from xrayview.core.quality.degrade import low_resolution_pair, upscale
from xrayview.core.quality.realistic import (PROFILES, PROTOCOLS, protocol_low_resolution,
                                             realistic_pair)
from xrayview.core.quality.veils import VEIL_FAMILIES, veil_mixture_batch
from xrayview.core.device import autocast_dtype, pick_device
from xrayview.core.models import registry
from xrayview.core.nets import ARCHITECTURES

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Hyperparameters of one training run (all JSON-serialisable)."""

    arch: str
    data_dir: str
    split_file: str = "models/data_split.json"
    out_dir: str = "models"
    iterations: int = 2000
    batch: int = 16
    patch: int = 108
    loss_border: int = 6
    per_film: int = 64
    val_per_film: int = 8
    lr: float = 5e-4
    lr_min: float = 1e-5
    scales: list[int] = field(default_factory=lambda: [2, 3, 4])
    seed: int = 0
    val_every: int = 200
    checkpoint_every: int = 200
    max_minutes: float | None = None
    device: str = "auto"
    threads: int | None = None
    resume: str | None = None
    mixed_precision: str = "auto"  # "auto": bf16 autocast where the hardware has it; "off"
    clean_fraction: float = 0.2  # dehazer: share of training views left unveiled
    unroll: int = 1  # dehazer: loss over this many successive applications (>= 1)
    kwargs: dict = field(default_factory=dict)
    # super-resolution inputs: "bicubic" (clean protocol only), "realistic" or "lossy"
    # (core.quality.realistic.PROFILES: blur, random kernel, noise, JPEG;
    # sr_clean_fraction clean)
    degradation: str = "bicubic"
    sr_clean_fraction: float = 0.3
    init: str | None = None  # warm start: a weights file (state_dict) when not resuming
    run_name: str | None = None  # checkpoint / learning-curve name (default: arch)
    chunk_minutes: float | None = None  # stop (resumably) after this long; schedule unchanged
    val_protocols: list[str] = field(default_factory=lambda: ["clean"])
    veil_families: list[str] = field(default_factory=lambda: ["scatter"])  # dehazer


@dataclass
class TrainProgress:
    iteration: int
    total: int
    loss: float
    lr: float
    elapsed_s: float
    eta_s: float
    val_gain_db: float | None = None  # mean PSNR gain over the degraded input (validation)


@dataclass
class TrainResult:
    weights_path: str
    best_val_gain_db: float
    iterations: int
    wall_s: float


def hardware_label(device: torch.device) -> str:
    """Human description of what trained the model (CPU model and threads, or GPU name)."""
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"CPU: {cpu}, {torch.get_num_threads()} threads"


def _degrade(arch: str, hr: torch.Tensor, scale: int, gen: torch.Generator,
             clean_fraction: float = 0.2, degradation: str = "bicubic",
             rng: np.random.Generator | None = None, sr_clean_fraction: float = 0.3,
             families: tuple[str, ...] = ("scatter",)) -> torch.Tensor:
    if registry.is_dehazer(arch):
        if tuple(families) == ("scatter",):  # the original single-family stream
            from xrayview.core.quality.degrade import veil_batch

            return veil_batch(hr, generator=gen, clean_fraction=clean_fraction)
        return veil_mixture_batch(hr, gen, clean_fraction, tuple(families))
    if degradation in PROFILES:
        return realistic_pair(hr, scale, rng, sr_clean_fraction, degradation)
    return low_resolution_pair(hr, scale)


def _iterates(net: torch.nn.Module, x: torch.Tensor, unroll: int) -> list[torch.Tensor]:
    """The ``unroll`` successive outputs net(x), net(net(x)), ... (at least one)."""
    out = []
    for _ in range(max(1, unroll)):
        x = net(x)
        out.append(x)
    return out


def _augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    k = int(rng.integers(0, 4))
    x = np.rot90(x, k, axes=(-2, -1))
    if rng.integers(0, 2):
        x = x[..., ::-1]
    return np.ascontiguousarray(x)


def validate(model: torch.nn.Module, arch: str, val: PatchBank, scales: list[int],
             border: int, device: torch.device, clean_fraction: float = 0.2,
             unroll: int = 1, families: tuple[str, ...] = ("scatter",)) -> float:
    """PSNR gain (dB) of the model over its degraded input on validation patches.

    Super-resolution: the mean of per-patch gains. Dehazing: the gain of the pooled mean
    squared errors (clean validation films have zero input error) after ``unroll``
    successive applications, with ``clean_fraction`` of the films left clean.
    """
    gen = torch.Generator().manual_seed(1234)
    gains = []
    model.eval()
    with torch.no_grad():
        for s in scales if not registry.is_dehazer(arch) else [1]:
            hr = torch.from_numpy(val.batch(np.arange(len(val.patches))))
            for chunk in torch.split(hr, 32):
                x = _degrade(arch, chunk, s, gen, clean_fraction, families=families)
                y = _iterates(model, x.to(device), unroll if registry.is_dehazer(arch) else 1)[-1]
                y = y.clamp(0, 1).cpu()
                sl = (..., slice(border, -border), slice(border, -border))
                mse_in = F.mse_loss(x[sl], chunk[sl], reduction="none").mean(dim=(1, 2, 3))
                mse_out = F.mse_loss(y[sl], chunk[sl], reduction="none").mean(dim=(1, 2, 3))
                gains.append(torch.stack([mse_in, mse_out], 1))
    model.train()
    mse = torch.cat(gains).double()
    if registry.is_dehazer(arch):
        # some validation films are left clean (input error 0): pool the errors, so a
        # model that alters clean films is penalised by how much, not by an infinite ratio
        return float(10 * torch.log10(mse[:, 0].mean() / mse[:, 1].mean().clamp_min(1e-12)))
    return float((10 * torch.log10((mse[:, 0] + 1e-12) / (mse[:, 1] + 1e-12))).mean())


def validate_protocols(model: torch.nn.Module, val: PatchBank, scales: list[int],
                       protocols: list[str], border: int, device: torch.device
                       ) -> dict[str, float]:
    """Super-resolution: mean PSNR gain (dB) over bicubic per "x{s}/{protocol}" on the
    validation patches, each protocol's low-resolution input as in evaluation
    (``realistic.protocol_low_resolution``, seeded by patch index)."""
    out = {}
    model.eval()
    sl = (..., slice(border, -border), slice(border, -border))
    with torch.no_grad():
        hr_all = torch.from_numpy(val.batch(np.arange(len(val.patches))))
        for s in scales:
            for protocol in protocols:
                xs = torch.stack([upscale(torch.from_numpy(protocol_low_resolution(
                    hr_all[i, 0].numpy(), s, protocol, seed=i))[None, None], s,
                    size=tuple(hr_all.shape[-2:]))[0].clamp(0, 1)
                    for i in range(len(hr_all))])
                gains = []
                for x, hr in zip(torch.split(xs, 32), torch.split(hr_all, 32)):
                    y = model(x.to(device)).clamp(0, 1).cpu()
                    mse_in = F.mse_loss(x[sl], hr[sl], reduction="none").mean(dim=(1, 2, 3))
                    mse_out = F.mse_loss(y[sl], hr[sl], reduction="none").mean(dim=(1, 2, 3))
                    gains.append(10 * torch.log10((mse_in.double() + 1e-12)
                                                  / (mse_out.double() + 1e-12)))
                out[f"x{s}/{protocol}"] = float(torch.cat(gains).mean())
    model.train()
    return out


def _rng_state(rng: np.random.Generator, gen: torch.Generator) -> dict:
    return {"numpy": json.dumps(rng.bit_generator.state), "torch_gen": gen.get_state(),
            "torch_global": torch.get_rng_state()}


def _restore_rng(state: dict, rng: np.random.Generator, gen: torch.Generator) -> None:
    rng.bit_generator.state = json.loads(state["numpy"])
    gen.set_state(state["torch_gen"])
    torch.set_rng_state(state["torch_global"])


def append_curve(path: Path, point: dict) -> list[dict]:
    """Append one learning-curve point to the JSON list at ``path`` (atomic); returns all."""
    points = json.loads(path.read_text()) if path.is_file() else []
    points = [p for p in points if p["iteration"] < point["iteration"]] + [point]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(points, indent=1) + "\n")
    os.replace(tmp, path)
    return points


def _save_atomic(obj, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _check(cfg: TrainConfig) -> None:
    if cfg.arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {cfg.arch!r}; choose from {sorted(ARCHITECTURES)}")
    if cfg.patch % 12:
        raise ValueError("patch must be a multiple of 12 so scales 2, 3 and 4 divide it")
    if not 0.0 <= cfg.clean_fraction < 1.0:
        raise ValueError("clean_fraction must be in [0, 1)")
    if cfg.unroll < 1:
        raise ValueError("unroll must be at least 1")
    if cfg.degradation != "bicubic" and cfg.degradation not in PROFILES:
        raise ValueError(f"degradation must be 'bicubic' or one of {', '.join(PROFILES)}")
    if not cfg.veil_families or set(cfg.veil_families) - set(VEIL_FAMILIES):
        raise ValueError(f"veil_families must be some of {VEIL_FAMILIES}")
    unknown = set(cfg.val_protocols) - set(PROTOCOLS)
    if unknown:
        raise ValueError(f"unknown validation protocols {sorted(unknown)}; one of {PROTOCOLS}")


def train(cfg: TrainConfig) -> Generator[TrainProgress, None, TrainResult]:
    """Train ``cfg.arch`` on the train split; yields progress, returns where weights went.

    Checkpoints (``<out>/checkpoints/<run>_last.pt`` and ``_best.pt``) hold the weights,
    the optimiser, the iteration, the random states and the CPU/GPU-hours used so far, so
    ``resume`` continues the same run bit-for-bit in its sampling; with
    ``chunk_minutes`` a run stops resumably after that long (the learning-rate schedule
    follows the iterations, not the chunk). Each validation appends a point to
    ``<run>_curve.json`` (iteration, device-hours, gain per scale and protocol).
    """
    _check(cfg)
    is_dehazer = registry.is_dehazer(cfg.arch)
    unroll = cfg.unroll if is_dehazer else 1
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = pick_device(cfg.device)
    if world > 1:
        import torch.distributed as dist

        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
    torch.manual_seed(cfg.seed + rank)
    rng = np.random.default_rng(cfg.seed + rank)
    gen = torch.Generator().manual_seed(cfg.seed + rank)

    data_dir = Path(cfg.data_dir)
    split = load_split(Path(cfg.split_file))
    if is_dehazer:  # whole-film views (see extract_film_views)
        bank = extract_film_views(data_dir, split["train"], cfg.patch, cfg.per_film, cfg.seed)
        val = extract_film_views(data_dir, split["val"], cfg.patch, cfg.val_per_film,
                                 cfg.seed + 99)
    else:
        bank = extract_patches(data_dir, split["train"], cfg.patch, cfg.per_film, cfg.seed)
        val = extract_patches(data_dir, split["val"], cfg.patch, cfg.val_per_film, cfg.seed + 99)
    log.info("patches: %d train, %d validation", len(bank.patches), len(val.patches))

    model = ARCHITECTURES[cfg.arch](**cfg.kwargs).to(device)
    model = model.to(memory_format=torch.channels_last)
    amp = autocast_dtype(device, "fp32" if cfg.mixed_precision == "off" else "bf16") if getattr(model, "autocast_safe", True) else None
    log.info("training %s on %s, autocast %s", cfg.arch, device, amp)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    start_it, best_gain, hours_before = 0, -float("inf"), 0.0
    out_dir = Path(cfg.out_dir)
    run = cfg.run_name or cfg.arch
    ckpt_path = out_dir / "checkpoints" / f"{run}_last.pt"
    best_path = out_dir / "checkpoints" / f"{run}_best.pt"
    curve_path = out_dir / "checkpoints" / f"{run}_curve.json"
    if cfg.resume:
        ck = torch.load(cfg.resume, map_location=device, weights_only=True)
        model.load_state_dict(ck["model"])
        if "optimizer" in ck:
            opt.load_state_dict(ck["optimizer"])
            start_it = int(ck["iteration"])
        best_gain = float(ck.get("best_gain", best_gain))
        hours_before = float(ck.get("device_hours", 0.0))
        if "rng" in ck:
            _restore_rng(ck["rng"], rng, gen)
    elif cfg.init:
        init = torch.load(cfg.init, map_location=device, weights_only=True)
        model.load_state_dict(init["model"] if "model" in init else init)
    elif hasattr(model, "break_identity"):
        model.break_identity()  # a fresh dehazer: give the veil level a gradient
    net = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    threads = 1 if device.type == "cuda" else torch.get_num_threads()

    def state(it_done: int, best: float, elapsed_s: float) -> dict:
        return {"model": model.state_dict(), "optimizer": opt.state_dict(),
                "iteration": it_done, "best_gain": best, "rng": _rng_state(rng, gen),
                "device_hours": hours_before + elapsed_s / 3600 * threads,
                "config": json.dumps(asdict(cfg))}

    b = cfg.loss_border

    def validation() -> tuple[float, dict]:
        if is_dehazer or cfg.val_protocols == ["clean"]:
            g = validate(model, cfg.arch, val, cfg.scales, b, device, cfg.clean_fraction, unroll,
                         tuple(cfg.veil_families))
            distinct = list(dict.fromkeys(cfg.veil_families))  # a family may be listed twice
            families = distinct if is_dehazer and len(distinct) > 1 else []
            per_family = {f: validate(model, cfg.arch, val, cfg.scales, b, device,
                                      cfg.clean_fraction, unroll, (f,)) for f in families}
            return g, {**per_family, "mean": g}  # mean: the mixture, as trained
        gains = validate_protocols(model, val, cfg.scales, cfg.val_protocols, b, device)
        g = float(np.mean(list(gains.values())))
        return g, {**gains, "mean": g}

    if rank == 0 and start_it == 0 and cfg.init:  # where the warm start begins
        _, gains = validation()
        append_curve(curve_path, {"iteration": 0, "device_hours": 0.0,
                                  "hardware": hardware_label(device), "gains": gains})
    t0 = time.perf_counter()
    it = start_it
    for it in range(start_it, cfg.iterations):
        # cosine decay over the run: iterations, or the time budget if that comes first
        frac = it / cfg.iterations
        if cfg.max_minutes:
            frac = max(frac, (time.perf_counter() - t0) / (cfg.max_minutes * 60))
        lr = float(cfg.lr_min + 0.5 * (cfg.lr - cfg.lr_min) * (1 + np.cos(np.pi * min(frac, 1.0))))
        for group in opt.param_groups:
            group["lr"] = lr
        idx = rng.integers(0, len(bank.patches), cfg.batch)
        hr = torch.from_numpy(_augment(bank.batch(idx), rng))
        scale = int(rng.choice(cfg.scales))  # one scale per batch
        x = _degrade(cfg.arch, hr, scale, gen, cfg.clean_fraction, cfg.degradation, rng,
                     cfg.sr_clean_fraction, tuple(cfg.veil_families))
        x = x.to(device, memory_format=torch.channels_last)
        hr = hr.to(device)
        with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
            ys = _iterates(net, x, unroll)
        loss = sum(F.l1_loss(y[..., b:-b, b:-b].float(), hr[..., b:-b, b:-b])
                   for y in ys) / len(ys)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

        elapsed = time.perf_counter() - t0
        done = it + 1 - start_it
        eta = elapsed / done * (cfg.iterations - it - 1)
        gain = None
        last = it + 1 == cfg.iterations
        out_of_time = cfg.max_minutes is not None and elapsed > cfg.max_minutes * 60
        chunk_over = cfg.chunk_minutes is not None and elapsed > cfg.chunk_minutes * 60
        if rank == 0 and ((it + 1) % cfg.val_every == 0 or last or out_of_time or chunk_over):
            gain, gains = validation()
            elapsed = time.perf_counter() - t0
            st = state(it + 1, max(best_gain, gain), elapsed)
            append_curve(curve_path, {"iteration": it + 1, "device_hours": st["device_hours"],
                                      "hardware": hardware_label(device), "gains": gains})
            if gain > best_gain or not best_path.exists():  # (a first -inf/NaN still counts)
                best_gain = gain if gain > best_gain else best_gain
                _save_atomic(st, best_path)
            _save_atomic(st, ckpt_path)
        elif rank == 0 and (it + 1) % cfg.checkpoint_every == 0:
            _save_atomic(state(it + 1, best_gain, elapsed), ckpt_path)
        yield TrainProgress(it + 1, cfg.iterations, loss.item(), lr, elapsed, eta, gain)
        if out_of_time:
            log.info("stopping at the time budget of %.1f min", cfg.max_minutes)
            break
        if chunk_over:
            log.info("chunk of %.1f min done at iteration %d; resume from %s",
                     cfg.chunk_minutes, it + 1, ckpt_path)
            break

    wall = time.perf_counter() - t0
    weights = out_dir / f"{run}.pt"
    if rank == 0:
        best = torch.load(best_path, map_location="cpu", weights_only=True)
        _save_atomic(best["model"], weights)
    if world > 1:
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()
    return TrainResult(str(weights), best_gain, it + 1, wall)
