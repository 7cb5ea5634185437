"""Compute devices: list them, pick one from a user's spec, and the precision policy.

``pick_device("auto")`` prefers CUDA, then Apple MPS, then the CPU. ``autocast_dtype``
says in which reduced precision a network body may run on a device (None: float32 only);
callers keep residual additions and outputs in float32 (see ``xrayview.core.enhance.tiling``).
"""

from __future__ import annotations

import functools
import logging
import os
import re
import time
from dataclasses import dataclass

import torch

log = logging.getLogger(__name__)

_SPEC = re.compile(r"^(auto|cpu|mps|cuda)(?::(\d+))?$")
_GIB = 1024**3


@dataclass(frozen=True)
class DeviceInfo:
    """One usable device.

    ``name`` is what ``pick_device`` accepts ("cpu", "cuda:0", "mps"); ``label`` is for
    people ("NVIDIA H100 80GB HBM3, 79.1 GiB"); ``memory_gib`` is the device's total
    memory (None for the CPU and MPS, whose memory is the system's).
    """

    name: str
    label: str
    memory_gib: float | None = None


def _cpu_label() -> str:
    cores = os.cpu_count() or 1
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = cores
    return f"CPU, {usable} core{'s' if usable != 1 else ''} ({torch.get_num_threads()} threads)"


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def list_devices() -> list[DeviceInfo]:
    """Every device this process can use: CUDA GPUs (with name and memory), MPS, the CPU.

    The CPU is always last.
    """
    found: list[DeviceInfo] = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            gib = props.total_memory / _GIB
            found.append(DeviceInfo(f"cuda:{i}", f"{props.name}, {gib:.1f} GiB", round(gib, 1)))
    if _mps_available():
        found.append(DeviceInfo("mps", "Apple GPU (Metal, shared memory)"))
    found.append(DeviceInfo("cpu", _cpu_label()))
    return found


def pick_device(spec: str | torch.device = "auto") -> torch.device:
    """The torch.device for ``spec``: "auto", "cpu", "cuda", "cuda:N" or "mps".

    "auto" is CUDA (device 0), then MPS, then the CPU. A malformed spec or a device that
    is not present raises ValueError with a message fit for a user. A torch.device is
    returned as it is: the CLI and the GUI resolve a spec once and pass the device inward.
    """
    if isinstance(spec, torch.device):
        return spec  # resolved already (once, at the edge)
    text = str(spec).strip().lower()
    m = _SPEC.match(text)
    if not m or (m.group(2) is not None and m.group(1) != "cuda"):
        raise ValueError(f"unknown device {spec!r}; use auto, cpu, cuda, cuda:N or mps.")
    kind, index = m.group(1), m.group(2)
    if kind == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", 0)
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if kind == "cpu":
        return torch.device("cpu")
    if kind == "mps":
        if not _mps_available():
            raise ValueError("device 'mps' requested but Apple MPS is not available here.")
        return torch.device("mps")
    if not torch.cuda.is_available():
        raise ValueError(f"device {spec!r} requested but no CUDA GPU is available "
                         "(this PyTorch build or machine has none); use cpu or auto.")
    n = torch.cuda.device_count()
    i = int(index or 0)
    if i >= n:
        raise ValueError(f"device {spec!r} does not exist: this machine has {n} CUDA "
                         f"GPU{'s' if n != 1 else ''} (cuda:0 .. cuda:{n - 1}).")
    return torch.device("cuda", i)


PRECISIONS = ("auto", "fp32", "bf16")


def _kind(device: torch.device | str) -> torch.device:
    """``device`` as a torch.device for a policy that depends only on its kind ("auto" is
    resolved; "mps" or "cuda:3" need not be present)."""
    return pick_device(device) if str(device).strip().lower() == "auto" else torch.device(device)


def cpu_bf16_native() -> bool:
    """Whether this CPU runs bfloat16 natively (AVX-512 BF16 or AMX), as oneDNN sees it."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported())
    except AttributeError:  # an older torch without the query
        return False


@functools.lru_cache(maxsize=1)
def cpu_bf16_speedup() -> float:
    """fp32 time / bf16-autocast time of a small VDSR-like convolution stack on this CPU
    (64 channels, 3 x 3, channels-last, 96 x 96), best of 3 each: measured once per
    process (~0.2 s) and cached. 0.0 where bf16 is not native."""
    if not cpu_bf16_native():
        return 0.0
    gen = torch.Generator().manual_seed(0)
    layers = torch.nn.Sequential(*[torch.nn.Conv2d(64, 64, 3, padding=1) for _ in range(4)])
    layers = layers.eval().to(memory_format=torch.channels_last)
    x = torch.randn(1, 64, 96, 96, generator=gen).to(memory_format=torch.channels_last)

    def best(dtype: torch.dtype | None) -> float:
        times = []
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16,
                                                    enabled=dtype is not None):
            layers(x)  # warm-up: kernel selection
            for _ in range(3):
                t0 = time.perf_counter()
                layers(x)
                times.append(time.perf_counter() - t0)
        return min(times)

    ratio = best(None) / max(best(torch.bfloat16), 1e-9)
    log.info("CPU bf16 autocast vs fp32 on a probe convolution: %.2fx", ratio)
    return ratio


CPU_BF16_MIN_SPEEDUP = 1.2  # "auto" uses bf16 on a CPU only when the probe is this much faster


def autocast_dtype(device: torch.device | str, mode: str = "auto") -> torch.dtype | None:
    """THE precision policy: the reduced precision a network body runs in, or None (fp32).

    mode "fp32": None. "bf16": bfloat16 where the hardware runs it natively (a CUDA GPU
    with bf16, else float16; a CPU with AVX-512 BF16 or AMX), else None - what training
    uses. "auto" (inference default): as "bf16" on CUDA; on a CPU with native bf16 only
    when a one-time probe (:func:`cpu_bf16_speedup`) finds it at least
    ``CPU_BF16_MIN_SPEEDUP`` times faster than fp32 (some CPUs report bf16 support and run
    it slower), else fp32; None on MPS (its autocast is not tested). Callers keep residual
    additions and outputs in float32.
    """
    if mode not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {mode!r}")
    dev = _kind(device)
    if mode == "fp32" or dev.type not in ("cpu", "cuda"):
        return None
    if dev.type == "cpu":
        if not cpu_bf16_native():
            return None
        if mode == "auto" and cpu_bf16_speedup() < CPU_BF16_MIN_SPEEDUP:
            return None
        return torch.bfloat16
    try:
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    except (RuntimeError, AssertionError):  # pragma: no cover - an odd driver state
        log.debug("bf16 support query failed; using float16", exc_info=True)
        return torch.float16


def default_tiling(device: torch.device | str) -> tuple[int, int]:
    """(tile, batch) for tiled inference on ``device`` when the caller does not choose.

    CPU: 1024-pixel tiles one at a time. Batching buys a CPU nothing (oneDNN already
    spreads one tile over all cores), while a larger tile wastes less on its halo (VDSR's
    11-pixel halo costs 4% at 1024, 9% at 512) and one 1024 tile of 64 float32 channels
    is ~0.3 GB per activation, so a x2 of a 2048 film stays well under 2.5 GB.
    CUDA: 2048-pixel tiles four at a time: a x2 of a 2048 film is one batch, enough work
    to fill a large GPU. Other devices (MPS): 512 x 4, as before.
    """
    dev = _kind(device)
    if dev.type == "cpu":
        return 1024, 1
    if dev.type == "cuda":
        return 2048, 4
    return 512, 4


def device_label(device: torch.device | str) -> str:
    """A human label for one device (as ``list_devices`` gives it)."""
    name = str(pick_device(device))
    if name == "cuda":
        name = "cuda:0"
    for info in list_devices():
        if info.name == name:
            return info.label
    return name
