"""ClearSight-inspired dehazer: the seed paper's conv + self-attention network on a proxy.

Paper layers (kept, in order): Conv 32@3x3 "same" ReLU -> Conv 64@3x3 dilation 2 ReLU ->
tokens (H·W, 64) -> LayerNorm -> multi-head self-attention (4 heads, key dim 16) ->
Dense 64 ReLU -> (H, W, 64) -> Conv 32@3x3 ReLU -> Conv 1@3x3 sigmoid.

Deviations, and why:

1. **Attention on a reduced proxy, correction upsampled.** Global attention over a full
   film is infeasible (a 2k x 2k film is 4 M tokens). An X-ray veil is low-frequency
   (scatter is a broad blur of the primary, see ``core.degrade.veil``), so its inverse is
   a per-pixel affine map with smooth coefficients. The network therefore runs on a proxy:
   the film area-downsampled so its longer side is ``proxy_size`` (64 = the paper's input
   size; films no larger are used as they are), where *global* attention is affordable
   (<= 4096 tokens) and sees the whole film, which a veil estimate needs (windowed
   attention would only see a window, and cannot tell a veil from an anatomically flat
   region). The proxy's output fields are bilinearly upsampled to full resolution: they are
   smooth by construction, so there are no tiles and no seams, full-resolution detail is
   kept (only rescaled), and the cost is O(H·W) plus a fixed attention cost.
2. **Correction instead of a plain sigmoid image.** The last conv has 2 channels: a veil
   level L = sigmoid(.) in [0, 1] (the paper's sigmoid, now on the level) and a gain
   g = max_gain ** tanh(.) in [1/max_gain, max_gain]; the output is
   ``clamp(L + g·(x - L), 0, 1)`` (computed as x + (g - 1)·(x - L)) with L, g upsampled:
   the exact inverse of the veil I = t·J + (1 - t)·A for L = A, g = 1/t. A network that
   emits a raw sigmoid image must regenerate all detail and drifts to the mean (the
   paper's "overly gray" films); this one can only rescale contrast around a level.
   The last conv starts at zero, so an untrained network is the exact identity (g = 1);
   training from scratch first calls ``break_identity`` (see there why).
3. A residual connection around the attention (tokens + MHSA(LN(tokens))), as in a
   pre-norm transformer block; without it a pixel's own features reach the decoder only
   through the attention mixture.

Input and output: float tensors (N, 1, H, W) in [0, 1], any H, W >= 1; the output has the
input's shape. The proxy makes the model scale-relative: train it on whole films (or large
crops) resized to a few hundred pixels, veiled with ``core.degrade.veil_batch`` whose
scatter width is relative to the image size. Not a finite-receptive-field network: every
output pixel depends on the whole film through the proxy, so ``halo`` is None and the
model must not be tiled.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class MultiHeadSelfAttention(nn.Module):
    """Keras-style MHSA: ``heads`` heads of ``key_dim`` each, (N, L, C) -> (N, L, C)."""

    def __init__(self, channels: int = 64, heads: int = 4, key_dim: int = 16) -> None:
        super().__init__()
        self.heads, self.key_dim = heads, key_dim
        self.qkv = nn.Linear(channels, 3 * heads * key_dim)
        self.out = nn.Linear(heads * key_dim, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, _ = x.shape
        q, k, v = self.qkv(x).view(n, length, 3, self.heads, self.key_dim).permute(
            2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v)  # (N, heads, L, key_dim)
        return self.out(y.transpose(1, 2).reshape(n, length, self.heads * self.key_dim))


class DehazeNet(nn.Module):
    """Proxy-attention dehazer; ``forward`` maps (N, 1, H, W) -> (N, 1, H, W) in [0, 1]."""

    def __init__(self, proxy_size: int = 64, features: int = 32, embed: int = 64,
                 heads: int = 4, key_dim: int = 16, dense: int = 64,
                 decoder_features: int = 32, max_gain: float = 4.0) -> None:
        super().__init__()
        self.proxy_size = proxy_size
        self.log_max_gain = math.log(max_gain)
        self.halo = None  # global receptive field (see module docstring)
        pad = {"padding_mode": "replicate"}
        self.encoder = nn.Sequential(
            nn.Conv2d(1, features, 3, padding=1, **pad), nn.ReLU(inplace=True),
            nn.Conv2d(features, embed, 3, padding=2, dilation=2, **pad), nn.ReLU(inplace=True),
        )
        self.norm = nn.LayerNorm(embed)
        self.attention = MultiHeadSelfAttention(embed, heads, key_dim)
        self.dense = nn.Linear(embed, dense)
        self.decoder = nn.Sequential(
            nn.Conv2d(dense, decoder_features, 3, padding=1, **pad), nn.ReLU(inplace=True),
            nn.Conv2d(decoder_features, 2, 3, padding=1, **pad),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        nn.init.zeros_(self.decoder[-1].weight)  # start as the identity: gain 1
        nn.init.zeros_(self.decoder[-1].bias)

    def break_identity(self, gain: float = 1.25) -> None:
        """Start training from a uniform contrast gain ``gain`` instead of the identity.

        At the identity (g = 1) the output L + g·(x - L) does not depend on the level L, so
        L gets no gradient; with veils whose airlight lies anywhere in [0, 1] the gain's
        gradient also averages out, and a fresh network trained without the scatter family
        stayed at the identity (validation gain +0.005 dB after 1000 iterations). A gain
        above 1 at the start breaks that symmetry.
        """
        if not 1.0 < gain < math.exp(self.log_max_gain):
            raise ValueError(f"initial gain must be in (1, max_gain), got {gain}")
        with torch.no_grad():
            self.decoder[-1].bias[1] = math.atanh(math.log(gain) / self.log_max_gain)

    def proxy_shape(self, h: int, w: int) -> tuple[int, int]:
        """Proxy size for an (h, w) film: longer side ``proxy_size``, aspect kept."""
        s = min(1.0, self.proxy_size / max(h, w))
        return max(1, round(h * s)), max(1, round(w * s))

    def fields(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Veil level L and gain g on the proxy grid, each (N, 1, h', w')."""
        ph, pw = self.proxy_shape(*x.shape[-2:])
        proxy = x if (ph, pw) == tuple(x.shape[-2:]) else F.interpolate(x, (ph, pw),
                                                                        mode="area")
        f = self.encoder(proxy)
        n, c = f.shape[:2]
        tokens = f.flatten(2).transpose(1, 2)  # (N, h'·w', C)
        tokens = tokens + self.attention(self.norm(tokens))
        tokens = F.relu(self.dense(tokens))
        g = tokens.transpose(1, 2).reshape(n, -1, ph, pw)
        out = self.decoder(g)
        level = torch.sigmoid(out[:, :1])
        gain = torch.exp(self.log_max_gain * torch.tanh(out[:, 1:]))
        return level, gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        level, gain = self.fields(x)
        size = tuple(x.shape[-2:])
        if tuple(level.shape[-2:]) != size:
            level = F.interpolate(level, size, mode="bilinear", align_corners=False)
            gain = F.interpolate(gain, size, mode="bilinear", align_corners=False)
        return (x + (gain - 1.0) * (x - level)).clamp(0.0, 1.0)  # = L + g·(x - L)
