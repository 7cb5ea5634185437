"""The benchmark: FLOP counting by hand, the CLI's JSON schema, the DICOM item, GPU checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from xrayview.core.bench.runner import run_bench, time_runs
from xrayview.core.bench.items import dicom_item, synthetic_film
from xrayview.core.generators import collect, drain
from xrayview.core.enhance.super_resolution import super_resolve
from xrayview.core.bench.flops import attention_flops, count_flops
from xrayview.core.nets import VDSR, DehazeNet

REPO_ROOT = Path(__file__).resolve().parents[2]
NAMES = ["srcnn_x1", "srcnn_x2", "vdsr_x1", "vdsr_x2", "dehaze_step", "load_dicom"]


def expected_names() -> list[str]:
    """NAMES with a ``_bf16`` row after each super-resolution item whose network may run
    in bf16, on a CPU that runs bf16 natively (the rows this machine's bench gives)."""
    from xrayview.core.device import autocast_dtype
    from xrayview.core.nets import ARCHITECTURES

    names = []
    for name in NAMES:
        names.append(name)
        arch = name.split("_")[0]
        if ("_x" in name and autocast_dtype("cpu", "bf16") is not None
                and getattr(ARCHITECTURES[arch], "autocast_safe", True)):
            names.append(f"{name}_bf16")
    return names


def test_flops_of_a_hand_computable_net():
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Conv2d(2, 3, 1))
    # 2·k²·Cin·Cout·H·W: 2·9·1·2·20 + 2·1·2·3·20
    assert count_flops(net, 4, 5) == 720 + 240
    assert count_flops(net, 4, 5, batch=3) == 3 * 960
    strided = nn.Sequential(nn.Conv2d(1, 1, 3, stride=2))  # 5x5 -> 2x2 output
    assert count_flops(strided, 5, 5) == 2 * 9 * 4
    # VDSR(depth=2, features=4): convs 1->4, 4->4, 4->1, all 3x3 at the full 6x7 size
    assert count_flops(VDSR(depth=2, features=4), 6, 7) == 2 * 9 * (4 + 16 + 4) * 42


def test_flops_of_the_dehazer_count_its_proxy_and_attention():
    net = DehazeNet(proxy_size=16, features=4, embed=8, heads=2, key_dim=4, dense=8,
                    decoder_features=4)
    px = 16 * 16  # a 32 x 32 film runs on a 16 x 16 proxy: 256 tokens
    convs = 2 * 9 * (1 * 4 + 4 * 8 + 8 * 4 + 4 * 2) * px
    linears = 2 * (8 * 24 + 8 * 8 + 8 * 8) * px  # qkv, out projection, dense
    attention = attention_flops(px, heads=2, key_dim=4)
    assert attention == 4 * px * px * 2 * 4
    assert count_flops(net, 32, 32) == convs + linears + attention
    assert next(net.parameters()).device.type == "cpu"  # the original is untouched


def test_count_flops_rejects_empty_input():
    with pytest.raises(ValueError):
        count_flops(VDSR(depth=2, features=4), 0, 5)


def test_time_runs_takes_the_median_and_respects_the_budget():
    calls = []
    seconds, runs = time_runs(lambda: calls.append(1), repeats=5)
    assert runs == 5 and len(calls) == 6 and seconds >= 0  # one warm-up
    _, runs = time_runs(lambda: sum(range(10000)), repeats=5, budget_s=0.0)
    assert runs == 1


def test_synthetic_film_is_16_bit_and_deterministic():
    film = synthetic_film(64)
    assert film.dtype == np.float32 and film.shape == (64, 64)
    assert 0.0 <= film.min() and film.max() <= 1.0 and film.std() > 0.01
    assert np.allclose(film * 65535.0, np.round(film * 65535.0), atol=1e-2)  # 16-bit levels
    assert np.array_equal(film, synthetic_film(64))


def test_dicom_item_loads_a_real_generated_dicom(tmp_path):
    import pydicom  # imported here: the GPU machine runs this file's gpu tests without it

    item = dicom_item(tmp_path, 64)
    ds = pydicom.dcmread(tmp_path / "bench_film.dcm")
    assert (ds.Rows, ds.Columns, ds.BitsStored, ds.BitsAllocated) == (64, 64, 12, 16)
    assert ds.PhotometricInterpretation == "MONOCHROME2" and ds.pixel_array.max() <= 4095
    film = item.run()
    assert film.pixels.shape == (64, 64) and film.bits_stored == 12
    assert item.megapixels == pytest.approx(64 * 64 / 1e6) and item.flops is None


def test_run_bench_in_process_uses_the_generated_dicom(tmp_path):
    import pydicom

    gen = run_bench("cpu", quick=True, size=32, repeats=1, workdir=tmp_path)
    yielded, report = collect(gen)
    matmuls = ["matmul_" + k for k in report.matmul]
    assert [r.name for r in yielded] == matmuls + expected_names()
    assert [r.name for r in report.results] == expected_names()
    for r in report.results:
        if r.name.endswith("_bf16"):  # compared with the fp32 row of the same item
            assert r.precision == "bf16" and r.max_abs_vs_fp32 is not None
            assert r.psnr_vs_fp32 > 20 and r.speedup > 0
        else:
            assert r.max_abs_vs_fp32 is None and r.speedup is None
    assert pydicom.dcmread(tmp_path / "bench_film.dcm").Rows == 32
    vdsr = next(r for r in report.results if r.name == "vdsr_x2")
    assert vdsr.megapixels == pytest.approx(64 * 64 / 1e6) and vdsr.tflops > 0


def test_cli_bench_quick_json_schema():
    proc = subprocess.run([sys.executable, "-m", "xrayview", "bench", "--device", "cpu",
                           "--json", "--quick"], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["device"] == "cpu" and doc["matmul_tflops"] > 0
    assert [r["name"] for r in doc["results"]] == expected_names()
    for r in doc["results"]:
        assert {"name", "s_per_mp", "tflops", "ratio_to_matmul", "peak_rss_mb", "precision",
                "max_abs_vs_fp32", "psnr_vs_fp32", "speedup_vs_fp32"} <= set(r)
        assert r["s_per_mp"] > 0 and r["peak_rss_mb"] > 0
        if r["name"] == "load_dicom":  # no arithmetic is counted for loading
            assert r["tflops"] is None and r["ratio_to_matmul"] is None
        else:
            assert r["tflops"] > 0 and r["ratio_to_matmul"] > 0


def test_cli_bench_bad_device_is_bad_input():
    proc = subprocess.run([sys.executable, "-m", "xrayview", "bench", "--device", "tpu"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "unknown device" in proc.stderr


@pytest.mark.gpu
def test_cuda_low_precision_within_1e3_of_fp32():
    """VDSR x2 on CUDA: the bf16/fp16 body with a float32 residual stays within 1e-3 of
    fp32 (trained weights where present; else a random VDSR with a trained-size residual)."""
    from xrayview.core.models.registry import WeightsError, load_model

    try:
        net = load_model("vdsr", device="cpu")
    except WeightsError:
        torch.manual_seed(0)
        net = VDSR().eval()
        nn.init.normal_(net.body[-1].weight, std=2e-3)
    film = synthetic_film(512)
    torch.backends.cudnn.allow_tf32 = False
    ref = drain(super_resolve(film, net, 2, device="cuda", precision="fp32"))
    low = drain(super_resolve(film, net, 2, device="cuda"))
    assert low.dtype == np.float32 and np.abs(low - ref).max() < 1e-3


@pytest.mark.gpu
def test_cuda_default_tiling_equals_whole():
    torch.manual_seed(0)
    net = VDSR().eval()
    nn.init.normal_(net.body[-1].weight, std=0.05)
    film = synthetic_film(1200)  # x2: 2400 pixels, two 2048-pixel-class tiles per axis
    torch.backends.cudnn.allow_tf32 = False
    tiled = drain(super_resolve(film, net, 2, device="cuda", precision="fp32"))
    whole = drain(super_resolve(film, net, 2, device="cuda", tile=2400, precision="fp32"))
    assert np.abs(tiled - whole).max() < 1e-5
