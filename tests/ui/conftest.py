"""Fixtures for the Qt layer: isolated settings, real vaults, and napari-style leak checks.

Every UI test fails if it leaves behind a running thread (Python or thread pool), an
active QTimer or pending single-shot timer started from Python, or an open top-level
widget: a clean quit is part of the design, so the tests hold every piece to it.
QSettings goes to a per-test temp folder, never to the user's real settings.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import shiboken6

from reviewer_app.vault import KeySource, Profile, create_profile
from tests.fixtures.synced_case import synced_case, synced_source  # noqa: F401
from tests.ui.helpers import FAST_SCRYPT, PASSPHRASE
from ui.notifier import Notifier
from ui.operations import Operations
from ui.qt import QApplication, QEvent, QSettings, QThreadPool, QTimer

# Top-level widgets Qt keeps for itself (tooltips, completer popups, …).
_QT_INTERNAL = ("QTipLabel", "QComboBoxPrivateContainer", "QCompleterPopup")


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """QSettings writes to a fresh temp folder for each test."""
    folder = tmp_path_factory.mktemp("qsettings")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    yield folder


class _TimerTracker:
    """Records QTimers started and single shots pending, from Python code."""

    def __init__(self) -> None:
        self.started: list[Any] = []
        self.pending_single_shots = 0
        self._start = QTimer.start
        self._single_shot = QTimer.__dict__["singleShot"]

    def install(self) -> None:
        tracker = self
        original_start = self._start
        original_single = self._single_shot.__func__

        def start(timer: QTimer, *args: Any) -> None:
            tracker.started.append(timer)
            original_start(timer, *args)

        def single_shot(*args: Any) -> None:
            # singleShot(msec, [context,] functor): count it until it has fired.
            *head, functor = args
            if not callable(functor):
                original_single(*args)
                return
            tracker.pending_single_shots += 1

            def fire() -> None:
                tracker.pending_single_shots -= 1
                functor()

            original_single(*head, fire)

        QTimer.start = start  # type: ignore[method-assign]
        QTimer.singleShot = staticmethod(single_shot)  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        QTimer.start = self._start  # type: ignore[method-assign]
        QTimer.singleShot = self._single_shot  # type: ignore[method-assign]

    def active(self) -> list[str]:
        alive = []
        for timer in self.started:
            if shiboken6.isValid(timer) and timer.isActive():
                alive.append(f"{timer.objectName() or 'QTimer'} parent={timer.parent()!r}")
        return alive


def _flush_deletes(app: QApplication) -> None:
    for _ in range(3):
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        app.processEvents()


@pytest.fixture(autouse=True)
def leak_check(qapp: QApplication) -> Iterator[None]:
    """Fail the test if it leaves threads, pool jobs, timers or windows behind.

    Autouse and depending only on ``qapp``, it is set up before ``qtbot`` and torn down
    after it, so the widgets qtbot closes are gone when this looks.
    """
    threads_before = set(threading.enumerate())
    tracker = _TimerTracker()
    tracker.install()
    try:
        yield
    finally:
        tracker.uninstall()
    _flush_deletes(qapp)
    problems = []

    pool = QThreadPool.globalInstance()
    if not pool.waitForDone(2000):
        problems.append(f"global QThreadPool still has {pool.activeThreadCount()} jobs")

    deadline = time.monotonic() + 2
    while True:
        leaked = [
            t
            for t in threading.enumerate()
            if t not in threads_before
            and t.is_alive()
            # Python's stand-in for a thread it did not start (a Qt pool thread that
            # called into threading); the pool checks above cover those.
            and not isinstance(t, threading._DummyThread)
        ]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    if leaked:
        problems.append(f"threads left running: {[t.name for t in leaked]}")

    timers = tracker.active()
    if timers:
        problems.append(f"QTimers left running: {timers}")
    if tracker.pending_single_shots:
        problems.append(f"{tracker.pending_single_shots} QTimer.singleShot still pending")

    windows = [
        w
        for w in QApplication.topLevelWidgets()
        if w.isVisible() and type(w).__name__ not in _QT_INTERNAL
    ]
    if windows:
        problems.append(f"top-level widgets left open: {[type(w).__name__ for w in windows]}")
        for window in windows:
            window.close()
    assert not problems, "; ".join(problems)


@pytest.fixture
def notifier() -> Notifier:
    return Notifier()


@pytest.fixture
def ops(notifier: Notifier, make_vault: Any) -> Iterator[Operations]:
    """The operation runner; shut down (and waited for) after the test.

    It depends on ``make_vault`` so that it is torn down first: a background read still
    running on a vault that the fixture closes would use a closed SQLCipher connection
    (a segmentation fault, seen as a rare flake)."""
    operations = Operations(notifier)
    yield operations
    operations.shutdown()


@pytest.fixture
def profile(tmp_path: Path) -> Profile:
    return Profile(tmp_path / "profile")


@pytest.fixture
def make_vault(profile: Profile) -> Iterator[Callable[..., Any]]:
    """Create the test profile (passphrase mode by default, cheap scrypt); closed after."""
    opened: list[Any] = []

    def make(source: KeySource = KeySource.PASSPHRASE, passphrase: str = PASSPHRASE) -> Any:
        vault = create_profile(profile, passphrase, key_source=source, scrypt=FAST_SCRYPT)
        opened.append(vault)
        return vault

    yield make
    for vault in opened:
        vault.close()


@pytest.fixture
def vault(make_vault: Callable[..., Any]) -> Any:
    return make_vault()


@pytest.fixture
def make_shell(qapp: QApplication, qtbot: Any, make_vault: Any) -> Iterator[Callable[..., Any]]:
    """Build app shells (offscreen); each is shut down after the test like a real quit
    (before ``make_vault`` closes the test's vaults: see ``ops``)."""
    from ui.app import Shell
    from ui.settings import app_settings

    shells: list[Any] = []

    def make(*, idle_ms: int | None = 60_000) -> Any:
        shell = Shell(qapp, app_settings(), idle_ms=idle_ms, watch_session=False)
        qtbot.addWidget(shell.window)
        shells.append(shell)
        return shell

    yield make
    for shell in shells:
        shell.shutdown()
