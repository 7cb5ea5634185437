"""Cancellation shared by the core's long-running generators (Qt-free, no job runner).

A ``cancel`` argument is None, a callable returning True when the user has cancelled,
or an object with ``is_set()`` (e.g. ``threading.Event``). Generators call
``check_cancel(cancel)`` between tiles or steps, so cancel latency is one tile or step.
"""

from __future__ import annotations

from typing import Any, Callable, Union

CancelFlag = Union[None, Callable[[], bool], Any]


class Cancelled(Exception):
    """The user cancelled a long operation; no partial result is returned."""


def is_cancelled(cancel: CancelFlag) -> bool:
    """True when ``cancel`` (None, a callable, or an object with ``is_set()``) is set."""
    if cancel is None:
        return False
    is_set = getattr(cancel, "is_set", None)
    if callable(is_set):
        return bool(is_set())
    if callable(cancel):
        return bool(cancel())
    raise TypeError(f"cancel must be None, a callable or an Event, not {type(cancel).__name__}")


def check_cancel(cancel: CancelFlag, what: str = "operation") -> None:
    """Raise ``Cancelled`` when ``cancel`` is set."""
    if is_cancelled(cancel):
        raise Cancelled(f"{what} cancelled")
