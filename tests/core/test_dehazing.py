"""DehazeNet, StopRule and dehaze_steps."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch
from torch import nn

from xrayview.core.quality.degrade import veil_batch
from xrayview.core.cancel import Cancelled
from xrayview.core.enhance.dehazing import DehazeStep, StopRule, dehaze_steps
from xrayview.core.nets import ARCHITECTURES, DehazeNet
from xrayview.core.generators import collect


def _film(shape=(97, 131), seed=0, noise=0.03) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]] / max(shape)
    img = 0.45 + 0.25 * np.sin(8 * xx + 3 * seed) * np.cos(6 * yy + 1)
    img += noise * rng.standard_normal(shape)
    return np.clip(img, 0, 1).astype(np.float32)


class Stretch(nn.Module):
    """Test model: stretches contrast about 0.5 by ``factor`` per call; counts calls."""

    def __init__(self, factor: float = 1.1) -> None:
        super().__init__()
        self.factor, self.calls = factor, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return (0.5 + self.factor * (x - 0.5)).clamp(0, 1)


class Approach(nn.Module):
    """Test model: moves halfway towards 0.5 per call (converges geometrically)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.5 * (0.5 - x)


def _perturbed(net: DehazeNet, seed: int = 0) -> DehazeNet:
    torch.manual_seed(seed)
    with torch.no_grad():
        net.decoder[-1].weight.normal_(std=0.05)
        net.decoder[-1].bias.normal_(std=0.3)
    return net


# ----------------------------------------------------------------------------- network

def test_dehazenet_is_registered_and_identity_at_init():
    assert ARCHITECTURES["dehaze"] is DehazeNet
    net = DehazeNet(proxy_size=32)
    assert net.halo is None
    x = torch.from_numpy(_film())[None, None]
    with torch.no_grad():
        y = net(x)
    assert y.shape == x.shape
    assert torch.equal(y, x)


def _level_gradient(net: DehazeNet) -> float:
    """|d loss / d (level channel of the last conv)| for one veiled film."""
    j = torch.from_numpy(_film())[None, None]
    x = 0.6 * j + 0.4 * 0.8  # a bright airlight
    torch.nn.functional.l1_loss(net(x), j).backward()
    return float(net.decoder[-1].weight.grad[0].abs().sum())


def test_break_identity_gives_the_veil_level_a_gradient():
    torch.manual_seed(0)
    identity = DehazeNet(proxy_size=16)
    assert _level_gradient(identity) == 0.0  # the saddle a fresh network sat on
    broken = DehazeNet(proxy_size=16)
    broken.break_identity(1.25)
    _, gain = broken.fields(torch.rand(1, 1, 20, 20))
    torch.testing.assert_close(gain, torch.full_like(gain, 1.25))
    assert _level_gradient(broken) > 0.0
    with pytest.raises(ValueError, match="initial gain"):
        broken.break_identity(1.0)


@pytest.mark.parametrize("shape", [(97, 131), (1, 1), (5, 300), (64, 64)])
def test_dehazenet_output_shape_and_range(shape):
    net = _perturbed(DehazeNet(proxy_size=24))
    x = torch.rand(2, 1, *shape)
    with torch.no_grad():
        y = net(x)
    assert y.shape == x.shape
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0


def test_dehazenet_has_no_seams():
    """The correction is upsampled from the proxy: it changes per pixel by at most the
    proxy's per-cell change spread over a cell, never by a jump (a seam)."""
    net = _perturbed(DehazeNet(proxy_size=32), seed=1)
    x = torch.from_numpy(_film((256, 256), seed=2, noise=0.0))[None, None]
    with torch.no_grad():
        level, gain = net.fields(x)
        proxy = torch.nn.functional.interpolate(x, (32, 32), mode="area")
        c_proxy = ((level + gain * (proxy - level)) - proxy)[0, 0].numpy().astype(np.float64)
        c_full = (net(x) - x)[0, 0].numpy().astype(np.float64)
    cell = 256 / 32
    proxy_step = max(np.abs(np.diff(c_proxy, axis=a)).max() for a in (0, 1))
    full_step = max(np.abs(np.diff(c_full, axis=a)).max() for a in (0, 1))
    assert proxy_step > 1e-3  # the perturbed network does correct something
    # a seam (e.g. nearest-neighbour upsampling, or tiles) would jump by ~proxy_step at
    # once; bilinear upsampling spreads each proxy-cell change over ``cell`` pixels
    assert full_step < 2.0 * proxy_step / cell + 1e-4


def test_dehazenet_sees_the_whole_film():
    net = _perturbed(DehazeNet(proxy_size=16), seed=3)
    x = torch.from_numpy(_film((64, 64)))[None, None]
    x2 = x.clone()
    x2[..., :8, :8] = 1.0  # change one corner only
    with torch.no_grad():
        far = (net(x2) - net(x))[..., -8:, -8:]
    assert float(far.abs().max()) > 0  # global attention: the opposite corner responds


def test_tiny_dehazenet_learns_to_reduce_veil_loss():
    """Sanity check of the training signal: 50 Adam steps on veiled crops reduce the L1
    loss on a fixed veiled validation batch (identity at init = the veiled input's L1)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: one thread is fastest, and the CPU is shared
    try:
        c0 = time.process_time()
        torch.manual_seed(0)
        clean = torch.from_numpy(np.stack([_film((48, 48), seed=i) for i in range(16)]))
        clean = clean[:, None]
        net = DehazeNet(proxy_size=12, features=8, embed=16, heads=2, key_dim=8, dense=16,
                        decoder_features=8)
        opt = torch.optim.Adam(net.parameters(), lr=5e-3)
        gen = torch.Generator().manual_seed(0)
        val_veiled = veil_batch(clean, torch.Generator().manual_seed(99), clean_fraction=0.0)

        def val_l1() -> float:
            with torch.no_grad():
                return (net(val_veiled) - clean).abs().mean().item()

        before = val_l1()
        for _ in range(50):
            target = clean[torch.randint(0, 16, (8,), generator=gen)]
            loss = (net(veil_batch(target, gen, clean_fraction=0.1)) - target).abs().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        after = val_l1()
        assert after < 0.9 * before, (before, after)
        assert time.process_time() - c0 < 20
    finally:
        torch.set_num_threads(threads)


# ----------------------------------------------------------------------------- stop rule

def _record(step=1, **metrics):
    base = {"ssim_input": 0.99, "step_change": 0.01}
    base.update(metrics)
    return DehazeStep(step, np.zeros((2, 2), np.float32), base)


def test_stop_rule_fires_on_threshold_epsilon_and_max_steps():
    rule = StopRule(threshold=0.9, epsilon=1e-3, max_steps=5)
    assert rule.should_stop(_record()) == (False, "")
    stop, reason = rule.should_stop(_record(ssim_input=0.85))
    assert stop and reason.startswith("threshold")
    stop, reason = rule.should_stop(_record(step_change=1e-4))
    assert stop and reason.startswith("converged")
    stop, reason = rule.should_stop(_record(step=5))
    assert stop and reason.startswith("max steps")


def test_stop_rule_divergence_fires_when_a_step_changes_more_than_the_one_before():
    rule = StopRule(threshold=0.9, epsilon=1e-3, max_steps=5)
    assert rule.should_stop(_record(step=2, step_change=0.02), previous_change=0.03) == \
        (False, "")
    assert rule.should_stop(_record(step=1, step_change=0.02)) == (False, "")  # no step before
    stop, reason = rule.should_stop(_record(step=2, step_change=0.02), previous_change=0.01)
    assert stop and reason.startswith("diverging: step change 2.00e-02")
    stop, reason = rule.should_stop(_record(step=2, ssim_input=0.8, step_change=0.02),
                                    previous_change=0.01)
    assert reason.startswith("threshold")  # the threshold is checked first
    rule.update(diverging=False)
    assert rule.should_stop(_record(step=2, step_change=0.02), previous_change=0.01) == \
        (False, "")
    assert rule.snapshot()["diverging"] is False


def test_dehaze_steps_stops_a_diverging_run_and_keeps_the_step_before():
    # Stretch changes the film more at every step: the rule stops at step 2, keeps step 1
    model = Stretch(1.05).eval()  # ready to run: used as it is, so its calls count
    records, final = collect(dehaze_steps(_film(), model,
                                          StopRule(threshold=0.0, max_steps=50, epsilon=1e-4)))
    assert len(records) == 2 and model.calls == 2
    assert records[-1].reason.startswith("diverging") and records[-1].reason.endswith(
        "; kept step 1")
    assert records[1].metrics["step_change"] > records[0].metrics["step_change"]
    assert final is records[0].image
    # a converging model is never stopped by it
    records, _ = collect(dehaze_steps(_film(), Approach(),
                                      StopRule(threshold=0.0, epsilon=1e-3, max_steps=50)))
    assert records[-1].reason.startswith("converged") and len(records) > 2


def test_stop_rule_other_metric_and_direction():
    rule = StopRule(metric="rms_contrast", threshold=0.3, stop_below=False)
    assert not rule.should_stop(_record(rms_contrast=0.2))[0]
    assert rule.should_stop(_record(rms_contrast=0.35))[0]
    with pytest.raises(ValueError):
        StopRule(metric="nonsense")
    with pytest.raises(AttributeError):
        rule.update(nonsense=1)


# ----------------------------------------------------------------------------- dehaze_steps

def test_dehaze_steps_yields_records_until_threshold():
    img = _film()
    rule = StopRule(threshold=0.9, max_steps=50, epsilon=1e-4, diverging=False)
    records, final = collect(dehaze_steps(img, Stretch(1.15), rule))
    assert all(isinstance(r, DehazeStep) for r in records)
    assert [r.step for r in records] == list(range(1, len(records) + 1))
    assert 1 < len(records) < 50
    assert [r.stopped for r in records] == [False] * (len(records) - 1) + [True]
    assert records[-1].reason.startswith("threshold")
    assert records[-1].metrics["ssim_input"] < 0.9 <= records[-2].metrics["ssim_input"]
    assert final is records[-1].image
    for r in records:
        assert r.image.dtype == np.float32 and r.image.shape == img.shape
        assert {"psnr_prev", "ssim_prev", "psnr_input", "ssim_input", "ici_input",
                "rms_contrast", "mean_brightness"} <= set(r.metrics)
    assert records[0].metrics["rms_contrast"] < records[-1].metrics["rms_contrast"]


def test_dehaze_steps_rollback_returns_last_iterate_within_threshold():
    rule = StopRule(threshold=0.9, max_steps=50, rollback=True, epsilon=1e-4,
                    diverging=False)
    records, final = collect(dehaze_steps(_film(), Stretch(1.15), rule))
    assert final is records[-2].image
    assert records[-1].reason.startswith("threshold")
    assert records[-1].reason.endswith(f"; kept step {len(records) - 1}")


def test_dehaze_steps_converges_and_hits_max_steps():
    records, final = collect(dehaze_steps(_film(), Approach(),
                                         StopRule(threshold=0.0, epsilon=1e-3, max_steps=50)))
    assert records[-1].reason.startswith("converged") and len(records) < 50
    records, _ = collect(dehaze_steps(_film(), Stretch(1.01), StopRule(threshold=0.0,
                                                                      max_steps=3, epsilon=1e-4,
                                                                      diverging=False)))
    assert len(records) == 3 and records[-1].reason.startswith("max steps")


def test_dehaze_steps_honours_cancel_between_steps():
    model = Stretch(1.01).eval()  # ready to run: used as it is (else a private copy runs)
    wanted = {"cancel": False}
    gen = dehaze_steps(_film(), model, StopRule(threshold=0.0, max_steps=50, epsilon=1e-4,
                                                diverging=False),
                       cancel=lambda: wanted["cancel"])
    next(gen)
    next(gen)
    wanted["cancel"] = True
    with pytest.raises(Cancelled):
        next(gen)
    assert model.calls == 2  # no step ran after the cancel request


def test_dehaze_steps_accepts_an_event_as_cancel():
    event = threading.Event()
    event.set()
    model = Stretch().eval()
    with pytest.raises(Cancelled):
        next(dehaze_steps(_film(), model, cancel=event))
    assert model.calls == 0


def test_threshold_changed_mid_run_applies_at_next_step():
    rule = StopRule(threshold=0.0, max_steps=50, epsilon=1e-4, diverging=False)
    gen = dehaze_steps(_film(), Stretch(1.01), rule)
    first = next(gen)
    assert not first.stopped
    rule.update(threshold=0.99999)  # as the GUI does while the run is in progress
    second = next(gen)
    assert second.stopped and second.reason.startswith("threshold")
    with pytest.raises(StopIteration):
        next(gen)


def test_dehaze_steps_with_untrained_dehazenet_stops_at_once():
    img = _film()
    records, final = collect(dehaze_steps(img, DehazeNet(proxy_size=32)))
    assert len(records) == 1 and records[0].reason.startswith("converged")
    assert np.array_equal(final, img)
    assert records[0].metrics["ssim_input"] == pytest.approx(1.0)


def test_dehaze_steps_rejects_bad_input():
    with pytest.raises(ValueError):
        next(dehaze_steps(np.zeros((2, 3, 3), np.float32), Approach()))
    with pytest.raises(ValueError):
        next(dehaze_steps(np.full((16, 16), np.nan, np.float32), Approach()))
    with pytest.raises(ValueError):
        next(dehaze_steps(np.zeros((8, 64), np.float32), Approach()))


def test_modules_work_with_qt_unimportable():
    code = """
import importlib.abc, sys
class BlockQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6"):
            raise ImportError(name)
sys.meta_path.insert(0, BlockQt())
import numpy as np
from xrayview.core.quality import metrics
from xrayview.core.quality import degrade
from xrayview.core.enhance import dehazing
from xrayview.core.nets.dehaze import DehazeNet
img = degrade.veil(np.full((32, 32), 0.5, np.float32), 0.5, seed=0)
steps = list(dehazing.dehaze_steps(img, DehazeNet(proxy_size=8)))
assert steps and metrics.ici(img, img) > 0.999
assert not [m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph")]
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_default_stop_per_metric():
    from xrayview.core.enhance.stop_rule import METRIC_NAMES, default_stop

    assert default_stop("ssim_input") == (StopRule().threshold, StopRule().stop_below)
    assert default_stop("psnr_prev") == (50.0, False)  # converged: little change per step
    assert default_stop("rms_contrast", 0.2) == (pytest.approx(0.22), False)
    assert default_stop("mean_brightness", 0.4)[0] == pytest.approx(0.42)
    for name in METRIC_NAMES:  # every metric has one, usable by StopRule
        threshold, below = default_stop(name)
        StopRule(metric=name, threshold=threshold, stop_below=below)
    with pytest.raises(ValueError, match="unknown stop metric"):
        default_stop("sharpness")


def test_dehaze_steps_never_changes_the_callers_model():
    model = Stretch(1.05)  # in training mode: the core must not switch it to eval
    before = {k: v.clone() for k, v in model.state_dict().items()}
    collect(dehaze_steps(_film(), model, StopRule(threshold=0.0, max_steps=2), device="auto"))
    assert model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
