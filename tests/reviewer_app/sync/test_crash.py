"""SIGKILL a headless sync at random moments; the next run must converge to the server's
exact content with nothing duplicated and the database intact."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from demo_server.server import RunningServer
from reviewer_app.exchange import PlatformSession
from reviewer_app.sync.engine import SyncEngine
from reviewer_app.sync.local import SYNC_KINDS
from reviewer_app.vault import Vault
from reviewer_app.vault.database import quick_check
from tests.reviewer_app.sync.helpers import fast_retry, memory_vault, server_content, vault_content

RUNS = 30
ROOT = Path(__file__).resolve().parents[3]


def _check_converged(vault: Vault, expected: dict[str, object]) -> None:
    assert vault_content(vault) == expected
    conn = vault.read()
    assert quick_check(conn) == ["ok"]
    marks = ",".join("?" * len(SYNC_KINDS))
    objects = conn.execute(
        f"SELECT object_id, state FROM objects WHERE kind IN ({marks})", SYNC_KINDS
    ).fetchall()
    payloads = conn.execute(
        "SELECT (SELECT count(*) FROM records) + (SELECT count(*) FROM instances)"
    ).fetchone()[0]
    # Nothing duplicated, nothing half-done left behind.
    assert len(objects) == payloads
    assert {state for _, state in objects} == {"complete"}
    files = [p for p in vault.profile.objects_dir.rglob("*") if p.is_file()]
    assert len(files) == len(objects)
    assert not [p for p in vault.profile.partial_dir.rglob("*") if p.is_file()]
    pending = conn.execute("SELECT count(*) FROM sync_items WHERE state != 'done'").fetchone()
    assert pending[0] == 0


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume_converges(
    server: RunningServer, session: PlatformSession, tmp_path: Path
) -> None:
    expected = server_content(server)
    tokens = session.store.load()
    assert tokens is not None
    rng = random.Random(20261129)
    killed_mid_sync = 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for run in range(RUNS):
        vault, key = memory_vault(tmp_path / f"profile-{run}")
        vault.close()
        driver = subprocess.Popen(
            [sys.executable, "-m", "tests.reviewer_app.sync.crash_driver"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
            env=env,
        )
        assert driver.stdin is not None and driver.stdout is not None
        driver.stdin.write(
            json.dumps(
                {
                    "profile": str(tmp_path / f"profile-{run}"),
                    "key": key.hex(),
                    "fhir_base": server.fhir_base,
                    "tokens": tokens.to_json(),
                }
            ).encode()
            + b"\n"
        )
        driver.stdin.close()
        assert driver.stdout.readline() == b"syncing\n"
        time.sleep(rng.uniform(0.0, 0.4))
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=30)
        if b"done" not in driver.stdout.read():
            killed_mid_sync += 1
        driver.stdout.close()

        vault, _ = memory_vault(tmp_path / f"profile-{run}", key)
        try:
            with SyncEngine(vault, session, retry=fast_retry()) as engine:
                report = engine.run()
            assert report.state == "complete", run
            _check_converged(vault, expected)
        finally:
            vault.close()
    # Most kills must land while the sync is running, or the test proves little.
    assert killed_mid_sync >= RUNS * 2 // 3
