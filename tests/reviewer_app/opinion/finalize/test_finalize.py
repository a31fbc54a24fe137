"""Finishing an opinion on a synced case: prepare reads the case and hashes each record,
signing refuses an incomplete draft, signs exactly the previewed bytes, queues and
closes the draft; export writes exactly the vault's copy."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pymupdf
import pytest

from demo_server.server import RunningServer
from reviewer_app.casefile import load_case
from reviewer_app.errors import (
    CitationMissing,
    CorruptObject,
    DraftSigned,
    ExportFailed,
    IncompleteOpinion,
)
from reviewer_app.opinion import Enrollment, SigningIdentity, outbox, signer_info, verify_pdf
from reviewer_app.opinion.drafts import (
    DraftKind,
    OpinionDraft,
    Section,
    load_draft,
    open_draft_kind,
    save_draft,
    signed_drafts,
)
from reviewer_app.opinion.evidence import anchor_html, citation_image
from reviewer_app.opinion.finalize import (
    LETTERHEAD_ENV,
    export_signed,
    prepare,
    preview,
    sign_and_queue,
)
from reviewer_app.opinion.outbox import State
from reviewer_app.vault import Vault
from tests.reviewer_app.opinion.finalize.helpers import cite_key_image, complete_draft
from tests.reviewer_app.sync.helpers import server_content


def _audit(vault: Vault) -> list[tuple[str, str]]:
    rows = vault.read().execute("SELECT action, case_id FROM audit WHERE action != 'view'")
    return list(rows.fetchall())


def test_prepare_gathers_the_case_the_draft_and_what_it_cites(
    vault: Vault, case_id: str, server: RunningServer, enrollment: Enrollment
) -> None:
    cited = cite_key_image(vault, case_id)
    draft = complete_draft(vault, case_id, cited)
    author = signer_info(enrollment.chain[0])
    doc = prepare(vault, case_id, author)
    case = load_case(vault, case_id)
    assert doc.kind is DraftKind.OPINION and doc.addendum_to is None
    assert (doc.case_id, doc.case_key) == (case_id, case.display_key)
    assert doc.patient_name == case.patient.name and doc.patient_name
    assert doc.patient_questions == tuple(case.patient_questions)
    assert doc.draft == draft and doc.author == author
    assert list(doc.citations) == [cited.citation_id]
    assert doc.figures == {cited.citation_id: citation_image(vault, cited)}
    # Each document with the SHA-256 of exactly the bytes the platform holds.
    on_server = {sha for _, sha in server_content(server, {case_id})[case_id]["records"]}
    documents = [r for r in doc.records if r.kind == "Document"]
    assert len(documents) == len(case.records) > 0
    assert {r.sha256 for r in documents} == on_server
    assert all(r.detail.endswith(("page", "pages")) for r in documents)
    labs = [r for r in doc.records if r.kind == "Laboratory results"]
    assert sum(int(r.detail.split()[0]) for r in labs) == len(case.labs) > 0
    studies = [r for r in doc.records if r.kind == "Imaging study"]
    assert [s.detail.rsplit(" ", 1)[-1] for s in studies] == [s.study_uid for s in case.studies]
    # A cited citation that is gone is named as a problem, not silently dropped.
    gone = anchor_html(cited, 2).replace(cited.citation_id, "f" * 32)
    save_draft(vault, case_id, draft.with_section(Section.TREATMENT, gone)).result()
    with pytest.raises(CitationMissing):
        prepare(vault, case_id, author)


def test_signing_an_incomplete_draft_names_what_is_missing_and_changes_nothing(
    vault: Vault, case_id: str, unsigned: bytes, identity: SigningIdentity
) -> None:
    questions = load_case(vault, case_id).patient_questions
    assert questions
    draft = complete_draft(vault, case_id)
    incomplete = OpinionDraft(
        {**draft.sections, Section.DIFFERENTIAL: "<p> </p>", Section.TREATMENT: "<p>TODO</p>"},
        draft.verdict,
        draft.answers[:-1],
    )
    save_draft(vault, case_id, incomplete).result()
    with pytest.raises(IncompleteOpinion) as caught:
        sign_and_queue(vault, case_id, unsigned, identity, questions)
    assert caught.value.missing == (
        "Differential diagnosis is empty.",
        "Recommended treatment and alternatives still has a placeholder.",
        f"Patient question {len(questions)} has no answer.",
    )
    assert outbox.items(vault, case_id) == []
    assert open_draft_kind(vault, case_id) is DraftKind.OPINION
    assert load_draft(vault, case_id) == incomplete
    assert _audit(vault) == []


def test_the_signed_opinion_is_the_previewed_bytes_signed_queued_and_closed(
    vault: Vault,
    case_id: str,
    unsigned: bytes,
    identity: SigningIdentity,
    enrollment: Enrollment,
) -> None:
    draft = complete_draft(vault, case_id)
    item = sign_and_queue(
        vault, case_id, unsigned, identity, load_case(vault, case_id).patient_questions
    )
    signed = outbox.signed_pdf(vault, item.item_id)
    # pyHanko appends: the signed file is the previewed bytes plus the signature update.
    assert signed[: len(unsigned)] == unsigned and len(signed) > len(unsigned)
    check = verify_pdf(signed, list(enrollment.platform_ca))
    assert check.ok, check.reason
    assert (item.state, item.kind, item.attempts) == (State.QUEUED, "opinion", 0)
    # The draft is closed, kept read-only, and linked to its outbox item.
    assert open_draft_kind(vault, case_id) is None
    assert load_draft(vault, case_id) is None
    (kept,) = signed_drafts(vault, case_id)
    assert (kept.kind, kept.draft, kept.item_id) == (DraftKind.OPINION, draft, item.item_id)
    assert _audit(vault) == [("sign", case_id)]
    with pytest.raises(DraftSigned):
        save_draft(vault, case_id, draft).result()
    with pytest.raises(DraftSigned):
        sign_and_queue(vault, case_id, unsigned, identity, [])


def test_export_writes_exactly_the_vault_copy_and_is_audited(
    vault: Vault, case_id: str, unsigned: bytes, identity: SigningIdentity, tmp_path: Path
) -> None:
    complete_draft(vault, case_id)
    questions = load_case(vault, case_id).patient_questions
    item = sign_and_queue(vault, case_id, unsigned, identity, questions)
    destination = tmp_path / "out" / "opinion.pdf"
    destination.parent.mkdir()
    destination.write_bytes(b"an older file the user chose to replace")
    export_signed(vault, item.item_id, destination)
    assert destination.read_bytes() == vault.objects.read_bytes(item.object_id)
    assert (
        hashlib.sha256(destination.read_bytes()).hexdigest()
        == hashlib.sha256(outbox.signed_pdf(vault, item.item_id)).hexdigest()
    )
    assert sorted(os.listdir(destination.parent)) == ["opinion.pdf"]
    assert _audit(vault) == [("sign", case_id), ("export", case_id)]
    # A folder that does not exist: a specific error, nothing written, nothing audited.
    with pytest.raises(ExportFailed):
        export_signed(vault, item.item_id, tmp_path / "missing" / "opinion.pdf")
    assert not (tmp_path / "missing").exists()
    # A damaged vault copy is never exported.
    path = vault.objects.path_for(item.object_id)
    data = bytearray(path.read_bytes())
    data[-20] ^= 0x01
    path.write_bytes(bytes(data))
    other = tmp_path / "out" / "second.pdf"
    with pytest.raises(CorruptObject):
        export_signed(vault, item.item_id, other)
    assert not other.exists()
    assert _audit(vault) == [("sign", case_id), ("export", case_id)]


@pytest.fixture
def platform_letterhead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A platform's letterhead folder, set the way a deployment sets it; its name."""
    folder = tmp_path / "letterhead"
    folder.mkdir()
    (folder / "letterhead.json").write_text(
        '{"organisation": "Synthetic Platform Clinic", "address": ["1 Test Road"], '
        '"contact": "clinic@example.org", "footer_note": "Synthetic."}',
        encoding="utf-8",
    )
    monkeypatch.setenv(LETTERHEAD_ENV, str(folder))
    return "Synthetic Platform Clinic"


def test_what_is_signed_is_the_preview_on_the_platform_letterhead(
    vault: Vault,
    case_id: str,
    identity: SigningIdentity,
    enrollment: Enrollment,
    platform_letterhead: str,
) -> None:
    cited = cite_key_image(vault, case_id)
    complete_draft(vault, case_id, cited)
    doc = prepare(vault, case_id, signer_info(enrollment.chain[0]))
    pdf = preview(doc)
    with pymupdf.open(stream=pdf, filetype="pdf") as shown:
        # The letterhead may keep a name on one line with no-break spaces.
        text = "".join(page.get_text() for page in shown).replace("\xa0", " ")
    assert platform_letterhead in text
    assert cited.label in text
    item = sign_and_queue(vault, case_id, pdf, identity, doc.patient_questions)
    signed = outbox.signed_pdf(vault, item.item_id)
    assert signed[: len(pdf)] == pdf
    check = verify_pdf(signed, list(enrollment.platform_ca))
    assert check.ok, check.reason
