"""The worklist's Opinion column follows each opinion from draft to the platform's
receipt, and conflicts and rejections say what happened and what to do: against the
reference server over real HTTP on 127.0.0.1."""

# ruff: noqa: F811 - pytest fixtures imported from sign_helpers are parameters here

from __future__ import annotations

from typing import Any

from demo_server.server import RunningServer
from reviewer_app.exchange import PlatformSession
from reviewer_app.opinion import outbox
from tests.ui.opinion.sign_helpers import (  # noqa: F401
    admin_post,
    clear_faults,
    drain,
    enroll_signer,
    pki_server,
    platform,
    refresh_task,
    sign_directly,
    sync,
    synced,
    synced_root,
    transaction_path,
    write_incomplete_draft,
)
from ui.notifier import Change, Notifier
from ui.operations import Operations
from ui.opinion.outbox_view import CONFLICT_ADVICE, OpinionProblemDialog
from ui.opinion.signing_flow import SigningFlow
from ui.qt import QLabel, Qt
from ui.worklist import WorklistView
from ui.worklist_model import CASE_ID_ROLE, OPINION_STAGE_ROLE, Column


def _cell(view: WorklistView, case_id: str, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
    proxy = view.proxy
    for row in range(proxy.rowCount()):
        if proxy.data(proxy.index(row, 0), CASE_ID_ROLE) == case_id:
            return proxy.data(proxy.index(row, Column.OPINION), role)
    raise AssertionError("case not shown")


def _shows(qtbot: Any, notifier: Notifier, view: WorklistView, case_id: str, text: str) -> None:
    notifier.notify(Change.CASES)
    qtbot.waitUntil(lambda: _cell(view, case_id) == text, timeout=10_000)


def test_the_opinion_column_shows_draft_signed_queued_uploaded(
    qtbot: Any,
    synced: Any,
    ops: Operations,
    notifier: Notifier,
    platform: PlatformSession,
    *,
    pki_server: RunningServer,
) -> None:
    copy = synced()
    vault = copy.vault
    case_id = copy.case_ids[0]
    store = enroll_signer(vault, platform)
    view = WorklistView(ops, notifier)
    qtbot.addWidget(view)
    view.set_vault(vault)
    qtbot.waitUntil(lambda: view.model.rowCount() == len(copy.case_ids))
    assert _cell(view, case_id) == "—"

    write_incomplete_draft(vault, case_id)
    _shows(qtbot, notifier, view, case_id, "Draft")
    item = sign_directly(vault, case_id, store)
    _shows(qtbot, notifier, view, case_id, "Signed")

    admin_post(
        pki_server,
        "/faults",
        {"error_rate": 1.0, "error_status": 503, "path": transaction_path(pki_server)},
    )
    try:
        assert drain(vault, platform).still_queued == (item.item_id,)
    finally:
        clear_faults(pki_server)
    _shows(qtbot, notifier, view, case_id, "Queued (waiting for connection)")

    assert drain(vault, platform).uploaded == (item.item_id,)
    _shows(qtbot, notifier, view, case_id, "Uploaded ✓")
    receipt = outbox.get(vault, item.item_id).receipt
    assert receipt is not None
    tooltip = _cell(view, case_id, Qt.ItemDataRole.ToolTipRole)
    assert tooltip.startswith("Received by the platform: ")
    assert receipt.document_reference in tooltip


def test_a_conflict_says_what_to_do_and_is_sent_again_after_review(
    qtbot: Any,
    synced: Any,
    ops: Operations,
    notifier: Notifier,
    platform: PlatformSession,
    *,
    pki_server: RunningServer,
) -> None:
    copy = synced()
    vault = copy.vault
    case_id = copy.case_ids[1]
    store = enroll_signer(vault, platform)
    view = WorklistView(ops, notifier)
    qtbot.addWidget(view)
    view.set_vault(vault)
    flow = SigningFlow(ops, notifier)
    flow.set_vault(vault)
    view.problem_requested.connect(flow.review_problem)

    item = sign_directly(vault, case_id, store)
    admin_post(pki_server, "/touch", {"case": case_id})
    assert drain(vault, platform).conflicts == (item.item_id,)
    _shows(qtbot, notifier, view, case_id, "Conflict")
    assert outbox.CONFLICT_MESSAGE in _cell(view, case_id, Qt.ItemDataRole.ToolTipRole)
    assert _cell(view, case_id, OPINION_STAGE_ROLE) == "conflict"

    # The specialist syncs (the case's new version comes in) and reviews the case.
    sync(vault, platform)
    view.select_case(case_id)
    view.problem_action.trigger()
    qtbot.waitUntil(lambda: isinstance(flow.dialog, OpinionProblemDialog))
    dialog = flow.dialog
    texts = [label.text() for label in dialog.findChildren(QLabel)]
    assert outbox.CONFLICT_MESSAGE in texts and CONFLICT_ADVICE in texts
    assert not dialog.resend_button.isEnabled(), "only after the review is confirmed"
    dialog.reviewed.setChecked(True)
    dialog.resend_button.click()
    qtbot.waitUntil(lambda: outbox.get(vault, item.item_id).state is outbox.State.QUEUED)
    _shows(qtbot, notifier, view, case_id, "Queued (waiting for connection)")
    assert drain(vault, platform).uploaded == (item.item_id,)
    _shows(qtbot, notifier, view, case_id, "Uploaded ✓")


def test_a_rejection_keeps_the_opinion_and_says_why(
    qtbot: Any,
    synced: Any,
    ops: Operations,
    notifier: Notifier,
    platform: PlatformSession,
    *,
    pki_server: RunningServer,
) -> None:
    copy = synced()
    vault = copy.vault
    case_id = copy.case_ids[2]
    store = enroll_signer(vault, platform)
    view = WorklistView(ops, notifier)
    qtbot.addWidget(view)
    view.set_vault(vault)
    # The platform closed the case (the vault knows its new version: no conflict first).
    admin_post(pki_server, "/withdraw", {"case": case_id})
    refresh_task(vault, platform, case_id)
    item = sign_directly(vault, case_id, store)
    assert drain(vault, platform).rejected == (item.item_id,)
    _shows(qtbot, notifier, view, case_id, "Rejected")
    tooltip = _cell(view, case_id, Qt.ItemDataRole.ToolTipRole)
    assert "The case is closed" in tooltip
    assert outbox.signed_pdf(vault, item.item_id).startswith(b"%PDF-")
