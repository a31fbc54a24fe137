"""The single place the UI layer imports Qt from.

Every module under ``ui/`` takes its Qt names from here (``from ui.qt import QWidget``),
the way Anki's ``aqt.qt`` and qutebrowser's ``qutebrowser.qt`` do: a binding or version
shim then lives in one file, and a grep for ``PySide6`` outside it finds a mistake.
QtDBus is optional at run time (it is absent on Windows and macOS builds of some
wheels), so ``HAVE_DBUS`` says whether it loaded.

PySide6 6.12.0 on Python 3.11 loses a reference to ``True``/``False`` on every signal
``emit()`` and ``disconnect()`` and aborts the interpreter after a few thousand signals
(``Fatal Python error: bool_dealloc``). pyproject.toml therefore keeps PySide6 below
6.12, and ``tests/ui/test_qt.py`` fails if a version with that leak is ever installed.
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
