"""Dark and light themes: Fusion style, a matching palette, and a QSS file.

Dark is the default (reading rooms are dim). The palette carries the colours Qt paints
itself (text selection, disabled text, tooltips); ``resources/themes/<name>.qss`` adds
spacing, borders and the few named widgets. The choice is remembered in QSettings.
"""

from __future__ import annotations

import enum

from ui.qt import QApplication, QColor, QPalette, QSettings, QStyleFactory
from ui.resources import RESOURCES

THEMES_DIR = RESOURCES / "themes"
SETTINGS_KEY = "ui/theme"


class Theme(enum.Enum):
    DARK = "dark"
    LIGHT = "light"


# role -> (dark, light)
_PALETTE: dict[QPalette.ColorRole, tuple[str, str]] = {
    QPalette.ColorRole.Window: ("#1d2126", "#f3f5f7"),
    QPalette.ColorRole.WindowText: ("#d9dee4", "#1f2933"),
    QPalette.ColorRole.Base: ("#171a1e", "#ffffff"),
    QPalette.ColorRole.AlternateBase: ("#1b1f24", "#f7f9fb"),
    QPalette.ColorRole.ToolTipBase: ("#2a3038", "#ffffff"),
    QPalette.ColorRole.ToolTipText: ("#e6eaee", "#1f2933"),
    QPalette.ColorRole.PlaceholderText: ("#7b8794", "#8a96a3"),
    QPalette.ColorRole.Text: ("#d9dee4", "#1f2933"),
    QPalette.ColorRole.Button: ("#262b31", "#ffffff"),
    QPalette.ColorRole.ButtonText: ("#d9dee4", "#1f2933"),
    QPalette.ColorRole.BrightText: ("#ffffff", "#000000"),
    QPalette.ColorRole.Highlight: ("#2f5f86", "#cfe3f5"),
    QPalette.ColorRole.HighlightedText: ("#ffffff", "#102a43"),
    QPalette.ColorRole.Link: ("#79b4e3", "#1f6fb2"),
    QPalette.ColorRole.Mid: ("#3a414a", "#c9d1da"),
    QPalette.ColorRole.Dark: ("#121417", "#aab4bf"),
    QPalette.ColorRole.Light: ("#353c45", "#ffffff"),
}
_DISABLED_TEXT = ("#5f6b77", "#a3adb8")


def palette(theme: Theme) -> QPalette:
    """The QPalette for ``theme``."""
    index = 0 if theme is Theme.DARK else 1
    pal = QPalette()
    for role, colours in _PALETTE.items():
        pal.setColor(role, QColor(colours[index]))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.ButtonText,
    ):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(_DISABLED_TEXT[index]))
    return pal


def stylesheet(theme: Theme) -> str:
    """The QSS text of ``theme`` (``@ICONS@`` stands for the icons folder: QSS resolves
    a relative ``url()`` against the working directory, not the file)."""
    text = (THEMES_DIR / f"{theme.value}.qss").read_text(encoding="utf-8")
    return text.replace("@ICONS@", (RESOURCES / "icons").as_posix())


def apply(app: QApplication, theme: Theme) -> None:
    """Paint the whole app in ``theme``."""
    style = QStyleFactory.create("Fusion")
    if style is not None:
        app.setStyle(style)
    app.setPalette(palette(theme))
    app.setStyleSheet(stylesheet(theme))
    app.setProperty("reviewerTheme", theme.value)


def current(app: QApplication) -> Theme:
    """The theme applied last (dark if none was)."""
    return Theme(app.property("reviewerTheme") or Theme.DARK.value)


def saved(settings: QSettings) -> Theme:
    """The theme chosen last time, dark by default (or if the setting is unknown)."""
    try:
        return Theme(str(settings.value(SETTINGS_KEY, Theme.DARK.value)))
    except ValueError:
        return Theme.DARK


def save(settings: QSettings, theme: Theme) -> None:
    """Remember ``theme`` for the next start."""
    settings.setValue(SETTINGS_KEY, theme.value)
