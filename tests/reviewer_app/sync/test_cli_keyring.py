"""``reviewer-app sync`` as a user runs it: a real process, the real keyring, the browser
sign-in (a stand-in set as ``$BROWSER``) once, silent syncs afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from demo_server.server import RunningServer
from reviewer_app.exchange.http import origin
from reviewer_app.exchange.tokens import token_username
from tests.reviewer_app.sync.helpers import PASSPHRASE

ROOT = Path(__file__).resolve().parents[3]
STANDIN = Path(__file__).with_name("browser_standin.py")

pytestmark = [
    pytest.mark.keyring,
    pytest.mark.skipif(
        not os.environ.get("REVIEWER_SECRET_SERVICE"),
        reason="needs the isolated Secret Service that ./dev test starts",
    ),
]


def _cli(*args: str, browser: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BROWSER": browser, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "reviewer_app", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
        check=False,
    )


def test_headless_sync_signs_in_once_then_syncs_silently(
    server: RunningServer, tmp_path: Path
) -> None:
    import keyring

    folder = str(tmp_path / "profile")
    browser = f"{sys.executable} {STANDIN} %s"
    init = _cli(
        "--profile",
        folder,
        "profile",
        "init",
        "--passphrase-stdin",
        browser="false",
        stdin=PASSPHRASE + "\n",
    )
    assert init.returncode == 0, init.stderr

    first = _cli("--profile", folder, "sync", "--server", server.fhir_base, browser=browser)
    assert first.returncode == 0, first.stderr
    assert "Signing in" in first.stdout
    assert "Sync complete: 3 cases" in first.stdout
    profile_id = json.loads((tmp_path / "profile" / "profile.json").read_text())["profile_id"]
    username = token_username(profile_id, origin(server.fhir_base))
    assert keyring.get_password("Reviewer", username) is not None

    # The browser would fail now: the second sync must not need it.
    second = _cli("--profile", folder, "sync", "--server", server.fhir_base, browser="false %s")
    assert second.returncode == 0, second.stderr
    assert "Signing in" not in second.stdout
    assert "Sync complete: 3 cases, 0 items fetched" in second.stdout

    cases = _cli("--profile", folder, "cases", browser="false")
    assert cases.returncode == 0, cases.stderr
    rows = sorted(line.split()[:3] for line in cases.stdout.splitlines()[1:])
    assert rows == [[f"SYN-000{i}", "complete", "ready"] for i in (1, 2, 3)]
