"""Pixmap caching of pyqtgraph axes, so repainting a window does not re-render their text.

An axis re-draws its ticks and labels (``QPicture.play``, ~2.5 ms each with software
rendering) on every repaint of its view, even when nothing about it changed. With
``DeviceCoordinateCache`` Qt keeps the rendered axis as a pixmap and re-renders it only
when pyqtgraph calls ``update()`` on it (a range, label or size change).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem


def cache_axes(item: pg.PlotWidget | pg.PlotItem) -> None:
    """Turn on pixmap caching for every axis of a plot widget or plot item (a
    ``ColorBarItem`` is a ``PlotItem``)."""
    plot = item.getPlotItem() if isinstance(item, pg.PlotWidget) else item
    for axis in plot.axes.values():
        axis["item"].setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
