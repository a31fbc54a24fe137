"""``--demo`` end to end: the reference server starts in this process, the demo signs in
without a browser, the regular sync fills the worklist, and quitting leaves nothing."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytestqt.qtbot import QtBot

from tests.ui.helpers import ModalAnswers
from ui.demo_platform import DEMO_CASES
from ui.sync_controller import SyncState
from ui.worklist_model import Column


def test_demo_fills_the_worklist_within_seconds_and_quits_cleanly(
    qtbot: QtBot, make_shell: Any
) -> None:
    answers = ModalAnswers(lambda dialog: dialog.accept())
    shell = make_shell()
    started = time.monotonic()
    try:
        assert shell.start_demo()
    finally:
        answers.stop()
    view = shell.window.worklist

    def populated() -> bool:
        proxy = view.proxy
        if proxy.rowCount() != DEMO_CASES:
            return False
        names = [str(proxy.data(proxy.index(r, Column.PATIENT))) for r in range(DEMO_CASES)]
        return all(name.startswith("Testpatient") for name in names)

    qtbot.waitUntil(populated, timeout=90_000)
    elapsed = time.monotonic() - started
    # "A newcomer sees a populated worklist within seconds" (generous for a shared CI box).
    assert elapsed < 45, f"worklist took {elapsed:.1f} s"
    platform = shell.demo.platform
    assert platform is not None
    assert shell.sync.config is not None and shell.sync.config.url == platform.fhir_base
    assert shell.sync.state in (SyncState.SYNCING, SyncState.IDLE)
    assert shell.window.connection_label.text() == "● Online"
    base = platform.server.base_url
    folder = shell.demo.folder
    assert (folder / "platform").is_dir()

    shell.shutdown()

    assert not folder.exists()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/fhir/metadata", timeout=2)


def test_folders_of_killed_demos_are_removed_at_the_next_demo(tmp_path: Path) -> None:
    import subprocess
    import sys

    from ui.demo import remove_abandoned_demos

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    killed = tmp_path / "reviewer-demo-killed"
    mine = tmp_path / "reviewer-demo-mine"
    unknown = tmp_path / "reviewer-demo-unknown"
    for folder in (killed, mine, unknown):
        (folder / "profile").mkdir(parents=True)
    (killed / "owner.pid").write_text(gone.stdout.strip())
    (mine / "owner.pid").write_text(str(os.getpid()))

    assert remove_abandoned_demos(tmp_path) == [killed]
    assert not killed.exists()
    assert mine.exists() and unknown.exists()
