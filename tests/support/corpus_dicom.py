"""DICOM-specific malformed cases for the corpus: length fields, transfer syntaxes,
header attributes, missing or broken pixel data, codestream sizes, deep sequences.

``dicom_cases(src, rng)`` yields ``(kind, name, data, must_fail)`` for one real film.
Attribute edits go through pydicom with raw (unvalidated) values, so a value pydicom
would refuse to write (``RescaleSlope = "abc"``) still reaches the loader.
"""

from __future__ import annotations

import io
import random
import struct
from typing import Callable, Iterator

import numpy as np
import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag

from tests.support import corpus_bytes as cb

_FULL = {"MR_small", "RG3_UNCR", "CT_small"}  # sources that get every attribute edit
_PIXEL_DATA = 0x7FE00010


def _raw(keyword: str, vr: str, value: bytes) -> Callable[[Dataset], None]:
    """An edit setting ``keyword`` to exactly ``value`` (bytes, padded to even length)."""
    tag = Tag(pydicom.datadict.tag_for_keyword(keyword))
    value = value + (b" " if len(value) % 2 else b"")

    def edit(ds: Dataset) -> None:
        ds[tag] = RawDataElement(tag, vr, len(value), value, 0, False, True)
    return edit


def _us(keyword: str, value: int) -> Callable[[Dataset], None]:
    return _raw(keyword, "US", struct.pack("<H", value & 0xFFFF))


def _delete(*keywords: str) -> Callable[[Dataset], None]:
    def edit(ds: Dataset) -> None:
        for k in keywords:
            ds.pop(k, None)
    return edit


def _lut_item(descriptor: list[int], data: bytes) -> Dataset:
    item = Dataset()
    item.add_new("LUTDescriptor", "US", descriptor)
    item.add_new("LUTData", "OW", data)
    return item


def _seq(keyword: str, *items: Dataset) -> Callable[[Dataset], None]:
    def edit(ds: Dataset) -> None:
        setattr(ds, keyword, Sequence(list(items)))
    return edit


def _palette(ds: Dataset) -> None:
    ds.PhotometricInterpretation = "PALETTE COLOR"
    ds.add_new("RedPaletteColorLookupTableDescriptor", "US", [256, 0, 16])
    ds.add_new("RedPaletteColorLookupTableData", "OW", b"\x00\x01" * 3)  # far too short


ATTRIBUTE_EDITS: dict[str, Callable[[Dataset], None]] = {
    "rows-60000-cols-60000": lambda ds: (_us("Rows", 60000)(ds), _us("Columns", 60000)(ds)),
    "rows-65535-cols-65535": lambda ds: (_us("Rows", 65535)(ds), _us("Columns", 65535)(ds)),
    "rows-60000": _us("Rows", 60000),
    "rows-0": _us("Rows", 0),
    "columns-1": _us("Columns", 1),
    "rows-plus-1": lambda ds: _us("Rows", ds.Rows + 1)(ds),
    "rows-half": lambda ds: _us("Rows", ds.Rows // 2)(ds),
    "bits-allocated-0": _us("BitsAllocated", 0),
    "bits-allocated-3": _us("BitsAllocated", 3),
    "bits-allocated-8": _us("BitsAllocated", 8),
    "bits-allocated-64": _us("BitsAllocated", 64),
    "bits-stored-0": _us("BitsStored", 0),
    "bits-stored-40": _us("BitsStored", 40),
    "high-bit-99": _us("HighBit", 99),
    "samples-0": _us("SamplesPerPixel", 0),
    "samples-3": _us("SamplesPerPixel", 3),
    "samples-65535": _us("SamplesPerPixel", 65535),
    "planar-7": lambda ds: (_us("SamplesPerPixel", 3)(ds), _us("PlanarConfiguration", 7)(ds)),
    "pixel-representation-2": _us("PixelRepresentation", 2),
    "pixel-representation-flipped": lambda ds: _us("PixelRepresentation",
                                                   1 - int(ds.PixelRepresentation))(ds),
    "photometric-XYZ": _raw("PhotometricInterpretation", "CS", b"XYZ"),
    "photometric-empty": _raw("PhotometricInterpretation", "CS", b""),
    "photometric-RGB": _raw("PhotometricInterpretation", "CS", b"RGB"),
    "photometric-YBR_FULL_422": _raw("PhotometricInterpretation", "CS", b"YBR_FULL_422"),
    "photometric-palette-no-lut": _raw("PhotometricInterpretation", "CS", b"PALETTE COLOR"),
    "palette-lut-short": _palette,
    "frames-0": _raw("NumberOfFrames", "IS", b"0"),
    "frames-minus-1": _raw("NumberOfFrames", "IS", b"-1"),
    "frames-2": _raw("NumberOfFrames", "IS", b"2"),
    "frames-2147483647": _raw("NumberOfFrames", "IS", b"2147483647"),
    "frames-abc": _raw("NumberOfFrames", "IS", b"abc"),
    "frames-1.5": _raw("NumberOfFrames", "IS", b"1.5"),
    "rescale-slope-0": _raw("RescaleSlope", "DS", b"0"),
    "rescale-slope-nan": _raw("RescaleSlope", "DS", b"NaN"),
    "rescale-slope-inf": _raw("RescaleSlope", "DS", b"inf"),
    "rescale-slope-abc": _raw("RescaleSlope", "DS", b"abc"),
    "rescale-slope-1e308": _raw("RescaleSlope", "DS", b"1e308"),
    "rescale-intercept-nan": _raw("RescaleIntercept", "DS", b"nan"),
    "rescale-intercept-multi": _raw("RescaleIntercept", "DS", b"1\\2"),
    "window-center-abc": _raw("WindowCenter", "DS", b"abc"),
    "window-width-nan": _raw("WindowWidth", "DS", b"nan"),
    "window-width-minus-5": _raw("WindowWidth", "DS", b"-5"),
    "voi-lut-empty": _seq("VOILUTSequence"),
    "voi-lut-short": _seq("VOILUTSequence", _lut_item([4096, 0, 16], b"\x00\x01")),
    "voi-lut-zero-bits": _seq("VOILUTSequence", _lut_item([0, 0, 0], b"")),
    "modality-lut-empty": _seq("ModalityLUTSequence"),
    "modality-lut-short": _seq("ModalityLUTSequence", _lut_item([4096, 0, 16], b"\x00\x01")),
    "modality-lut-zero": _seq("ModalityLUTSequence", _lut_item([0, 0, 0], b"")),
    "spacing-abc": _raw("PixelSpacing", "DS", b"a\\b"),
    "spacing-zero": _raw("PixelSpacing", "DS", b"0\\0"),
    "spacing-nan": _raw("PixelSpacing", "DS", b"nan\\nan"),
    "spacing-single": _raw("PixelSpacing", "DS", b"1"),
    "charset-unknown": _raw("SpecificCharacterSet", "CS", b"ISO_IR 999"),
    "charset-2022-bad-name": lambda ds: (_raw("SpecificCharacterSet", "CS", b"ISO 2022 IR 87")(ds),
                                         _raw("PatientName", "PN", b"\x1b$B\xff\xfe\x1b(B")(ds)),
    "no-pixel-data": _delete("PixelData"),
    "no-rows": _delete("Rows"),
    "no-bits-allocated": _delete("BitsAllocated"),
    "no-photometric": _delete("PhotometricInterpretation"),
    "float-pixel-data-only": lambda ds: (ds.add_new(0x7FE00008, "OF", b"\x00" * 16),
                                         ds.pop("PixelData")),
    "pixel-data-empty": lambda ds: ds.__setitem__(
        _PIXEL_DATA, RawDataElement(Tag(_PIXEL_DATA), "OW", 0, b"", 0, False, True)),
}
_SHORT_LIST = ("rows-60000-cols-60000", "rows-plus-1", "rows-half", "bits-allocated-8",
               "samples-3", "photometric-XYZ", "frames-2", "frames-2147483647",
               "pixel-representation-flipped", "no-pixel-data", "rescale-slope-nan")
# Every edit here must end in a FilmError; the others may also load (e.g. a bad window).
_MUST_FAIL = {"rows-60000-cols-60000", "rows-65535-cols-65535", "rows-60000", "rows-0",
              "bits-allocated-0", "bits-allocated-3", "bits-allocated-64", "bits-stored-0",
              "bits-stored-40", "samples-0", "samples-65535", "photometric-XYZ",
              "frames-minus-1", "frames-2147483647", "frames-abc", "rescale-slope-0",
              "rescale-slope-nan", "rescale-slope-inf", "rescale-slope-abc",
              "rescale-intercept-nan", "no-pixel-data", "no-rows", "no-bits-allocated",
              "float-pixel-data-only", "pixel-data-empty", "modality-lut-short",
              "modality-lut-zero", "palette-lut-short", "photometric-palette-no-lut",
              "samples-3", "planar-7"}


def _edited(data: bytes, edit: Callable[[Dataset], None]) -> bytes:
    ds = pydicom.dcmread(io.BytesIO(data))
    edit(ds)
    buf = io.BytesIO()
    ds.save_as(buf)
    return buf.getvalue()


_SYNTAXES = (b"1.2.3.4.5", b"", b"garbage\xff", b"1.2.840.10008.1.2", b"1.2.840.10008.1.2.1",
             b"1.2.840.10008.1.2.2", b"1.2.840.10008.1.2.1.99", b"1.2.840.10008.1.2.4.50",
             b"1.2.840.10008.1.2.4.90", b"1.2.840.10008.1.2.4.80", b"1.2.840.10008.1.2.5",
             b"1.2.840.10008.1.2.4.94", b"1.2.840.10008.1.2.4.100")


def _encapsulation_cases(data: bytes, pix: cb.Element) -> Iterator[tuple[str, str, bytes, bool]]:
    """Broken fragments of encapsulated pixel data (``pix`` has undefined length)."""
    bot = pix.value_offset  # basic offset table item: FFFE,E000 + length
    bot_len = struct.unpack_from("<I", data, bot + 4)[0]
    frag = bot + 8 + bot_len
    yield "length", "bot-ffffffff", data[:bot + 4] + b"\xff" * 4 + data[bot + 8:], True
    yield "length", "fragment-ffffffff", data[:frag + 4] + b"\xff" * 4 + data[frag + 8:], True
    yield "length", "fragment-0", data[:frag + 4] + bytes(4) + data[frag + 8:], True
    yield "structure", "no-fragments", data[:frag] + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0), True
    yield "structure", "fragment-tag-garbage", data[:frag] + b"\x12\x34\x56\x78" + data[frag + 4:], True
    length = struct.unpack_from("<I", data, frag + 4)[0]
    zeros = data[:frag + 8] + bytes(length) + data[frag + 8 + length:]
    yield "structure", "codestream-zeroed", zeros, True
    if data.find(b"\xff\x4f\xff\x51", frag) > 0:
        yield "huge-size", "j2k-siz-60000x60000", cb.with_j2k_size(data, 60000, 60000), True
        yield "huge-size", "j2k-siz-8000x8000", cb.with_j2k_size(data, 8000, 8000), True
    sof = cb.find_sof(data, frag + 8) if data[frag + 8:frag + 10] == b"\xff\xd8" else -1
    if sof > 0:
        yield "huge-size", "sof-60000x60000", cb.with_sof_size(data, sof, 60000, 60000), True
    if data[frag + 8:frag + 12] in (b"\x01\x00\x00\x00", b"\x02\x00\x00\x00", b"\x03\x00\x00\x00"):
        yield "structure", "rle-15-segments", data[:frag + 8] + b"\x0f" + data[frag + 9:], True
        yield "structure", "rle-offset-past-end", data[:frag + 12] + b"\xff" * 4 + data[frag + 16:], True


def dicom_cases(src, rng: random.Random) -> Iterator[tuple[str, str, bytes, bool]]:
    """All DICOM-specific cases for one source film (see the module docstring)."""
    data = src.data
    elements = cb.dicom_elements(data, src.implicit)
    pix = next(e for e in elements if e.tag == _PIXEL_DATA)
    body = [e for e in elements if e.tag != _PIXEL_DATA]
    chosen = body if src.name in _FULL else rng.sample(body, min(8, len(body)))
    for e in chosen:
        yield "length", f"({e.tag >> 16:04x},{e.tag & 0xFFFF:04x})-max", cb.set_length(data, e), False
    if pix.length == 0xFFFFFFFF:
        yield from _encapsulation_cases(data, pix)
    else:
        # A length past the end of the file is read as "up to the end": the samples are
        # all there, so a Film is a right outcome too; a short length must fail.
        for name, value, must in (("ffffffff", None, False), ("0", 0, True),
                                  ("plus-2", pix.length + 2, False),
                                  ("minus-2", pix.length - 2, True),
                                  ("7fffffff", 0x7FFFFFFF, False)):
            yield "length", f"pixel-data-{name}", cb.set_length(data, pix, value), must
    syntaxes = _SYNTAXES if src.name in _FULL else _SYNTAXES[:3] + _SYNTAXES[4:5] + _SYNTAXES[-3:-1]
    for uid in syntaxes:
        label = uid.decode("ascii", "replace") or "empty"
        yield "transfer-syntax", f"ts-{label}", cb.with_transfer_syntax(data, uid), False
    names = ATTRIBUTE_EDITS if src.name in _FULL else _SHORT_LIST
    for name in names:
        kind = "missing-pixels" if "pixel-data" in name else "attribute"
        yield kind, name, _edited(data, ATTRIBUTE_EDITS[name]), name in _MUST_FAIL
    start = pix.length_offset - (4 if src.implicit else 8)  # where the PixelData tag begins
    head, tail = data[:start], data[start:]
    if not src.implicit:
        yield "structure", "nested-sq-200", head + cb.nested_sequence(200) + tail, False
        yield "structure", "nested-sq-20000", head + cb.nested_sequence(20000) + tail, False
        yield "structure", "sq-never-closed", head + cb.nested_sequence(3, close=False) + tail, True
    noise = np.random.default_rng(rng.randrange(1 << 30)).integers(0, 256, 4096, dtype=np.uint8)
    yield "structure", "noise-after-meta", data[:body[0].value_offset + 200] + noise.tobytes(), True


def deflated_dicom(pixels: np.ndarray, padding: int = 0, rows: int | None = None) -> bytes:
    """A Deflated Explicit VR Little Endian Secondary Capture of ``pixels`` (uint8/uint16
    (H, W)); ``padding`` > 0 appends a DataSetTrailingPadding element of that many zero
    bytes (a multiple of 1 MiB), compressed block by block (a full flush makes every
    1 MiB block the same bytes), so a 2 GiB bomb takes 2 MB and milliseconds to make.
    ``rows`` overrides the Rows the header claims."""
    import zlib

    from pydicom.dataset import FileMetaDataset
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset, write_file_meta_info
    from pydicom.uid import (DeflatedExplicitVRLittleEndian, SecondaryCaptureImageStorage,
                             generate_uid)

    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = (SecondaryCaptureImageStorage,
                                                      generate_uid(), "OT")
    ds.set_pixel_data(pixels, "MONOCHROME2", 8 * pixels.itemsize)
    if rows is not None:
        ds.Rows = rows
    body = DicomBytesIO()
    body.is_little_endian, body.is_implicit_VR = True, False
    write_dataset(body, ds)
    z = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    stream = z.compress(body.getvalue())
    if padding:
        stream += z.compress(b"\xfc\xff\xfc\xffOB\x00\x00" + padding.to_bytes(4, "little"))
        stream += z.flush(zlib.Z_FULL_FLUSH)
        block = z.compress(bytes(1 << 20)) + z.flush(zlib.Z_FULL_FLUSH)
        stream += block * (padding >> 20)
    stream += z.flush()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = (ds.SOPClassUID,
                                                                     ds.SOPInstanceUID)
    meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    out = io.BytesIO()
    out.write(bytes(128) + b"DICM")
    write_file_meta_info(out, meta, enforce_standard=True)
    return out.getvalue() + stream
