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


CONDITIONS = {  # condition name -> its TOML table, for conditions_toml()
    "original": {},
    "bicubic_x2": {"model": "none", "scale": 2},
    "srcnn_x2": {"model": "srcnn", "scale": 2},
    "vdsr_x2": {"model": "vdsr", "scale": 2},
    "vdsr_x2_dehaze": {"model": "vdsr", "scale": 2, "dehaze_steps": 2},
    "dehaze_x1": {"model": "none", "scale": 1, "dehaze_steps": 2},
}


def conditions_toml(*names: str) -> str:
    """The ``[conditions.*]`` tables of ``names`` (keys of CONDITIONS) as study TOML."""
    out = []
    for name in names:
        out.append(f"[conditions.{name}]")
        out += [f"{k} = {v!r}".replace("'", '"') for k, v in CONDITIONS[name].items()]
    return "\n" + "\n".join(out) + "\n"


def make_study(folder: Path, n_cases: int = 3, n_training: int = 1, design: str = "paired",
               conditions: str | None = None, seed: int = 7, crop: int = 0) -> Path:
    """Write films and ``study.toml`` into ``folder``; returns the TOML path."""
    names = make_films(folder / "films", n_cases + n_training)
    cases = ", ".join(f'"films/{n}"' for n in names[:n_cases])
    training = ", ".join(f'"films/{n}"' for n in names[n_cases:])
    conditions = conditions or conditions_toml("original", "bicubic_x2", "vdsr_x2")
    text = (f'[study]\ntitle = "test"\ndesign = "{design}"\nseed = {seed}\ncrop = {crop}\n'
            f'[cases]\nfilms = [{cases}]\n'
            + (f"[training]\nfilms = [{training}]\n" if n_training else "")
            + conditions
            + (PAIRED_QUESTIONS if design == "paired" else SINGLE_QUESTIONS))
    path = folder / "study.toml"
    path.write_text(text)
    return path


SINGLE_CONDITIONS = """
[conditions.original]
[conditions.vdsr_x2]
model = "vdsr"
scale = 2
"""
# overall scores per (reader, case, condition): 5 cases, readers r1 and r2
HAND = {
    ("r1", "original"): [2, 3, 3, 2, 4], ("r1", "vdsr_x2"): [3, 5, 4, 4, 4],
    ("r2", "original"): [2, 2, 3, 3, 4], ("r2", "vdsr_x2"): [4, 4, 4, 5, 5],
}


def record_answers(root, study, reader, scores_of):
    """Reader ``reader`` answers every trial of ``study`` with ``scores_of(trial)``."""
    from xrayview.core.study.store import ReaderStore

    with ReaderStore(root, reader, study) as st:
        for t in st.trials:
            st.record(t.index, scores_of(t), 1.5 + t.index,
                      {"left": {"center": 0.4, "width": 0.8, "zoom": 1.25}})


def answered_single_study(tmp_path):
    """A single-design study of 5 cases (+1 training) answered by r1 and r2 with HAND's
    overall scores; returns (study folder, Study)."""
    from xrayview.core.study.definition import load_study
    from xrayview.core.study.prepare import write_study_json

    study = load_study(make_study(tmp_path / "src", n_cases=5, n_training=1, design="single",
                                  conditions=SINGLE_CONDITIONS))
    root = tmp_path / "study"
    write_study_json(study, root)
    for reader in ("r1", "r2"):
        def scores(t, reader=reader):
            if t.training:
                return {"overall": 1, "confidence": 1}
            return {"overall": HAND[(reader, t.condition)][int(t.case[1:]) - 1],
                    "confidence": 3}
        record_answers(root, study, reader, scores)
    return root, study
