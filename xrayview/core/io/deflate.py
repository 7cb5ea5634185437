"""Deflated Explicit VR Little Endian DICOM, inflated within a budget.

pydicom inflates the whole data set of such a file before reading a single element, so
1.9 MB of compressed zeros could cost 2 GB and ten seconds before any size check. Here
the stream is inflated incrementally (``zlib.decompressobj`` with ``max_length``): the
first ``HEAD_BYTES`` are parsed up to the pixel data, the header's Rows x Columns x
frames x samples x bytes per sample (checked against the pixel cap) plus ``SLACK_BYTES``
becomes the budget (2 bytes per pixel of the cap when Rows is not among those bytes),
and a stream that inflates past it is refused. The inflated data set
is then read with pydicom's own ``read_dataset``, as ``dcmread`` would.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import BinaryIO

from pydicom.dataset import Dataset, FileDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import _read_file_meta_info, read_dataset, read_preamble
from pydicom.uid import DeflatedExplicitVRLittleEndian

from xrayview.core.io.errors import CorruptFilmError, FilmTooLargeError

HEAD_BYTES = 1 << 20
"""Inflated bytes parsed for the header that sets the budget."""
SLACK_BYTES = 16 << 20
"""Room for the elements besides the pixels (overlays, private data, padding)."""
_CHUNK = 1 << 16


def _inflate(fh: BinaryIO, z, limit: int, out: bytearray) -> bool:
    """Inflate from ``fh`` into ``out`` up to ``limit`` bytes; True when the stream ended
    (or the file did) within them, False when more output would follow."""
    pending = z.unconsumed_tail
    while True:
        if not pending:
            if z.eof:
                return True
            pending = fh.read(_CHUNK)
            if not pending:
                return True  # a truncated stream: read what there is
        room = limit - len(out)
        if room <= 0:  # at the limit with input left: does any output still come?
            probe = z.decompress(pending, 1)
            if probe:
                out += probe
                return False
        else:
            out += z.decompress(pending, room)
        pending = z.unconsumed_tail


def _pixel_bytes(head: Dataset, path: Path, max_pixels: int) -> int:
    """Bytes of pixel data the header accounts for; FilmTooLargeError over the cap."""
    rows, cols = int(head.get("Rows", 0) or 0), int(head.get("Columns", 0) or 0)
    if rows * cols > max_pixels:
        raise FilmTooLargeError(f"{path.name} claims {cols} x {rows} pixels, over the limit "
                                f"of {max_pixels / 1e6:.3g} megapixels.")
    frames = max(1, int(str(head.get("NumberOfFrames", 1) or 1).strip() or 1))
    samples = max(1, int(head.get("SamplesPerPixel", 1) or 1))
    allocated = max(1, int(head.get("BitsAllocated", 16) or 16))
    return rows * cols * frames * samples * -(-allocated // 8)


def _head(data: bytes) -> Dataset:
    """The elements before the pixel data in the first inflated bytes (what parses)."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a cut element: the full read reports it
            return read_dataset(DicomBytesIO(data), False, True,
                                stop_when=lambda tag, vr, length: tag >= 0x7FE00010)
    except Exception:  # noqa: BLE001 - damaged or cut: budget for the largest film
        return Dataset()


def read_deflated(fh: BinaryIO, path: Path, max_pixels: int) -> FileDataset | None:
    """The data set of ``fh`` (open at 0) when it is Deflated Explicit VR Little Endian,
    inflated within the budget; None for any other transfer syntax (``fh`` rewound).
    Raises FilmTooLargeError past the budget or the pixel cap."""
    try:
        preamble = read_preamble(fh, force=True)
        meta = _read_file_meta_info(fh)
    except Exception:  # noqa: BLE001 - not ours to judge: dcmread reports it
        fh.seek(0)
        return None
    if meta.get("TransferSyntaxUID") != DeflatedExplicitVRLittleEndian:
        fh.seek(0)
        return None
    z = zlib.decompressobj(-zlib.MAX_WBITS)
    data = bytearray()
    try:
        ended = _inflate(fh, z, HEAD_BYTES, data)
        head = _head(bytes(data))
        budget = SLACK_BYTES + (_pixel_bytes(head, path, max_pixels) if "Rows" in head
                                else max_pixels * 2)  # no Rows yet: the largest 16-bit film
        if not ended and not _inflate(fh, z, budget, data):
            raise FilmTooLargeError(
                f"{path.name}: its deflated data inflates to more than the {budget >> 20} MB "
                "its header accounts for; refused (a decompression bomb or a damaged file).")
    except zlib.error as exc:
        raise CorruptFilmError(f"{path.name}: its deflated data set is damaged "
                               f"({str(exc)[:80]}).") from None
    buffer = DicomBytesIO(bytes(data))
    del data
    dataset = read_dataset(buffer, False, True)
    ds = FileDataset(str(path), dataset, preamble, meta, False, True)
    ds.set_original_encoding(False, True, dataset._character_set)
    return ds
