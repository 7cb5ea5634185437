"""Film files on disk: reading them defensively, writing them atomically."""

from __future__ import annotations

import io
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

from xrayview.core.io.errors import ExportError

try:  # POSIX: a live export holds a lock on its temporary file (see atomic_write)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

_NOT_REGULAR = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
                (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                (stat.S_ISSOCK, "a socket"))
MAX_NAME_BYTES = 255
"""Longest file name (bytes) on the file systems xrayview writes to."""


def not_regular(path: str | os.PathLike[str]) -> str | None:
    """What ``path`` is when it is not a regular file ("a named pipe (FIFO)", "a folder",
    ...), else None. Uses ``os.stat`` only, so a FIFO or device is never opened (opening
    a FIFO blocks until a writer comes). Raises OSError (e.g. FileNotFoundError)."""
    mode = os.stat(path).st_mode
    if stat.S_ISREG(mode):
        return None
    return next((what for test, what in _NOT_REGULAR if test(mode)), "not a regular file")


def os_reason(exc: BaseException) -> str:
    """The plain reason of an OSError, also when a library re-raised it with a longer
    text (pydicom adds the traceback to the message): "No space left on device"."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror
        seen = seen.__cause__ or seen.__context__
    text = str(exc).strip()
    found = re.search(r"\[Errno \d+\] ([^\n]+)", text)
    line = found.group(1) if found else (text.splitlines()[0] if text else type(exc).__name__)
    return line if len(line) <= 120 else line[:117].rsplit(" ", 1)[0] + " ..."


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


def _part_prefix(name: str) -> str:
    """``.NAME.`` cut so that the temporary name (prefix, 8 random characters, ``.part``)
    stays within MAX_NAME_BYTES, at a character boundary."""
    raw = f".{name}.".encode("utf-8", "surrogateescape")[:MAX_NAME_BYTES - 8 - len(".part")]
    return raw.decode("utf-8", "ignore")


def remove_stale_parts(folder: Path, name: str) -> list[Path]:
    """Remove temporary files that a killed export of ``name`` left in ``folder``: those
    whose lock no live writer holds (a running export keeps its lock). Returns them."""
    if fcntl is None:
        return []
    prefix, removed = _part_prefix(name), []
    try:
        candidates = [p for p in folder.iterdir()
                      if p.name.startswith(prefix) and p.name.endswith(".part")]
    except OSError:
        return []
    for part in candidates:
        try:
            fd = os.open(part, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            part.unlink()
            removed.append(part)
        except OSError:
            continue  # locked: an export is writing it now
        finally:
            os.close(fd)
    return removed


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(fh)`` on a temporary file next to ``path``, flush and fsync it, then
    rename it over ``path`` (and fsync the folder). On any failure the temporary file is
    removed and ``path`` is untouched; an OSError becomes an ExportError (one line naming
    the file and the reason, e.g. "No space left on device"), anything else is re-raised.
    The temporary file is locked while it is written, so the next export of the same
    name can tell one left by a killed process and remove it (``remove_stale_parts``)."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(f"cannot write {path.name}: folder {folder} does not exist.")
    if len(path.name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        raise ExportError(f"cannot write {path.name[:40]}...: the name is longer than "
                          f"{MAX_NAME_BYTES} bytes.")
    remove_stale_parts(folder, path.name)
    try:
        fd, tmp = tempfile.mkstemp(prefix=_part_prefix(path.name), suffix=".part", dir=folder)
    except OSError as exc:
        raise ExportError(f"cannot write {path.name} in {folder} ({os_reason(exc)}).") from exc
    hold = -1  # a second descriptor keeps the lock until the rename
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
            hold = os.dup(fd)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ExportError(f"cannot write {path.name} ({os_reason(exc)}).") from exc
        raise
    finally:
        if hold >= 0:
            os.close(hold)
    try:  # make the rename itself durable (POSIX); not possible everywhere
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
