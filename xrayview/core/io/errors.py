"""Typed errors for films that cannot be loaded.

Each error's ``str()`` is one plain-language line fit for a dialog or for stderr.
"""

from __future__ import annotations


def plain(text: object, limit: int = 64) -> str:
    """``text`` (e.g. a value read from a damaged file) as printable characters on one
    line, at most ``limit`` of them, for quoting in a message."""
    out = "".join(c if c.isprintable() else "?" for c in str(text)).strip()
    return out if len(out) <= limit else out[:limit - 3] + "..."


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_control(text: object) -> str:
    """``text`` with every non-printable character (CR, LF, ESC, other controls, bidi
    overrides) written as a visible escape (``\\r``, ``\\x1b``, ``\\u202e``), so text
    from a file can neither forge lines nor drive a terminal."""
    return "".join(c if c.isprintable() else _ESCAPES.get(c) or
                   (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"
                    if ord(c) < 0x10000 else f"\\U{ord(c):08x}") for c in str(text))


class FilmError(Exception):
    """Base class: a film could not be loaded. ``str(err)`` is a one-line message.

    The message is normalised on construction: control characters become spaces and
    runs of whitespace one space, so a value quoted from a damaged file cannot break it
    over several lines.
    """

    def __init__(self, message: object = "", *args: object) -> None:
        text = "".join(c if c.isprintable() else " " for c in str(message))
        super().__init__(" ".join(text.split()), *args)


class NotAnImageError(FilmError):
    """The file is not an image at all (text, archive, empty file, ...)."""


class CorruptFilmError(FilmError):
    """The file looks like a supported format but is damaged or truncated."""


class UnsupportedFilmError(FilmError):
    """A real image in a format, transfer syntax or layout xrayview does not handle."""


class NoPixelDataError(FilmError):
    """A DICOM file without image pixels (structured report, RT plan, ...)."""


class FilmTooLargeError(FilmError):
    """The header claims more pixels than the configured cap; refused before decoding."""


class FilmTooSmallError(FilmError):
    """The film is too small for what was asked of it (dehazing needs 11 x 11 pixels)."""


class ExportError(FilmError):
    """A film could not be written (bad path or format, would overwrite the input)."""
