"""Where the app's files (icons, themes) are, and loading them.

Resolved relative to this package so it works from a source tree and from a
PyInstaller bundle alike (the spec copies ``resources/`` next to ``ui/``).
"""

from __future__ import annotations

from pathlib import Path

from ui.qt import QIcon

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def icon(name: str) -> QIcon:
    """An icon from ``resources/icons/<name>.svg``."""
    return QIcon(str(RESOURCES / "icons" / f"{name}.svg"))


def app_icon() -> QIcon:
    """Reviewer's icon (SVG, sharp at every size)."""
    return icon("reviewer")
