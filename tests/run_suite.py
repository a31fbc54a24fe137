"""Runs the whole suite inside the D-Bus session that ``./dev test`` opened.

It gives the tests an isolated HOME and XDG folders, starts a fresh, unlocked
gnome-keyring Secret Service there, and runs pytest twice:

1. the core (``tests/reviewer_app``, ``tests/demo_server``, ``tests/integration``) in an
   interpreter where PySide6 cannot be imported at all (see ``tests/no_qt.py``): the
   core must not need Qt, and this proves it the way napari's "headless" CI job does;
2. the Qt layer (``tests/ui``) with pytest-qt on the offscreen platform.

Extra arguments go to both pytest runs (e.g. ``-k vault`` or ``-x``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE_TESTS = ["tests/reviewer_app", "tests/demo_server", "tests/integration"]
UI_TESTS = ["tests/ui"]


def _isolate_home(sandbox: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("home", "data", "config", "cache", "state", "run"):
        (sandbox / name).mkdir(mode=0o700, parents=True, exist_ok=True)
    env.update(
        HOME=str(sandbox / "home"),
        XDG_DATA_HOME=str(sandbox / "data"),
        XDG_CONFIG_HOME=str(sandbox / "config"),
        XDG_CACHE_HOME=str(sandbox / "cache"),
        XDG_STATE_HOME=str(sandbox / "state"),
        XDG_RUNTIME_DIR=str(sandbox / "run"),
        TMPDIR=str(sandbox / "tmp"),
    )
    (sandbox / "tmp").mkdir(mode=0o700, exist_ok=True)
    return env


def _start_secret_service(env: dict[str, str]) -> None:
    """Start gnome-keyring's Secret Service with an unlocked login keyring."""
    proc = subprocess.run(
        ["gnome-keyring-daemon", "--unlock", "--components=secrets", "--daemonize"],
        input=b"reviewer-test-keyring",
        env=env,
        capture_output=True,
        check=True,
    )
    for line in proc.stdout.decode().splitlines():
        key, _, value = line.partition("=")
        if key and value:
            env[key] = value
    # The daemon claims org.freedesktop.secrets asynchronously; wait until it answers.
    probe = "import secretstorage; secretstorage.get_default_collection(secretstorage.dbus_init())"
    deadline = time.monotonic() + 15
    while True:
        ok = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, check=False
        )
        if ok.returncode == 0:
            return
        if time.monotonic() > deadline:
            sys.stderr.write(ok.stderr.decode())
            raise SystemExit("gnome-keyring's Secret Service did not come up")
        time.sleep(0.2)


def main(argv: list[str]) -> int:
    sandbox = Path(os.environ.get("REVIEWER_TEST_SANDBOX") or "/nonexistent")
    if not sandbox.is_dir():
        raise SystemExit("run the tests with ./dev test")
    env = _isolate_home(sandbox)
    env["REVIEWER_SECRET_SERVICE"] = "1"  # the keyring tests may rely on it
    _start_secret_service(env)
    env["PYTHONPATH"] = str(ROOT)

    core = [
        sys.executable,
        "-m",
        "tests.no_qt",
        "-m",
        "pytest",
        "-p",
        "no:pytest-qt",
        *[p for p in CORE_TESTS if (ROOT / p).exists()],
        *argv,
    ]
    ui = [sys.executable, "-m", "pytest", *UI_TESTS, *argv]
    codes = []
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    for label, args in (("core, without Qt", core), ("Qt layer", ui)):
        print(f"\n==== {label}: {' '.join(args[1:])}", flush=True)
        report = sandbox / f"junit-{len(codes)}.xml"
        run = subprocess.run([*args, f"--junit-xml={report}"], env=env, cwd=ROOT, check=False)
        codes.append(run.returncode)
        for name, count in _outcomes(report).items():
            totals[name] += count
    # One closing line for both runs, in the plain form CI reads.
    print(
        f"\nsuite: {totals['passed']} passed, {totals['failed']} failed, "
        f"{totals['skipped']} skipped",
        flush=True,
    )
    # pytest's exit code 5 means "no tests collected" — a failure here, never a pass.
    return 0 if all(code == 0 for code in codes) else 1


def _outcomes(report: Path) -> dict[str, int]:
    """Passed, failed (failures and errors) and skipped counts of one junit report."""
    import xml.etree.ElementTree as ET

    if not report.exists():
        return {"failed": 1}  # pytest did not even get to write its report
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for suite in ET.parse(report).getroot().iter("testsuite"):
        tests, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
        failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        counts["failed"] += failed
        counts["skipped"] += skipped
        counts["passed"] += tests - failed - skipped
    return counts


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
