"""Typed errors for films that cannot be loaded.

Each error's ``str()`` is one plain-language line fit for a dialog or for stderr.
"""

from __future__ import annotations


class FilmError(Exception):
    """Base class: a film could not be loaded. ``str(err)`` is a one-line message."""


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
