"""The Qt import point, and the binding bug that keeps PySide6 below 6.12."""

from __future__ import annotations

import sys

from ui.qt import QObject, QTimer, Signal


class _Emitter(QObject):
    changed = Signal(object)


def _bool_refs() -> int:
    return sys.getrefcount(True) + sys.getrefcount(False)


def test_emitting_and_disconnecting_do_not_eat_bool_references() -> None:
    # PySide6 6.12.0 on Python 3.11 loses one reference per call here: 30 000 calls would
    # take True's count (a few thousand) below zero and abort the process.
    emitter = _Emitter()
    timer = QTimer()

    def slot(_value: object) -> None:
        pass

    before = _bool_refs()
    for i in range(10_000):
        emitter.changed.emit(i)
        timer.timeout.emit()
        emitter.changed.connect(slot)
        emitter.changed.disconnect(slot)
    assert _bool_refs() - before > -100


def test_nothing_in_ui_imports_pyside_directly() -> None:
    from pathlib import Path

    ui = Path(__file__).resolve().parents[2] / "ui"
    offenders = [
        path.name
        for path in ui.glob("*.py")
        if path.name != "qt.py"
        and any(
            line.lstrip().startswith(("from PySide6", "import PySide6", "import shiboken"))
            for line in path.read_text().splitlines()
        )
    ]
    assert offenders == []
