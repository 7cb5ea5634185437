"""Small study folders for tests: synthetic 16-bit PNG films and a study TOML beside them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xrayview.core.io.export import save_film

PAIRED_QUESTIONS = """
[[questions]]
id = "overall"
kind = "vga"
text = "Overall quality, right compared with left"

[[questions]]
id = "preferred"
kind = "2afc"
text = "Which image is better?"
"""

SINGLE_QUESTIONS = """
[[questions]]
id = "overall"
kind = "likert"
text = "Overall image quality"

[[questions]]
id = "confidence"
kind = "likert"
text = "Diagnostic confidence"
"""


def make_films(folder: Path, n: int, size: int = 48, seed: int = 0) -> list[str]:
    """``n`` synthetic films (smooth ramp + texture) saved as 16-bit PNGs; their names."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    names = []
    for i in range(n):
        px = 0.2 + 0.5 * x / size + 0.1 * np.sin(y / (3 + i)) + 0.1 * rng.random((size, size))
        name = f"patient_secret_{i:02d}.png"
        save_film(np.clip(px, 0, 1).astype(np.float32), folder / name)
        names.append(name)
    return names


def make_study(folder: Path, n_cases: int = 3, n_training: int = 1, design: str = "paired",
               conditions: str | None = None, seed: int = 7, crop: int = 0) -> Path:
    """Write films and ``study.toml`` into ``folder``; returns the TOML path."""
    names = make_films(folder / "films", n_cases + n_training)
    cases = ", ".join(f'"films/{n}"' for n in names[:n_cases])
    training = ", ".join(f'"films/{n}"' for n in names[n_cases:])
    conditions = conditions or """
[conditions.original]
[conditions.bicubic_x2]
model = "none"
scale = 2
[conditions.vdsr_x2]
model = "vdsr"
scale = 2
"""
    text = (f'[study]\ntitle = "test"\ndesign = "{design}"\nseed = {seed}\ncrop = {crop}\n'
            f'[cases]\nfilms = [{cases}]\n'
            + (f"[training]\nfilms = [{training}]\n" if n_training else "")
            + conditions
            + (PAIRED_QUESTIONS if design == "paired" else SINGLE_QUESTIONS))
    path = folder / "study.toml"
    path.write_text(text)
    return path
