"""Menus, actions and the view toolbar of the main window, declared in one place.

``build_menus(win)`` returns a :class:`WindowActions` whose fields are every action,
menu and toolbar control the window uses (``win.act.invert``, ``win.act.run`` ...);
nothing is set on the window behind its back. Every action is also added to the window
itself, so its shortcut works with the menu bar hidden, and Help → Keyboard shortcuts
lists them all (``MainWindow.shortcuts_text``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QMainWindow, QMenu, QSlider

from xrayview.gui.compare import LAYOUTS, REFERENCES
from xrayview.gui.presets import CUSTOM, CUSTOM_LABEL, PRESETS
from xrayview.gui.theme import THEMES

PRESET_KEYS = {"default": "D", "full": "W", "auto": "A", "lung": "L", "bone": "B"}


@dataclass
class WindowActions:
    """The window's actions (File, View, Enhance, Help) and view-toolbar controls."""

    open: QAction
    open_folder: QAction
    recent_menu: QMenu
    next_film: QAction
    prev_film: QAction
    export: QAction
    export_csv: QAction
    snapshot: QAction
    quit: QAction
    fit: QAction
    actual_size: QAction
    presets: dict[str, QAction]
    invert: QAction
    swipe: QAction
    flicker: QAction
    layouts: dict[str, QAction]
    smooth: QAction
    overlays: QAction
    tools: dict[str, QAction]
    magnifier: QAction
    clear_measurements: QAction
    export_measurements: QAction
    full_screen: QAction
    image_only: QAction
    themes: dict[str, QAction]
    run: QAction
    cancel: QAction
    shortcuts: QAction
    about: QAction
    preset_combo: QComboBox | None = None
    reference_combo: QComboBox | None = None
    layout_combo: QComboBox | None = None
    swipe_slider: QSlider | None = None


def _action(win: QMainWindow, text: str, slot, shortcut=None, checkable: bool = False) -> QAction:
    action = QAction(text, win)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.setCheckable(checkable)
    action.triggered.connect(slot)
    win.addAction(action)
    return action


def _fill_recent(win, menu: QMenu) -> None:
    menu.clear()
    recent = win.recent_files()
    for path in recent:
        menu.addAction(Path(path).name, partial(win.open_path, path)).setToolTip(path)
    if not recent:
        menu.addAction("(none)").setEnabled(False)


def _add_all(menu: QMenu, items) -> None:
    for a in items:
        if a is None:
            menu.addSeparator()
        elif isinstance(a, QMenu):
            menu.addMenu(a)
        else:
            menu.addAction(a)


def _exclusive(win: QMainWindow, actions: dict[str, QAction]) -> dict[str, QAction]:
    """Make ``actions`` checkable and mutually exclusive (one QActionGroup)."""
    group = QActionGroup(win)
    for action in actions.values():
        action.setCheckable(True)
        group.addAction(action)
    return actions


LAYOUT_KEYS = {"1x3": "Ctrl+3", "1x2": "Ctrl+2", "1x1-o": "Ctrl+1"}


def build_menus(win) -> WindowActions:
    """File, View, Enhance and Help menus of ``win`` (a ``MainWindow``) and their actions."""
    bar = win.menuBar()
    compare = win.compare
    recent = QMenu("Open &recent", win)
    recent.aboutToShow.connect(lambda: _fill_recent(win, recent))
    act = WindowActions(
        open=_action(win, "&Open…", win.open_dialog, QKeySequence.StandardKey.Open),
        open_folder=_action(win, "Open &folder…", win.open_folder_dialog, "Ctrl+Shift+O"),
        recent_menu=recent,
        next_film=_action(win, "&Next film in folder", lambda: win.step_film(1), "PgDown"),
        prev_film=_action(win, "&Previous film in folder", lambda: win.step_film(-1), "PgUp"),
        export=_action(win, "&Export enhanced film…", lambda: win.export_enhanced(), "Ctrl+E"),
        export_csv=_action(win, "Export &metrics (CSV)…", lambda: win.export_metrics()),
        snapshot=_action(win, "Export &snapshot of the views (PNG)…",
                         lambda: win.export_snapshot(), "Ctrl+Shift+E"),
        quit=_action(win, "&Quit", win.close, "Ctrl+Q"),
        fit=_action(win, "&Fit to window", compare.fit, "F"),
        actual_size=_action(win, "&1:1 (one screen pixel per film pixel)", compare.actual_size,
                            "1"),
        presets={name: _action(win, f"Window: {label}", partial(compare.apply_preset, name),
                               PRESET_KEYS[name]) for name, label in PRESETS.items()},
        invert=_action(win, "&Invert greyscale", compare.set_inverted, "I", checkable=True),
        swipe=_action(win, "&Swipe comparison", lambda on: win.toggle_swipe(on), "S",
                      checkable=True),
        flicker=_action(win, "Flic&ker: enhanced in the Original view", compare.set_flicker,
                        "X", checkable=True),
        layouts=_exclusive(win, {
            name: _action(win, f"Layout: {label}", partial(compare.set_layout, name),
                          LAYOUT_KEYS.get(name)) for name, (label, _views) in LAYOUTS.items()}),
        smooth=_action(win, "S&mooth display interpolation (all views)", win.set_smooth,
                       checkable=True),
        overlays=_action(win, "&Overlays on the images", win.set_overlays, "O",
                         checkable=True),
        tools={kind: _action(win, text, partial(win.arm_tool, kind), key, checkable=True)
               for kind, text, key in (("distance", "&Ruler (mm)", "R"),
                                       ("rectangle", "Rectangle &ROI", "T"),
                                       ("ellipse", "&Ellipse ROI", "E"))},
        magnifier=_action(win, "&Magnifier", compare.set_magnifier, "M", checkable=True),
        clear_measurements=_action(win, "&Clear measurements",
                                   compare.measurements.clear, "Ctrl+Del"),
        export_measurements=_action(win, "Export measuremen&ts (CSV)…",
                                    lambda: win.export_measurements()),
        full_screen=_action(win, "F&ull screen", win.set_full_screen, "F11", checkable=True),
        image_only=_action(win, "&Image area only (hide the panels)", win.set_image_only,
                           "Ctrl+Shift+F", checkable=True),
        themes=_exclusive(win, {name: _action(win, f"{name.title()} theme",
                                              partial(win.set_theme, name))
                                for name in THEMES}),
        run=_action(win, "&Run enhancement", win.controller.run, "Ctrl+R"),
        cancel=_action(win, "&Cancel", win.controller.cancel, "Esc"),
        shortcuts=_action(win, "&Keyboard shortcuts", win.show_shortcuts, "F1"),
        about=_action(win, "&About xrayview", win.show_about),
    )
    _add_all(bar.addMenu("&File"), (
        act.open, act.open_folder, act.recent_menu, None, act.next_film, act.prev_film, None,
        act.export, act.export_csv, act.export_measurements, act.snapshot, None, act.quit))
    view_menu = bar.addMenu("&View")
    layout_menu = QMenu("&Layout", win)
    _add_all(layout_menu, act.layouts.values())
    theme_menu = QMenu("&Theme", win)
    _add_all(theme_menu, act.themes.values())
    _add_all(view_menu, (act.fit, act.actual_size, None, *act.presets.values(), act.invert,
                         None, layout_menu, act.smooth, act.overlays, act.full_screen, act.image_only,
                         theme_menu, None, act.swipe, act.flicker, None))
    for dock in (win.enhance_dock, win.metrics_dock, win.histogram_dock, win.tags_dock,
                 win.films_dock):
        view_menu.addAction(dock.toggleViewAction())
    _add_all(bar.addMenu("&Measure"), (*act.tools.values(), act.magnifier, None,
                                        act.clear_measurements, act.export_measurements))
    _add_all(bar.addMenu("&Enhance"), (act.run, act.cancel))
    _add_all(bar.addMenu("&Help"), (act.shortcuts, act.about))
    return act


def _combo(bar, caption: str, items: dict[str, str]) -> QComboBox:
    """A captioned combo box on ``bar`` listing ``items`` (name -> label; data = name)."""
    bar.addWidget(QLabel(caption))
    combo = QComboBox()
    for name, label in items.items():
        combo.addItem(label, name)
    bar.addWidget(combo)
    return combo


def show_preset(combo: QComboBox, name: str) -> None:
    """Select preset ``name`` in the window combo (CUSTOM included) without applying it."""
    combo.blockSignals(True)
    combo.setCurrentIndex(combo.findData(name))
    combo.blockSignals(False)


def offer_presets(combo: QComboBox, film_is_dicom: bool) -> None:
    """List "DICOM default" only for DICOM films ("Custom" is shown, never chosen)."""
    view = combo.view()
    view.setRowHidden(combo.findData("default"), not film_is_dicom)
    view.setRowHidden(combo.findData(CUSTOM), True)


def build_toolbar(win, act: WindowActions) -> None:
    """The view toolbar: fit, 1:1, window preset, invert, difference reference, swipe;
    its controls are stored in ``act``."""
    bar = win.addToolBar("View")
    bar.setObjectName("view_toolbar")
    act.layout_combo = _combo(bar, " Layout ", {n: label for n, (label, _v) in LAYOUTS.items()})
    act.layout_combo.activated.connect(
        lambda i: win.compare.set_layout(act.layout_combo.itemData(i)))

    def show_layout(name: str) -> None:  # combo and menu follow double-click maximise too
        act.layout_combo.setCurrentIndex(act.layout_combo.findData(name))
        act.layouts[name].setChecked(True)
    win.compare.layoutChanged.connect(show_layout)
    show_layout(win.compare.layout_name)
    bar.addSeparator()
    for action, text in ((act.fit, "Fit"), (act.actual_size, "1:1")):
        bar.addAction(action)
        action.setIconText(text)
    bar.addSeparator()
    # a preset is applied when chosen (again), the reference whenever it changes
    act.preset_combo = _combo(bar, " Window ", {**PRESETS, CUSTOM: CUSTOM_LABEL})
    act.preset_combo.setToolTip("The window in force: a preset, or Custom after a "
                                "right-drag or a histogram edit")
    act.preset_combo.activated.connect(
        lambda i: win.compare.apply_preset(act.preset_combo.itemData(i))
        if act.preset_combo.itemData(i) != CUSTOM else None)
    win.compare.presetChanged.connect(lambda name: show_preset(act.preset_combo, name))
    bar.addAction(act.invert)
    act.invert.setIconText("Invert")
    bar.addSeparator()
    act.reference_combo = _combo(bar, " Difference vs ", REFERENCES)
    act.reference_combo.currentIndexChanged.connect(
        lambda i: win.compare.set_reference_kind(act.reference_combo.itemData(i)))
    win.compare.referenceKindChanged.connect(  # the combo shows what the view subtracts
        lambda kind: act.reference_combo.setCurrentIndex(act.reference_combo.findData(kind)))
    bar.addSeparator()
    bar.addAction(act.swipe)
    act.swipe.setIconText("Swipe")
    act.swipe_slider = QSlider(Qt.Orientation.Horizontal)
    act.swipe_slider.setRange(0, 1000)
    act.swipe_slider.setValue(500)
    act.swipe_slider.setFixedWidth(160)
    act.swipe_slider.setEnabled(False)
    act.swipe_slider.valueChanged.connect(
        lambda v: win.compare.set_swipe(v / 1000) if act.swipe.isChecked() else None)
    bar.addWidget(act.swipe_slider)
    bar.addAction(act.flicker)
    act.flicker.setIconText("Flicker")
    bar.addSeparator()
    for action, text in ((act.tools["distance"], "Ruler"), (act.tools["rectangle"], "Rect"),
                         (act.tools["ellipse"], "Ellipse"), (act.magnifier, "Lens")):
        bar.addAction(action)
        action.setIconText(text)
