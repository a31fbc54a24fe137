"""SIGKILL at random moments never loses an acknowledged commit nor damages the vault.

A child process (``crash_writer``) commits through the real Vault code path in a loop and
prints each sequence number after its commit returned. It is killed at random times;
after each kill the profile is reopened and must hold every acknowledged row, pass
``quick_check`` and ``cipher_integrity_check``, and have no orphaned files left.
"""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time

import pytest

from reviewer_app.vault import KeySource, Profile, create_profile, open_profile
from reviewer_app.vault.database import cipher_integrity_check, quick_check

from .conftest import CHEAP_SCRYPT, PASSPHRASE, child_env

RUNS = 50


def _run_and_kill(profile: Profile, key: bytes, rng: random.Random) -> list[int]:
    """Start the writer, let it commit for 50–300 ms, SIGKILL it; return the acked seqs."""
    env = child_env()
    env["REVIEWER_TEST_KEY"] = key.hex()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.reviewer_app.vault.crash_writer", str(profile.root)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        # Wait for the first acknowledged commit, so the kill lands mid-work.
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "the writer never committed"
        time.sleep(rng.uniform(0.05, 0.3))
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, err.decode(errors="replace")[-2000:]
    # A line cut by the kill is not an acknowledgement.
    text = out.decode()
    lines = text.splitlines() if text.endswith("\n") else text.splitlines()[:-1]
    return [int(line) for line in lines]


@pytest.mark.slow
def test_sigkill_never_loses_acknowledged_commits(profile: Profile, memory_key: bytes) -> None:
    create_profile(
        profile, PASSPHRASE, key_source=KeySource.MEMORY, key=memory_key, scrypt=CHEAP_SCRYPT
    ).close()
    rng = random.Random(int.from_bytes(os.urandom(4)))
    acked_total: set[int] = set()
    for run in range(RUNS):
        acked = _run_and_kill(profile, memory_key, rng)
        assert acked, f"run {run}: nothing acknowledged"
        acked_total.update(acked)
        with open_profile(profile, key=memory_key) as vault:  # runs quick_check + cleanup
            conn = vault.read()
            assert quick_check(conn) == ["ok"]
            assert cipher_integrity_check(conn) == []
            rows = conn.execute("SELECT item_id, object_id, state FROM outbox").fetchall()
            present = {int(r[0]) for r in rows}
            missing = acked_total - present
            assert not missing, f"run {run}: acknowledged commits lost: {sorted(missing)[:10]}"
            # Every pending row's object is complete and decrypts to its checksum.
            complete = {
                r[0] for r in conn.execute("SELECT object_id FROM objects WHERE state = 'complete'")
            }
            for _, object_id, state in rows:
                if state == "pending":
                    assert object_id in complete
            assert vault.objects.verify_all() == []
            # No orphans: every file on disk has its key row.
            files = {p.name for p in profile.objects_dir.glob("*/*")}
            assert files == complete
            partial_ids = {
                r[0] for r in conn.execute("SELECT object_id FROM objects WHERE state = 'partial'")
            }
            assert {p.name for p in profile.partial_dir.iterdir()} <= partial_ids
            assert list(profile.tmp_dir.iterdir()) == []
    assert len(acked_total) >= RUNS
