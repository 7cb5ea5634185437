"""Reduced VDSR (Kim et al. 2016) as in the seed paper.

``depth`` x (Conv 64@3x3 + ReLU), then Conv 1@3x3 linear, plus a global residual: the
input is added to the output, so the body learns only the missing detail.
Input and output: float tensors (N, 1, H, W), nominally in [0, 1] (the bicubic
pre-upsampled film). ``halo`` = depth + 1 pixels (receptive-field radius).
"""

from __future__ import annotations

import torch
from torch import nn


class VDSR(nn.Module):
    """Residual CNN; ``forward`` maps (N, 1, H, W) -> (N, 1, H, W)."""

    autocast_safe = True  # the body's small residual may be bf16; the add stays float32

    def __init__(self, depth: int = 10, features: int = 64) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(1, features, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 1):
            layers += [nn.Conv2d(features, features, 3, padding=1), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(features, 1, 3, padding=1))
        self.body = nn.Sequential(*layers)
        self.halo = depth + 1
        for m in self.body:
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        last = self.body[-1]
        nn.init.normal_(last.weight, std=1e-3)  # start as the identity (bicubic) mapping

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)
