"""Byte-level helpers for building malformed films: DICOM element walker, PNG chunks,
JPEG markers, TIFF IFD entries, and small decompression bombs.

Everything here works on ``bytes`` and returns new ``bytes``; nothing touches the disk.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

# Explicit VR with a 2-byte reserved field and a 4-byte length (PS3.5 table 7.1-1).
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR",
             b"UT", b"UV"}


@dataclass(frozen=True)
class Element:
    """One top-level DICOM data element as laid out in the file."""

    tag: int            # (group << 16) | element
    length_offset: int  # where the length field starts
    length_size: int    # 2 (explicit VR, short VRs) or 4
    value_offset: int
    length: int


def _header(data: bytes, pos: int, implicit: bool) -> tuple[int, int, int, int]:
    """(tag, length offset, length size, value offset) of the element at ``pos``."""
    group, elem = struct.unpack_from("<HH", data, pos)
    vr = data[pos + 4:pos + 6]
    if group == 0xFFFE:  # item and delimiter tags never carry a VR
        return (group << 16) | elem, pos + 4, 4, pos + 8
    if (group == 2 or not implicit) and vr in _LONG_VRS:
        return (group << 16) | elem, pos + 8, 4, pos + 12
    if group == 2 or not implicit:
        return (group << 16) | elem, pos + 6, 2, pos + 8
    return (group << 16) | elem, pos + 4, 4, pos + 8


def _skip_undefined(data: bytes, pos: int, implicit: bool, stop: int) -> int:
    """From ``pos`` (just after an undefined-length header), the offset after the
    delimiter tag ``stop`` (FFFE,E0DD for a sequence, FFFE,E00D for an item)."""
    while pos + 8 <= len(data):
        tag, lo, size, vo = _header(data, pos, implicit)
        length = int.from_bytes(data[lo:lo + size], "little")
        if tag == stop:
            return vo
        if length == 0xFFFFFFFF:
            pos = _skip_undefined(data, vo, implicit, 0xFFFEE00D if tag == 0xFFFEE000
                                  else 0xFFFEE0DD)
        else:
            pos = vo + length
    return len(data)


def dicom_elements(data: bytes, implicit: bool) -> list[Element]:
    """Top-level elements of a little-endian Part 10 file, in order.

    Undefined-length sequences are stepped over; the walk ends at encapsulated pixel
    data (included). ``implicit``: the data set after the meta group is Implicit VR
    Little Endian.
    """
    pos, out = 132, []
    while pos + 8 <= len(data):
        tag, lo, size, vo = _header(data, pos, implicit)
        if vo > len(data):
            break
        length = int.from_bytes(data[lo:lo + size], "little")
        out.append(Element(tag, lo, size, vo, length))
        if length != 0xFFFFFFFF:
            pos = vo + length
        elif tag == 0x7FE00010:
            break
        else:
            pos = _skip_undefined(data, vo, implicit, 0xFFFEE0DD)
    return out


def set_length(data: bytes, el: Element, value: int | None = None) -> bytes:
    """``data`` with ``el``'s length field set to ``value`` (default: all bits set)."""
    size = el.length_size
    value = (1 << (8 * size)) - 1 if value is None else value
    return data[:el.length_offset] + value.to_bytes(size, "little") + data[el.length_offset + size:]


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk with a correct CRC."""
    return (struct.pack(">I", len(payload)) + kind + payload
            + struct.pack(">I", zlib.crc32(kind + payload)))


def png_chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, offset of the length field, payload length) for every chunk of a PNG."""
    pos, out = 8, []
    while pos + 8 <= len(data):
        length = struct.unpack_from(">I", data, pos)[0]
        out.append((data[pos + 4:pos + 8], pos, length))
        pos += 12 + length
    return out


def png_with_ihdr(data: bytes, **fields: int) -> bytes:
    """A PNG whose IHDR fields (width, height, depth, colour, interlace) are replaced,
    with the CRC recomputed so the decoder, not the CRC check, meets the bad values."""
    names = ("width", "height", "depth", "colour", "compression", "filter", "interlace")
    values = dict(zip(names, struct.unpack_from(">IIBBBBB", data, 16)))
    values.update(fields)
    ihdr = struct.pack(">IIBBBBB", *(values[n] for n in names))
    return data[:8] + png_chunk(b"IHDR", ihdr) + data[33:]


def png_bomb(width: int, height: int, *, real_rows: bool = False) -> bytes:
    """A PNG claiming width x height 8-bit grey.

    ``real_rows=False``: a tiny IDAT (the header alone is the bomb). ``True``: a complete
    zlib stream of zero rows, so a decoder really inflates width x height bytes.
    """
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    if real_rows:
        z, row = zlib.compressobj(9), b"\x00" * (width + 1)
        idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    else:
        idat = zlib.compress(b"\x00" * 1024)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat)
            + png_chunk(b"IEND", b""))


def png_text_bomb(data: bytes, kind: bytes = b"zTXt", size: int = 64 << 20) -> bytes:
    """``data`` (a PNG) with a compressed text/ICC chunk inflating to ``size`` bytes."""
    z = zlib.compressobj(9)
    blob = b"".join(z.compress(b"\x00" * (1 << 20)) for _ in range(size >> 20)) + z.flush()
    payload = (b"Comment\x00\x00" if kind == b"zTXt" else b"icc\x00\x00") + blob
    return data[:33] + png_chunk(kind, payload) + data[33:]


def tiff_bomb(width: int, height: int, *, compression: int = 1, strip: bytes = b"\x00" * 16,
              bits: int = 8) -> bytes:
    """A little-endian baseline TIFF claiming width x height grey, with one strip."""
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, bits),
               (259, 3, 1, compression), (262, 3, 1, 1), (273, 4, 1, 8), (277, 3, 1, 1),
               (278, 4, 1, height), (279, 4, 1, len(strip))]
    out = b"II*\x00" + struct.pack("<I", 8 + len(strip)) + strip
    out += struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        packed = struct.pack("<H", value) + b"\x00\x00" if typ == 3 else struct.pack("<I", value)
        out += struct.pack("<HHI", tag, typ, count) + packed
    return out + struct.pack("<I", 0)


def tiff_entries(data: bytes) -> tuple[int, list[tuple[int, int, int, int]]]:
    """(IFD offset, [(tag, type, count, offset of the entry)]) of a little-endian TIFF."""
    ifd = struct.unpack_from("<I", data, 4)[0]
    n = struct.unpack_from("<H", data, ifd)[0]
    entries = []
    for i in range(n):
        at = ifd + 2 + 12 * i
        tag, typ, count = struct.unpack_from("<HHI", data, at)
        entries.append((tag, typ, count, at))
    return ifd, entries


def tiff_set(data: bytes, tag: int, value: int, *, field: str = "value") -> bytes:
    """Set a TIFF entry's first value (or its ``count``) in place; ``value`` is truncated
    to the entry's type (SHORT: 16 bits, LONG: 32 bits)."""
    _, entries = tiff_entries(data)
    for t, typ, _count, at in entries:
        if t != tag:
            continue
        if field == "count":
            return data[:at + 4] + struct.pack("<I", value & 0xFFFFFFFF) + data[at + 8:]
        packed = (struct.pack("<H", value & 0xFFFF) + b"\x00\x00" if typ == 3
                  else struct.pack("<I", value & 0xFFFFFFFF))
        return data[:at + 8] + packed + data[at + 12:]
    raise KeyError(tag)


def jpeg_segments(data: bytes, soi: int = 0) -> list[tuple[int, int, int]]:
    """(marker, offset of the marker, segment length) from the SOI at ``soi`` up to and
    including SOS."""
    pos, out = soi + 2, []
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker in (0xD8, 0x01, 0xFF) or 0xD0 <= marker <= 0xD7:
            pos += 1 if marker == 0xFF else 2
            continue
        length = struct.unpack_from(">H", data, pos + 2)[0]
        out.append((marker, pos, length))
        if marker == 0xDA:
            break
        pos += 2 + length
    return out


def find_sof(data: bytes, soi: int = 0) -> int:
    """Offset of the start-of-frame marker (FFC0-FFC3, FFF7) of the JPEG or JPEG-LS
    codestream whose SOI is at ``soi``, or -1."""
    return next((off for m, off, _n in jpeg_segments(data, soi)
                 if m in (0xC0, 0xC1, 0xC2, 0xC3, 0xF7)), -1)


def with_sof_size(data: bytes, at: int, width: int, height: int) -> bytes:
    """A JPEG (or a DICOM holding one) whose SOF at ``at`` claims width x height."""
    return data[:at + 5] + struct.pack(">HH", height, width) + data[at + 9:]


def with_j2k_size(data: bytes, width: int, height: int) -> bytes:
    """A DICOM holding a JPEG 2000 codestream whose SIZ marker claims width x height."""
    at = data.find(b"\xff\x4f\xff\x51")
    if at < 0:
        raise ValueError("no JPEG 2000 codestream found")
    siz = at + 2
    return data[:siz + 6] + struct.pack(">II", width, height) + data[siz + 14:]


def with_transfer_syntax(data: bytes, uid: bytes) -> bytes:
    """A Part 10 file whose meta TransferSyntaxUID is ``uid`` (lengths fixed up)."""
    meta = [e for e in dicom_elements(data, implicit=False) if e.tag >> 16 == 2]
    ts = next(e for e in meta if e.tag == 0x00020010)
    value = uid + (b"\x00" if len(uid) % 2 else b"")
    out = (data[:ts.length_offset] + struct.pack("<H", len(value)) + value
           + data[ts.value_offset + ts.length:])
    group_length = meta[0]
    if group_length.tag == 0x00020000:
        delta = len(value) - ts.length
        old = struct.unpack_from("<I", data, group_length.value_offset)[0]
        out = (out[:group_length.value_offset] + struct.pack("<I", old + delta)
               + out[group_length.value_offset + 4:])
    return out


def nested_sequence(depth: int, close: bool = True) -> bytes:
    """Explicit VR LE bytes of a private sequence nested ``depth`` levels deep
    (undefined lengths); ``close=False`` leaves every item and sequence open."""
    open_sq = struct.pack("<HH2sHI", 0x0009, 0x1010, b"SQ", 0, 0xFFFFFFFF)
    open_item = struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    end = struct.pack("<HHI", 0xFFFE, 0xE00D, 0) + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    creator = struct.pack("<HH2sH", 0x0009, 0x0010, b"LO", 8) + b"XRAYVIEW"
    return creator + (open_sq + open_item) * depth + (end * depth if close else b"")


def tiff_ifd_chain(data: bytes, count: int, loop: bool = False) -> bytes:
    """A little-endian TIFF whose first IFD is followed by ``count`` copies of itself
    (all pointing at the same strips), or, with ``loop``, whose IFD points to itself."""
    ifd, entries = tiff_entries(data)
    size = 2 + 12 * len(entries)
    body = data[ifd:ifd + size]
    if loop:
        return data[:ifd + size] + struct.pack("<I", ifd) + data[ifd + size + 4:]
    out = bytearray(data[:ifd + size])
    base = len(data)
    out += struct.pack("<I", base) + data[ifd + size + 4:]
    for i in range(count):
        nxt = base + (i + 1) * (size + 4) if i + 1 < count else 0
        out += body + struct.pack("<I", nxt)
    return bytes(out)
