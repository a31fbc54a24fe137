"""How a flag looks: colours that only reinforce the symbol (never carry meaning alone).

The hues are from the Okabe–Ito palette, chosen to stay apart for the common kinds of
colour blindness: orange/vermillion for high, blue for low, reddish purple for abnormal.
Each theme (dark, light) gets its own shade so the text keeps its contrast.
"""

from __future__ import annotations

from reviewer_app.labs.flags import FlagKind
from ui.qt import QApplication, QColor, QPalette

# kind -> (dark theme, light theme) text colour
_TEXT: dict[FlagKind, tuple[str, str]] = {
    FlagKind.HIGH: ("#e69f00", "#b34700"),
    FlagKind.CRITICAL_HIGH: ("#ffb84d", "#a33a00"),
    FlagKind.LOW: ("#56b4e9", "#0063a0"),
    FlagKind.CRITICAL_LOW: ("#8fd0ff", "#004f80"),
    FlagKind.ABNORMAL: ("#e3a0c8", "#a0457a"),
    FlagKind.CRITICAL_ABNORMAL: ("#f0b8da", "#8a3366"),
    FlagKind.OTHER: ("#e3a0c8", "#a0457a"),
}
# Critical results also get a tinted cell, so they stand out in a dense flowsheet.
_BACKGROUND: dict[FlagKind, tuple[str, str]] = {
    FlagKind.CRITICAL_HIGH: ("#4a2d0c", "#fde3cc"),
    FlagKind.CRITICAL_LOW: ("#0f3550", "#d6e9f7"),
    FlagKind.CRITICAL_ABNORMAL: ("#47203a", "#f5dcea"),
}


def dark_theme() -> bool:
    """True when the application palette is dark (the app's default theme)."""
    return QApplication.palette().color(QPalette.ColorRole.Base).lightness() < 128


def text_colour(kind: FlagKind, dark: bool | None = None) -> QColor | None:
    """The text colour of a flagged value, None for normal/unflagged ones; ``dark``
    chooses the shade (default: the application's theme; a printed figure is light)."""
    pair = _TEXT.get(kind)
    if dark is None:
        dark = dark_theme()
    return QColor(pair[0 if dark else 1]) if pair else None


def background_colour(kind: FlagKind) -> QColor | None:
    """The cell tint of a critical value, None for the rest."""
    pair = _BACKGROUND.get(kind)
    return QColor(pair[0 if dark_theme() else 1]) if pair else None
