"""Qt-free core of xrayview: films, models, inference, metrics.

Nothing under ``xrayview.core`` may import PySide6, shiboken6 or pyqtgraph; a test in
``tests/core/test_layering.py`` enforces this.
"""
