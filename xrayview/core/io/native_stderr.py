"""Route what C libraries print on file descriptor 2 into the log, for one block.

libtiff, the libjpeg inside GDCM and OpenJPEG report damaged files by writing to the
process's stderr, below Python ("TIFFFetchStripThing: IO error ...", "Corrupt JPEG data:
premature end of data segment"). The command line promises one plain line on stderr for
a bad film, so it wraps loading in ``native_stderr_to_log``: descriptor 2 is pointed at
a temporary file while the block runs, and what was written is logged at DEBUG.

The redirection is process-wide: anything another thread writes to stderr meanwhile
lands in the log too. So only single-threaded callers use it (the CLI); the GUI, whose
other threads may write to stderr at any moment, does not. A lock serialises blocks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import threading
from typing import Iterator

_lock = threading.Lock()


@contextlib.contextmanager
def native_stderr_to_log(logger: logging.Logger, limit: int = 4000) -> Iterator[None]:
    """While the block runs, capture descriptor 2; afterwards log it (DEBUG, first
    ``limit`` characters). Does nothing when descriptor 2 is not usable."""
    with _lock:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, AttributeError, ValueError):
            yield
            return
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                try:
                    sys.stderr.flush()
                except (OSError, AttributeError, ValueError):
                    pass
                os.dup2(saved, 2)
                os.close(saved)
                sink.seek(0)
                text = sink.read(limit).decode("utf-8", "replace").strip()
                if text:
                    logger.debug("native library output: %s", " | ".join(text.splitlines()))
