"""Command implementations that print progress for the CLI (the core itself never prints)."""

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2


class BadInput(Exception):
    """A user-facing input problem detected by the CLI itself (exit code 2)."""


def load_film_quietly(path, **kwargs):
    """``load_film(path, **kwargs)`` with what C decoders (libtiff, GDCM's libjpeg) print
    on stderr sent to the log at DEBUG instead, so a bad film gives exactly one line on
    stderr. Redirecting stderr is process-wide: fine here, the CLI is single-threaded."""
    import logging

    from xrayview.core.io import load_film
    from xrayview.core.io.native_stderr import native_stderr_to_log

    with native_stderr_to_log(logging.getLogger("xrayview.cli")):
        return load_film(path, **kwargs)
