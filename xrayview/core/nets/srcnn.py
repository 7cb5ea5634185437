"""SRCNN (Dong et al. 2014) as in the seed paper: 64@9x9 ReLU -> 32@5x5 ReLU -> 1@5x5.

Input and output: float tensors (N, 1, H, W), values nominally in [0, 1], the input being
the bicubic pre-upsampled film. Zero "same" padding keeps the output the size of the
input; ``halo`` is the receptive-field radius, so tiles with at least that much overlap
reproduce the whole-image result exactly.

Initialisation (not architecture): with ``identity_init`` one channel of each layer starts
as a centred delta, so the untrained network passes its (non-negative) input through and
the other channels start small; training then learns the correction to bicubic instead of
having to discover the identity first, which plain SRCNN needs ~10^8 updates for.
"""

from __future__ import annotations

import torch
from torch import nn


class SRCNN(nn.Module):
    """Three-layer super-resolution CNN; ``forward`` maps (N, 1, H, W) -> (N, 1, H, W)."""

    # The output is the image itself, not a float32 residual: bf16 rounding (~4e-3 near
    # 1.0) would swamp the corrections, so training and inference keep it in float32.
    autocast_safe = False

    def __init__(self, features: int = 64, mid_features: int = 32,
                 kernels: tuple[int, int, int] = (9, 5, 5), identity_init: bool = True) -> None:
        super().__init__()
        k1, k2, k3 = kernels
        self.body = nn.Sequential(
            nn.Conv2d(1, features, k1, padding=k1 // 2),
            nn.ReLU(inplace=True),
            nn.Conv2d(features, mid_features, k2, padding=k2 // 2),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_features, 1, k3, padding=k3 // 2),
        )
        self.halo = sum(k // 2 for k in kernels)
        if identity_init:
            self._init_identity()

    @torch.no_grad()
    def _init_identity(self) -> None:
        convs = [m for m in self.body if isinstance(m, nn.Conv2d)]
        for conv in convs:
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            conv.weight.mul_(0.1)
            nn.init.zeros_(conv.bias)
        for conv in convs:  # channel 0 carries the input: delta from channel 0
            k = conv.kernel_size[0]
            conv.weight[0].zero_()
            conv.weight[0, 0, k // 2, k // 2] = 1.0
        convs[-1].weight[0, 1:].normal_(std=1e-3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)
