"""``main.py --smoke-test`` (from the source tree; CI also runs it on the built bundle).

Each run is a subprocess: the smoke test builds its own QApplication, profile and
reference server, as a user's start would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], timeout: float = 150) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.slow
def test_smoke_test_opens_a_demo_case_and_exits_0(tmp_path: Path) -> None:
    before = set(Path(os.environ.get("TMPDIR", "/tmp")).glob("reviewer-smoke-*"))
    result = _run(["main.py", "--smoke-test"])
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("smoke test passed: worklist shown ")
    for step in ("platform ready", "case synced", "case shown"):
        assert step in lines[0]
    # Its temp folder (settings, profile, server storage) is gone.
    after = set(Path(os.environ.get("TMPDIR", "/tmp")).glob("reviewer-smoke-*"))
    assert after <= before


def test_a_step_that_misses_its_deadline_fails_with_one_line() -> None:
    # A step deadline already past at the start: the first step misses it, long before
    # the watchdog (60 s) would end the run, however loaded the machine is.
    code = (
        "import sys, ui.smoke as smoke; smoke.STEP_MARGIN = 1000; "
        "sys.exit(smoke.run_smoke_test(timeout=60))"
    )
    result = _run(["-c", code], timeout=90)
    assert result.returncode == 1
    line = result.stdout.strip()
    assert line.startswith("smoke test failed: the ")
    assert line.endswith(" did not happen before the time limit")
    assert "\n" not in line


def test_the_watchdog_ends_a_hung_run() -> None:
    code = "import time; from ui.smoke import _watchdog; _watchdog(0.3); time.sleep(30)"
    result = _run(["-c", code], timeout=20)
    assert result.returncode == 3
    assert result.stdout.strip() == "smoke test failed: no result after 0 s (hung)"
