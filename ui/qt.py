"""The single place the UI layer imports Qt from.

Every module under ``ui/`` takes its Qt names from here (``from ui.qt import QWidget``),
the way Anki's ``aqt.qt`` and qutebrowser's ``qutebrowser.qt`` do: a binding or version
shim then lives in one file, and a grep for ``PySide6`` outside it finds a mistake.
QtDBus is optional at run time (it is absent on Windows and macOS builds of some
wheels), so ``HAVE_DBUS`` says whether it loaded.
"""

from __future__ import annotations

from PySide6 import __version__ as PYSIDE_VERSION  # noqa: F401
from PySide6.QtCore import *  # noqa: F403
from PySide6.QtGui import *  # noqa: F403
from PySide6.QtSvg import *  # noqa: F403
from PySide6.QtWidgets import *  # noqa: F403

try:
    from PySide6.QtDBus import QDBusConnection, QDBusMessage  # noqa: F401

    HAVE_DBUS = True
except ImportError:  # pragma: no cover - depends on the platform's wheel
    HAVE_DBUS = False
