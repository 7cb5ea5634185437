"""Geometric self-ensemble ("x8"): average a network over the 8 rotations and flips.

A super-resolution network is not exactly equivariant to rotating or mirroring its input,
so running it on the 8 dihedral transforms of a film and averaging the 8 results, each
mapped back, cancels part of its error (Timofte et al., CVPR 2016, "Seven ways to improve
example-based single image super resolution"; the "+" models of Lim et al., EDSR, 2017).
It costs 8 passes. Chest films are not symmetric, but the network's local operations do
not care which way a rib runs.
"""

from __future__ import annotations

from collections.abc import Callable, Generator

import numpy as np

from xrayview.core.generators import mapped

TRANSFORMS: tuple[tuple[int, bool], ...] = tuple((k, flip) for flip in (False, True)
                                                 for k in range(4))
"""(quarter turns counter-clockwise, then mirror left-right), identity first."""


def apply_transform(image: np.ndarray, k: int, flip: bool) -> np.ndarray:
    """Rotate (H, W) by ``k`` quarter turns, then mirror columns if ``flip``; a contiguous copy."""
    out = np.rot90(image, k)
    if flip:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


def undo_transform(image: np.ndarray, k: int, flip: bool) -> np.ndarray:
    """The inverse of ``apply_transform(., k, flip)``."""
    out = image[:, ::-1] if flip else image
    return np.ascontiguousarray(np.rot90(out, -k))


def self_ensemble(run: Callable[[np.ndarray], Generator[object, None, np.ndarray]],
                  image: np.ndarray) -> Generator[tuple[int, object], None, np.ndarray]:
    """Average ``run`` over the 8 transforms of ``image`` (float32 (H, W)).

    ``run(x)`` is a generator (e.g. ``run_tiled``) that yields progress and returns the
    network's output for ``x`` (same shape). Yields (pass index 0..7, its progress
    record); returns the float32 (H, W) mean of the 8 outputs mapped back.
    """
    total = np.zeros(image.shape, dtype=np.float64)
    for i, (k, flip) in enumerate(TRANSFORMS):
        out = yield from mapped(run(apply_transform(image, k, flip)),
                                lambda record, i=i: (i, record))
        total += undo_transform(np.asarray(out, dtype=np.float32), k, flip)
    return (total / len(TRANSFORMS)).astype(np.float32)
