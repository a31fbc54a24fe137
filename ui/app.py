"""The app shell: builds the QApplication, starts a profile, and quits cleanly.

:func:`run` is what ``main.py`` calls. :class:`Shell` owns everything with a lifetime
(operations, notifier, main window, vault, demo folder) and tears it down in order at
quit: timers stopped, background operations cancelled and waited for, the vault closed
(its writer thread joined), the demo folder erased. A top-level exception hook logs the
error's type and location (never its message, which could hold anything) and shows a
friendly dialog; the app keeps running.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from reviewer_app import APP_NAME, __version__
from reviewer_app.errors import ReviewerError
from ui import logs, theme
from ui.error_dialogs import ResetProfileDialog, StartupErrorDialog, error_box
from ui.notifier import Change, Notifier
from ui.operations import Operations
from ui.qt import QApplication, QGuiApplication, QSettings, Qt
from ui.resources import app_icon
from ui.settings import APPLICATION, ORGANIZATION, app_settings, apply_environment

log = logging.getLogger(__name__)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Command-line options of the desktop app."""
    parser = argparse.ArgumentParser(prog="reviewer", description="Reviewer desktop app")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--profile", metavar="DIR", type=Path, help="profile folder to use")
    where.add_argument(
        "--demo", action="store_true", help="a throwaway demo profile, erased at quit"
    )
    parser.add_argument("--theme", choices=[t.value for t in theme.Theme], help="colour theme")
    parser.add_argument(
        "--smoke-test",
        action="store_true",
        help="start on a throwaway profile, open a demo case, exit 0 if it all works",
    )
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    return parser.parse_args(list(argv))


def create_application(argv: Sequence[str]) -> QApplication:
    """The QApplication with Reviewer's names, icon and high-DPI behaviour."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        app = existing
    else:
        # Fractional scale factors (125 %, 150 %) render crisply instead of rounding.
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
        )
        app = QApplication([sys.argv[0] if sys.argv else "reviewer", *argv])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("reviewer")
    app.setWindowIcon(app_icon())
    return app


class Shell:
    """Owns the running app's parts and their order of start and stop."""

    def __init__(
        self,
        app: QApplication,
        settings: QSettings,
        *,
        idle_ms: int | None = None,
        watch_session: bool = True,
    ) -> None:
        from ui.main_window import MainWindow

        self.app = app
        self.settings = settings
        self.icon = app_icon()
        self.notifier = Notifier()
        self.ops = Operations(self.notifier)
        self.ops.unhandled.connect(self.show_unexpected)
        self.vault: Any = None
        self.demo: Any = None
        self._error_showing = False
        self._closed = False
        self.window = MainWindow(
            self.ops,
            self.notifier,
            settings,
            icon=self.icon,
            profile_name="",
            idle_ms=idle_ms,
            watch_session=watch_session,
        )
        self.window.lock_screen.unlocked.connect(self._adopt_opened_vault)
        self.window.lock_screen.failed.connect(self._on_unlock_failed)
        from ui import sync_ui
        from ui.sync_controller import SyncController

        self.sync = SyncController(self.ops, self.notifier, settings)
        self.sync_ui = sync_ui.install(self.window, self.sync, self.ops)
        # Enrollment needs the signed-in session; a signed opinion goes out at once.
        self.window.signing.platform_session = self.sync.platform_session
        self.window.signing.request_sync = lambda: self.sync.sync_now(interactive=False)
        self.profile: Any = None
        # Vaults opened in the background but not yet handed to the window: closed at
        # quit if their result never arrives (a quit during the unlock check).
        self._opened: list[Any] = []

    # -- start -----------------------------------------------------------------------
    def start_profile(self, profile: Any) -> bool:
        """Open ``profile`` (set it up first if new). False if the user quit instead."""
        from reviewer_app.vault.keystore import KeySource
        from reviewer_app.vault.profile import read_meta

        self.profile = profile
        self._set_profile_name(profile.root)
        while True:
            if not profile.exists():
                return self._first_run(profile)
            try:
                meta = read_meta(profile)
                if meta.key_source is KeySource.PASSPHRASE:
                    # The key is sealed by the passphrase: the lock screen opens the vault.
                    unlock, retry_after = self._passphrase_opener(profile)
                    self._show()
                    self.window.lock("start", unlocker=unlock, retry_after=retry_after)
                    return True
                from reviewer_app.vault import open_profile

                vault = open_profile(profile)
            except ReviewerError as error:
                if not self._resolve_start_error(profile, error):
                    return False
                continue
            self._use_vault(vault)
            self._show()
            self.window.lock("start")
            return True

    def _on_unlock_failed(self, error: object) -> None:
        """Opening a passphrase profile at the lock screen failed (WrongKey, damage…)."""
        if self.vault is not None or self.profile is None or not isinstance(error, ReviewerError):
            return
        if self._resolve_start_error(self.profile, error):
            # Retry, or reset done: start again (a reset leads to first-run set-up).
            self.window.lock_screen.message.clear()
            self.window.hide()
            if not self.start_profile(self.profile):
                self.app.quit()

    def _passphrase_opener(self, profile: Any) -> tuple[Any, Any]:
        """The lock screen's unlock and retry_after functions for a passphrase profile.

        The vault's own throttling needs the open database; until it is open, wrong
        passphrases are counted here with the same growing delay.
        """
        import time

        from reviewer_app.errors import LockThrottled, WrongPassphrase
        from reviewer_app.vault import open_profile
        from reviewer_app.vault.lock import delay_after

        failures = 0
        last_failure = 0.0

        def retry_after() -> float:
            return max(0.0, delay_after(failures) - (time.monotonic() - last_failure))

        def open_with(passphrase: str) -> Any:
            nonlocal failures, last_failure
            wait = retry_after()
            if wait > 0:
                raise LockThrottled(wait)
            try:
                vault = open_profile(profile, passphrase=passphrase)
            except WrongPassphrase:
                failures += 1
                last_failure = time.monotonic()
                return False
            failures = 0
            self._opened.append(vault)
            return vault

        return open_with, retry_after

    def _first_run(self, profile: Any) -> bool:
        from reviewer_app.vault import create_profile
        from reviewer_app.vault.keystore import keyring_usable
        from ui.first_run import FirstRunDialog

        dialog = FirstRunDialog(
            self.ops,
            self.icon,
            lambda passphrase: create_profile(profile, passphrase),
            keyring_available=keyring_usable(),
            profile_folder=str(profile.root),
        )
        accepted = dialog.exec() == FirstRunDialog.DialogCode.Accepted
        vault = dialog.vault
        dialog.deleteLater()
        if not accepted or vault is None:
            return False
        self._use_vault(vault)
        self._show()
        self.window.start_unlocked()
        return True

    def start_demo(self) -> bool:
        """Create the throwaway demo profile, show its passphrase, open unlocked."""
        from ui import demo_platform
        from ui.demo import DemoSession, DemoWelcomeDialog

        demo_platform.register()
        self.demo = DemoSession()
        self._set_profile_name(Path("demo"))
        vault = self.demo.create_vault()
        self._use_vault(vault, sync=False)
        demo = self.demo
        # The platform starts while the welcome screen is read; the worklist reloads when
        # the fill-in steps are done (a change notice), then the regular sync runs.
        self.ops.run(
            lambda _ctx: demo.populate(vault),
            changes=Change.CASES,
            success=lambda _r: self._sync_demo(),
            label="fill demo",
        )
        welcome = DemoWelcomeDialog(self.demo.passphrase, self.icon)
        welcome.exec()
        welcome.deleteLater()
        self.window.set_lock_hint(f"Demo passphrase: {self.demo.passphrase}")
        self._show()
        self.window.start_unlocked()
        return True

    def _sync_demo(self) -> None:
        """Point the sync at the demo's in-process platform and start syncing."""
        from ui.sync_controller import PlatformConfig

        platform = self.demo.platform if self.demo is not None else None
        if platform is None or self._closed:
            return
        self.sync.configure(PlatformConfig(platform.fhir_base), store=platform.store)
        self.sync.start()

    @staticmethod
    def _attach_log(vault: Any) -> None:
        """Log to the open profile's ``logs/reviewer.log`` from now on (where it can).

        Only once the vault is open: a profile that cannot be opened is left as it was."""
        profile = getattr(vault, "profile", None)
        if profile is None:
            return
        try:
            logs.attach_profile_log(profile.logs_dir)
        except OSError as error:
            log.warning("no log file in the profile: %s", type(error).__name__)

    def _set_profile_name(self, root: Path) -> None:
        self.window.profile_label.setText(f"Profile: {root.name}")

    def _use_vault(self, vault: Any, *, sync: bool = True) -> None:
        self._attach_log(vault)
        self.vault = vault
        self.window.attach_vault(vault)
        self.sync.attach(vault, start=sync)

    def _adopt_opened_vault(self, result: object) -> None:
        if result is not True and result is not None:
            self._attach_log(result)
            self.vault = result
            if result in self._opened:
                self._opened.remove(result)
            self.sync.attach(result)

    def _show(self) -> None:
        self.window.restore_layout()
        self.window.show()

    def _resolve_start_error(self, profile: Any, error: ReviewerError) -> bool:
        """Show a start-up error; True if opening should be tried again (the user asked
        to retry, or reset the profile after a typed confirmation)."""
        log.warning("cannot open profile: %s", type(error).__name__)
        parent = self.window if self.window.isVisible() else None
        dialog = StartupErrorDialog(error, parent)
        dialog.exec()
        choice = dialog.choice()
        dialog.deleteLater()
        if choice == StartupErrorDialog.RETRY:
            return True
        if choice != StartupErrorDialog.RESET:
            return False
        confirm = ResetProfileDialog(str(profile.root), parent)
        confirmed = confirm.exec() == ResetProfileDialog.DialogCode.Accepted and confirm.confirmed()
        confirm.deleteLater()
        if not confirmed:
            return False
        from reviewer_app.vault import reset_profile

        # The log file lives in the profile: close it before the reset erases it.
        logs.detach_profile_log()
        reset_profile(profile)
        log.info("profile reset by the user")
        return True

    # -- errors ----------------------------------------------------------------------
    def show_unexpected(self, error: object) -> None:
        """Show a friendly dialog for an error nobody handled (one at a time)."""
        if not isinstance(error, BaseException):
            return
        if not isinstance(error, ReviewerError):
            log.error(
                "unexpected %s at %s",
                type(error).__name__,
                describe_traceback(error.__traceback__),
            )
        if self._error_showing or self._closed:
            return
        self._error_showing = True
        box = error_box(self.window if self.window.isVisible() else None, error)
        box.finished.connect(self._error_closed)
        box.open()

    def _error_closed(self) -> None:
        self._error_showing = False

    def excepthook(
        self,
        kind: type[BaseException],
        error: BaseException,
        tb: TracebackType | None,
    ) -> None:
        """sys.excepthook: exceptions escaping Qt slots land here; the app continues."""
        if issubclass(kind, KeyboardInterrupt):
            self.app.quit()
            return
        error.__traceback__ = tb
        self.show_unexpected(error)

    # -- stop ------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop timers, wait for background work, close the vault, erase the demo."""
        if self._closed:
            return
        self._closed = True
        self.window.shutdown()
        self.sync.shutdown()
        self.ops.shutdown()
        self.sync.close()
        vaults = [self.vault, *self._opened]
        self.vault = None
        self._opened.clear()
        for vault in vaults:
            if vault is not None:
                vault.close()
        logs.detach_profile_log()
        if self.demo is not None:
            self.demo.cleanup()
        self.window.close()
        self.window.deleteLater()


def describe_traceback(tb: TracebackType | None) -> str:
    """Where an error happened: file:line function, innermost last. No values, no
    message: both may hold patient data."""
    frames = traceback.extract_tb(tb)[-6:]
    return " <- ".join(
        f"{Path(frame.filename).name}:{frame.lineno} {frame.name}" for frame in reversed(frames)
    )


def run(argv: Sequence[str], *, started: float | None = None) -> int:
    """Start Reviewer with command-line ``argv`` (without the program name).

    ``started`` is the ``time.monotonic()`` of the process start (for the smoke test's
    start-up timing)."""
    args = parse_args(argv)
    if args.smoke_test:
        from ui.smoke import run_smoke_test

        return run_smoke_test(started)
    # httpx logs every request URL at INFO (study and instance UIDs: identifiers that
    # stay out of logs); openjpeg logs every tile it encodes (the demo's server).
    logs.configure_console()
    app = create_application(argv)
    settings = app_settings()
    apply_environment(settings)
    chosen = theme.Theme(args.theme) if args.theme else theme.saved(settings)
    theme.apply(app, chosen)
    if args.theme:
        theme.save(settings, chosen)

    shell = Shell(app, settings)
    previous_hook = sys.excepthook
    sys.excepthook = shell.excepthook
    try:
        if args.demo:
            started = shell.start_demo()
        else:
            from reviewer_app.vault import Profile

            profile = Profile(args.profile) if args.profile else Profile.default()
            started = shell.start_profile(profile)
        code = app.exec() if started else 0
    finally:
        shell.shutdown()
        sys.excepthook = previous_hook
    return code
