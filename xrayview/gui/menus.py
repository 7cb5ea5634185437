"""Menus, actions and the view toolbar of the main window.

Every action is also added to the window itself, so its shortcut works with the menu bar
hidden, and Help → Keyboard shortcuts lists them all (``MainWindow.shortcuts_text``).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QMainWindow, QMenu, QSlider

from xrayview.gui.compare import REFERENCES
from xrayview.gui.presets import PRESETS

PRESET_KEYS = {"default": "D", "full": "W", "auto": "A", "lung": "L", "bone": "B"}


def _action(win: QMainWindow, text: str, slot, shortcut=None, checkable: bool = False) -> QAction:
    action = QAction(text, win)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.setCheckable(checkable)
    action.triggered.connect(slot)
    win.addAction(action)
    return action


def _fill_recent(win) -> None:
    menu = win.recent_menu
    menu.clear()
    recent = win.recent_files()
    for path in recent:
        menu.addAction(Path(path).name, partial(win.open_path, path)).setToolTip(path)
    if not recent:
        menu.addAction("(none)").setEnabled(False)


def build_menus(win) -> None:
    """File, View, Enhance and Help menus; sets the ``*_action`` attributes on ``win``."""
    bar = win.menuBar()
    file_menu = bar.addMenu("&File")
    win.open_action = _action(win, "&Open…", win.open_dialog, QKeySequence.StandardKey.Open)
    win.open_folder_action = _action(win, "Open &folder…", win.open_folder_dialog,
                                     "Ctrl+Shift+O")
    win.recent_menu = QMenu("Open &recent", win)
    win.recent_menu.aboutToShow.connect(lambda: _fill_recent(win))
    win.next_film_action = _action(win, "&Next film in folder", lambda: win.step_film(1),
                                   "PgDown")
    win.prev_film_action = _action(win, "&Previous film in folder", lambda: win.step_film(-1),
                                   "PgUp")
    win.export_action = _action(win, "&Export enhanced film…", lambda: win.export_enhanced(),
                                "Ctrl+E")
    win.export_csv_action = _action(win, "Export &metrics (CSV)…", lambda: win.export_metrics())
    win.snapshot_action = _action(win, "Export &snapshot of the views (PNG)…",
                                  lambda: win.export_snapshot(), "Ctrl+Shift+E")
    win.quit_action = _action(win, "&Quit", win.close, "Ctrl+Q")
    for a in (win.open_action, win.open_folder_action, win.recent_menu, None,
              win.next_film_action, win.prev_film_action, None, win.export_action,
              win.export_csv_action, win.snapshot_action, None, win.quit_action):
        if a is None:
            file_menu.addSeparator()
        elif isinstance(a, QMenu):
            file_menu.addMenu(a)
        else:
            file_menu.addAction(a)

    compare = win.compare
    view_menu = bar.addMenu("&View")
    win.fit_action = _action(win, "&Fit to window", compare.fit, "F")
    win.actual_size_action = _action(win, "&1:1 (one screen pixel per film pixel)",
                                     compare.actual_size, "1")
    win.preset_actions = {name: _action(win, f"Window: {label}",
                                        partial(compare.apply_preset, name), PRESET_KEYS[name])
                          for name, label in PRESETS.items()}
    win.default_window_action = win.preset_actions["default"]
    win.full_range_action = win.preset_actions["full"]
    win.invert_action = _action(win, "&Invert greyscale", compare.set_inverted, "I",
                                checkable=True)
    win.swipe_action = _action(win, "&Swipe comparison", win_toggle_swipe(win), "S",
                               checkable=True)
    win.flicker_action = _action(win, "Flic&ker: enhanced in the Original view",
                                 compare.set_flicker, "X", checkable=True)
    for a in (win.fit_action, win.actual_size_action, None, *win.preset_actions.values(),
              win.invert_action, None, win.swipe_action, win.flicker_action, None):
        view_menu.addSeparator() if a is None else view_menu.addAction(a)
    for dock in (win.enhance_dock, win.metrics_dock, win.histogram_dock, win.tags_dock,
                 win.films_dock):
        view_menu.addAction(dock.toggleViewAction())

    enhance_menu = bar.addMenu("&Enhance")
    win.run_action = _action(win, "&Run enhancement", win.controller.run, "Ctrl+R")
    win.cancel_action = _action(win, "&Cancel", win.controller.cancel, "Esc")
    enhance_menu.addAction(win.run_action)
    enhance_menu.addAction(win.cancel_action)

    help_menu = bar.addMenu("&Help")
    win.shortcuts_action = _action(win, "&Keyboard shortcuts", win.show_shortcuts, "F1")
    win.about_action = _action(win, "&About xrayview", win.show_about)
    help_menu.addAction(win.shortcuts_action)
    help_menu.addAction(win.about_action)


def win_toggle_swipe(win):
    """Slot for the swipe action: on at the slider's position, off."""
    def toggle(on: bool) -> None:
        win.swipe_slider.setEnabled(on)
        win.compare.set_swipe(win.swipe_slider.value() / 1000 if on else None)
    return toggle


def build_toolbar(win) -> None:
    """The view toolbar: fit, 1:1, window preset, invert, difference reference, swipe."""
    bar = win.addToolBar("View")
    bar.setObjectName("view_toolbar")
    bar.addAction(win.fit_action)
    win.fit_action.setIconText("Fit")
    bar.addAction(win.actual_size_action)
    win.actual_size_action.setIconText("1:1")
    bar.addSeparator()
    bar.addWidget(QLabel(" Window "))
    win.preset_combo = QComboBox()
    for name, label in PRESETS.items():
        win.preset_combo.addItem(label, name)
    win.preset_combo.activated.connect(
        lambda i: win.compare.apply_preset(win.preset_combo.itemData(i)))
    bar.addWidget(win.preset_combo)
    bar.addAction(win.invert_action)
    win.invert_action.setIconText("Invert")
    bar.addSeparator()
    bar.addWidget(QLabel(" Difference vs "))
    win.reference_combo = QComboBox()
    for name, label in REFERENCES.items():
        win.reference_combo.addItem(label, name)
    win.reference_combo.currentIndexChanged.connect(
        lambda i: win.compare.set_reference_kind(win.reference_combo.itemData(i)))
    bar.addWidget(win.reference_combo)
    bar.addSeparator()
    bar.addAction(win.swipe_action)
    win.swipe_action.setIconText("Swipe")
    win.swipe_slider = QSlider(Qt.Orientation.Horizontal)
    win.swipe_slider.setRange(0, 1000)
    win.swipe_slider.setValue(500)
    win.swipe_slider.setFixedWidth(160)
    win.swipe_slider.setEnabled(False)
    win.swipe_slider.valueChanged.connect(
        lambda v: win.compare.set_swipe(v / 1000) if win.swipe_action.isChecked() else None)
    bar.addWidget(win.swipe_slider)
    bar.addAction(win.flicker_action)
    win.flicker_action.setIconText("Flicker")
