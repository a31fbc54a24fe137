"""How long opening a case takes, from "open case" to all three panes drawn.

Syncs one reference-server case holding a ``--slices``-slice 512×512 CT (plus an MR
series, PDF records and lab results) into a memory-key vault over real HTTP on
127.0.0.1, tops its lab results up to ``--labs`` (earlier draws of the same analytes,
synthetic), then opens it in the real main window (offscreen) with the real Records,
Labs and Imaging panes, ``--repeat`` times (back to the worklist in between):

- **banner**: from ``MainWindow.open_case`` to the CaseFile shown (``case_shown``);
- **records / labs / imaging**: to each pane's first content on screen: the records
  pane's first page rendered (``renderer.page_ready``), the labs pane's flowsheet filled
  (its ``content_shown``), the imaging pane's first slice (``image_shown``); a pane with
  a ``content_shown`` signal is timed by that, one without by its first paint;
- **all panes**: the slowest of the three, then one event-loop pass so it is painted.

The first open (cold: nothing decoded yet, vault pages not cached) is reported apart
from the median of the others. ``--work DIR`` keeps the synced profile for later runs.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/workspace_open.py [--slices 500]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reviewer_app.vault import (
    KeySource,
    Profile,
    Vault,
    create_profile,
    open_profile,
)

PASSPHRASE = "correct horse battery staple"


def sync_profile(root: Path, slices: int) -> tuple[bytes, str]:
    """Sync case 1 (oncology: CT + MR) of the reference server into a new profile."""
    from demo_server.server import start
    from reviewer_app.exchange import MemoryTokenStore, PlatformSession, RetryPolicy
    from reviewer_app.sync.engine import SyncEngine
    from tests.reviewer_app.sync.helpers import demo_browser

    key = secrets.token_bytes(32)
    storage = Path(tempfile.mkdtemp(prefix="bench-ws-srv-"))
    running = start(cases=1, seed=1, storage=storage, ct_slices=slices)
    try:
        vault = create_profile(Profile(root), PASSPHRASE, key_source=KeySource.MEMORY, key=key)
        try:
            session = PlatformSession(running.fhir_base, MemoryTokenStore())
            session.sign_in(open_browser=demo_browser(), timeout=30)
            retry = RetryPolicy(max_attempts=3, base_delay=0.05)
            with session, SyncEngine(vault, session, retry=retry) as engine:
                report = engine.run()
            if report.state != "complete":
                raise SystemExit(f"sync did not complete: {report.state}")
            case_id = vault.cases()[0].case_id
        finally:
            vault.close()
    finally:
        running.stop()
        shutil.rmtree(storage, ignore_errors=True)
    return key, case_id


def top_up_labs(vault: Vault, case_id: str, target: int) -> int:
    """Add earlier draws of the case's own analytes until it holds ``target`` results."""
    conn = vault.read()
    rows = conn.execute(
        "SELECT lab_id, status, code, name, effective, value, value_text, unit, low, high, "
        "interpretation, panel, range_text FROM lab_results WHERE case_id = ? "
        "ORDER BY effective",
        (case_id,),
    ).fetchall()
    have = len(rows)
    if not rows or have >= target:
        return have
    from reviewer_app.casefile import parse_datetime

    extra = []
    round_ = 1
    while have + len(extra) < target:
        for row in rows:
            if have + len(extra) >= target:
                break
            when = parse_datetime(row[4])
            earlier = (when - timedelta(days=120 * round_)).isoformat() if when else None
            value = row[5] * (1 + 0.03 * round_) if row[5] is not None else None
            extra.append((case_id, f"{row[0]}-bench{round_}", *row[1:4], earlier, value, *row[6:]))
        round_ += 1

    def write(conn: Any) -> None:
        conn.executemany(
            "INSERT INTO lab_results (case_id, lab_id, status, code, name, effective, value, "
            "value_text, unit, low, high, interpretation, panel, range_text) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            extra,
        )

    vault.write_sync(write)
    return have + len(extra)


class PaneTimer:
    """Records when each pane first shows content for the case being opened."""

    def __init__(self, panes: list[Any], clock: Any) -> None:
        from ui.qt import QEvent, QObject

        self.clock = clock
        self.times: dict[str, float] = {}
        self.armed = False
        timer = self

        class PaintWatch(QObject):
            def eventFilter(self, watched: Any, event: Any) -> bool:
                if event.type() == QEvent.Type.Paint and timer.armed:
                    pane = watched
                    if pane.case_id() is not None:
                        timer.hit(pane.pane_title)
                return False

        self._watch = PaintWatch()
        for pane in panes:
            title = pane.pane_title
            signal = getattr(pane, "content_shown", None)
            if signal is not None:
                signal.connect(lambda _cid, t=title: self.hit(t))
            elif title == "Records":
                pane.renderer.page_ready.connect(lambda _page, t=title: self.hit(t))
            elif title == "Imaging":
                pane.image_shown.connect(lambda _index, t=title: self.hit(t))
            else:
                pane.installEventFilter(self._watch)

    def arm(self) -> None:
        self.times.clear()
        self.armed = True

    def hit(self, title: str) -> None:
        if self.armed and title not in self.times:
            self.times[title] = self.clock()


def measure(vault: Vault, case_id: str, repeat: int, *, settle: bool) -> list[dict[str, float]]:
    """Open the case ``repeat`` times in the real main window; times in ms per open."""
    from ui.app import Shell, create_application
    from ui.qt import QSettings
    from ui.settings import app_settings

    settings_dir = tempfile.mkdtemp(prefix="bench-ws-settings-")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)
    app = create_application([])
    shell = Shell(app, app_settings(), idle_ms=3_600_000, watch_session=False)
    results = []
    try:
        shell._use_vault(vault, sync=False)
        window = shell.window
        window.resize(1600, 1000)
        window.show()
        window.start_unlocked()
        deadline = time.monotonic() + 30
        while case_id not in window.worklist_order() and time.monotonic() < deadline:
            app.processEvents()
        workspace = window.ensure_workspace()
        clock = time.perf_counter
        timer = PaneTimer(workspace.panes, clock)
        banner: list[float] = []
        workspace.case_shown.connect(lambda _cid: banner.append(clock()))
        for _ in range(repeat):
            window.show_worklist()
            for _ in range(5):
                app.processEvents()
            left = shell.ops.pending()
            if settle:
                # Let work the last open left running finish (prefetch, thumbnails…).
                deadline = time.monotonic() + 60
                while shell.ops.pending() and time.monotonic() < deadline:
                    app.processEvents()
                    time.sleep(0.002)
            banner.clear()
            timer.arm()
            start = clock()
            window.open_case(case_id)
            deadline = time.monotonic() + 120
            while len(timer.times) < 3 and time.monotonic() < deadline:
                app.processEvents()
                time.sleep(0.0005)
            if len(timer.times) < 3:
                raise SystemExit(f"panes never showed content: {sorted(timer.times)}")
            app.processEvents()  # the last content's paint
            end = clock()
            timer.armed = False
            row = {k.lower(): (v - start) * 1000 for k, v in timer.times.items()}
            row["banner"] = (banner[0] - start) * 1000
            row["all panes"] = (end - start) * 1000
            row["left running"] = left
            results.append(row)
    finally:
        shell.shutdown()
        shutil.rmtree(settings_dir, ignore_errors=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slices", type=int, default=500, help="CT slices (512×512)")
    parser.add_argument("--labs", type=int, default=150, help="lab results in the case")
    parser.add_argument("--repeat", type=int, default=7, help="opens (first one is cold)")
    parser.add_argument(
        "--settle",
        action="store_true",
        help="before each open, wait until the last open's background work is done",
    )
    parser.add_argument("--work", type=Path, help="keep/reuse the synced profile here")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-ws-"))
    root = work / f"profile-{args.slices}"
    meta = work / f"profile-{args.slices}.json"
    if not meta.exists():
        shutil.rmtree(root, ignore_errors=True)
        began = time.monotonic()
        key, case_id = sync_profile(root, args.slices)
        print(f"synced in {time.monotonic() - began:.0f} s")
        meta.write_text(json.dumps({"key": key.hex(), "case_id": case_id}))
    saved = json.loads(meta.read_text())
    vault = open_profile(Profile(root), key=bytes.fromhex(saved["key"]))
    try:
        case_id = saved["case_id"]
        labs = top_up_labs(vault, case_id, args.labs)
        from reviewer_app.casefile import load_case

        case = load_case(vault, case_id)
        slices = max(s.instance_count for st in case.studies for s in st.series)
        print(
            f"case: {len(case.records)} records, {labs} lab results, "
            f"{sum(len(st.series) for st in case.studies)} series (largest {slices} slices)"
        )
        rows = measure(vault, case_id, args.repeat, settle=args.settle)
    finally:
        vault.close()
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)

    keys = ["banner", "records", "labs", "imaging", "all panes", "left running"]
    cold, warm = rows[0], rows[1:] or rows
    print(f"{'ms':<10}{'cold':>9}{'median':>9}{'min':>9}{'max':>9}")
    summary = {}
    for key in keys:
        values = [r[key] for r in warm]
        summary[key] = {"cold": cold[key], "median": statistics.median(values)}
        print(
            f"{key:<10}{cold[key]:9.0f}{statistics.median(values):9.0f}"
            f"{min(values):9.0f}{max(values):9.0f}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "args": vars(args) | {"work": None, "json": None},
                    "rows": rows,
                    "summary": summary,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
