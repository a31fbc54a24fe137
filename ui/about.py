"""Help ▸ About Reviewer: the version, the Qt it runs on, and every dependency's licence.

The licences come from ``docs/dependencies.md``, the one list the project keeps; the
PyInstaller spec ships it in the bundle at the same place relative to ``resources/``,
so the box shows the same text from a source tree and from an installed app.
"""

from __future__ import annotations

import platform

from reviewer_app import __version__
from ui.qt import PYSIDE_VERSION, QIcon, QMessageBox, QSize, QWidget, qVersion
from ui.resources import RESOURCES

LICENCES = RESOURCES.parent / "docs" / "dependencies.md"
MISSING = "The dependency list is missing from this installation (docs/dependencies.md)."


def licences_text() -> str:
    """The dependency and licence list (Markdown), or a line saying it is missing."""
    try:
        return LICENCES.read_text(encoding="utf-8")
    except OSError:
        return MISSING


class AboutDialog(QMessageBox):
    """Version and platform; "Show Details…" opens the selectable licence list."""

    def __init__(self, icon: QIcon, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About Reviewer")
        self.setIconPixmap(icon.pixmap(QSize(64, 64)))
        self.setText(f"<b>Reviewer {__version__}</b>")
        self.setInformativeText(
            "An offline, encrypted workstation for medical second opinions.<br><br>"
            f"Qt {qVersion()} · PySide6 {PYSIDE_VERSION} (LGPL-3.0) · "
            f"Python {platform.python_version()} · {platform.system()} {platform.machine()}"
            "<br><br>Reviewer is built on open-source components: “Show Details…” lists "
            "each one with its licence."
        )
        self.setDetailedText(licences_text())
        self.setStandardButtons(QMessageBox.StandardButton.Close)
