"""Workspace test fixtures: an unlocked main window over a synced vault, with test panes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from tests.fixtures.synced_case import SyncedCopy
from tests.ui.workspace.doubles import recording_panes


@pytest.fixture
def synced(synced_case: Callable[[], SyncedCopy]) -> SyncedCopy:
    return synced_case()


@pytest.fixture
def shell(synced: SyncedCopy, make_shell: Any, qtbot: QtBot) -> Any:
    """The app shell on the synced vault, unlocked, worklist loaded, test panes.

    ``synced`` comes before ``make_shell``: the shell (and its background reads) is shut
    down before the vault copy is closed."""
    made = make_shell()
    made.window.pane_factory = recording_panes
    made._use_vault(synced.vault, sync=False)
    made.window.resize(1400, 900)
    made.window.show()
    with qtbot.waitSignal(made.window.worklist.loaded):
        made.window.start_unlocked()
    return made
