"""The sync UI against the reference server over real HTTP on 127.0.0.1: the worklist
fills with per-case offline state, progress reaches the end, cancel and resume, offline
with backoff, pins, sign-in through the browser stand-in, and a revoked session."""

from __future__ import annotations

import random
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytestqt.qtbot import QtBot

from demo_server.server import RunningServer, start
from reviewer_app.exchange import MemoryTokenStore, PlatformSession, RetryPolicy
from tests.reviewer_app.sync.fixtures import warmed_storage  # noqa: F401
from tests.reviewer_app.sync.helpers import (
    admin,
    demo_browser,
    fast_retry,
    server_content,
    vault_content,
)
from tests.ui.helpers import add_case
from ui.demo_platform import demo_browser as demo_platform_browser
from ui.qt import Qt
from ui.sync_controller import PlatformConfig, SyncController, SyncState, load_config
from ui.sync_status import CaseSyncStatus, progress_text, size_text, sync_text
from ui.sync_travel import TravelSummaryDialog
from ui.worklist import PIN_SHORTCUT
from ui.worklist_model import PINNED_ROLE, Column

SYNC_TIMEOUT = 60_000


def _signed_in_store(running: RunningServer) -> MemoryTokenStore:
    store = MemoryTokenStore()
    with PlatformSession(running.fhir_base, store) as session:
        session.sign_in(open_browser=demo_platform_browser, timeout=20)
    return store


@pytest.fixture
def storage(warmed_storage: Path, tmp_path: Path) -> Path:  # noqa: F811
    """A copy of the session's warmed server storage (3 cases, DICOM already rendered:
    rendering is the server's cost, not the sync's)."""
    copy = tmp_path / "srv"
    shutil.copytree(warmed_storage, copy)
    return copy


@pytest.fixture
def server(storage: Path) -> Iterator[RunningServer]:
    """A reference server of this test's own on a free loopback port."""
    running = start(cases=3, seed=1, storage=storage, ct_slices=4)
    yield running
    running.stop()


@pytest.fixture
def synced_shell(make_shell: Any, vault: Any, qtbot: QtBot) -> Iterator[Any]:
    """A shell showing ``vault`` unlocked, its sync not yet configured."""
    shell = make_shell()
    shell._use_vault(vault, sync=False)
    shell.sync.engine_retry = fast_retry()
    shell.window.show()
    with qtbot.waitSignal(shell.window.worklist.loaded):
        shell.window.start_unlocked()
    yield shell


def _sync_texts(shell: Any) -> list[str]:
    proxy = shell.window.worklist.proxy
    return [str(proxy.data(proxy.index(r, Column.SYNC))) for r in range(proxy.rowCount())]


def _run(shell: Any, qtbot: QtBot) -> Any:
    with qtbot.waitSignal(shell.sync.finished, timeout=SYNC_TIMEOUT) as blocker:
        assert shell.sync.sync_now()
    return blocker.args[0]


def _wait_rows(shell: Any, qtbot: QtBot, check: Any) -> None:
    qtbot.waitUntil(lambda: check(_sync_texts(shell)), timeout=10_000)


# -- pure text --------------------------------------------------------------------------


def test_progress_line_and_case_texts_read_like_the_spec() -> None:
    assert (
        progress_text(3, 12, bytes_done=142_000_000, bytes_total=610_000_000, rate=24e6, eta=20)
        == "Syncing 3/12 cases · 142 MB of 610 MB · 24 MB/s · 20 s left"
    )
    assert progress_text(0, 5, bytes_done=0, bytes_total=0, rate=0, eta=None) == (
        "Syncing 0/5 cases"
    )
    # Images still to come: their sizes are estimated, or not known at all yet.
    assert (
        progress_text(
            1,
            5,
            bytes_done=9_000_000,
            bytes_total=90_000_000,
            rate=3e6,
            eta=27,
            bytes_estimated=True,
        )
        == "Syncing 1/5 cases · 9 MB of about 90 MB · 3 MB/s · 27 s left"
    )
    assert (
        progress_text(0, 5, bytes_done=2_000_000, bytes_total=0, rate=6e5, eta=None)
        == "Syncing 0/5 cases · 2 MB so far · 600 kB/s"
    )
    assert size_text(1_200_000_000) == "1.2 GB"
    ready = CaseSyncStatus(complete=True, metadata_done=True, bytes_on_disk=1_230_000_000)
    assert sync_text(ready) == "Ready offline ✓ 1.2 GB"
    partial = CaseSyncStatus(
        metadata_done=True, records_done=2, records_total=2, images_done=120, images_total=220
    )
    assert sync_text(partial) == "Images 120/220"
    failed = CaseSyncStatus(metadata_done=True, errors=("A downloaded file is damaged.",))
    assert sync_text(failed) == "Error: A downloaded file is damaged."
    assert sync_text(CaseSyncStatus(removed="withdrawn")) == "Withdrawn — unsent draft kept"


# -- syncing ----------------------------------------------------------------------------


def test_sync_fills_the_worklist_and_progress_reaches_the_end(
    synced_shell: Any,
    server: RunningServer,
    vault: Any,
    qtbot: QtBot,
) -> None:
    shell = synced_shell
    window = shell.window
    statuses: list[str] = []
    bars: list[tuple[int, int]] = []
    shell.sync.status_changed.connect(statuses.append)
    shell.sync.progress_changed.connect(lambda v, m: bars.append((v, m)))
    shell.sync.configure(PlatformConfig(server.fhir_base), store=_signed_in_store(server))
    assert window.connection_label.text() == "● Offline"

    report = _run(shell, qtbot)

    assert report.state == "complete" and report.cases == 3
    _wait_rows(shell, qtbot, lambda texts: len(texts) == 3)
    assert all(text.startswith("Ready offline ✓ ") for text in _sync_texts(shell))
    assert vault_content(vault) == server_content(server)
    patients = [
        str(window.worklist.proxy.data(window.worklist.proxy.index(r, Column.PATIENT)))
        for r in range(3)
    ]
    assert all(name.startswith("Testpatient") for name in patients)
    # The progress line had the specified shape, and the bar ended full.
    assert any(s.startswith("Syncing ") and " of " in s and "/3 cases" in s for s in statuses)
    value, maximum = bars[-1]
    assert maximum > 0 and value == maximum
    assert shell.sync_ui.status.bar.value() == shell.sync_ui.status.bar.maximum()
    assert shell.sync.state is SyncState.IDLE
    assert shell.sync_ui.status.label.text() == "Synced 3 cases"
    assert window.connection_label.text() == "● Online"
    assert window.sync_label.text() != "Last sync: never"
    assert shell.sync_ui.status.cancel_button.isHidden()


def test_cancel_mid_sync_keeps_what_arrived_and_the_next_sync_resumes(
    synced_shell: Any,
    server: RunningServer,
    vault: Any,
    qtbot: QtBot,
) -> None:
    shell = synced_shell
    with admin(server) as client:
        client.post("/faults", json={"latency_ms": 60, "path": "dicomweb"}).raise_for_status()
    shell.sync.configure(PlatformConfig(server.fhir_base), store=_signed_in_store(server))
    shell.sync.workers = 2
    assert shell.sync.sync_now()
    # Wait until images are arriving, then cancel from the status bar.
    qtbot.waitUntil(lambda: " of " in shell.sync.status, timeout=SYNC_TIMEOUT)
    assert shell.sync_ui.status.cancel_button.isVisible()
    with qtbot.waitSignal(shell.sync.finished, timeout=SYNC_TIMEOUT) as blocker:
        qtbot.mouseClick(shell.sync_ui.status.cancel_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0].state == "cancelled"
    assert shell.sync_ui.status.label.text().startswith("Sync cancelled")
    _wait_rows(shell, qtbot, lambda texts: len(texts) == 3)
    texts = _sync_texts(shell)
    assert not all(text.startswith("Ready offline") for text in texts), texts
    done_before = (
        vault.read().execute("SELECT count(*) FROM sync_items WHERE state = 'done'").fetchone()[0]
    )
    assert done_before > 0

    with admin(server) as client:
        client.delete("/faults").raise_for_status()
    report = _run(shell, qtbot)
    assert report.state == "complete"
    # Resumed: only what was missing came over the second time.
    assert report.items_done > 0
    total = vault.read().execute("SELECT count(*) FROM sync_items").fetchone()[0]
    assert report.items_done <= total - done_before + 4  # at most the ones in flight again
    assert vault_content(vault) == server_content(server)
    _wait_rows(shell, qtbot, lambda t: len(t) == 3 and all(x.startswith("Ready") for x in t))


def test_offline_is_shown_and_retried_with_backoff_until_the_platform_is_back(
    synced_shell: Any, storage: Path, qtbot: QtBot
) -> None:
    running = start(cases=3, seed=1, storage=storage, ct_slices=4)
    port = int(running.base_url.rsplit(":", 1)[1])
    shell = synced_shell
    shell.sync.configure(PlatformConfig(running.fhir_base), store=_signed_in_store(running))
    running.stop()
    shell.sync.backoff = RetryPolicy(base_delay=0.3, max_delay=0.6, rng=random.Random(3))
    restarted: list[RunningServer] = []
    try:
        report = _run(shell, qtbot)
        assert report.state == "offline"
        assert shell.sync.state is SyncState.OFFLINE
        assert shell.sync_ui.status.label.text().startswith("Offline — retrying in ")
        assert shell.window.connection_label.text() == "● Offline"
        # It tries again by itself, with growing waits, while nothing blocks the UI.
        qtbot.waitUntil(lambda: shell.sync.runs >= 3, timeout=SYNC_TIMEOUT)
        assert shell.sync.attempt >= 2
        restarted.append(start(port=port, cases=3, seed=1, storage=storage, ct_slices=4))
        qtbot.waitUntil(lambda: shell.sync.state is SyncState.IDLE, timeout=SYNC_TIMEOUT)
        assert shell.sync.last_report.state == "complete"
        assert shell.window.connection_label.text() == "● Online"
        assert shell.sync.attempt == 0
    finally:
        shell.sync.shutdown()
        for again in restarted:
            again.stop()


def test_a_withdrawn_case_leaves_a_row_saying_its_unsent_draft_was_kept(
    synced_shell: Any, server: RunningServer, vault: Any, qtbot: QtBot
) -> None:
    shell = synced_shell
    shell.sync.configure(PlatformConfig(server.fhir_base), store=_signed_in_store(server))
    assert _run(shell, qtbot).state == "complete"
    vault.write_sync(
        lambda conn: conn.execute(
            "INSERT INTO drafts (draft_id, case_id, body, updated_at) VALUES (?, ?, ?, ?)",
            ("d-1", "syn-0001-task", "Synthetic draft opinion", "2026-11-29T10:00:00Z"),
        )
    )
    with admin(server) as staff:
        staff.post("/withdraw", json={"case": "SYN-0001"}).raise_for_status()
    assert _run(shell, qtbot).state == "complete"
    _wait_rows(shell, qtbot, lambda t: "Withdrawn — unsent draft kept" in t)
    texts = _sync_texts(shell)
    assert len(texts) == 3 and sum(t.startswith("Ready offline") for t in texts) == 2
    view = shell.window.worklist
    assert view.select_case("syn-0001-task")
    row = view.table.selectionModel().selectedRows()[0].row()
    assert view.proxy.data(view.proxy.index(row, Column.STATUS)) == "Removed by the platform"
    # Nothing of the patient is left in that row.
    assert view.proxy.data(view.proxy.index(row, Column.PATIENT)) == "—"


def test_syncs_run_by_themselves_at_start_and_periodically(
    synced_shell: Any, server: RunningServer, qtbot: QtBot
) -> None:
    shell = synced_shell
    shell.sync.configure(PlatformConfig(server.fhir_base), store=_signed_in_store(server))
    shell.sync._periodic.setInterval(300)
    shell.sync.start()
    assert shell.sync.state is SyncState.SYNCING  # at start, without being asked
    qtbot.waitUntil(lambda: shell.sync.runs >= 3, timeout=SYNC_TIMEOUT)
    qtbot.waitUntil(lambda: not shell.sync.running(), timeout=SYNC_TIMEOUT)
    assert shell.sync.last_report.state == "complete"


def test_pinning_from_the_worklist_persists_in_the_vault(
    synced_shell: Any, vault: Any, qtbot: QtBot
) -> None:
    add_case(vault, "c-1", "Synthetic Patient One")
    add_case(vault, "c-2", "Synthetic Patient Two", due_date="2030-02-01")
    view = synced_shell.window.worklist
    with qtbot.waitSignal(view.loaded):
        view.reload()
    assert view.pin_action.shortcut().toString() == PIN_SHORTCUT
    qtbot.waitUntil(lambda: view.proxy.rowCount() == 2)
    assert view.select_case("c-2"), view.proxy.rowCount()

    def pinned_in_vault(case_id: str) -> bool:
        row = vault.read().execute("SELECT pinned FROM cases WHERE case_id = ?", (case_id,))
        return bool(row.fetchone()[0])

    with qtbot.waitSignal(view.loaded):
        view.pin_action.trigger()
    assert pinned_in_vault("c-2") and not pinned_in_vault("c-1")
    # Pinned cases come first in the vault's order and show a pin.
    assert view.selected_case_id() == "c-2" and view.selected_case_pinned()
    row = view.table.selectionModel().selectedRows()[0].row()
    assert view.proxy.data(view.proxy.index(row, Column.SYNC), PINNED_ROLE) is True
    icon = view.proxy.data(view.proxy.index(row, Column.SYNC), Qt.ItemDataRole.DecorationRole)
    assert icon is not None and not icon.isNull()
    assert vault.cases()[0].case_id == "c-2"
    with qtbot.waitSignal(view.loaded):
        view.pin_action.trigger()
    assert not pinned_in_vault("c-2")


def test_sign_in_dialog_signs_in_through_the_browser_and_then_syncs(
    synced_shell: Any,
    server: RunningServer,
    qtbot: QtBot,
) -> None:
    shell = synced_shell
    shell.sync.open_browser = demo_browser()
    shell.sync.configure(PlatformConfig(server.fhir_base), store=MemoryTokenStore())
    assert shell.sync.state is SyncState.SIGNED_OUT
    assert shell.sync_ui.status.sign_in_button.isVisible()
    with qtbot.waitSignal(shell.sync.finished, timeout=SYNC_TIMEOUT) as blocker:
        shell.sync_ui.sync_now()  # "Sync now" while signed out: sign in first
        dialog = shell.sync_ui.dialog
        assert dialog is not None and dialog.objectName() == "signInDialog"
        assert dialog.title.text() == "Continue in your browser…"
    assert blocker.args[0].state == "complete"
    assert shell.sync.signed_in()
    assert not shell.sync_ui.status.sign_in_button.isVisible()


def test_cancelling_sign_in_stops_waiting_for_the_browser(
    synced_shell: Any,
    server: RunningServer,
    qtbot: QtBot,
) -> None:
    shell = synced_shell
    opened = threading.Event()
    shell.sync.open_browser = lambda _url: opened.set()  # the user never signs in
    shell.sync.configure(PlatformConfig(server.fhir_base), store=MemoryTokenStore())
    dialog = shell.sync_ui.sign_in(then_sync=True)
    assert dialog is not None
    qtbot.waitUntil(opened.is_set, timeout=10_000)
    with qtbot.waitSignal(shell.ops.idle, timeout=10_000):
        dialog.cancel_button.click()
    assert shell.sync_ui.dialog is None  # closed (and deleted)
    assert not shell.sync.signed_in() and shell.sync.state is SyncState.SIGNED_OUT


def test_a_revoked_session_asks_to_sign_in_again_and_keeps_local_cases(
    synced_shell: Any,
    server: RunningServer,
    vault: Any,
    qtbot: QtBot,
) -> None:
    shell = synced_shell
    store = _signed_in_store(server)
    shell.sync.configure(PlatformConfig(server.fhir_base), store=store)
    assert _run(shell, qtbot).state == "complete"
    tokens = store.load()
    assert tokens is not None and tokens.refresh_token
    # The platform ends the session (as an administrator or a sign-out elsewhere would).
    httpx.post(
        f"{server.base_url}/oauth/revoke",
        data={"token": tokens.refresh_token, "client_id": "reviewer-desktop"},
    ).raise_for_status()
    with qtbot.waitSignal(shell.sync.sign_in_needed, timeout=SYNC_TIMEOUT):
        assert shell.sync.sync_now(interactive=False)
    assert shell.sync.state is SyncState.SIGNED_OUT
    assert "sign in" in shell.sync_ui.status.label.text().lower()
    assert shell.sync_ui.status.sign_in_button.isVisible()
    assert store.load() is None
    assert vault.count_cases() == 3
    _wait_rows(shell, qtbot, lambda t: len(t) == 3 and all(x.startswith("Ready") for x in t))


def test_prepare_for_travel_syncs_then_summarises_what_is_offline(
    synced_shell: Any,
    server: RunningServer,
    vault: Any,
    qtbot: QtBot,
) -> None:
    shell = synced_shell
    shell.sync.configure(PlatformConfig(server.fhir_base), store=_signed_in_store(server))
    shell.sync_ui.travel_action.trigger()
    qtbot.waitUntil(
        lambda: isinstance(shell.sync_ui.dialog, TravelSummaryDialog), timeout=SYNC_TIMEOUT
    )
    dialog = shell.sync_ui.dialog
    summary = dialog.summary
    assert len(summary.ready) == 3 and not summary.not_ready
    assert summary.total_bytes == sum(
        row[0] for row in vault.read().execute("SELECT sum(size) FROM objects")
    )
    assert "Ready offline: 3 cases" in dialog.body.toPlainText()
    dialog.reject()


def test_platform_settings_are_checked_and_remembered(synced_shell: Any, qtbot: QtBot) -> None:
    shell = synced_shell
    assert shell.sync.state is SyncState.UNCONFIGURED
    dialog = shell.sync_ui.edit_settings()
    dialog.url_edit.setText("http://platform.example.org/fhir")
    dialog._save()
    assert dialog.isVisible() and "https" in dialog.message.text()
    # Loopback with nothing listening: the sign-in it leads to fails at once, locally.
    dialog.url_edit.setText("https://127.0.0.1:9/fhir/")
    dialog.ca_edit.setText("/nonexistent/ca.pem")
    dialog._save()
    assert dialog.isVisible() and "CA bundle" in dialog.message.text()
    dialog.ca_edit.clear()
    shell.sync.token_store_factory = lambda _vault, _url: MemoryTokenStore()
    browsed: list[str] = []
    shell.sync.open_browser = browsed.append
    with qtbot.waitSignal(dialog.finished):
        dialog._save()
    config = load_config(shell.settings)
    assert config == PlatformConfig("https://127.0.0.1:9/fhir", None)
    assert shell.sync.config == config
    # Not signed in yet: saving led to the sign-in, which cannot reach the platform.
    assert shell.sync.state is SyncState.SIGNED_OUT
    sign_in = shell.sync_ui.dialog
    assert sign_in is not None and sign_in.objectName() == "signInDialog"
    qtbot.waitUntil(lambda: sign_in.error is not None, timeout=10_000)
    assert sign_in.retry_button.isVisible() and not browsed
    sign_in.reject()


def test_controller_without_vault_or_platform_does_nothing(ops: Any, notifier: Any) -> None:
    from ui.settings import app_settings

    controller = SyncController(ops, notifier, app_settings())
    assert not controller.sync_now()
    assert controller.state is SyncState.UNCONFIGURED
    controller.shutdown()
    controller.close()


def test_prepare_for_travel_while_signed_out_signs_in_first(
    synced_shell: Any, server: RunningServer, qtbot: QtBot
) -> None:
    shell = synced_shell
    shell.sync.open_browser = demo_browser()
    shell.sync.configure(PlatformConfig(server.fhir_base), store=MemoryTokenStore())
    shell.sync_ui.travel_action.trigger()
    assert shell.sync_ui.dialog is not None
    assert shell.sync_ui.dialog.objectName() == "signInDialog"
    qtbot.waitUntil(
        lambda: isinstance(shell.sync_ui.dialog, TravelSummaryDialog), timeout=SYNC_TIMEOUT
    )
    assert len(shell.sync_ui.dialog.summary.ready) == 3
    shell.sync_ui.dialog.reject()


def test_locking_closes_the_sign_in_and_stops_waiting_for_the_browser(
    synced_shell: Any, server: RunningServer, qtbot: QtBot
) -> None:
    shell = synced_shell
    opened = threading.Event()
    shell.sync.open_browser = lambda _url: opened.set()
    shell.sync.configure(PlatformConfig(server.fhir_base), store=MemoryTokenStore())
    shell.sync_ui.travel_action.trigger()
    qtbot.waitUntil(opened.is_set, timeout=10_000)
    with qtbot.waitSignal(shell.ops.idle, timeout=10_000):
        shell.window.lock("requested")
    assert shell.sync_ui.dialog is None
    assert shell.sync.state is SyncState.SIGNED_OUT
    # The abandoned travel request does not pop up after a later sync.
    assert not shell.sync._travel_pending
