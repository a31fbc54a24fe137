"""CaseFile: one Case read from a vault synced from the reference server."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from reviewer_app.casefile import CaseFile, load_case, parse_datetime
from reviewer_app.errors import CaseNotFound
from tests.fixtures.synced_case import SyncedCopy, synced_case, synced_source  # noqa: F401


@pytest.fixture
def synced(synced_case: Callable[[], SyncedCopy]) -> SyncedCopy:  # noqa: F811
    return synced_case()


def _by_key(synced: SyncedCopy) -> dict[str, CaseFile]:
    cases = [load_case(synced.vault, case_id) for case_id in synced.case_ids]
    return {case.display_key: case for case in cases}


def test_a_case_holds_what_the_vault_holds_for_it(synced: SyncedCopy) -> None:
    conn = synced.vault.read()
    for case_id in synced.case_ids:
        case = load_case(synced.vault, case_id, today=date(2030, 6, 1))
        row = conn.execute(
            "SELECT patient_name, patient_birth_date, specialty, due_date FROM cases "
            "WHERE case_id = ?",
            (case_id,),
        ).fetchone()
        assert case.patient.name == row[0]
        assert case.patient.birth_date == date.fromisoformat(row[1])
        assert case.patient.age == _years(case.patient.birth_date, date(2030, 6, 1))
        assert case.specialty == row[2]
        assert case.due_date == date.fromisoformat(row[3])
        assert case.case_key is not None and case.case_key.startswith("SYN-")
        counts = [
            conn.execute(f"SELECT count(*) FROM {table} WHERE case_id = ?", (case_id,)).fetchone()[
                0
            ]
            for table in ("records", "lab_results", "instances")
        ]
        assert counts == [
            len(case.records),
            len(case.labs),
            sum(len(s.instances) for st in case.studies for s in st.series),
        ]
        assert all(r.object_id for r in case.records), "the fixture synced every record"
        assert case.clinical_questions and case.patient_questions
        # One question per referral; the background after it reads with the reason.
        assert len(case.clinical_questions) == 1
        assert len(case.reasons) == 2


def _years(born: date | None, on: date) -> int:
    assert born is not None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def test_the_cases_between_them_hold_every_modality_pdfs_and_labs(synced: SyncedCopy) -> None:
    cases = _by_key(synced)
    modalities = {
        series.modality for case in cases.values() for st in case.studies for series in st.series
    }
    assert {"CT", "MR", "CR", "US"} <= modalities
    for case in cases.values():
        assert any(r.content_type == "application/pdf" for r in case.records)
        assert case.labs
        assert all(isinstance(lab.effective, datetime) for lab in case.labs)


def test_cases_do_not_mix_patients(synced: SyncedCopy) -> None:
    cases = list(_by_key(synced).values())
    # Names may repeat (the synthetic data has namesakes on purpose or by chance); the
    # patient's identifiers and the case's content may not.
    identifiers = {tuple(case.patient.identifiers) for case in cases}
    assert len(identifiers) == len(cases)
    uids = [{st.study_uid for st in case.studies} for case in cases]
    for i, mine in enumerate(uids):
        for j, theirs in enumerate(uids):
            if i != j:
                assert not mine & theirs


def test_series_and_instances_are_in_order(synced: SyncedCopy) -> None:
    for case in _by_key(synced).values():
        for study in case.studies:
            numbers = [s.number for s in study.series]
            assert numbers == sorted(n for n in numbers if n is not None)
            for series in study.series:
                inst = [i.number for i in series.instances]
                assert inst == sorted(n for n in inst if n is not None)
                assert series.instance_count == len(series.instances)


def test_timeline_is_dated_in_order_and_refs_name_existing_items(synced: SyncedCopy) -> None:
    case = next(iter(_by_key(synced).values()))
    timeline = case.timeline()
    kinds = {e.kind for e in timeline}
    assert kinds == {"record", "lab", "study"}
    dated = [e.date for e in timeline if e.date is not None]
    stamps = [d.replace(tzinfo=d.tzinfo or UTC).timestamp() for d in dated]
    assert stamps == sorted(stamps)
    record_ids = {f"record:{r.record_id}" for r in case.records}
    lab_codes = {f"lab:{lab.code}" for lab in case.labs}
    series = {f"series:{s.series_uid}" for st in case.studies for s in st.series}
    for entry in timeline:
        assert entry.ref in {"record": record_ids, "lab": lab_codes, "study": series}[entry.kind]
    assert len([e for e in timeline if e.kind == "record"]) == len(case.records)
    assert len([e for e in timeline if e.kind == "study"]) == len(case.studies)
    draws = {(lab.effective, lab.panel) for lab in case.labs}
    assert len([e for e in timeline if e.kind == "lab"]) == len(draws)


def test_a_missing_case_is_a_specific_error_without_patient_data(synced: SyncedCopy) -> None:
    with pytest.raises(CaseNotFound) as caught:
        load_case(synced.vault, "no-such-case")
    assert "no-such-case" not in caught.value.user_text()


def test_a_purged_case_is_not_found_any_more(synced: SyncedCopy) -> None:
    case_id = synced.case_ids[0]
    load_case(synced.vault, case_id)
    synced.vault.write_sync(
        lambda conn: conn.execute("DELETE FROM cases WHERE case_id = ?", (case_id,))
    )
    with pytest.raises(CaseNotFound):
        load_case(synced.vault, case_id)


def test_parse_datetime_accepts_iso_and_rejects_junk() -> None:
    assert parse_datetime("2024-03-01T10:30:00+00:00") == datetime(2024, 3, 1, 10, 30, tzinfo=UTC)
    assert parse_datetime("2024-03-01") == datetime(2024, 3, 1)
    assert parse_datetime("yesterday") is None
    assert parse_datetime(None) is None
