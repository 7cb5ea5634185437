"""The speed paths, checked on the CPU: channels-last tiles, tensor input (the GPU path's
upsampled film stays on the device), device-side upsampling, per-device tile defaults."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from xrayview.core.device import default_tiling
from xrayview.core.enhance.super_resolution import _upsample_on_device, super_resolve, upsample
from xrayview.core.generators import drain
from xrayview.core.nets import VDSR
from xrayview.core.enhance.tiling import run_tiled


def _vdsr() -> VDSR:
    torch.manual_seed(2)
    m = VDSR(depth=4, features=16)
    nn.init.normal_(m.body[-1].weight, std=0.05)
    return m.eval()


def test_channels_last_tiles_equal_the_plain_whole_image():
    model = _vdsr()
    x = np.random.default_rng(1).random((70, 61), dtype=np.float32)
    with torch.inference_mode():
        whole = model(torch.from_numpy(x)[None, None])[0, 0].numpy()  # before conversion
    out = drain(run_tiled(model, x, tile=32, batch=2, precision="fp32"))
    assert model.body[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert np.abs(out - whole).max() < 1e-5


def test_run_tiled_accepts_a_tensor():
    model = _vdsr()
    x = np.random.default_rng(2).random((50, 45), dtype=np.float32)
    from_numpy = drain(run_tiled(model, x, tile=24))
    from_tensor = drain(run_tiled(model, torch.from_numpy(x.copy()), tile=24))
    assert np.array_equal(from_numpy, from_tensor)
    with pytest.raises(ValueError):
        drain(run_tiled(model, torch.zeros(1, 5, 5), tile=24))


@pytest.mark.parametrize("scale", [1, 2, 3])
def test_device_upsampling_matches_host_upsampling(scale):
    film = np.random.default_rng(3).random((21, 17), dtype=np.float32)
    on_device = _upsample_on_device(film, scale, torch.device("cpu")).numpy()
    assert np.allclose(on_device, upsample(film, scale), atol=1e-6)


def test_default_tiling_per_device():
    assert default_tiling("cpu") == (1024, 1)
    assert default_tiling(torch.device("cuda", 0)) == (2048, 4)
    assert default_tiling("mps") == (512, 4)


def test_super_resolve_default_tiling_equals_small_tiles():
    model = _vdsr()
    film = np.random.default_rng(4).random((40, 36), dtype=np.float32)
    auto = drain(super_resolve(film, model, 2, device="cpu"))  # one 1024 tile
    small = drain(super_resolve(film, model, 2, device="cpu", tile=24, batch=3))
    assert auto.shape == (80, 72) and np.abs(auto - small).max() < 1e-5
