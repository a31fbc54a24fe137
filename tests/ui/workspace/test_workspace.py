"""The review workspace: one patient everywhere, switching cases, lock, layout, help."""

from __future__ import annotations

import threading
from typing import Any

from pytestqt.qtbot import QtBot

from reviewer_app.casefile import CaseFile, load_case
from tests.fixtures.synced_case import SyncedCopy
from tests.ui.helpers import PASSPHRASE, all_visible_texts, visible_texts
from tests.ui.workspace.doubles import RecordingPane, recording_panes
from ui.notifier import Change
from ui.qt import QAction, QKeySequence, Qt
from ui.workspace.page import LOADING_TEXT, WorkspacePage
from ui.workspace.pane_header import PaneHeader
from ui.workspace.shortcuts import keys_text


def _open_from_worklist(shell: Any, qtbot: QtBot, case_id: str) -> WorkspacePage:
    window = shell.window
    assert window.worklist.select_case(case_id)
    table = window.worklist.table
    table.setFocus()
    with qtbot.waitSignal(_case_shown_later(window), timeout=5000):
        qtbot.keyClick(table, Qt.Key.Key_Return)
    workspace = window.workspace
    assert window.pages.currentWidget() is workspace
    return workspace


def _case_shown_later(window: Any) -> Any:
    # The workspace is built at the first open: build it now to wait on its signal.
    return window.ensure_workspace().case_shown


def _headers(workspace: WorkspacePage) -> list[str]:
    return [h.text() for h in workspace.findChildren(PaneHeader) if h.isVisible()]


def _assert_everything_shows(workspace: WorkspacePage, case: CaseFile) -> None:
    assert workspace.banner.case_id() == case.case_id
    assert workspace.banner.name.text() == case.patient.name
    assert workspace.banner.case_key.text() == case.display_key
    assert [p.case_id() for p in workspace.panes] == [case.case_id] * 3
    assert workspace.questions.case_id() == case.case_id
    assert workspace.timeline.case_id() == case.case_id
    expected = f"{case.patient.name} · {case.display_key}"
    headers = _headers(workspace)
    opinion = workspace.opinion
    if opinion is not None:
        assert opinion.case_id() == case.case_id
    # three panes, questions, timeline (and the opinion editor with the real panes)
    assert len(headers) == 5 + (opinion is not None)
    assert set(headers) == {expected}


def _two_patients(synced: SyncedCopy) -> tuple[CaseFile, CaseFile]:
    """Two cases of differently named patients (the synthetic data has namesakes)."""
    cases = [load_case(synced.vault, case_id) for case_id in synced.case_ids]
    first = cases[0]
    other = next(c for c in cases if first.patient.name not in c.patient.name)
    return first, other


def test_opening_a_case_shows_its_patient_in_the_banner_and_every_pane(
    shell: Any, synced: SyncedCopy, qtbot: QtBot
) -> None:
    case = load_case(synced.vault, synced.case_ids[1])
    workspace = _open_from_worklist(shell, qtbot, case.case_id)
    _assert_everything_shows(workspace, case)
    banner = visible_texts(workspace.banner)
    assert case.specialty.capitalize() in " ".join(banner)
    assert any(case.clinical_questions[0] in text for text in banner)
    assert any(f"{case.patient.age} y" in text for text in banner)
    questions = workspace.questions.texts()
    assert set(case.patient_questions) <= {q.split(". ", 1)[-1] for q in questions} | set(questions)
    assert workspace.timeline.model.rowCount() == len(case.timeline())
    # Putting the case on screen is a "view" in the audit trail, sent at the next sync.
    from reviewer_app import audit

    qtbot.waitUntil(lambda: bool(audit.unsent(synced.vault)), timeout=5000)
    views = [e for e in audit.unsent(synced.vault) if e.case_id == case.case_id]
    assert [e.action for e in views] == [audit.AuditAction.VIEW]


def test_switching_cases_switches_every_pane_and_leaves_no_trace_of_the_previous_patient(
    shell: Any, synced: SyncedCopy, qtbot: QtBot
) -> None:
    first, other = _two_patients(synced)
    window = shell.window
    workspace = _open_from_worklist(shell, qtbot, first.case_id)
    _assert_everything_shows(workspace, first)

    # The switcher walks the worklist order.
    order = window.worklist_order()
    here = order.index(first.case_id)
    step = 1 if here + 1 < len(order) else -1
    target = load_case(synced.vault, order[here + step])
    keys = "Ctrl+PgDown" if step == 1 else "Ctrl+PgUp"
    with qtbot.waitSignal(workspace.case_shown, timeout=5000):
        qtbot.keyClick(workspace, QKeySequence(keys)[0].key(), Qt.KeyboardModifier.ControlModifier)
    _assert_everything_shows(workspace, target)
    if target.patient.name != first.patient.name:
        assert not [t for t in all_visible_texts() if first.patient.name in t]

    # Back to the worklist, then open a differently named patient.
    qtbot.keyClick(workspace, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert window.pages.currentWidget() is window.worklist
    assert workspace.shown_case() is None
    assert [p.case_id() for p in workspace.panes] == [None] * 3
    _open_from_worklist(shell, qtbot, other.case_id)
    _assert_everything_shows(workspace, other)
    leaked = [t for t in visible_texts(workspace) if first.patient.name in t]
    assert not leaked
    for pane in workspace.panes:
        assert first.patient.name not in pane.body.text()


def test_a_slow_load_finishing_after_a_switch_is_dropped(
    synced: SyncedCopy, make_shell: Any, qtbot: QtBot
) -> None:
    first, other = _two_patients(synced)
    release = threading.Event()

    def slow_for_first(vault: Any, case_id: str) -> CaseFile:
        if case_id == first.case_id:
            # Wait until the user has switched to the other case (bounded: never hangs).
            release.wait(10)
        return load_case(vault, case_id)

    shell = make_shell()
    shell.window.pane_factory = recording_panes
    shell._use_vault(synced.vault, sync=False)
    shell.window.show()
    shell.window.start_unlocked()
    workspace = shell.window.ensure_workspace()
    workspace._loader = slow_for_first

    shell.window.open_case(first.case_id)
    assert workspace.banner.name.text() == LOADING_TEXT
    with qtbot.waitSignal(workspace.case_shown, timeout=5000) as shown:
        shell.window.open_case(other.case_id)
    assert shown.args == [other.case_id]
    release.set()
    # The first load now finishes; its result must not reach any view.
    qtbot.waitUntil(lambda: shell.ops.pending() == 0, timeout=5000)
    qtbot.wait(50)
    _assert_everything_shows(workspace, other)
    for pane in workspace.panes:
        assert pane.shown == [other.case_id]
    assert first.patient.name not in " ".join(visible_texts(workspace))


def test_locking_clears_banner_and_panes_and_unlock_shows_the_same_case_again(
    shell: Any, synced: SyncedCopy, qtbot: QtBot
) -> None:
    case = load_case(synced.vault, synced.case_ids[0])
    window = shell.window
    workspace = _open_from_worklist(shell, qtbot, case.case_id)
    window.lock("requested")
    assert workspace.banner.case_id() is None and workspace.banner.name.text() == ""
    assert [p.case_id() for p in workspace.panes] == [None] * 3
    assert workspace.questions.case_id() is None and workspace.timeline.model.rowCount() == 0
    assert set(_headers_all(workspace)) == {""}
    assert not [t for t in all_visible_texts() if case.patient.name in t]

    field = window.lock_screen.passphrase
    qtbot.waitUntil(field.isEnabled)
    field.setText(PASSPHRASE)
    with qtbot.waitSignal(workspace.case_shown, timeout=5000):
        qtbot.keyClick(field, Qt.Key.Key_Return)
    assert window.pages.currentWidget() is workspace
    _assert_everything_shows(workspace, case)


def _headers_all(workspace: WorkspacePage) -> list[str]:
    return [h.text() for h in workspace.findChildren(PaneHeader)]


def test_a_case_gone_from_the_vault_shows_no_patient_and_says_why(
    shell: Any, synced: SyncedCopy, qtbot: QtBot
) -> None:
    workspace = shell.window.ensure_workspace()
    with qtbot.waitSignal(workspace.case_failed, timeout=5000):
        shell.window.open_case("gone-case")
    assert workspace.banner.name.text() == "Case not found"
    assert [p.case_id() for p in workspace.panes] == [None] * 3


def test_timeline_click_opens_the_item_in_its_pane(
    shell: Any, synced: SyncedCopy, qtbot: QtBot
) -> None:
    case = load_case(synced.vault, synced.case_ids[0])
    workspace = _open_from_worklist(shell, qtbot, case.case_id)
    table = workspace.timeline.table
    panes = {p.pane_title: p for p in workspace.panes}
    wanted = {"record": "Records", "lab": "Labs", "study": "Imaging"}
    seen = set()
    for row, entry in enumerate(case.timeline()):
        if entry.kind in seen:
            continue
        seen.add(entry.kind)
        index = workspace.timeline.model.index(row, 2)
        table.scrollTo(index)
        qtbot.mouseClick(
            table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualRect(index).center()
        )
        pane = panes[wanted[entry.kind]]
        assert pane.opened[-1] == entry.ref
        others = [p for p in workspace.panes if p is not pane]
        assert all(entry.ref not in p.opened for p in others)
    assert seen == {"record", "lab", "study"}


def test_the_layout_persists_and_double_click_maximises_and_restores(
    shell: Any, synced: SyncedCopy, qtbot: QtBot
) -> None:
    workspace = _open_from_worklist(shell, qtbot, synced.case_ids[0])
    records, imaging = workspace.docks["Records"], workspace.docks["Imaging"]
    header = records.titleBarWidget()
    assert isinstance(header, PaneHeader)
    qtbot.mouseDClick(header, Qt.MouseButton.LeftButton)
    assert workspace.maximised_dock() is records
    assert records.isVisible() and not imaging.isVisible()
    qtbot.mouseDClick(header, Qt.MouseButton.LeftButton)
    assert workspace.maximised_dock() is None and imaging.isVisible()

    # Move the timeline into the left dock area, save, and read it back in a new page.
    host = workspace.docks_host
    host.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, workspace.docks["Timeline"])
    assert host.dockWidgetArea(workspace.docks["Timeline"]) == Qt.DockWidgetArea.LeftDockWidgetArea
    shell.window.save_layout()
    again = WorkspacePage(
        shell.ops,
        shell.window.settings,
        [RecordingPane("Records"), RecordingPane("Labs"), RecordingPane("Imaging")],
    )
    qtbot.addWidget(again)
    area = again.docks_host.dockWidgetArea(again.docks["Timeline"])
    assert area == Qt.DockWidgetArea.LeftDockWidgetArea
    again.reset_layout()
    assert (
        again.docks_host.dockWidgetArea(again.docks["Timeline"])
        == Qt.DockWidgetArea.BottomDockWidgetArea
    )


def test_help_overlay_lists_every_workspace_shortcut(
    shell: Any, synced: SyncedCopy, qtbot: QtBot
) -> None:
    workspace = _open_from_worklist(shell, qtbot, synced.case_ids[0])
    qtbot.keyClick(workspace, Qt.Key.Key_F1)
    assert workspace.help.isVisible()
    shown = " ".join(visible_texts(workspace.help))
    for action in workspace.actions():
        for sequence in action.shortcuts():
            assert sequence.toString(QKeySequence.SequenceFormat.NativeText) in shown
        assert str(action.data()) in shown
    for keys in ("Ctrl+PgDown", "Ctrl+PgUp", "F1", "Ctrl+1", "Ctrl+Shift+M", "Ctrl+L"):
        assert QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText) in shown
    qtbot.keyClick(workspace.help, Qt.Key.Key_Escape)
    assert not workspace.help.isVisible()
    qtbot.keyClick(workspace, "?")
    assert workspace.help.isVisible()


def test_the_real_panes_follow_the_banner_through_switch_and_lock(
    synced: SyncedCopy, make_shell: Any, qtbot: QtBot
) -> None:
    first, other = _two_patients(synced)
    shell = make_shell()
    shell._use_vault(synced.vault, sync=False)  # production panes (default factory)
    shell.window.resize(1400, 900)
    shell.window.show()
    with qtbot.waitSignal(shell.window.worklist.loaded):
        shell.window.start_unlocked()
    workspace = _open_from_worklist(shell, qtbot, first.case_id)
    assert [p.pane_title for p in workspace.panes] == ["Records", "Labs", "Imaging"]
    _assert_everything_shows(workspace, first)
    for n, pane in enumerate(workspace.panes, start=1):
        qtbot.keyClick(
            shell.app.focusWidget(), Qt.Key(Qt.Key.Key_0 + n), Qt.KeyboardModifier.ControlModifier
        )
        assert pane.isAncestorOf(shell.app.focusWidget()), pane.pane_title

    with qtbot.waitSignal(workspace.case_shown, timeout=5000):
        shell.window.open_case(other.case_id)
    _assert_everything_shows(workspace, other)
    qtbot.waitUntil(lambda: shell.ops.pending() == 0, timeout=10_000)
    assert not [t for t in visible_texts(shell.window) if first.patient.name in t]

    shell.window.lock("requested")
    qtbot.waitUntil(lambda: shell.ops.pending() == 0, timeout=10_000)
    assert [p.case_id() for p in workspace.panes] == [None] * 3
    assert not [t for t in all_visible_texts() if other.patient.name in t]


def test_a_case_removed_by_sync_while_open_is_no_longer_shown(
    shell: Any, synced: SyncedCopy, qtbot: QtBot
) -> None:
    case = load_case(synced.vault, synced.case_ids[0])
    workspace = _open_from_worklist(shell, qtbot, case.case_id)
    # Another case changing leaves the open one alone.
    shell.notifier.notify(Change.CASES)
    qtbot.waitUntil(lambda: shell.ops.pending() == 0, timeout=5000)
    _assert_everything_shows(workspace, case)
    # Withdrawn on the platform: the sync removes the case from the vault.
    synced.vault.write_sync(
        lambda conn: conn.execute("DELETE FROM cases WHERE case_id = ?", (case.case_id,))
    )
    with qtbot.waitSignal(workspace.case_failed, timeout=5000):
        shell.notifier.notify(Change.CASES)
    assert workspace.banner.name.text() == "Case not found"
    assert [p.case_id() for p in workspace.panes] == [None] * 3
    assert not [t for t in visible_texts(workspace) if case.patient.name in t]


def test_keyboard_focuses_and_maximises_panes(shell: Any, synced: SyncedCopy, qtbot: QtBot) -> None:
    workspace = _open_from_worklist(shell, qtbot, synced.case_ids[0])
    labs = workspace.panes[1]
    qtbot.keyClick(workspace, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    focus = shell.app.focusWidget()
    assert focus is labs or labs.isAncestorOf(focus)
    modifiers = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(focus, Qt.Key.Key_M, modifiers)
    assert workspace.maximised_dock() is workspace.docks["Labs"]
    assert not workspace.docks["Records"].isVisible()
    qtbot.keyClick(shell.app.focusWidget(), Qt.Key.Key_M, modifiers)
    assert workspace.maximised_dock() is None
    assert all(dock.isVisible() for dock in workspace.docks.values())


def test_help_overlay_lists_every_pane_shortcut_grouped_by_pane(
    synced: SyncedCopy, make_shell: Any, qtbot: QtBot
) -> None:
    shell = make_shell()
    shell._use_vault(synced.vault, sync=False)  # production panes (default factory)
    shell.window.resize(1400, 900)
    shell.window.show()
    with qtbot.waitSignal(shell.window.worklist.loaded):
        shell.window.start_unlocked()
    workspace = _open_from_worklist(shell, qtbot, synced.case_ids[0])
    qtbot.keyClick(workspace, Qt.Key.Key_F1)
    assert workspace.help.isVisible()
    groups = dict(workspace.help.groups())
    assert list(groups) == ["Workspace", "Records", "Labs", "Imaging", "Opinion"]
    shown = visible_texts(workspace.help)
    for pane in [*workspace.panes, workspace.opinion]:
        listed = groups[pane.pane_title]
        keyed = [a for a in pane.findChildren(QAction) if a.shortcuts()]
        assert len(listed) == len(keyed) > 2, pane.pane_title
        for action in keyed:
            row = (keys_text(action), str(action.data()))
            assert row in listed
            assert row[0] in shown and row[1] in shown
    # The frequent ones, by what they do.
    expected = {
        "Records": ["Find in the record", "Zoom in", "Zoom out", "Rotate pages clockwise"],
        "Labs": ["Filter the analytes", "Flowsheet or list", "Abnormal results only"],
        "Opinion": ["Bold", "Italic", "Bulleted list", "Numbered list", "Insert a table"],
        "Imaging": [
            "Next slice",
            "Previous slice",
            "10 slices on",
            "Window: Lung (CT)",
            "Window: the file's own",
            "Measure a distance",
            "Measure an angle",
            "Play or stop the cine loop",
            "Show or hide the DICOM tags",
            "Invert the greys",
        ],
    }
    for title, texts in expected.items():
        descriptions = " | ".join(text for _, text in groups[title])
        for text in texts:
            assert text in descriptions, (title, text)
    qtbot.keyClick(workspace.help, Qt.Key.Key_Escape)

    # A listed key does what it says once its pane has the keyboard (Ctrl+3: imaging).
    imaging = workspace.panes[2]
    qtbot.waitUntil(lambda: imaging.slice_count() > 1, timeout=10_000)
    qtbot.keyClick(shell.app.focusWidget(), Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert shell.app.focusWidget() is imaging.view
    qtbot.keyClick(imaging.view, Qt.Key.Key_PageDown)
    assert imaging.current_index() == min(10, imaging.slice_count() - 1)
    qtbot.keyClick(imaging.view, Qt.Key.Key_T)
    assert imaging.tags.isVisible()
    qtbot.keyClick(shell.app.focusWidget(), Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    labs = workspace.panes[1]
    qtbot.keyClick(shell.app.focusWidget(), Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert labs.list_button.isChecked()
    qtbot.keyClick(shell.app.focusWidget(), Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    records = workspace.panes[0]
    qtbot.keyClick(shell.app.focusWidget(), Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert records.search_bar.isVisible() and records.search_bar.field.hasFocus()
    qtbot.waitUntil(lambda: shell.ops.pending() == 0, timeout=10_000)
