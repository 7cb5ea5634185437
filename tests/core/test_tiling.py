"""Halo tiling: exact plans, tiled == whole for SRCNN/VDSR, progress, cancel, out-of-memory."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from torch import nn

from xrayview.core.cancel import Cancelled
from xrayview.core.generators import collect, drain
from xrayview.core.nets import SRCNN, VDSR
from xrayview.core.enhance.tiling import _infer, plan_tiles, run_tiled


def _whole(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return model(torch.from_numpy(x)[None, None])[0, 0].numpy()


def _vdsr(depth: int = 10) -> VDSR:
    torch.manual_seed(1)
    m = VDSR(depth=depth)
    nn.init.normal_(m.body[-1].weight, std=0.05)  # make the body matter, not just x + ~0
    return m.eval()


@pytest.mark.parametrize("h,w,tile,halo", [(1, 1, 8, 3), (7, 300, 64, 11), (157, 203, 50, 8),
                                           (40, 40, 512, 11), (33, 65, 16, 0)])
def test_plan_partitions_the_image_with_equal_windows(h, w, tile, halo):
    tiles = plan_tiles(h, w, tile, halo)
    count = np.zeros((h, w), dtype=int)
    shapes = {t.window_shape for t in tiles}
    assert len(shapes) == 1
    for t in tiles:
        y0, y1, x0, x1 = t.core
        wy0, wy1, wx0, wx1 = t.window
        count[y0:y1, x0:x1] += 1
        assert max(t.core_shape) <= tile
        assert 0 <= wy0 and wy1 <= h and 0 <= wx0 and wx1 <= w
        # the halo is there on every side that is not an image border
        assert wy0 == 0 or wy0 <= y0 - halo
        assert wx0 == 0 or wx0 <= x0 - halo
        assert wy1 == h or wy1 >= y1 + halo
        assert wx1 == w or wx1 >= x1 + halo
    assert (count == 1).all()


@pytest.mark.parametrize("bad", [(0, 5, 4, 1), (5, 5, 0, 1), (5, 5, 4, -1)])
def test_plan_rejects_bad_arguments(bad):
    with pytest.raises(ValueError):
        plan_tiles(*bad)


@pytest.mark.parametrize("make", [lambda: SRCNN().eval(), _vdsr], ids=["srcnn", "vdsr"])
@pytest.mark.parametrize("batch", [1, 3])
def test_tiled_equals_whole(make, batch):
    torch.manual_seed(0)
    model = make()
    x = np.random.default_rng(0).random((67, 93), dtype=np.float32)
    records, out = collect(run_tiled(model, x, tile=24, batch=batch, precision="fp32"))
    assert out.dtype == np.float32 and out.shape == x.shape
    assert np.abs(out - _whole(model, x)).max() < 1e-5
    assert len(records) == len(plan_tiles(67, 93, 24, model.halo)) == records[-1].total


def test_too_small_halo_is_not_exact():
    """The exactness test has teeth: with less halo than the receptive field it fails."""
    model = _vdsr(depth=4)
    x = np.random.default_rng(1).random((50, 50), dtype=np.float32)
    _, out = collect(run_tiled(model, x, tile=16, halo=model.halo - 3))
    assert np.abs(out - _whole(model, x)).max() > 1e-4


def test_progress_records_and_preallocated_output():
    model = SRCNN(features=4, mid_features=4).eval()
    x = np.random.default_rng(2).random((45, 70), dtype=np.float32)
    out = np.full(x.shape, np.nan, dtype=np.float32)
    records, result = collect(run_tiled(model, x, tile=20, out=out, batch=2))
    assert result is out and np.isfinite(out).all()
    assert [r.done for r in records] == list(range(1, len(records) + 1))
    fractions = [r.fraction for r in records]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert all(r.device == "cpu" and r.tile == 20 and r.event is None for r in records)
    assert records[0].eta_s is not None and records[-1].eta_s == pytest.approx(0.0)
    area = sum((r.region[1] - r.region[0]) * (r.region[3] - r.region[2]) for r in records)
    assert area == x.size


def test_bad_output_and_missing_halo():
    x = np.zeros((10, 10), dtype=np.float32)
    with pytest.raises(ValueError, match="out must be"):
        drain(run_tiled(SRCNN(), x, out=np.zeros((10, 11), np.float32)))
    with pytest.raises(ValueError, match="halo"):
        drain(run_tiled(nn.Identity(), x))


def test_cancel_between_tiles():
    event = threading.Event()
    gen = run_tiled(SRCNN(features=4, mid_features=4), np.zeros((64, 64), np.float32),
                    tile=16, batch=1, cancel=event)
    next(gen)
    event.set()
    with pytest.raises(Cancelled):
        next(gen)
    with pytest.raises(Cancelled):
        drain(run_tiled(SRCNN(), np.zeros((8, 8), np.float32), cancel=lambda: True))


def test_autocast_keeps_residual_and_output_float32():
    """The design the GPU path relies on, checked with CPU bf16 autocast."""
    model = _vdsr(depth=3)
    nn.init.zeros_(model.body[-1].weight)  # body output exactly 0: result must be x exactly
    x = torch.rand(40, 40) * 0.999
    tiles = plan_tiles(40, 40, 40, model.halo)
    y = _infer(model, x, tiles, torch.device("cpu"), torch.bfloat16)
    assert y.dtype == np.float32
    assert np.array_equal(y[0], x.numpy())  # a bf16 add would round x to 8 bits
    srcnn = SRCNN().eval()
    y16 = _infer(srcnn, x, tiles, torch.device("cpu"), torch.bfloat16)[0]
    assert y16.dtype == np.float32 and np.abs(y16 - _whole(srcnn, x.numpy())).max() < 0.05


class FakeOOM(nn.Module):
    """3x3 mean filter (halo 1) that runs out of 'GPU memory' on big inputs or on 'meta'."""

    halo = 1

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit, self.sizes = limit, []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.sizes.append(tuple(x.shape[-2:]))
        if x.device.type == "meta" or max(x.shape[-2:]) > self.limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1,
                                              count_include_pad=True)


def _mean3(x: np.ndarray) -> np.ndarray:
    return FakeOOM(10**9)(torch.from_numpy(x)[None, None])[0, 0].numpy()


def test_out_of_memory_halves_tiles():
    model = FakeOOM(limit=40)
    x = np.random.default_rng(3).random((100, 90), dtype=np.float32)
    records, out = collect(run_tiled(model, x, tile=64, min_tile=16))
    assert np.abs(out - _mean3(x)).max() < 1e-6
    events = [r.event for r in records if r.event]
    # 100 x 90 with 64-pixel tiles is planned as 2 x 2 tiles of 50 x 45: halved to 25
    assert len(events) == 1 and "with 50-pixel tiles; retrying with 25" in events[0]
    assert records[0].event and records[-1].tile == 25 and records[-1].total > 4


def test_out_of_memory_falls_back_to_cpu():
    """A device where every size fails ('meta' stands in for a full GPU): halve, then CPU."""
    model = FakeOOM(limit=10**9)
    x = np.random.default_rng(4).random((70, 50), dtype=np.float32)
    records, out = collect(run_tiled(model, x, tile=32, device=torch.device("meta"), min_tile=8))
    assert np.abs(out - _mean3(x)).max() < 1e-6
    events = [r.event for r in records if r.event]
    assert "retrying with 12" in events[0] and "continuing on the CPU" in events[-1]
    assert all(r.device == "cpu" for r in records)
    assert records[-1].tile == 32  # the CPU goes on with the original tile size


def test_out_of_memory_on_cpu_at_min_tile_is_raised():
    with pytest.raises(torch.cuda.OutOfMemoryError):
        drain(run_tiled(FakeOOM(limit=4), np.zeros((50, 50), np.float32), tile=32, min_tile=16))


@pytest.mark.gpu
def test_tiled_equals_whole_on_cuda():
    dev = torch.device("cuda")
    torch.backends.cudnn.allow_tf32 = False
    model = _vdsr().to(dev)
    x = np.random.default_rng(5).random((301, 259), dtype=np.float32)
    with torch.inference_mode():
        whole = model(torch.from_numpy(x)[None, None].to(dev))[0, 0].cpu().numpy()
    out = drain(run_tiled(model, x, tile=128, device=dev, precision="fp32"))
    assert np.abs(out - whole).max() < 1e-5
    low = drain(run_tiled(model, x, tile=128, device=dev))  # bf16/fp16 body, float32 residual
    assert low.dtype == np.float32 and np.abs(low - whole).max() < 1e-2


def test_run_tiled_never_changes_the_callers_model():
    """MONAI's rule: the caller's model is not moved, converted or switched to eval."""
    model = _vdsr(depth=3)
    model.train()
    conv = next(p for p in model.parameters() if p.dim() == 4)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = np.random.default_rng(1).random((40, 36), dtype=np.float32)
    _, out = collect(run_tiled(model, x, tile=16, precision="fp32"))
    assert model.training and conv.is_contiguous()  # still NCHW, still training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    np.testing.assert_allclose(out, _whole(model.eval(), x), atol=1e-5)


def test_eta_leaves_out_the_first_tiles_set_up():
    from xrayview.core.enhance.tiling import eta_seconds

    assert eta_seconds(0.0, 0.0, None) is None
    # first tile: 4 s for 10 % (set-up included); only its own rate is known
    assert eta_seconds(4.0, 0.1, None) == pytest.approx(36.0)
    # then 1 s per 10 %: 8 tiles left -> 8 s, not (5 s / 20 %) * 80 % = 20 s
    assert eta_seconds(5.0, 0.2, (4.0, 0.1)) == pytest.approx(8.0)
