"""Recognise a film's format from its first bytes, never from its file name."""

from __future__ import annotations

from pathlib import Path

from xrayview.core.io.errors import NotAnImageError, UnsupportedFilmError

SNIFF_BYTES = 512

# Formats we read: magic bytes at offset 0.
_SUPPORTED_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),  # BigTIFF
    (b"MM\x00+", "TIFF"),
)

# Real image formats we recognise but do not read, so the message can name them.
_UNSUPPORTED_MAGIC = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000 (JP2)"),
    (b"\xff\x4f\xff\x51", "raw JPEG 2000 codestream"),
    (b"\x1f\x8b", "gzip-compressed data (e.g. .nii.gz)"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"%PDF", "PDF document"),
    (b"\x00\x00\x01\x00", "Windows icon"),
)


def _looks_like_bare_dicom(head: bytes) -> bool:
    """A DICOM data set without the 128-byte preamble: starts with a group 0002/0008 tag."""
    if len(head) < 8:
        return False
    for order in ("little", "big"):
        group = int.from_bytes(head[0:2], order)
        element = int.from_bytes(head[2:4], order)
        if group not in (0x0002, 0x0008) or element > 0x0100:
            continue
        vr = head[4:6]
        if vr.isalpha() and vr.isupper():  # explicit VR
            return True
        if order == "little" and int.from_bytes(head[4:8], "little") < 1024:
            return True  # implicit VR little endian: a short first element
    return False


def sniff_format(path: Path) -> str:
    """Return "DICOM", "PNG", "JPEG" or "TIFF" for the file at ``path``.

    Raises NotAnImageError for empty or non-image files and UnsupportedFilmError for
    image formats that xrayview recognises but does not read.
    """
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if not head:
        raise NotAnImageError(f"{path.name} is empty (0 bytes).")
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "DICOM"
    for magic, name in _SUPPORTED_MAGIC:
        if head.startswith(magic):
            return name
    if head[8:12] == b"WEBP" and head.startswith(b"RIFF"):
        raise UnsupportedFilmError(f"{path.name} is a WebP image, which xrayview does not read.")
    for magic, name in _UNSUPPORTED_MAGIC:
        if head.startswith(magic):
            raise UnsupportedFilmError(f"{path.name} is a {name}, which xrayview does not read.")
    if len(head) >= 348 and head[344:348] in (b"n+1\x00", b"ni1\x00"):
        raise UnsupportedFilmError(f"{path.name} is a NIfTI volume, which xrayview does not read.")
    if _looks_like_bare_dicom(head):
        return "DICOM"
    raise NotAnImageError(
        f"{path.name} is not an image xrayview can read (expected DICOM, PNG, JPEG or TIFF)."
    )
