"""Opinion drafts in a real (memory-key SQLCipher) vault: save, load, history, restore,
and the records-reviewed list filled from the case."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace as dc_replace
from pathlib import Path

import pytest

from reviewer_app.casefile import CaseFile, LabEntry, PatientHeader, RecordEntry, StudyEntry
from reviewer_app.errors import DraftVersionMissing
from reviewer_app.opinion.drafts import (
    OpinionDraft,
    Section,
    Verdict,
    history,
    load_draft,
    load_version,
    records_reviewed_html,
    restore,
    save_draft,
    with_records_reviewed,
)
from reviewer_app.vault import Vault
from tests.reviewer_app.sync.helpers import memory_vault

T0 = dt.datetime(2026, 11, 29, 18, 0, tzinfo=dt.UTC)
# What an editor may hand over: CRLF, non-breaking spaces, combining marks, emoji, a lone
# surrogate, entities left as written, attribute quoting the way Qt writes it.
TRICKY = (
    '<!DOCTYPE HTML><html><head><style type="text/css">p { margin: 0; }</style></head>'
    '<body>\r\n<p style=" margin-top:0px;">Lesion  in segment\u00a0VII &amp; '
    "e\u0301dema \U0001f9e0 \ud800 &lt;b&gt;</p>\n\t</body></html>"
)


def _draft(summary: str = "<p>Summary</p>") -> OpinionDraft:
    return OpinionDraft(
        {Section.CASE_SUMMARY: summary, Section.ASSESSMENT: TRICKY},
        Verdict.PARTLY,
        ("<p>Answer one</p>", ""),
    )


def test_a_saved_draft_loads_byte_identical(vault: Vault) -> None:
    assert load_draft(vault, "case-1") is None
    save_draft(vault, "case-1", _draft(), now=T0).result()
    loaded = load_draft(vault, "case-1")
    assert loaded == _draft()
    assert loaded is not None
    assert loaded.text(Section.ASSESSMENT).encode("utf-8", "surrogatepass") == TRICKY.encode(
        "utf-8", "surrogatepass"
    )
    # Drafts of other cases are separate.
    assert load_draft(vault, "case-2") is None


def test_history_adds_versions_only_for_changes_and_not_too_often(vault: Vault) -> None:
    first = save_draft(vault, "c", _draft("<p>a</p>"), now=T0).result()
    assert (first.version, first.new_version) == (1, True)
    # Typing on: the draft follows, the history does not grow within the interval.
    soon = save_draft(vault, "c", _draft("<p>ab</p>"), now=T0 + dt.timedelta(seconds=5)).result()
    assert (soon.version, soon.new_version) == (1, False)
    assert load_draft(vault, "c") == _draft("<p>ab</p>")
    later = T0 + dt.timedelta(seconds=61)
    assert save_draft(vault, "c", _draft("<p>abc</p>"), now=later).result().version == 2
    # The same content again is no new version, however late or forced.
    for force in (False, True):
        same = save_draft(
            vault, "c", _draft("<p>abc</p>"), force=force, now=later + dt.timedelta(hours=1)
        ).result()
        assert (same.version, same.new_version) == (2, False)
    forced = save_draft(
        vault, "c", _draft("<p>abcd</p>"), force=True, now=later + dt.timedelta(seconds=1)
    ).result()
    assert (forced.version, forced.new_version) == (3, True)
    assert [v.version for v in history(vault, "c")] == [3, 2, 1]
    assert history(vault, "c")[-1].saved_at == T0
    assert load_version(vault, "c", 1) == _draft("<p>a</p>")


def test_restore_brings_a_version_back_and_is_itself_undoable(vault: Vault) -> None:
    save_draft(vault, "c", _draft("<p>first</p>"), now=T0).result()
    save_draft(vault, "c", _draft("<p>second</p>"), force=True, now=T0).result()
    restored = restore(vault, "c", 1, now=T0 + dt.timedelta(seconds=1))
    assert restored == _draft("<p>first</p>")
    assert load_draft(vault, "c") == _draft("<p>first</p>")
    assert [v.version for v in history(vault, "c")] == [3, 2, 1]
    assert load_version(vault, "c", 2) == _draft("<p>second</p>")
    with pytest.raises(DraftVersionMissing):
        restore(vault, "c", 9)
    assert load_draft(vault, "c") == _draft("<p>first</p>")


def _case() -> CaseFile:
    when = dt.datetime(2026, 10, 2, 9, 30, tzinfo=dt.UTC)
    record = RecordEntry("r1", "Discharge letter <cardiology>", "Letter", when, "", None, None)
    lab = LabEntry(
        "l1", "718-7", "Hemoglobin", "CBC", when + dt.timedelta(days=3),
        13.1, None, "g/dL", 12.0, 16.0, None, None,
    )  # fmt: skip
    undated = RecordEntry("r2", "Referral note", "Note", None, "", None, None)
    study = StudyEntry("1.2", "Abdomen", when + dt.timedelta(days=9), ["CT"], "platform", [])
    patient = PatientHeader("Synthetic Patient", "female", None, None, [])
    return CaseFile(
        "c", "SYN-1", patient, "Oncology", "routine", None, "accepted",
        [], [], [], [record, undated], [lab], [study],
    )  # fmt: skip


def test_records_reviewed_lists_each_record_and_lab_set_with_its_date() -> None:
    listing = records_reviewed_html(_case())
    assert listing == (
        "<ul><li>Discharge letter &lt;cardiology&gt; (2026-10-02)</li>"
        "<li>Laboratory: CBC (2026-10-05)</li>"
        "<li>CT Abdomen (2026-10-11)</li>"
        "<li>Referral note (undated)</li></ul>"
    )


def test_records_reviewed_lists_a_lab_panel_once_with_its_sets_and_dates() -> None:
    case = _case()
    first = case.labs[0]
    later = [
        dc_replace(first, lab_id=f"l{n}", effective=first.effective + dt.timedelta(days=30 * n))
        for n in (1, 2)
    ]
    # Two results of one draw are one set.
    same_draw = dc_replace(first, lab_id="l9", code="4544-3", name="Hematocrit")
    listing = records_reviewed_html(dc_replace(case, labs=[first, *later, same_draw]))
    assert listing.count("Laboratory: CBC") == 1
    assert "<li>Laboratory: CBC, 3 sets (2026-10-05 to 2026-12-04)</li>" in listing


def test_records_reviewed_fills_only_an_empty_section() -> None:
    filled = with_records_reviewed(OpinionDraft(), _case())
    assert filled.text(Section.RECORDS_REVIEWED) == records_reviewed_html(_case())
    mine = OpinionDraft({Section.RECORDS_REVIEWED: "<p>my list</p>"})
    assert with_records_reviewed(mine, _case()) == mine


def test_a_saved_draft_and_its_history_survive_reopening_the_vault(tmp_path: Path) -> None:
    opened, key = memory_vault(tmp_path / "profile")
    with opened:
        save_draft(opened, "c", _draft("<p>one</p>"), now=T0).result()
        save_draft(opened, "c", _draft("<p>two</p>"), now=T0 + dt.timedelta(seconds=1)).result()
    reopened, _ = memory_vault(tmp_path / "profile", key)
    with reopened:
        assert load_draft(reopened, "c") == _draft("<p>two</p>")
        assert [v.version for v in history(reopened, "c")] == [1]
