"""Reading-room look: a dark theme by default, a light one on request.

Films are read in dim rooms on dark surroundings (bright chrome around a film lowers the
contrast the eye can see in it), so the default palette is near-black and neutral grey,
with no saturated colour except for selection and the live-plot curves. The image
canvases are black in both themes. ``apply_theme`` is app-wide (Fusion style + palette);
the choice persists in QSettings under ``view/theme``.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("dark", "light")
DEFAULT_THEME = "dark"

_DARK = {
    QPalette.ColorRole.Window: "#202124", QPalette.ColorRole.WindowText: "#d8d8d8",
    QPalette.ColorRole.Base: "#17181a", QPalette.ColorRole.AlternateBase: "#26282b",
    QPalette.ColorRole.ToolTipBase: "#2b2d31", QPalette.ColorRole.ToolTipText: "#e8e8e8",
    QPalette.ColorRole.Text: "#d8d8d8", QPalette.ColorRole.Button: "#2b2d31",
    QPalette.ColorRole.ButtonText: "#d8d8d8", QPalette.ColorRole.BrightText: "#ffffff",
    QPalette.ColorRole.Highlight: "#3a6ea5", QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#7aa7d8", QPalette.ColorRole.PlaceholderText: "#8a8a8a",
    QPalette.ColorRole.Light: "#3a3c40", QPalette.ColorRole.Midlight: "#313336",
    QPalette.ColorRole.Mid: "#2a2c2f", QPalette.ColorRole.Dark: "#121314",
    QPalette.ColorRole.Shadow: "#000000",
}
_DARK_DISABLED = {
    QPalette.ColorRole.WindowText: "#6c6c6c", QPalette.ColorRole.Text: "#6c6c6c",
    QPalette.ColorRole.ButtonText: "#6c6c6c", QPalette.ColorRole.Highlight: "#3a3c40",
}
_STYLE = {  # small touches on top of the palette: compact view titles, quiet dock titles
    "dark": "QLabel#viewTitle { color: #e0e0e0; font-weight: bold; padding: 2px 4px; }"
            "QLabel#viewReadout { color: #a8a8a8; padding: 1px 4px; }"
            "QDockWidget::title { background: #2b2d31; padding: 3px; }"
            "QToolBar { border: 0px; }",
    "light": "QLabel#viewTitle { font-weight: bold; padding: 2px 4px; }"
             "QLabel#viewReadout { padding: 1px 4px; }",
}


def palette(theme: str) -> QPalette:
    """The QPalette of ``theme`` ("dark" or "light")."""
    if theme not in THEMES:
        raise ValueError(f"unknown theme {theme!r}; one of {', '.join(THEMES)}")
    if theme == "light":
        return QApplication.style().standardPalette()
    pal = QPalette()
    for role, colour in _DARK.items():
        pal.setColor(QPalette.ColorGroup.All, role, QColor(colour))
    for role, colour in _DARK_DISABLED.items():
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(colour))
    return pal


def apply_theme(app: QApplication, theme: str) -> None:
    """Fusion style with ``theme``'s palette and style sheet, for the whole application."""
    app.setStyle("Fusion")
    app.setPalette(palette(theme))
    app.setStyleSheet(_STYLE[theme])
    app.setProperty("xrayview_theme", theme)


def current_theme(app: QApplication) -> str:
    """The theme last applied to ``app`` (the default before any)."""
    return app.property("xrayview_theme") or DEFAULT_THEME
