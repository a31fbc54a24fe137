"""The whole opinion in the real window, against the reference server over HTTP: type
the draft, cite a key image from the Imaging pane, reopen the citation from the text,
sign, export, and send it with a sync; the platform then holds exactly that document."""

# ruff: noqa: F811 - pytest fixtures imported from sign_helpers are parameters here

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from demo_server.server import RunningServer
from reviewer_app.casefile import load_case
from reviewer_app.exchange import PlatformSession
from reviewer_app.opinion import evidence, outbox, verify_pdf
from reviewer_app.opinion.drafts import Section, Verdict
from tests.reviewer_app.sync.helpers import admin
from tests.ui.opinion.sign_helpers import (  # noqa: F401
    SIGNING_PASSPHRASE,
    enroll_signer,
    pki_server,
    platform,
    sync,
    synced,
    synced_root,
)
from tests.ui.opinion.test_citations import _click_reference
from ui.imaging.pane import ImagingPane
from ui.opinion.sign_dialog import SignDialog
from ui.qt import QTextCursor


def _window(qtbot: Any, make_shell: Any, vault: Any) -> Any:
    shell = make_shell()
    shell._use_vault(vault, sync=False)
    shell.window.resize(1500, 950)
    shell.window.show()
    with qtbot.waitSignal(shell.window.worklist.loaded):
        shell.window.start_unlocked()
    return shell.window


def _case_with_ct(vault: Any, case_ids: list[str]) -> tuple[str, str]:
    for case_id in case_ids:
        for study in load_case(vault, case_id).studies:
            for series in study.series:
                if series.modality == "CT":
                    return case_id, series.series_uid
    raise AssertionError("the synced cases have no CT series")


def _type_at_end(qtbot: Any, editor: Any, text: str) -> None:
    editor.setFocus()
    editor.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClicks(editor, text)


def test_write_cite_reopen_sign_export_and_send_one_opinion(
    qtbot: Any,
    *,
    synced: Any,
    make_shell: Any,
    platform: PlatformSession,
    pki_server: RunningServer,
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    copy = synced()
    vault = copy.vault
    case_id, series_uid = _case_with_ct(vault, copy.case_ids)
    case = load_case(vault, case_id)
    store = enroll_signer(vault, platform)
    window = _window(qtbot, make_shell, vault)
    workspace = window.ensure_workspace()
    editor = workspace.opinion
    with qtbot.waitSignal(editor.draft_shown, timeout=20_000):
        window.open_case(case_id)

    # The specialist types every section (Records reviewed comes filled in), the verdict
    # and one answer per patient question.
    for section in Section:
        if section not in (Section.RECORDS_REVIEWED, Section.ADDENDUM):
            _type_at_end(qtbot, editor.section_editor(section), f"Synthetic {section.value}. ")
    editor.verdict_button(Verdict.PARTLY).click()
    for number in range(1, len(case.patient_questions) + 1):
        _type_at_end(qtbot, editor.answer_editor(number), f"Synthetic answer {number}.")

    # A key image from the Imaging pane, in the lung window, goes into the assessment.
    imaging = next(p for p in workspace.panes if isinstance(p, ImagingPane))
    imaging.open_series(series_uid)
    presets = imaging.presets
    qtbot.waitUntil(
        lambda: (
            imaging.view.has_image()
            and any(presets.itemText(i).startswith("Lung") for i in range(presets.count()))
        ),
        timeout=20_000,
    )
    imaging.apply_preset("Lung")
    qtbot.waitUntil(lambda: imaging.view.overlay("bottom_left")[0] == "W 1500 L -600")
    assessment = editor.section_editor(Section.ASSESSMENT)
    _type_at_end(qtbot, assessment, "See ")
    with qtbot.waitSignal(imaging.cite_requested, timeout=20_000) as cited:
        imaging.cite_action.trigger()
    citation = cited.args[0]
    qtbot.waitUntil(lambda: "[1]" in assessment.toPlainText(), timeout=5000)
    assert citation.case_id == case_id

    # Another window on the screen; the reference brings the cited one back.
    imaging.apply_preset("Bone")
    qtbot.waitUntil(lambda: imaging.view.overlay("bottom_left")[0] == "W 1800 L 400")
    _click_reference(qtbot, assessment, "[1]")
    qtbot.waitUntil(lambda: imaging.view.overlay("bottom_left")[0] == "W 1500 L -600")

    # Complete, so Sign opens the dialog with the exact PDF; the passphrase signs it.
    qtbot.waitUntil(lambda: not editor.findings(), timeout=10_000)
    editor.request_sign()
    qtbot.waitUntil(lambda: isinstance(window.signing.dialog, SignDialog), timeout=20_000)
    dialog = window.signing.dialog
    qtbot.waitUntil(lambda: dialog.pages.currentWidget() is dialog.review_page, timeout=60_000)
    dialog.passphrase.setText(SIGNING_PASSPHRASE)
    with qtbot.waitSignal(window.signing.signed, timeout=60_000):
        dialog.sign_button.click()
    dialog.accept()
    (item,) = outbox.items(vault, case_id)
    signed = outbox.signed_pdf(vault, item.item_id)
    report = verify_pdf(signed, store.platform_ca())
    assert report.ok, report.reason

    # Export goes where the specialist chooses (the OS file dialog is the one stand-in).
    target = tmp_path / "chosen" / "opinion.pdf"
    target.parent.mkdir()
    monkeypatch.setattr(
        "ui.opinion.signing_flow.QFileDialog.getSaveFileName",
        lambda *_args, **_kw: (str(target), "PDF (*.pdf)"),
    )
    window.signing.export(case_id)
    qtbot.waitUntil(target.exists, timeout=20_000)
    assert target.read_bytes() == signed
    text = subprocess.run(
        ["pdftotext", "-layout", str(target), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Figure 1." in text
    assert "Synthetic assessment." in text
    assert case.patient_questions[0].split()[0] in text
    assert evidence.cited_ids(editor.current_draft().text(Section.ASSESSMENT)) == [
        citation.citation_id
    ]

    # The next sync seals and sends it; the platform holds exactly one copy.
    run = sync(vault, platform)
    assert run.state == "complete", run.errors
    (sent,) = outbox.items(vault, case_id)
    assert sent.state is outbox.State.UPLOADED
    with admin(pki_server) as client:
        found = client.get("/opinions").json()
    mine = [
        d
        for d in found
        if {"system": "urn:ietf:rfc:3986", "value": item.opinion_id} in d.get("identifier", [])
    ]
    assert len(mine) == 1
    # Sealed on the way (timestamp and CRL appended): the signed bytes come first.
    sealed = outbox.signed_pdf(vault, item.item_id)
    assert sealed.startswith(signed) and sealed != signed
    assert mine[0]["content"][0]["attachment"]["size"] == len(sealed)
