"""Helpers to run the core's generators (DESIGN §3) outside a generator.

Every long operation yields records and returns its result; inside another generator use
``result = yield from gen``, elsewhere one of these.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, TypeVar

T = TypeVar("T")
Y = TypeVar("Y")


def drive(gen: Generator[Y, Any, T], each: Callable[[Y], object]) -> T:
    """Run ``gen`` to its end, calling ``each(record)`` per yielded record; its result."""
    while True:
        try:
            record = next(gen)
        except StopIteration as stop:
            return stop.value
        each(record)


def drain(gen: Generator[Any, Any, T]) -> T:
    """Run a core generator to its end, discarding progress; returns its result."""
    return drive(gen, lambda _record: None)


def collect(gen: Generator[Y, Any, T]) -> tuple[list[Y], T]:
    """Run a core generator to its end; returns (every yielded record, its result)."""
    records: list[Y] = []
    return records, drive(gen, records.append)


def mapped(gen: Generator[Y, Any, T], fn: Callable[[Y], Any]) -> Generator[Any, None, T]:
    """A generator yielding ``fn(record)`` for each record of ``gen``; returns its result.

    Inside a generator: ``result = yield from mapped(gen, fn)``.
    """
    while True:
        try:
            record = next(gen)
        except StopIteration as stop:
            return stop.value
        yield fn(record)
