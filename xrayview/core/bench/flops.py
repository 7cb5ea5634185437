"""Arithmetic cost of a network's forward pass, from its layers (for the benchmark).

``count_flops(model, h, w)`` runs the model once on a *meta* tensor (shapes only, no data,
no memory, no time) with forward hooks that add up the arithmetic of every layer:

* ``nn.Conv2d``: 2·kh·kw·(Cin/groups)·Cout·Hout·Wout (one multiply + one add per MAC;
  bias and activation are not counted, as is usual);
* ``nn.Linear``: 2·in·out per token;
* attention (any module with ``heads`` and ``key_dim`` attributes, like the dehazer's
  ``MultiHeadSelfAttention``): Q·Kᵀ and the weighted sum of V, 2·2·L²·heads·key_dim per
  image for L tokens (its Linear projections are counted by their own hooks).

The sizes are those the layers actually see, so SRCNN/VDSR count the full output and the
dehazer counts its proxy (see ``core.nets.dehaze``). Element-wise work (ReLU, the
dehazer's full-resolution correction, bicubic upsampling) is not counted: it is
memory-bound and does not belong in a throughput comparison with matrix multiplication.
"""

from __future__ import annotations

import copy
import logging

import torch
from torch import nn

log = logging.getLogger(__name__)


def conv2d_flops(conv: nn.Conv2d, out_h: int, out_w: int, batch: int = 1) -> int:
    """FLOPs (2 per MAC) of ``conv`` producing an (out_h, out_w) map for ``batch`` images."""
    kh, kw = conv.kernel_size
    cin = conv.in_channels // conv.groups
    return 2 * kh * kw * cin * conv.out_channels * out_h * out_w * batch


def attention_flops(tokens: int, heads: int, key_dim: int, batch: int = 1) -> int:
    """FLOPs of softmax(Q·Kᵀ)·V over ``tokens`` tokens: 2 matmuls of L·L·key_dim per head."""
    return 2 * 2 * tokens * tokens * heads * key_dim * batch


def _is_attention(module: nn.Module) -> bool:
    return hasattr(module, "heads") and hasattr(module, "key_dim")


def count_flops(model: nn.Module, h: int, w: int, batch: int = 1) -> int:
    """Forward-pass FLOPs of ``model`` on a (batch, 1, h, w) input, from its layers.

    The model is deep-copied to the meta device (the original is not touched); layers the
    forward pass does not reach are not counted. Raises ValueError for an empty size.
    """
    if h <= 0 or w <= 0 or batch <= 0:
        raise ValueError(f"cannot count FLOPs for a {batch} x {h} x {w} input")
    meta = copy.deepcopy(model).to("meta").eval()
    total = 0

    def on_conv(mod: nn.Conv2d, _inp, out: torch.Tensor) -> None:
        nonlocal total
        total += conv2d_flops(mod, out.shape[-2], out.shape[-1], out.shape[0])

    def on_linear(mod: nn.Linear, _inp, out: torch.Tensor) -> None:
        nonlocal total
        total += 2 * mod.in_features * mod.out_features * (out.numel() // mod.out_features)

    def on_attention(mod: nn.Module, inp, _out) -> None:
        nonlocal total
        n, length = inp[0].shape[:2]
        total += attention_flops(length, int(mod.heads), int(mod.key_dim), n)

    handles = []
    for mod in meta.modules():
        if isinstance(mod, nn.Conv2d):
            handles.append(mod.register_forward_hook(on_conv))
        elif isinstance(mod, nn.Linear):
            handles.append(mod.register_forward_hook(on_linear))
        elif _is_attention(mod):
            handles.append(mod.register_forward_hook(on_attention))
    try:
        with torch.no_grad():
            meta(torch.empty(batch, 1, h, w, device="meta"))
    finally:
        for handle in handles:
            handle.remove()
    log.debug("%s on %d x %d x %d: %.3g FLOPs", type(model).__name__, batch, h, w, total)
    return total
