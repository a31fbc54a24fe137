"""The open case follows a sync still bringing it in, without moving what is looked at."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from pytestqt.qtbot import QtBot

from reviewer_app.casefile import CaseFile, SeriesEntry, load_case
from tests.fixtures.synced_case import SyncedCopy
from tests.ui.imaging.test_pane import measure
from tests.ui.workspace.doubles import recording_panes
from ui.imaging.pane import ImagingPane
from ui.labs.pane import LabsPane
from ui.notifier import Change
from ui.records.pane import RecordsPane
from ui.workspace.page import WorkspacePage


def _ct_case(synced: SyncedCopy) -> tuple[CaseFile, SeriesEntry]:
    for case_id in synced.case_ids:
        case = load_case(synced.vault, case_id)
        for study in case.studies:
            for series in study.series:
                if series.modality == "CT" and len(series.instances) >= 10:
                    return case, series
    raise AssertionError("the synced cases have a CT series")


def _viewable(pane: ImagingPane) -> int:
    stack = pane._stack
    assert stack is not None
    return sum(1 for i in range(len(stack.slices)) if stack.problem(i) is None)


def _current_sop(pane: ImagingPane) -> str:
    stack = pane._stack
    assert stack is not None
    return stack.instances[stack.slices[pane.current_index()].instance].sop_uid


def _open(shell: Any, qtbot: QtBot, case_id: str) -> WorkspacePage:
    workspace = shell.window.ensure_workspace()
    with qtbot.waitSignal(workspace.case_shown, timeout=5000):
        shell.window.open_case(case_id)
    return workspace


def test_a_sync_completing_the_open_case_adds_slices_and_keeps_every_pane_in_place(
    synced: SyncedCopy, make_shell: Any, qtbot: QtBot
) -> None:
    case, ct = _ct_case(synced)
    vault = synced.vault
    # Opened while the sync is still running: every other CT slice not downloaded yet,
    # one lab result not fetched yet.
    missing = {i.sop_uid: i.object_id for i in ct.instances[1::2]}
    late_lab = case.labs[-1]

    def take_away(conn: Any) -> Any:
        conn.executemany(
            "UPDATE instances SET object_id = NULL WHERE case_id = ? AND sop_instance_uid = ?",
            [(case.case_id, sop) for sop in missing],
        )
        row = conn.execute(
            "SELECT * FROM lab_results WHERE case_id = ? AND lab_id = ?",
            (case.case_id, late_lab.lab_id),
        )
        names = [d[0] for d in row.description]
        values = row.fetchone()
        conn.execute(
            "DELETE FROM lab_results WHERE case_id = ? AND lab_id = ?",
            (case.case_id, late_lab.lab_id),
        )
        return names, values

    lab_columns, lab_row = vault.write_sync(take_away)

    shell = make_shell()
    shell._use_vault(vault, sync=False)  # production panes
    shell.window.resize(1600, 1000)
    shell.window.show()
    with qtbot.waitSignal(shell.window.worklist.loaded):
        shell.window.start_unlocked()
    workspace = _open(shell, qtbot, case.case_id)
    records, labs, imaging = workspace.panes
    assert isinstance(records, RecordsPane)
    assert isinstance(labs, LabsPane) and isinstance(imaging, ImagingPane)

    # Imaging: the CT series, a viewable slice, a lung window, zoomed, panned, measured.
    imaging.open_series(ct.series_uid)
    qtbot.waitUntil(
        lambda: imaging._stack is not None and imaging._shown_index == 0, timeout=10_000
    )
    assert imaging.slice_count() == len(ct.instances)
    assert _viewable(imaging) == len(ct.instances) - len(missing)
    imaging.go_to(3)
    qtbot.waitUntil(lambda: imaging._shown_index == 3 and imaging.view.has_image(), timeout=5000)
    imaging.apply_preset("Lung")
    window = imaging._window
    imaging.view.zoom_by(1.5)
    imaging.view.pan_by(15, -10)
    zoom = imaging.view.zoom()
    centre = imaging.view.mapToScene(imaging.view.viewport().rect().center())
    measure(qtbot, imaging, "distance", [(20, 20), (60, 50)])
    measured = imaging.view.measurement_labels()
    assert len(measured) == 1
    sop = _current_sop(imaging)
    # Records: the open record, zoomed and scrolled down.
    qtbot.waitUntil(lambda: records.renderer.document is not None, timeout=5000)
    records.set_zoom(300.0)
    qtbot.waitUntil(lambda: records.view.verticalScrollBar().maximum() > 0, timeout=5000)
    records.view.verticalScrollBar().setValue(records.view.verticalScrollBar().maximum() // 2)
    place = records.view.verticalScrollBar().value()
    document, record_id = records.renderer.document, records.current_record_id()
    # Labs: one analyte selected, a filter typed.
    qtbot.waitUntil(lambda: labs._loaded, timeout=5000)
    selected = labs.flowsheet_model.flowsheet().analytes()[0]
    assert labs.select_analyte(selected.key)
    labs.filter_box.setText(selected.name[:3])

    # The sync brings the rest; its change notice reaches the workspace.
    def bring(conn: Any) -> None:
        conn.executemany(
            "UPDATE instances SET object_id = ? WHERE case_id = ? AND sop_instance_uid = ?",
            [(oid, case.case_id, s) for s, oid in missing.items()],
        )
        marks = ", ".join("?" * len(lab_columns))
        conn.execute(
            f"INSERT INTO lab_results ({', '.join(lab_columns)}) VALUES ({marks})", lab_row
        )

    vault.write_sync(bring)
    with qtbot.waitSignal(workspace.case_refreshed, timeout=5000):
        shell.notifier.notify(Change.SYNC)
    assert workspace.shown_case() == load_case(vault, case.case_id)

    # Imaging: every slice viewable now, still on the same instance (its index moved
    # as the slices in between arrived), same window, zoom, pan and measurement.
    qtbot.waitUntil(lambda: _viewable(imaging) == len(ct.instances), timeout=10_000)
    qtbot.waitUntil(lambda: imaging.view.has_image() and shell.ops.pending() == 0, timeout=5000)
    assert imaging.current_series() is not None
    assert imaging.current_series().series_uid == ct.series_uid
    assert _current_sop(imaging) == sop
    assert imaging.current_index() != 3  # the same slice, found again by its instance
    assert imaging.slider.value() == imaging.current_index()
    assert imaging.slider.maximum() == len(ct.instances) - 1
    assert f"Slice {imaging.current_index() + 1}/{len(ct.instances)}" in (
        imaging.view.overlay_text()
    )
    assert imaging._window == window
    assert window is not None and window.label in imaging.view.overlay_text()
    assert imaging.view.zoom() == zoom
    assert imaging.view.mapToScene(imaging.view.viewport().rect().center()) == centre
    assert imaging.view.measurement_labels() == measured
    # The new neighbours are viewable: one that was missing shows an image.
    imaging.step(1)
    qtbot.waitUntil(lambda: imaging._shown_index == imaging.current_index(), timeout=5000)
    assert _current_sop(imaging) in missing and imaging.view.has_image()
    assert imaging.view.measurement_labels() == []  # measurements belong to their slice

    # Records: same document, same place. Labs: the new result in, same selection.
    assert records.renderer.document is document
    assert records.current_record_id() == record_id
    assert records.view.verticalScrollBar().value() == place
    qtbot.waitUntil(lambda: labs._loaded, timeout=5000)
    assert labs.selected_analyte() is not None
    assert labs.selected_analyte().key == selected.key
    assert labs.filter_box.text() == selected.name[:3]
    assert [p.case_id() for p in workspace.panes] == [case.case_id] * 3


def test_sync_notices_refresh_at_most_once_per_interval(
    shell: Any, synced: SyncedCopy, qtbot: QtBot
) -> None:
    case = load_case(synced.vault, synced.case_ids[0])
    workspace = _open(shell, qtbot, case.case_id)
    reads: list[str] = []

    def counting(vault: Any, case_id: str) -> CaseFile:
        reads.append(case_id)
        return load_case(vault, case_id)

    workspace._loader = counting
    workspace.refresh_interval_ms = 400
    for _ in range(5):
        shell.notifier.notify(Change.SYNC)
    qtbot.waitUntil(lambda: shell.ops.pending() == 0, timeout=5000)
    assert reads == [case.case_id]
    for _ in range(5):
        shell.notifier.notify(Change.SYNC)
    qtbot.wait(100)
    assert reads == [case.case_id]  # within the interval: one refresh waits
    qtbot.waitUntil(lambda: len(reads) == 2, timeout=5000)
    qtbot.wait(500)
    assert reads == [case.case_id] * 2
    # An unchanged case is not handed to the panes again.
    for pane in workspace.panes:
        assert pane.shown == [case.case_id]
    # Settings changes are not a reason to read the case.
    shell.notifier.notify(Change.SETTINGS)
    qtbot.wait(500)
    assert len(reads) == 2


def test_a_refresh_arriving_after_a_switch_is_dropped(
    synced: SyncedCopy, make_shell: Any, qtbot: QtBot
) -> None:
    first = load_case(synced.vault, synced.case_ids[0])
    other = next(
        c
        for c in (load_case(synced.vault, i) for i in synced.case_ids)
        if first.patient.name not in c.patient.name
    )
    release = threading.Event()
    hold = threading.Event()
    reads: list[str] = []

    def grown(vault: Any, case_id: str) -> CaseFile:
        # The sync brought a new reason for the first case: a refresh that differs.
        case = load_case(vault, case_id)
        if case_id != first.case_id:
            return case
        reads.append(case_id)
        if hold.is_set():
            release.wait(10)  # until the user has switched (bounded: never hangs)
        note = f"Second look requested ({len(reads)})"
        return dataclasses.replace(case, reasons=[*case.reasons, note])

    shell = make_shell()
    shell.window.pane_factory = recording_panes
    shell._use_vault(synced.vault, sync=False)
    shell.window.show()
    shell.window.start_unlocked()
    workspace = _open(shell, qtbot, first.case_id)
    workspace.refresh_interval_ms = 0
    workspace._loader = grown

    # Not switched: the refresh reaches every pane (the test below can fail).
    with qtbot.waitSignal(workspace.case_refreshed, timeout=5000):
        shell.notifier.notify(Change.SYNC)
    for pane in workspace.panes:
        assert pane.shown == [first.case_id] * 2

    hold.set()
    shell.notifier.notify(Change.SYNC)
    qtbot.waitUntil(lambda: workspace._refreshing is not None, timeout=5000)
    with qtbot.waitSignal(workspace.case_shown, timeout=5000):
        shell.window.open_case(other.case_id)
    refreshed: list[str] = []
    workspace.case_refreshed.connect(refreshed.append)
    release.set()
    qtbot.waitUntil(lambda: shell.ops.pending() == 0, timeout=5000)
    qtbot.wait(50)
    assert refreshed == []
    assert workspace.shown_case() is not None
    assert workspace.shown_case().case_id == other.case_id
    assert workspace.banner.case_id() == other.case_id
    for pane in workspace.panes:
        assert pane.shown == [first.case_id] * 2 + [other.case_id]
        assert pane.case_id() == other.case_id
