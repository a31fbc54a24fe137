"""What scrolling a CT costs in the Imaging pane, from the vault to the widget.

Builds a profile in a temp folder holding a synthetic CT (``--slices`` of ``--size``²,
int16, encrypted in the object store like synced data), opens it in the real
:class:`ui.imaging.pane.ImagingPane` (offscreen), and scrolls through it slice by slice:

- **next slice**: time from the scroll request (``pane.step(1)``) to the image being set
  on the widget (the pane's ``image_shown``), with ``--pause`` ms between scroll steps
  (a wheel at about 60 Hz; 0 = as fast as the pane goes, prefetch never ahead);
- **numpy**: in the same run, the bare windowing formula on the same decoded slices
  (the floor no viewer can beat);
- **memory**: a second pass over the whole CT under tracemalloc (numpy's buffers are
  traced), peak against the frame cache's budget (``--budget-mb``, the
  ``imaging/cache_budget_mb`` setting), and the process's peak RSS.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/imaging_pane.py [--slices 500]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from pydicom.uid import generate_uid

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.imaging_pipeline import WINDOW, ct_slice, numpy_window, phantom
from reviewer_app.vault import KeySource, Profile, ScryptParams, create_profile


def build_ct(vault: object, slices: int, size: int) -> str:
    """Store a CT series in ``vault`` (one case); returns the case id."""
    rng = np.random.default_rng(7)
    study, series = generate_uid(), generate_uid()
    rows = []
    for z in range(slices):
        ds = ct_slice(phantom(size, rng, z))
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.PatientName = "Bench^Synthetic"
        ds.InstanceNumber = slices - z  # reversed: the pane must order by position
        ds.ImagePositionPatient = [0, 0, z * 1.25]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [0.7, 0.7]
        ds.WindowCenter, ds.WindowWidth = WINDOW.center, WINDOW.width
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        ref = vault.objects.put(buffer.getvalue(), kind="dicom")  # type: ignore[attr-defined]
        rows.append(("bench", ds.SOPInstanceUID, series, study, None, slices - z, ref.object_id))

    def write(conn: object) -> None:
        conn.execute(  # type: ignore[attr-defined]
            "INSERT INTO cases (case_id, patient_name, status) VALUES ('bench', ?, 'new')",
            ("Bench^Synthetic",),
        )
        conn.execute(  # type: ignore[attr-defined]
            "INSERT INTO studies (case_id, study_uid, description, modalities) "
            "VALUES ('bench', ?, 'Bench CT', 'CT')",
            (study,),
        )
        conn.execute(  # type: ignore[attr-defined]
            "INSERT INTO series (case_id, series_uid, study_uid, modality, description, "
            "number, instance_count) VALUES ('bench', ?, ?, 'CT', 'Axial', 1, ?)",
            (series, study, slices),
        )
        conn.executemany(  # type: ignore[attr-defined]
            "INSERT INTO instances (case_id, sop_instance_uid, series_uid, study_uid, "
            "sop_class_uid, number, object_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    vault.write_sync(write)  # type: ignore[attr-defined]
    return "bench"


def rss_mib() -> float:
    """The process's resident memory now (Linux), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def summary(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=500)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--budget-mb", type=int, default=128)
    parser.add_argument("--pause", type=float, default=15.0, help="ms between scroll steps")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from reviewer_app.casefile import load_case
    from ui.imaging.pane import CACHE_SETTING, ImagingPane
    from ui.notifier import Notifier
    from ui.operations import Operations
    from ui.qt import QApplication, QSettings

    app = QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)
        settings = QSettings(tmp + "/bench.ini", QSettings.Format.IniFormat)
        settings.setValue(CACHE_SETTING, args.budget_mb)
        vault = create_profile(
            Profile(Path(tmp) / "profile"),
            "bench passphrase, synthetic data",
            key_source=KeySource.PASSPHRASE,
            scrypt=ScryptParams(n=2**10, r=8, p=1),
        )
        started = time.perf_counter()
        case_id = build_ct(vault, args.slices, args.size)
        print(f"stored {args.slices} slices in {time.perf_counter() - started:.1f} s")
        ops = Operations(Notifier())
        pane = ImagingPane(ops, settings)
        pane.resize(1000, 700)
        pane.show()
        shown: list[int] = []
        pane.image_shown.connect(shown.append)

        def wait_for(index: int, timeout: float = 30.0) -> None:
            deadline = time.perf_counter() + timeout
            while not (shown and shown[-1] == index and pane.current_index() == index):
                app.processEvents()
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"slice {index} never shown")

        def idle(ms: float) -> None:
            end = time.perf_counter() + ms / 1000
            while time.perf_counter() < end:
                app.processEvents()

        rss_seen: list[float] = []

        def scroll_through(sample_rss: bool = False) -> list[float]:
            times = []
            pane.go_to(0)
            wait_for(0)
            for index in range(1, pane.slice_count()):
                idle(args.pause)
                t0 = time.perf_counter_ns()
                pane.step(1)
                wait_for(index)
                times.append((time.perf_counter_ns() - t0) / 1e6)
                if sample_rss:
                    rss_seen.append(rss_mib())
            return times

        first_at: list[float] = []
        pane.image_shown.connect(lambda _i: first_at.append(time.perf_counter()))
        t0 = time.perf_counter()
        pane.show_case(load_case(vault, case_id), vault)
        deadline = time.perf_counter() + 60
        while pane.slice_count() == 0 or not shown or shown[-1] != 0:
            app.processEvents()
            if time.perf_counter() > deadline:
                raise TimeoutError("the series never opened")
        ordered_ms = (time.perf_counter() - t0) * 1000
        first_ms = (first_at[0] - t0) * 1000
        idle(500)  # thumbnails and the first prefetch settle
        latency = scroll_through()

        # numpy baseline on the same slices (decoded frames from the pane's cache when
        # there, else decoded now; only the windowing is timed).
        from reviewer_app.imaging.series import decode_slice

        stack = pane.loader.stack
        assert stack is not None
        baseline = []
        for index in range(1, len(stack.slices)):
            frame = decode_slice(vault, stack, index, pane.loader.cache)
            t = time.perf_counter_ns()
            numpy_window(frame, WINDOW.center, WINDOW.width)
            baseline.append((time.perf_counter_ns() - t) / 1e6)

        # Memory: a fresh cache, a whole pass under tracemalloc.
        pane.loader.cache.clear()
        rss_before = rss_mib()
        tracemalloc.start()
        traced_before = tracemalloc.get_traced_memory()[0]
        scroll_through(sample_rss=True)
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        budget = pane.loader.cache.budget_bytes
        cache_peak = pane.loader.cache.peak_bytes

        pane.clear()
        pane.close()
        ops.shutdown()
        vault.close()

    med, p99 = summary(latency)
    bmed, bp99 = summary(baseline)
    mib = 1024 * 1024
    print(f"first image after opening the case: {first_ms:.0f} ms")
    print(f"whole series ordered (all headers read), slice 1 shown: {ordered_ms:.0f} ms")
    print(f"next slice (pause {args.pause:g} ms): median {med:.2f} ms, p99 {p99:.2f} ms")
    print(f"numpy windowing, same slices:      median {bmed:.2f} ms, p99 {bp99:.2f} ms")
    print(f"ratio: median {med / bmed:.1f}x, p99 {p99 / bp99:.1f}x")
    print(
        f"memory: budget {budget / mib:.0f} MiB, cache peak {cache_peak / mib:.1f} MiB, "
        f"traced peak while scrolling {(traced_peak - traced_before) / mib:.1f} MiB, "
        f"RSS growth while scrolling {max(rss_seen) - rss_before:.0f} MiB "
        f"(process peak RSS, building the CT included: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)"
    )
    ok = med < 8 and cache_peak <= budget
    print("goals (next slice < 8 ms median, cache within budget):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
