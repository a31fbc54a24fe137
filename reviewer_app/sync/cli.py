"""``reviewer-app sync`` (headless sync, progress on the terminal) and ``reviewer-app
cases`` (what is local). Registered in :data:`reviewer_app.cli.COMMAND_MODULES`.

Sign-in is the standard one: the first ``sync`` opens the browser (OAuth with a loopback
redirect); the tokens go into the system keyring, so later syncs are silent. ``cases``
prints case keys, states and sizes, never patient data.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO

from reviewer_app.cli import EXIT_OK, add_passphrase_stdin_option
from reviewer_app.exchange import KeyringTokenStore, PlatformSession, TokenStore
from reviewer_app.exchange.http import origin
from reviewer_app.sync.engine import DEFAULT_WORKERS, SyncEngine, sync_until_done
from reviewer_app.sync.events import (
    CasePurged,
    ItemFinished,
    Offline,
    PhaseStarted,
    Progress,
    SyncEvent,
)
from reviewer_app.sync.readiness import readiness
from reviewer_app.vault.cli import open_for_cli

EXIT_INCOMPLETE = 3


def register(subparsers: Any) -> None:
    """Add the ``sync`` and ``cases`` commands."""
    sync = subparsers.add_parser(
        "sync",
        help="download every case assigned to you (headless, progress on the terminal)",
        description=(
            "Sign in to the platform if needed (your browser opens once; the tokens are "
            "kept in the system keyring), then bring every assigned case into the "
            "profile: metadata and lab results first, then documents, then images. "
            "Interrupted syncs resume where they stopped. Exits 0 when every case is "
            "complete, 3 when some items failed (see `reviewer-app cases`), 2 on errors."
        ),
    )
    sync.add_argument("--server", required=True, help="the platform's FHIR base URL")
    sync.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"parallel transfers (default {DEFAULT_WORKERS})",
    )
    sync.add_argument(
        "--attempts",
        type=int,
        default=5,
        help="runs to try while the platform is unreachable, with growing pauses (default 5)",
    )
    add_passphrase_stdin_option(sync)
    sync.set_defaults(run=run_sync)

    cases = subparsers.add_parser(
        "cases",
        help="list the cases in the profile and whether each is ready offline",
        description=(
            "List local cases: case key, state, whether every item is local and "
            "verified (ready for travel), items missing, disk use, and item errors."
        ),
    )
    add_passphrase_stdin_option(cases)
    cases.set_defaults(run=run_cases)


class TerminalProgress:
    """Prints a sync's events as short lines (no patient data)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._lock = threading.Lock()
        self._last_percent = -1

    def __call__(self, event: SyncEvent) -> None:
        with self._lock:
            self._show(event)

    def _say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def _show(self, event: SyncEvent) -> None:
        if isinstance(event, PhaseStarted):
            self._say(f"{event.phase.name.lower()}: {event.items} to fetch")
        elif isinstance(event, Progress):
            if event.bytes_total > 0:
                percent = min(100, event.bytes_done * 100 // event.bytes_total)
            else:  # the images' sizes are not known yet: count items
                percent = event.items_done * 100 // max(event.items_total, 1)
            if percent // 5 != self._last_percent // 5:
                self._last_percent = percent
                eta = f", about {event.eta:.0f} s left" if event.eta is not None else ""
                self._say(
                    f"  {percent:3d}%  {event.items_done}/{event.items_total} items, "
                    f"{event.rate / 1e6:.1f} MB/s{eta}"
                )
        elif isinstance(event, ItemFinished) and event.error:
            self._say(f"  {event.case_id} {event.ref}: {event.error}")
        elif isinstance(event, CasePurged):
            self._say(
                f"removed {event.case_id} ({event.reason}); unsent drafts kept: {event.drafts_kept}"
            )
        elif isinstance(event, Offline):
            wait = f"; trying again in {event.retry_in:.0f} s" if event.retry_in else ""
            self._say(f"offline: {event.message}{wait}")


def run_sync(
    args: argparse.Namespace,
    *,
    token_store: TokenStore | None = None,
    open_browser: Callable[[str], object] | None = None,
) -> int:
    """``sync``. ``token_store``/``open_browser`` replace the keyring and browser (tests)."""
    out = sys.stdout
    with open_for_cli(args) as vault:
        store = token_store or KeyringTokenStore(vault.profile_id, origin(args.server))
        with PlatformSession(args.server, store) as session:
            if not session.signed_in():
                print("Signing in: your browser opens the platform's sign-in page.", file=out)
                if open_browser is not None:
                    session.sign_in(open_browser=open_browser)
                else:
                    session.sign_in()
            progress = TerminalProgress(out)
            with SyncEngine(vault, session, workers=args.workers, on_event=progress) as engine:
                report = sync_until_done(engine, attempts=args.attempts)
    print(
        f"Sync {report.state}: {report.cases} cases, {report.items_done} items fetched, "
        f"{report.items_failed} failed, {report.bytes_fetched / 1e6:.1f} MB received",
        file=out,
    )
    if report.state == "complete":
        return EXIT_OK
    return EXIT_INCOMPLETE


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def run_cases(args: argparse.Namespace) -> int:
    """``cases``."""
    with open_for_cli(args) as vault:
        ready = readiness(vault)
        summaries = vault.cases()
    out = sys.stdout
    if not summaries:
        print("No cases in this profile.", file=out)
        return EXIT_OK
    print(f"{'case':<12} {'state':<9} {'offline':<10} {'missing':>7} {'disk':>10}  pin", file=out)
    for case in summaries:
        info = ready.get(case.case_id)
        key = (info.case_key if info else None) or case.case_id
        offline = "ready" if info and info.complete else "not ready"
        missing = info.missing if info else 0
        disk = _size(info.bytes_on_disk if info else 0)
        pin = "yes" if case.pinned else ""
        print(
            f"{key:<12} {case.sync_state:<9} {offline:<10} {missing:>7} {disk:>10}  {pin}",
            file=out,
        )
        for error in info.errors if info else ():
            print(f"    {error.ref}: {error.message}", file=out)
    return EXIT_OK
