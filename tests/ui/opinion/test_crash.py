"""SIGKILL of a process typing into the draft at random points never loses what the
editor acknowledged as saved, and never damages the vault.

A child (``crash_typist``) runs the real OpinionEditor offscreen on a real vault (a copy
of the synced profile, memory-mode key handed over in the environment), types with
QTest.keyClicks and prints each completed save. It is killed at random moments, many
times over the same draft; after each kill the vault must open cleanly, pass its
integrity checks, and its draft must start with the last acknowledged text.
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from reviewer_app.opinion import drafts
from reviewer_app.opinion.completeness import plain_text
from reviewer_app.opinion.drafts import Section
from reviewer_app.vault import Profile, open_profile
from reviewer_app.vault.database import cipher_integrity_check, quick_check
from tests.reviewer_app.vault.conftest import child_env

RUNS = 30


class _Lines:
    """Lines from a pipe, with a timeout (select on the raw descriptor)."""

    def __init__(self, stream: Any) -> None:
        self._fd = stream.fileno()
        self._buffer = b""

    def next(self, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._fd], [], [], max(left, 0))
            if not ready:
                return None
            chunk = os.read(self._fd, 65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()


def _acknowledged(line: str) -> str | None:
    """The text of an ``ACK`` line (a line damaged by the kill acknowledges nothing)."""
    if not line.startswith("ACK "):
        return None
    try:
        text = json.loads(line.removeprefix("ACK "))
    except ValueError:
        return None
    return text if isinstance(text, str) else None


def _run_and_kill(server: Any, lines: _Lines, rng: random.Random) -> list[str]:
    """Fork a typist, SIGKILL it at a random moment; the texts it acknowledged."""
    server.stdin.write(f"RUN {rng.randrange(2**32)}\n".encode())
    server.stdin.flush()
    first = lines.next(30)
    assert first is not None and first.startswith("PID "), first
    pid = int(first.split()[1])
    acked: list[str] = []
    if rng.random() < 0.2:
        # Sometimes anywhere: while starting, opening the vault or the draft.
        time.sleep(rng.uniform(0.0, 0.6))
    else:
        # Usually while typing: after the first acknowledged save, at a random moment.
        line = lines.next(30)
        assert line is not None, "the typist never saved"
        text = _acknowledged(line)
        assert text is not None, line
        acked.append(text)
        time.sleep(rng.uniform(0.0, 0.8))
    os.kill(pid, signal.SIGKILL)
    while True:
        line = lines.next(30)
        assert line is not None, "the fork server did not see the typist die"
        if line == f"DEAD {pid}":
            return acked
        text = _acknowledged(line)
        if text is not None:
            acked.append(text)


def _saved_summary(profile: Profile, key: bytes, case_id: str) -> str:
    with open_profile(profile, key=key) as vault:  # runs quick_check and cleanup
        conn = vault.read()
        assert quick_check(conn) == ["ok"]
        assert cipher_integrity_check(conn) == []
        draft = drafts.load_draft(vault, case_id)
    return "" if draft is None else plain_text(draft.text(Section.CASE_SUMMARY))


@pytest.mark.slow
def test_sigkill_while_typing_never_loses_an_acknowledged_save(synced_case: Any) -> None:
    synced = synced_case()
    synced.vault.close()  # the typists and the checks open it in turn
    case_id = synced.case_ids[0]
    rng = random.Random(int.from_bytes(os.urandom(4)))
    env = child_env()
    env["REVIEWER_TEST_KEY"] = synced.key.hex()
    env["QT_QPA_PLATFORM"] = "offscreen"
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.ui.opinion.crash_typist", str(synced.profile.root), case_id],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        lines = _Lines(server.stdout)
        previous = ""
        acknowledged_runs = 0
        for run in range(RUNS):
            acked = _run_and_kill(server, lines, rng)
            saved = _saved_summary(synced.profile, synced.key, case_id)
            # The typist only appends: what was on disk before is still the beginning.
            assert saved.startswith(previous), f"run {run}: earlier text lost"
            if acked:
                acknowledged_runs += 1
                assert saved.startswith(acked[-1]), f"run {run}: an acknowledged save was lost"
            previous = saved
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server.stdout.close()  # type: ignore[union-attr]
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert acknowledged_runs >= RUNS // 2
    assert len(previous.split()) >= RUNS
