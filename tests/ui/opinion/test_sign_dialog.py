"""The sign dialog and its flow, on a vault synced from the reference server (real HTTP on
127.0.0.1) with a certificate from its CA: completeness block, the exact PDF shown, the
passphrase as re-authentication, sign → outbox, verify, export, addendum."""

# ruff: noqa: F811 - pytest fixtures imported from sign_helpers are parameters here

from __future__ import annotations

from pathlib import Path
from typing import Any

import pymupdf

from reviewer_app.exchange import PlatformSession
from reviewer_app.opinion import drafts, outbox
from reviewer_app.opinion.keys import SigningKeyStore
from reviewer_app.opinion.verify import verify_pdf
from tests.ui.helpers import FAST_SCRYPT
from tests.ui.opinion.sign_helpers import (  # noqa: F401
    SIGNING_PASSPHRASE,
    enroll_signer,
    pki_server,
    platform,
    synced,
    synced_root,
    write_complete_draft,
    write_incomplete_draft,
)
from ui.notifier import Notifier
from ui.operations import Operations
from ui.opinion.outbox_view import ExportChoiceDialog
from ui.opinion.sign_dialog import WRONG_PASSPHRASE, SignDialog
from ui.opinion.signing_flow import NEEDS_CERTIFICATE, SigningFlow
from ui.opinion.signing_setup import SigningSetupDialog
from ui.qt import QPushButton


def _flow(ops: Operations, notifier: Notifier, vault: Any, exports: Path | None = None) -> Any:
    flow = SigningFlow(ops, notifier)
    flow.set_vault(vault)
    flow.scrypt = FAST_SCRYPT
    if exports is not None:
        flow.choose_path = lambda _parent, name: exports / name
    return flow


def _open(qtbot: Any, flow: SigningFlow, case_id: str) -> SignDialog:
    # Not given to qtbot: the flow deletes its dialogs when they finish; tests finish them.
    dialog = flow.start(case_id)
    qtbot.waitUntil(lambda: dialog.pages.currentWidget() is not dialog.busy_page, timeout=60_000)
    return dialog


def _sign(qtbot: Any, flow: SigningFlow, dialog: SignDialog, passphrase: str) -> None:
    dialog.passphrase.setText(passphrase)
    with qtbot.waitSignal(flow.signed, timeout=60_000):
        dialog.sign_button.click()


def test_an_incomplete_draft_is_blocked_naming_what_is_missing(
    qtbot: Any, synced: Any, ops: Operations, notifier: Notifier, platform: PlatformSession
) -> None:
    copy = synced()
    case_id = copy.case_ids[0]
    enroll_signer(copy.vault, platform)
    write_incomplete_draft(copy.vault, case_id)
    dialog = _open(qtbot, _flow(ops, notifier, copy.vault), case_id)
    assert dialog.pages.currentWidget() is dialog.incomplete_page
    listed = [dialog.findings.item(row).text() for row in range(dialog.findings.count())]
    assert "Assessment of the current diagnosis is empty." in listed
    assert "Case summary still has a placeholder." in listed
    assert not any("Case summary is empty" in line for line in listed)
    assert outbox.items(copy.vault, case_id) == []
    dialog.reject()


def test_wrong_passphrase_then_sign_queues_exactly_the_previewed_pdf_and_exports_it(
    qtbot: Any,
    synced: Any,
    ops: Operations,
    notifier: Notifier,
    platform: PlatformSession,
    *,
    tmp_path: Path,
) -> None:
    copy = synced()
    case_id = copy.case_ids[0]
    store = enroll_signer(copy.vault, platform)
    write_complete_draft(copy.vault, case_id)
    flow = _flow(ops, notifier, copy.vault, tmp_path)
    dialog = _open(qtbot, flow, case_id)
    assert dialog.pages.currentWidget() is dialog.review_page
    prepared = dialog.prepared
    assert prepared is not None
    with pymupdf.open(stream=prepared.pdf, filetype="pdf") as doc:
        pages = doc.page_count
    assert len(dialog.page_labels()) == pages
    noun = "page" if pages == 1 else "pages"
    assert dialog.page_count.text().startswith(f"{pages} {noun} · this is exactly")
    assert dialog.page_labels()[0].pixmap().width() > 500

    # A wrong passphrase: said plainly, nothing signed, the dialog stays to try again.
    dialog.passphrase.setText("not my passphrase")
    dialog.sign_button.click()
    qtbot.waitUntil(lambda: dialog.message.text() == WRONG_PASSPHRASE, timeout=10_000)
    assert dialog.passphrase.text() == "" and dialog.sign_button.isEnabled()
    assert outbox.items(copy.vault, case_id) == []

    _sign(qtbot, flow, dialog, SIGNING_PASSPHRASE)
    assert dialog.pages.currentWidget() is dialog.done_page
    (item,) = outbox.items(copy.vault, case_id)
    assert (item.state, item.attempts) == (outbox.State.QUEUED, 0)
    signed = outbox.signed_pdf(copy.vault, item.item_id)
    # Signing appends (incremental update): the previewed bytes are signed unchanged.
    assert signed.startswith(prepared.pdf) and len(signed) > len(prepared.pdf)
    report = verify_pdf(signed, store.platform_ca())
    assert report.ok, report.reason
    # The draft is closed: nothing open to sign any more.
    assert drafts.open_draft_kind(copy.vault, case_id) is None

    with qtbot.waitSignal(flow.exported, timeout=10_000) as exported:
        dialog.export_button.click()
    path = exported.args[0]
    assert path.parent == tmp_path
    assert path.read_bytes() == signed
    assert path.name in dialog.export_note.text()
    dialog.accept()


def test_signing_without_a_certificate_offers_the_set_up_then_signs(
    qtbot: Any, synced: Any, ops: Operations, notifier: Notifier, platform: PlatformSession
) -> None:
    copy = synced()
    case_id = copy.case_ids[1]
    write_complete_draft(copy.vault, case_id)
    flow = _flow(ops, notifier, copy.vault)
    flow.platform_session = lambda: platform
    flow.start(case_id)
    qtbot.waitUntil(lambda: isinstance(flow.dialog, SigningSetupDialog), timeout=10_000)
    setup = flow.dialog
    assert setup.reason_label.text() == NEEDS_CERTIFICATE
    setup.enroll_choice.click()
    setup.enroll_pair.first.setText(SIGNING_PASSPHRASE)
    setup.enroll_pair.second.setText(SIGNING_PASSPHRASE)
    with qtbot.waitSignal(setup.stored, timeout=60_000):
        setup.enroll_button.click()
    # "Done" goes straight on to signing.
    done = next(b for b in setup.result_page.findChildren(QPushButton) if b.text() == "Done")
    done.click()
    qtbot.waitUntil(lambda: isinstance(flow.dialog, SignDialog), timeout=10_000)
    dialog = flow.dialog
    qtbot.waitUntil(lambda: dialog.pages.currentWidget() is dialog.review_page, timeout=60_000)
    _sign(qtbot, flow, dialog, SIGNING_PASSPHRASE)
    assert SigningKeyStore(copy.vault).has_key()
    assert len(outbox.items(copy.vault, case_id)) == 1
    dialog.accept()


def test_an_addendum_is_signed_through_the_same_dialog_and_exported_apart(
    qtbot: Any,
    synced: Any,
    ops: Operations,
    notifier: Notifier,
    platform: PlatformSession,
    *,
    tmp_path: Path,
) -> None:
    copy = synced()
    case_id = copy.case_ids[0]
    store = enroll_signer(copy.vault, platform)
    write_complete_draft(copy.vault, case_id)
    flow = _flow(ops, notifier, copy.vault, tmp_path)
    dialog = _open(qtbot, flow, case_id)
    _sign(qtbot, flow, dialog, SIGNING_PASSPHRASE)
    dialog.accept()

    drafts.start_addendum(copy.vault, case_id)
    addendum = drafts.OpinionDraft({drafts.Section.ADDENDUM: "<p>Synthetic correction.</p>"})
    drafts.save_draft(copy.vault, case_id, addendum, force=True).result()
    second = _open(qtbot, flow, case_id)
    assert second.pages.currentWidget() is second.review_page
    assert second.windowTitle() == "Sign addendum"
    with qtbot.waitSignal(flow.signed, timeout=60_000) as signed:
        second.passphrase.setText(SIGNING_PASSPHRASE)
        second.sign_button.click()
    item = signed.args[1]
    assert second.done_title.text() == "Addendum signed"
    pdf = outbox.signed_pdf(copy.vault, item.item_id)
    assert pdf.startswith(second.prepared.pdf)
    assert verify_pdf(pdf, store.platform_ca()).ok
    assert drafts.open_draft_kind(copy.vault, case_id) is None
    second.accept()

    # Two signed documents: File ▸ Export asks which one, and writes that one unchanged.
    opinion, addendum_item = outbox.items(copy.vault, case_id)
    assert (opinion.kind, addendum_item.kind) == ("opinion", "addendum")
    flow.export(case_id)
    qtbot.waitUntil(lambda: isinstance(flow.dialog, ExportChoiceDialog))
    chooser = flow.dialog
    shown = [chooser.list.item(row).text() for row in range(chooser.list.count())]
    assert shown == ["Opinion", "Addendum 1"]
    chooser.list.setCurrentRow(0)
    with qtbot.waitSignal(flow.exported, timeout=10_000) as exported:
        next(b for b in chooser.findChildren(QPushButton) if b.text() == "Export…").click()
    assert exported.args[0].read_bytes() == outbox.signed_pdf(copy.vault, opinion.item_id)
