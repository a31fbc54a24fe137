"""The worklist: a Qt model over Vault.cases(), refreshed by change notices."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pytestqt.qtbot import QtBot

from reviewer_app.domain import CaseSummary
from tests.ui.helpers import add_case
from ui.notifier import Change, Notifier
from ui.operations import Operations
from ui.qt import Qt
from ui.worklist import EMPTY_DETAIL, EMPTY_TITLE, NO_MATCH_TITLE, WorklistView
from ui.worklist_model import (
    CASE_ID_ROLE,
    SORT_ROLE,
    Column,
    WorklistModel,
    due_text,
    patient_text,
)

TODAY = dt.date(2030, 1, 10)


def _case(**fields: Any) -> CaseSummary:
    base: dict[str, Any] = {
        "case_id": "c1",
        "patient_name": "Testpatient Alpha",
        "patient_sex": "female",
        "patient_birth_date": dt.date(1970, 5, 4),
        "specialty": "cardiology",
        "priority": "routine",
        "due_date": dt.date(2030, 1, 15),
        "status": "new",
        "clinical_question": "Question?",
        "sync_state": "synced",
        "pinned": False,
    }
    base.update(fields)
    return CaseSummary(**base)


def _texts(view: WorklistView, column: Column) -> list[str]:
    proxy = view.proxy
    return [str(proxy.data(proxy.index(row, column))) for row in range(proxy.rowCount())]


def _view(qtbot: QtBot, ops: Operations, notifier: Notifier) -> WorklistView:
    view = WorklistView(ops, notifier)
    qtbot.addWidget(view)
    view.resize(1100, 500)
    view.show()
    return view


def test_patient_column_shows_name_sex_and_age() -> None:
    assert patient_text(_case(), TODAY) == "Testpatient Alpha · F · 59 y"
    assert patient_text(_case(patient_sex="", patient_birth_date=None), TODAY) == (
        "Testpatient Alpha"
    )


def test_due_dates_read_relative_when_near() -> None:
    assert due_text(TODAY, TODAY) == "Today"
    assert due_text(TODAY + dt.timedelta(days=1), TODAY) == "Tomorrow"
    assert due_text(TODAY - dt.timedelta(days=3), TODAY) == "Overdue 3 d"
    assert due_text(dt.date(2030, 3, 1), TODAY) == "01 Mar 2030"
    assert due_text(None, TODAY) == "—"


def test_model_elides_long_questions_and_keeps_full_text_in_tooltip() -> None:
    question = "Word " * 60
    model = WorklistModel(today=TODAY)
    model.set_cases([_case(clinical_question=question)])
    index = model.index(0, Column.QUESTION)
    shown = model.data(index)
    assert shown.endswith("…") and len(shown) <= 140
    assert model.data(index, Qt.ItemDataRole.ToolTipRole) == question
    assert model.data(index, CASE_ID_ROLE) == "c1"


def test_priority_sorts_by_urgency_not_alphabet() -> None:
    model = WorklistModel(today=TODAY)
    model.set_cases([_case(priority="routine"), _case(priority="stat"), _case(priority="urgent")])
    ranks = [model.data(model.index(row, Column.PRIORITY), SORT_ROLE) for row in range(3)]
    assert ranks == [3, 0, 2]


def test_empty_vault_shows_the_empty_state(
    qtbot: QtBot, ops: Operations, notifier: Notifier, vault: Any
) -> None:
    view = _view(qtbot, ops, notifier)
    with qtbot.waitSignal(view.loaded):
        view.set_vault(vault)
    assert view.stack.currentWidget() is view.empty_state
    assert (view.empty_title.text(), view.empty_detail.text()) == (EMPTY_TITLE, EMPTY_DETAIL)
    assert view.empty_title.isVisible()
    assert not view.table.isVisible()


def test_rows_written_to_the_vault_appear_and_follow_change_notices(
    qtbot: QtBot, ops: Operations, notifier: Notifier, vault: Any
) -> None:
    add_case(vault, "c-1", "Synthetic Patient One", priority="routine", due_date="2030-02-01")
    add_case(vault, "c-2", "Synthetic Patient Two", priority="stat", specialty="neurology")
    view = _view(qtbot, ops, notifier)
    with qtbot.waitSignal(view.loaded):
        view.set_vault(vault)
    assert view.table.isVisible()
    patients = _texts(view, Column.PATIENT)
    # Sorted by priority: stat before routine.
    assert patients[0].startswith("Synthetic Patient Two")
    assert patients[1].startswith("Synthetic Patient One")
    assert _texts(view, Column.SPECIALTY) == ["Neurology", "Cardiology"]
    assert view.count_label.text() == "2 cases"

    # A new row does not show until someone announces the change…
    add_case(vault, "c-3", "Synthetic Patient Three", priority="urgent")
    qtbot.wait(50)
    assert view.proxy.rowCount() == 2
    # …and shows as soon as the notice arrives, without polling.
    with qtbot.waitSignal(view.loaded):
        notifier.notify(Change.CASES)
    assert view.proxy.rowCount() == 3
    assert _texts(view, Column.PATIENT)[1].startswith("Synthetic Patient Three")


def test_selection_survives_a_reload(
    qtbot: QtBot, ops: Operations, notifier: Notifier, vault: Any
) -> None:
    add_case(vault, "c-1", "Synthetic Patient One", priority="routine")
    add_case(vault, "c-2", "Synthetic Patient Two", priority="urgent")
    view = _view(qtbot, ops, notifier)
    with qtbot.waitSignal(view.loaded):
        view.set_vault(vault)
    assert view.select_case("c-1")
    add_case(vault, "c-0", "Synthetic Patient Zero", priority="stat")  # sorts above
    with qtbot.waitSignal(view.loaded):
        notifier.notify(Change.CASES)
    assert view.selected_case_id() == "c-1"
    assert view.table.selectionModel().selectedRows()[0].row() == 2


def test_write_operation_announces_its_changes(
    qtbot: QtBot, ops: Operations, notifier: Notifier, vault: Any
) -> None:
    view = _view(qtbot, ops, notifier)
    with qtbot.waitSignal(view.loaded):
        view.set_vault(vault)
    assert view.proxy.rowCount() == 0
    insert = (
        "INSERT INTO cases (case_id, patient_name, priority, status, sync_state) "
        "VALUES ('c-9', 'Synthetic Patient Nine', 'asap', 'new', 'synced')"
    )
    with qtbot.waitSignal(view.loaded):
        ops.write(vault, lambda conn: conn.execute(insert), changes=Change.CASES)
    assert _texts(view, Column.PATIENT) == ["Synthetic Patient Nine"]


def test_filter_box_narrows_rows_and_says_when_nothing_matches(
    qtbot: QtBot, ops: Operations, notifier: Notifier, vault: Any
) -> None:
    add_case(vault, "c-1", "Synthetic Patient One", specialty="cardiology")
    add_case(vault, "c-2", "Synthetic Patient Two", specialty="neurology")
    view = _view(qtbot, ops, notifier)
    with qtbot.waitSignal(view.loaded):
        view.set_vault(vault)
    qtbot.keyClicks(view.filter_edit, "neuro")
    assert _texts(view, Column.PATIENT) == ["Synthetic Patient Two · F · " + _age()]
    assert view.count_label.text() == "1 of 2 cases"
    view.filter_edit.setText("nobody here")
    assert view.proxy.rowCount() == 0
    assert view.stack.currentWidget() is view.empty_state
    assert view.empty_title.text() == NO_MATCH_TITLE
    view.filter_edit.clear()
    assert view.proxy.rowCount() == 2


def _age() -> str:
    return f"{_case(patient_birth_date=dt.date(1970, 5, 4)).patient_age(dt.date.today())} y"


def test_clear_drops_every_row_and_the_filter_text(
    qtbot: QtBot, ops: Operations, notifier: Notifier, vault: Any
) -> None:
    add_case(vault, "c-1", "Synthetic Patient One")
    view = _view(qtbot, ops, notifier)
    with qtbot.waitSignal(view.loaded):
        view.set_vault(vault)
    view.filter_edit.setText("Synthetic")
    view.clear()
    assert view.model.rowCount() == 0
    assert view.filter_edit.text() == ""
    # A change notice while cleared loads nothing.
    notifier.notify(Change.CASES)
    qtbot.wait(50)
    assert view.model.rowCount() == 0


# -- the Opinion column --------------------------------------------------------------------


def _opinion(case_id: str, stage: str, detail: str = "", addenda: int = 0) -> Any:
    from reviewer_app.opinion.states import OpinionState

    return OpinionState(case_id, stage, detail, addenda)


def test_the_opinion_column_names_each_stage_and_sorts_what_needs_action_first() -> None:
    stages = ["uploaded", "draft", "conflict", "signed", "queued", "rejected"]
    cases = [_case(case_id=f"c{n}") for n in range(len(stages) + 1)]
    opinions = {
        f"c{n}": _opinion(f"c{n}", stage, "DocumentReference/9 · 2030-01-09 10:00")
        for n, stage in enumerate(stages)
    }
    model = WorklistModel(today=TODAY)
    model.set_cases(cases, {}, opinions)
    shown = [model.data(model.index(row, Column.OPINION)) for row in range(len(cases))]
    assert shown == [
        "Uploaded ✓",
        "Draft",
        "Conflict",
        "Signed",
        "Queued (waiting for connection)",
        "Rejected",
        "—",
    ]
    receipt = model.data(model.index(0, Column.OPINION), Qt.ItemDataRole.ToolTipRole)
    assert receipt == "Received by the platform: DocumentReference/9 · 2030-01-09 10:00"
    ranks = [model.data(model.index(row, Column.OPINION), SORT_ROLE) for row in range(7)]
    order = [shown[i] for i in sorted(range(7), key=ranks.__getitem__)]
    assert order[:2] == ["Conflict", "Rejected"]
    assert order[-2:] == ["Uploaded ✓", "—"]


def test_the_opinion_column_counts_signed_addenda() -> None:
    model = WorklistModel(today=TODAY)
    model.set_cases([_case()], {}, {"c1": _opinion("c1", "uploaded", addenda=2)})
    assert model.data(model.index(0, Column.OPINION)) == "Uploaded ✓ · 2 addenda"


def test_a_conflict_row_offers_send_again_and_export_in_its_menu(
    qtbot: QtBot, ops: Operations, notifier: Notifier, vault: Any
) -> None:
    view = _view(qtbot, ops, notifier)
    view.model.set_cases(
        [_case(case_id="c1"), _case(case_id="c2", patient_name="Testpatient Beta")],
        {},
        {"c1": _opinion("c1", "conflict"), "c2": _opinion("c2", "draft")},
    )

    def menu_for(case_id: str) -> list[str]:
        view.select_case(case_id)
        index = view.table.selectionModel().selectedRows()[0]
        return [a.text() for a in view.context_actions(index) if a is not None]

    assert menu_for("c1")[-2:] == ["Send &again…", "&Export signed PDF…"]
    assert "&Export signed PDF…" not in menu_for("c2")
    view.select_case("c1")
    with qtbot.waitSignal(view.problem_requested) as asked:
        view.problem_action.trigger()
    assert asked.args == ["c1"]
    with qtbot.waitSignal(view.export_requested) as asked:
        view.export_action.trigger()
    assert asked.args == ["c1"]
