"""A corpus of malformed films generated from real ones, for the loader's robustness tests.

``load_sources`` reads real films (pydicom-data CR/J2K/JPEG lossless, pydicom's MR/CT test
files, a chest PNG and JPEG from ../shared/data/cxr, and 16-bit TIFFs made from that PNG);
``build_corpus`` writes every malformed variant into a folder and returns the cases.
Random choices use a fixed seed, so the corpus is the same on every run.

Kinds: zero-byte, not-image, truncate, flip-header, flip-pixels, length, huge-size,
transfer-syntax, attribute, missing-pixels, structure, bomb (also Deflated DICOM), and
from issue 17 non-regular (a named pipe), orientation (EXIF), sample-type (TIFF).
``must_fail`` is True where only a typed FilmError is right; where corruption can go
unnoticed (a flipped pixel byte) a loaded Film is also acceptable.
"""

from __future__ import annotations

import io
import json
import os
import random
import sys
import warnings
from dataclasses import dataclass
from math import isqrt
from pathlib import Path
from typing import Iterator

import numpy as np
import pydicom
from PIL import Image

from tests.support import corpus_bytes as cb
from tests.support.corpus_dicom import deflated_dicom, dicom_cases
from xrayview.core.io import DEFAULT_MAX_PIXELS

SEED = 20261126
CXR_PNG = "nih-chestxray14/00000427_000.png"


@dataclass(frozen=True)
class Case:
    """One malformed film in the corpus folder."""

    name: str
    kind: str
    file: str
    must_fail: bool


@dataclass(frozen=True)
class Source:
    """A real film and where its header and its image data lie (byte ranges)."""

    name: str
    data: bytes
    ext: str
    header: tuple[int, int]
    pixels: tuple[int, int]
    path: Path | None = None
    implicit: bool = False


def _dicom_source(path: Path) -> Source:
    data = path.read_bytes()
    with open(path, "rb") as fh:
        ds = pydicom.dcmread(fh, stop_before_pixels=True)
        start = fh.tell()
    ts = ds.file_meta.TransferSyntaxUID
    pix = next(e for e in cb.dicom_elements(data, ts.is_implicit_VR) if e.tag == 0x7FE00010)
    if pix.length == 0xFFFFFFFF:  # encapsulated: up to the sequence delimiter
        end = data.rfind(b"\xfe\xff\xdd\xe0")
    else:
        end = pix.value_offset + pix.length
    return Source(path.stem, data, ".dcm", (132, start), (pix.value_offset, end), path,
                  implicit=ts.is_implicit_VR)


def _png_source(name: str, data: bytes) -> Source:
    idat = [(off, n) for kind, off, n in cb.png_chunks(data) if kind == b"IDAT"]
    return Source(name, data, ".png", (8, idat[0][0]), (idat[0][0] + 8, idat[-1][0] + 8 + idat[-1][1]))


def _jpeg_source(name: str, data: bytes) -> Source:
    sos = [off + 2 + n for m, off, n in cb.jpeg_segments(data) if m == 0xDA][0]
    return Source(name, data, ".jpg", (2, sos), (sos, len(data) - 2))


def _tiff_source(name: str, data: bytes) -> Source:
    im = Image.open(io.BytesIO(data))
    offsets, counts = im.tag_v2[273], im.tag_v2[279]
    start = min(offsets)
    end = max(o + c for o, c in zip(offsets, counts))
    ifd = cb.tiff_entries(data)[0]
    header = (ifd, len(data)) if ifd >= end else (8, start)  # Pillow writes the IFD last
    return Source(name, data, ".tif", header, (start, end))


def load_sources(pydicom_data_dir: Path, pydicom_test_dir: Path, cxr_dir: Path) -> list[Source]:
    """The real films the corpus is made from."""
    dicoms = [pydicom_data_dir / n for n in ("RG3_UNCR.dcm", "RG1_J2KR.dcm", "JPEG-LL.dcm")]
    dicoms += [pydicom_test_dir / n for n in (
        "MR_small.dcm", "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm",
        "MR_small_jpeg_ls_lossless.dcm", "CT_small.dcm", "MR_small_implicit.dcm")]
    sources = [_dicom_source(p) for p in dicoms]
    png = (cxr_dir / CXR_PNG).read_bytes()
    sources.append(_png_source("cxr-png", png))
    jpeg = sorted((cxr_dir / "kermany-pediatric-cxr").glob("*.jpeg"))[0]
    sources.append(_jpeg_source("cxr-jpeg", jpeg.read_bytes()))
    grey16 = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.uint16) * 257
    for name, compression in (("cxr-tiff16", None), ("cxr-tiff16-deflate", "tiff_adobe_deflate")):
        buf = io.BytesIO()
        Image.fromarray(grey16).save(buf, format="TIFF", compression=compression)
        sources.append(_tiff_source(name, buf.getvalue()))
    buf = io.BytesIO()
    Image.fromarray(grey16).save(buf, format="PNG")
    sources.append(_png_source("cxr-png16", buf.getvalue()))
    return sources


def _truncations(src: Source) -> Iterator[tuple[str, bytes, bool]]:
    n, (h0, h1), (p0, p1) = len(src.data), src.header, src.pixels
    cuts = {1, 2, 4, 8, 16, 64, 127, 128, 131, 132, 133, h0 + 1, (h0 + h1) // 2, h1 - 1, h1,
            h1 + 1, p0 + 1, p0 + (p1 - p0) // 3, p0 + 2 * (p1 - p0) // 3, p1 - 1, n - 1}
    cuts |= {n * k // 10 for k in range(1, 10)}
    for cut in sorted(c for c in cuts if 0 < c < n):
        # The last bytes of image data may be only an end marker or padding (JPEG EOI,
        # J2K EOC, RLE/PNG padding) that decoders do without: there, a Film is fine too.
        yield f"truncate@{cut}", src.data[:cut], cut < p1 - 8


def _flips(src: Source, region: tuple[int, int], rng: random.Random,
           rounds: int) -> Iterator[tuple[str, bytes, bool]]:
    lo, hi = region
    lo = max(lo, 8 if src.ext != ".dcm" else 132)  # keep the magic number: test the parser
    for i in range(rounds):
        buf = bytearray(src.data)
        count = (1, 2, 4, 8, 32)[i % 5]
        for _ in range(count):
            at = rng.randrange(lo, hi)
            buf[at] ^= 1 << rng.randrange(8) if i % 2 else rng.randrange(1, 256)
        yield f"{i}x{count}", bytes(buf), False


def _raster_cases(src: Source) -> Iterator[tuple[str, str, bytes, bool]]:
    d = src.data
    if src.ext == ".png":
        chunks = cb.png_chunks(d)
        for kind, off, _n in chunks[:3]:
            yield "length", f"{kind.decode()}-ffffffff", d[:off] + b"\xff" * 4 + d[off + 4:], kind == b"IHDR"
        yield "huge-size", "ihdr-60000x60000", cb.png_with_ihdr(d, width=60000, height=60000), True
        yield "huge-size", "ihdr-0x0", cb.png_with_ihdr(d, width=0, height=0), True
        for field, value in (("depth", 7), ("colour", 9), ("interlace", 5), ("depth", 32)):
            yield "attribute", f"ihdr-{field}-{value}", cb.png_with_ihdr(d, **{field: value}), True
        yield "attribute", "ihdr-interlace-1", cb.png_with_ihdr(d, interlace=1), True
    elif src.ext == ".jpg":
        for marker, off, _n in cb.jpeg_segments(d)[:6]:
            yield "length", f"ff{marker:02x}-ffff", d[:off + 2] + b"\xff\xff" + d[off + 4:], False
        sof = cb.find_sof(d)
        yield "huge-size", "sof-60000x60000", cb.with_sof_size(d, sof, 60000, 60000), True
        yield "huge-size", "sof-0x0", cb.with_sof_size(d, sof, 0, 0), True
        # Under the cap, and libjpeg fills what the data lacks: a (grey) Film is possible.
        yield "huge-size", "sof-8000x8000", cb.with_sof_size(d, sof, 8000, 8000), False
    else:
        for tag, name in ((256, "width"), (257, "length")):
            yield "huge-size", f"{name}-60000", cb.tiff_set(d, tag, 60000), True
        yield "huge-size", "60000x60000", cb.tiff_set(cb.tiff_set(d, 256, 60000), 257, 60000), True
        yield "length", "stripbytecounts-ffffffff", cb.tiff_set(d, 279, 0xFFFFFFFF), False
        yield "length", "bitspersample-count-ffffffff", cb.tiff_set(d, 258, 0xFFFFFFFF, field="count"), True
        yield "length", "stripoffsets-past-end", cb.tiff_set(d, 273, len(d) + 1000), True
        ifd, _ = cb.tiff_entries(d)
        # Pillow keeps the entries it could read; when those are the real ones, fine.
        yield "length", "entries-ffff", d[:ifd] + b"\xff\xff" + d[ifd + 2:], False
        yield "structure", "ifd-past-end", d[:4] + (len(d) + 16).to_bytes(4, "little") + d[8:], True
        yield "structure", "ifd-loop", cb.tiff_ifd_chain(d, 0, loop=True), False
        yield "structure", "ifd-chain-20000", cb.tiff_ifd_chain(d, 20000), False
        for tag, value, name in ((259, 99, "compression-99"), (258, 13, "bits-13"),
                                 (258, 64, "bits-64"), (277, 0, "samples-0"),
                                 (277, 5, "samples-5"), (262, 9, "photometric-9")):
            if any(t == tag for t, *_ in cb.tiff_entries(d)[1]):
                yield "attribute", name, cb.tiff_set(d, tag, value), False


def _generic_cases() -> Iterator[tuple[str, str, str, bytes, bool]]:
    for ext in (".dcm", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ""):
        yield "zero-byte", f"empty{ext or '-noext'}", ext, b"", True
    rng = random.Random(SEED)
    blobs = {
        "text": b"Patient list\nnot an image\n", "html": b"<!DOCTYPE html><html></html>",
        "json": b'{"Rows": 60000, "Columns": 60000}', "zip": b"PK\x03\x04" + bytes(64),
        "pdf": b"%PDF-1.7\n%\xe2\xe3\n", "gzip": b"\x1f\x8b\x08\x00" + bytes(32),
        "elf": Path(sys.executable).read_bytes()[:4096], "zeros-4k": bytes(4096),
        "random-64k": rng.randbytes(65536), "dicm-only": bytes(128) + b"DICM",
        "dicm-random": bytes(128) + b"DICM" + rng.randbytes(4096),
        "png-magic-only": b"\x89PNG\r\n\x1a\n", "jpeg-soi-only": b"\xff\xd8\xff",
        "jpeg-soi-eoi": b"\xff\xd8\xff\xd9", "tiff-header-only": b"II*\x00\x08\x00\x00\x00",
        "tiff-ifd-zero": b"II*\x00\x00\x00\x00\x00" + bytes(16), "bigtiff-header": b"II+\x00" + bytes(12),
        "gif": b"GIF89a" + bytes(32), "bmp": b"BM" + bytes(64),
    }
    for name, blob in blobs.items():
        for ext in (".dcm", ".png", ".jpg", ".tif"):
            yield "not-image", f"{name}{ext}", ext, blob, True


def _bombs() -> Iterator[tuple[str, str, bytes, bool]]:
    side = isqrt(DEFAULT_MAX_PIXELS)
    yield "png-60000x60000", ".png", cb.png_bomb(60000, 60000), True
    yield "png-65535x65535", ".png", cb.png_bomb(65535, 65535), True
    yield "png-2x2000000000", ".png", cb.png_bomb(2, 2_000_000_000), True
    yield f"png-{side + 1}x{side + 1}-inflating", ".png", cb.png_bomb(side + 1, side + 1, real_rows=True), True
    yield f"png-{side}x{side}-at-cap", ".png", cb.png_bomb(side, side, real_rows=True), False
    yield "tiff-50000x50000", ".tif", cb.tiff_bomb(50000, 50000), True
    yield "tiff-16bit-60000x60000", ".tif", cb.tiff_bomb(60000, 60000, bits=16), True
    import zlib

    z = zlib.compressobj(9)
    row = bytes(side)
    strip = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    yield f"tiff-{side}x{side}-deflate-at-cap", ".tif", cb.tiff_bomb(side, side, compression=8, strip=strip), False
    yield "tiff-deflate-60000x60000", ".tif", cb.tiff_bomb(60000, 60000, compression=8, strip=strip), True
    px = (np.arange(64 * 64) % 251).astype(np.uint8).reshape(64, 64)
    yield "dicom-deflated-64x64-ok", ".dcm", deflated_dicom(px), False
    yield "dicom-deflated-inflates-to-2GiB", ".dcm", deflated_dicom(px, padding=2 << 30), True
    yield "dicom-deflated-inflates-to-512MiB", ".dcm", deflated_dicom(px, padding=512 << 20), True
    yield ("dicom-deflated-claims-65535-rows-2GiB", ".dcm",
           deflated_dicom(px, padding=2 << 30, rows=65535), True)
    yield "dicom-deflated-truncated-in-pixels", ".dcm", deflated_dicom(px)[:500], True


def _hostile_cases(png: bytes) -> Iterator[tuple[str, str, str, bytes | None, bool]]:
    """Issue 17's classes that are not damage: a named pipe (``None``: made with mkfifo),
    every EXIF orientation (JPEG, PNG eXIf), and every TIFF sample type and layout."""
    import tifffile

    yield "non-regular", "fifo", ".png", None, True
    yield "non-regular", "fifo-dicom", ".dcm", None, True
    film = np.asarray(Image.open(io.BytesIO(png)).convert("L").resize((320, 256)))
    for fmt, ext in (("JPEG", ".jpg"), ("PNG", ".png")):
        for orientation in range(2, 9):
            exif = Image.Exif()
            exif[0x0112] = orientation
            buf = io.BytesIO()
            Image.fromarray(film).save(buf, format=fmt, exif=exif.tobytes())
            yield "orientation", f"{fmt.lower()}-exif-{orientation}", ext, buf.getvalue(), False
    grey = film.astype(np.uint32)
    arrays = {"uint32-high": (grey << 24) | 0x80000000, "int32": grey.astype(np.int32) - 128,
              "float32": grey.astype(np.float32) / 255, "uint16-3-pages": None,
              "uint16-rgb-planar": None, "float64": grey / 255.0, "int64": grey.astype(np.int64),
              "complex64": grey.astype(np.complex64)}
    for name, arr in arrays.items():
        buf = io.BytesIO()
        if name == "uint16-3-pages":
            tifffile.imwrite(buf, np.stack([grey.astype(np.uint16) * k for k in (1, 2, 3)]),
                             photometric="minisblack")
        elif name == "uint16-rgb-planar":
            tifffile.imwrite(buf, np.stack([grey.astype(np.uint16) * k for k in (1, 2, 3)]),
                             photometric="rgb", planarconfig="separate")
        else:
            tifffile.imwrite(buf, arr)
        yield "sample-type", f"tiff-{name}", ".tif", buf.getvalue(), name in (
            "float64", "int64", "complex64")


def warm_up() -> None:
    """Load one small good film per decoder, so imports are not charged to a case."""
    import tempfile

    from xrayview.core.io import load_film

    test_files = Path(pydicom.__file__).parent / "data" / "test_files"
    for name in ("MR_small.dcm", "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm",
                 "MR_small_jpeg_ls_lossless.dcm", "SC_rgb_jpeg_gdcm.dcm"):
        load_film(test_files / name)
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, ext in (("PNG", ".png"), ("JPEG", ".jpg"), ("TIFF", ".tif")):
            path = Path(tmp) / f"warm{ext}"
            Image.fromarray(np.zeros((8, 8), np.uint8)).save(path, format=fmt)
            load_film(path)


def build_corpus(folder: Path, sources: list[Source]) -> list[Case]:
    """Write every case into ``folder`` (one file each) and return the list."""
    folder.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []

    def add(kind: str, name: str, ext: str, data: bytes | None, must_fail: bool) -> None:
        file = f"{len(cases):04d}{ext}"
        if data is None:
            os.mkfifo(folder / file)  # a named pipe: opening it would block
        else:
            (folder / file).write_bytes(data)
        cases.append(Case(name, kind, file, must_fail))

    for kind, name, ext, data, must_fail in _generic_cases():
        add(kind, name, ext, data, must_fail)
    for name, ext, data, must_fail in _bombs():
        add("bomb", name, ext, data, must_fail)
    rng = random.Random(SEED)
    png = next(s for s in sources if s.name == "cxr-png")
    add("bomb", "png-ztxt-64MB", ".png", cb.png_text_bomb(png.data), False)
    add("bomb", "png-iccp-64MB", ".png", cb.png_text_bomb(png.data, b"iCCP"), False)
    for kind, name, ext, data, must_fail in _hostile_cases(png.data):
        add(kind, name, ext, data, must_fail)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about the values we plant
        _add_source_cases(sources, add, rng)
    (folder / "cases.json").write_text(json.dumps([c.__dict__ for c in cases], indent=0))
    return cases


def _add_source_cases(sources: list[Source], add, rng: random.Random, flips: int = 10) -> None:
    for src in sources:
        for name, data, must_fail in _truncations(src):
            add("truncate", f"{src.name}/{name}", src.ext, data, must_fail)
        for region, kind in ((src.header, "flip-header"), (src.pixels, "flip-pixels")):
            for name, data, must_fail in _flips(src, region, rng, flips):
                add(kind, f"{src.name}/{kind}-{name}", src.ext, data, must_fail)
        if src.ext == ".dcm":
            for kind, name, data, must_fail in dicom_cases(src, rng):
                add(kind, f"{src.name}/{name}", ".dcm", data, must_fail)
        else:
            for kind, name, data, must_fail in _raster_cases(src):
                add(kind, f"{src.name}/{name}", src.ext, data, must_fail)
