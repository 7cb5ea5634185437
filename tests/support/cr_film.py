"""A computed-radiography-like DICOM film made from the bundled sample film.

15-bit MONOCHROME1 with collimator shadows and an unexposed strip around a narrow band of
anatomy, a DICOM window spanning the whole range (so it opens flat, as such CR films do),
ImagerPixelSpacing 0.15 mm and PatientOrientation L\\F. Built from the NIH ChestX-ray14
sample (see resources/README.md for its attribution).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tests.support.dicom_factory import make_dicom
from xrayview.core.resources import sample_film_path

MAX_STORED = 32767
FIELD = (slice(60, 60 + 512), slice(90, 90 + 512))  # where the anatomy lies


def make_cr_film(path: Path, seed: int = 0) -> Path:
    """Write the CR-like film (632 x 700 px) to ``path`` and return it."""
    rng = np.random.default_rng(seed)
    anatomy = np.asarray(Image.open(sample_film_path()).convert("L").resize((512, 512)),
                         np.float64) / 255.0
    display = np.full((632, 700), 0.97)  # collimator shadow: bright on a MONOCHROME2 display
    display[:, :24] = 0.02  # unexposed strip outside the cassette
    display[FIELD] = 0.35 + 0.2 * anatomy  # the anatomy uses a fifth of the range
    display += rng.normal(0.0, 0.003, display.shape)
    stored = np.round((1.0 - np.clip(display, 0.0, 1.0)) * MAX_STORED).astype(np.uint16)
    return make_dicom(path, stored, bits_stored=15, photometric="MONOCHROME1", modality="CR",
                      WindowCenter=16384, WindowWidth=32768, ImagerPixelSpacing=[0.15, 0.15],
                      PatientOrientation=["L", "F"], BodyPartExamined="CHEST",
                      ViewPosition="PA")
