"""High-DPI: on a 150 % screen, record pages are rendered at the screen's device pixels.

The scale factor is fixed when the QApplication starts, so the check runs in a process
of its own (tests/ui/records/high_dpi_child.py) started with QT_SCALE_FACTOR."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = Path(__file__).with_name("high_dpi_child.py")
ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("factor", ["1.5", "2"])
def test_record_pages_are_sharp_on_a_scaled_screen(factor: str) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_SCALE_FACTOR": factor}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(CHILD)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout
