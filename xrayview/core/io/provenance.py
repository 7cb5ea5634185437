"""Provenance of exported films: what made them, written into the file and read back.

The provenance is JSON (``pipeline.Enhanced.provenance()``: xrayview version, the recipe,
weights sha256, steps run, device). It holds no patient data, so it survives
de-identification. Where it goes:

* PNG: an iTXt chunk with the keyword ``xrayview-provenance``;
* TIFF: ImageDescription (tag 270);
* DICOM: a private block, creator ``XRAYVIEW 1`` in (0071,0010), the JSON as LT in
  (0071,1001).

``read_provenance(path)`` returns the parsed object or None (no provenance; not an
xrayview export). Damaged or oversized text is refused with a ``FilmError``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from xrayview.core.io.errors import CorruptFilmError

PNG_KEY = "xrayview-provenance"
TIFF_TAG = 270  # ImageDescription
DICOM_GROUP = 0x0071
DICOM_CREATOR = "XRAYVIEW 1"
MAX_BYTES = 64 * 1024  # a recipe is ~0.5 KB; more is not ours


def as_text(provenance: dict[str, Any]) -> str:
    """Compact JSON of ``provenance`` (no NaN/Infinity: not JSON)."""
    return json.dumps(provenance, sort_keys=True, allow_nan=False, separators=(",", ":"))


def add_to_dataset(ds: Dataset, text: str) -> None:
    """Write the provenance ``text`` into ``ds``'s private block (replacing one there)."""
    block = ds.private_block(DICOM_GROUP, DICOM_CREATOR, create=True)
    block.add_new(0x01, "LT", text)


def _from_text(text: str | bytes | None, where: str) -> Any:
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if len(text) > MAX_BYTES:
        raise CorruptFilmError(f"{where}: its xrayview provenance is implausibly large.")
    try:
        return json.loads(text)
    except ValueError:
        raise CorruptFilmError(f"{where}: its xrayview provenance is not valid JSON.") from None


def read_provenance(path: str | Path) -> Any:
    """The provenance object written by xrayview into ``path`` (PNG, TIFF or DICOM), or None.

    Raises FilmError (one line) for an unreadable file or damaged provenance text.
    """
    from xrayview.core.io import load_film

    path = Path(path)
    film = load_film(path)  # every safety check of loading (size caps, FIFOs, damage)
    fmt = film.source_format
    if fmt == "DICOM":
        hdr = film.dicom_header
        try:
            block = hdr.private_block(DICOM_GROUP, DICOM_CREATOR)
            value = block[0x01].value
        except (KeyError, AttributeError, TypeError):
            return None
        return _from_text(value, path.name)
    from PIL import Image

    with Image.open(path) as im:
        if fmt == "PNG":
            text = getattr(im, "text", {}).get(PNG_KEY)
        elif fmt == "TIFF":
            text = im.tag_v2.get(TIFF_TAG) if hasattr(im, "tag_v2") else None
            if text is not None and not str(text).lstrip().startswith("{"):
                return None  # someone else's description
        else:
            return None
    return _from_text(text, path.name)
