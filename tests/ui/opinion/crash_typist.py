"""Child processes for the editor crash test: type into a real draft until killed.

``python -m tests.ui.opinion.crash_typist PROFILE CASE_ID`` with the memory-mode key in
REVIEWER_TEST_KEY (hex), offscreen, is a small fork server: it imports Qt and the app
once, then for each ``RUN <seed>`` line on stdin forks a typist and prints
``PID <pid>``; when that process has died it prints ``DEAD <pid>``. (Importing PySide6
and the app costs more than a second on a loaded machine; forking before any
QApplication or thread exists keeps each of the many killed processes cheap.)

A typist runs the real OpinionEditor on the real vault, types words into the case
summary with QTest.keyClicks (in bursts, with pauses of random length), and each time a
save has completed prints ``ACK <json>`` with the summary's text as saved: every such
line is an acknowledged save that must survive SIGKILL.
"""

from __future__ import annotations

import json
import os
import random
import sys

from PySide6.QtTest import QTest

from reviewer_app.casefile import load_case
from reviewer_app.opinion.completeness import plain_text
from reviewer_app.opinion.drafts import Section
from reviewer_app.vault import Profile, open_profile
from ui.notifier import Notifier
from ui.operations import Operations
from ui.opinion import OpinionEditor
from ui.opinion.autosave import SaveDone
from ui.qt import QApplication, QTextCursor, QTimer


def typist(root: str, case_id: str, seed: int) -> None:
    """Type into ``case_id``'s draft until killed (see module)."""
    rng = random.Random(seed)
    app = QApplication([])
    vault = open_profile(Profile(root), key=bytes.fromhex(os.environ["REVIEWER_TEST_KEY"]))
    ops = Operations(Notifier())
    editor = OpinionEditor(ops)
    editor.resize(600, 800)
    editor.show()

    def acknowledge(done: SaveDone) -> None:
        if done.error is None:
            text = plain_text(done.snapshot.draft.text(Section.CASE_SUMMARY))
            print("ACK", json.dumps(text), flush=True)

    editor.save_finished.connect(acknowledge)
    typing = QTimer()
    typing.setSingleShot(True)

    def type_some() -> None:
        summary = editor.section_editor(Section.CASE_SUMMARY)
        if not summary.hasFocus():
            summary.setFocus()
            summary.moveCursor(QTextCursor.MoveOperation.End)
        word = "".join(rng.choice("abcdefghij") for _ in range(rng.randint(1, 8)))
        QTest.keyClicks(summary, word + " ")
        # Mostly quick typing, sometimes a pause longer than the debounce.
        typing.start(rng.choice([5, 10, 20, 40, 300, 300]))

    typing.timeout.connect(type_some)
    editor.draft_shown.connect(lambda _case_id: type_some())
    editor.show_case(load_case(vault, case_id), vault)
    app.exec()


def main() -> None:
    root, case_id = sys.argv[1], sys.argv[2]
    for line in sys.stdin:
        command, _, seed = line.partition(" ")
        if command != "RUN":
            break
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            try:
                typist(root, case_id, int(seed))
            finally:
                os._exit(0)
        print("PID", pid, flush=True)
        os.waitpid(pid, 0)
        print("DEAD", pid, flush=True)


if __name__ == "__main__":
    main()
