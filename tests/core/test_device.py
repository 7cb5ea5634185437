"""Device listing, choice from a user's spec, and the precision policy."""

from __future__ import annotations

import pytest
import torch

from xrayview.core.device import autocast_dtype, device_label, list_devices, pick_device


def test_list_devices_ends_with_cpu_and_names_are_pickable():
    devices = list_devices()
    assert devices[-1].name == "cpu" and "core" in devices[-1].label
    assert len({d.name for d in devices}) == len(devices)
    for d in devices:
        assert pick_device(d.name).type == d.name.split(":")[0]
        if d.name.startswith("cuda"):
            assert "GiB" in d.label and d.memory_gib > 0


def test_auto_prefers_cuda_then_mps_then_cpu():
    dev = pick_device("auto")
    if torch.cuda.is_available():
        assert dev == torch.device("cuda", 0)
    elif torch.backends.mps.is_available():
        assert dev.type == "mps"
    else:
        assert dev == torch.device("cpu")


@pytest.mark.parametrize("spec", ["cpu", "CPU", " cpu ", torch.device("cpu")])
def test_cpu_specs(spec):
    assert pick_device(spec) == torch.device("cpu")


@pytest.mark.parametrize("spec", ["gpu", "cuda:x", "cpu:1", "", "cuda:-1", "mps:0", "tpu"])
def test_bad_spec_is_a_clear_value_error(spec):
    with pytest.raises(ValueError, match="unknown device"):
        pick_device(spec)


def test_missing_cuda_is_a_clear_value_error():
    if torch.cuda.is_available():
        with pytest.raises(ValueError, match="does not exist"):
            pick_device(f"cuda:{torch.cuda.device_count()}")
    else:
        with pytest.raises(ValueError, match="no CUDA GPU"):
            pick_device("cuda:0")


@pytest.mark.parametrize("native, speedup, auto, bf16", [
    (False, 0.0, None, None),  # no native bf16: fp32 whatever is asked
    (True, 1.7, torch.bfloat16, torch.bfloat16),  # native and faster: auto takes it
    (True, 0.8, None, torch.bfloat16),  # native but slower here: auto stays fp32
])
def test_precision_policy_cpu(monkeypatch, native, speedup, auto, bf16):
    from xrayview.core import device

    monkeypatch.setattr(device, "cpu_bf16_native", lambda: native)
    monkeypatch.setattr(device, "cpu_bf16_speedup", lambda: speedup)
    assert autocast_dtype(torch.device("cpu")) is auto
    assert autocast_dtype("cpu", "auto") is auto
    assert autocast_dtype("cpu", "bf16") is bf16
    assert autocast_dtype("cpu", "fp32") is None
    assert device_label("cpu").startswith("CPU")


def test_cpu_bf16_probe_measures_once():
    from xrayview.core import device

    device.cpu_bf16_speedup.cache_clear()
    first = device.cpu_bf16_speedup()
    assert device.cpu_bf16_speedup() == first  # cached: one probe per process
    assert (first > 0) == device.cpu_bf16_native()


@pytest.mark.gpu
def test_precision_policy_cuda():
    expected = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    assert autocast_dtype(pick_device("cuda")) == expected
    assert "GiB" in device_label("cuda")
