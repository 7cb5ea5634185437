"""Film files on disk: reading them defensively, writing them atomically."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

from xrayview.core.io.errors import ExportError


class ClampedReader(io.BufferedReader):
    """A binary file whose ``read(n)`` never asks for more than what is left in the file.

    pydicom and Pillow read a value by calling ``read(length)`` with the length from the
    file; Python allocates that many bytes up front, so a damaged length field of
    0xFFFFFFFF would cost a 4 GiB allocation (a MemoryError on a strict system). With
    this reader such a field costs nothing.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(io.FileIO(Path(path), "rb"))
        self._size = os.fstat(self.fileno()).st_size

    def read(self, size: int | None = -1) -> bytes:
        """At most ``size`` bytes, and never more than remain in the file."""
        if size is not None and size > 0:
            size = min(size, max(0, self._size - self.tell()))
        return super().read(size)



def _umask() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(fh)`` on a temporary file next to ``path``, flush and fsync it, then
    rename it over ``path`` (and fsync the folder). On any failure the temporary file is
    removed and ``path`` is untouched; an OSError becomes an ExportError (one line),
    anything else is re-raised as it is."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(f"cannot write {path.name}: folder {folder} does not exist.")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise ExportError(f"cannot write in {folder} ({exc.strerror or exc}).") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ExportError(f"cannot write {path.name} ({exc.strerror or exc}).") from exc
        raise
    try:  # make the rename itself durable (POSIX); not possible everywhere
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
