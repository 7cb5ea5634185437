"""Qt user interface of xrayview: the only package importing PySide6 or pyqtgraph.

Modules: ``app`` (start-up, ``run(paths)``), ``main_window`` (menus, status bar, file
opening), ``viewer`` (``FilmView``: one film with pan/zoom and display-only window/level).
Nothing is imported here, so ``import xrayview.gui`` stays cheap.
"""
