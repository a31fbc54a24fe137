"""``--smoke-test``: start the whole app on a throwaway profile, open a case, and exit.

CI runs it on the built bundle (PyInstaller), so it proves that the frozen app finds its
Qt plugins, its resources, SQLCipher, the DICOM decoders and PyMuPDF: it starts the
real :class:`~ui.app.Shell` and main window, starts the reference server
(``demo_server``) on a loopback port with one small synthetic case, syncs it with the
real sync controller into a memory-key vault in a temp folder, opens the case in the
workspace and waits until the records pane rendered a page, the labs pane filled its
table and the imaging pane put a slice on screen. Then it checks the parts the bundle
trims or only reaches later: it signs a one-page PDF as a signer whose name needs the
bundled font (pyHanko, fontTools and HarfBuzz, cryptography), verifies and renders it;
decodes a JPEG Lossless frame (GDCM, the only decoder of that syntax here); and asks Qt
for the ICU services whose data the Linux bundle cuts down (packaging/linux_trim.py).
Each step has a deadline, and a watchdog thread ends the process if the event loop
itself hangs.

It prints one line: ``smoke test passed: …`` with timings (exit 0), or
``smoke test failed: <reason>`` (exit 1; 3 from the watchdog). Nothing it creates
survives it: QSettings, profile and server storage live in one temp folder, erased at
the end. Runs offscreen (``QT_QPA_PLATFORM=offscreen``) or on a display.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: The whole smoke test must finish within this (seconds); the watchdog enforces it.
DEFAULT_TIMEOUT = 120.0
#: Seconds kept between the steps' deadline and the watchdog, so a late step reports
#: which one it was before the watchdog ends the process.
STEP_MARGIN = 5.0
#: CT slices of the smoke case: enough for a stack, quick to generate and sync.
SMOKE_CT_SLICES = 6
WATCHDOG_EXIT = 3


class SmokeFailure(Exception):
    """A step of the smoke test did not happen in time (the message is the reason)."""


def _watchdog(timeout: float) -> threading.Timer:
    def expire() -> None:
        print(f"smoke test failed: no result after {timeout:.0f} s (hung)", flush=True)
        os._exit(WATCHDOG_EXIT)  # the event loop is stuck: nothing else can end it

    timer = threading.Timer(timeout, expire)
    timer.daemon = True
    timer.name = "smoke-watchdog"
    timer.start()
    return timer


class _Run:
    """One smoke run: the steps, their deadlines, and the failures seen meanwhile."""

    def __init__(self, folder: Path, started: float, deadline: float) -> None:
        self.folder = folder
        self.started = started
        self.deadline = deadline
        self.errors: list[str] = []
        self.times: dict[str, float] = {}

    def mark(self, name: str) -> None:
        self.times[name] = time.monotonic() - self.started

    def wait(self, app: Any, what: str, done: Callable[[], bool], limit: float) -> None:
        """Run the event loop until ``done()`` (or fail with ``what`` after ``limit`` s)."""
        until = min(self.deadline, time.monotonic() + limit)
        while not done():
            if self.errors:
                raise SmokeFailure(self.errors[0])
            if time.monotonic() > until:
                if until >= self.deadline:
                    raise SmokeFailure(f"{what} did not happen before the time limit")
                raise SmokeFailure(f"{what} did not happen within {limit:.0f} s")
            app.processEvents()
            time.sleep(0.005)

    def error(self, error: object) -> None:
        # The type only: a message could hold anything (this line may end up in CI logs).
        self.errors.append(f"unexpected {type(error).__name__} in the app")


def run_smoke_test(started: float | None = None, timeout: float = DEFAULT_TIMEOUT) -> int:
    """Run the smoke test in this process; 0 if every step worked."""
    started = time.monotonic() if started is None else started
    watchdog = _watchdog(timeout)
    folder = Path(tempfile.mkdtemp(prefix="reviewer-smoke-"))
    run = _Run(folder, started, time.monotonic() + timeout - STEP_MARGIN)
    try:
        _steps(run)
    except SmokeFailure as failure:
        print(f"smoke test failed: {failure}", flush=True)
        return 1
    except Exception as error:
        print(f"smoke test failed: {type(error).__name__} ({_where(error)})", flush=True)
        return 1
    finally:
        watchdog.cancel()
        shutil.rmtree(folder, ignore_errors=True)
    timings = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in run.times.items())
    print(f"smoke test passed: {timings}", flush=True)
    return 0


def _where(error: BaseException) -> str:
    from ui.app import describe_traceback

    return describe_traceback(error.__traceback__)


def _steps(run: _Run) -> None:
    from ui.qt import QSettings

    # Settings in the temp folder: the smoke test never reads or changes the user's.
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(run.folder / "settings")
    )
    from reviewer_app.vault import KeySource, Profile, create_profile
    from ui import theme
    from ui.app import Shell, create_application
    from ui.settings import app_settings

    app = create_application([])
    settings = app_settings()
    theme.apply(app, theme.saved(settings))
    shell = Shell(app, settings, idle_ms=3_600_000, watch_session=False)
    shell.ops.unhandled.connect(run.error)
    previous_hook = sys.excepthook
    sys.excepthook = lambda _kind, error, _tb: run.error(error)
    server = None
    try:
        vault = create_profile(
            Profile(run.folder / "profile"), "smoke-test-passphrase", key_source=KeySource.MEMORY
        )
        shell._use_vault(vault, sync=False)
        window = shell.window
        window.resize(1600, 1000)
        window.show()
        window.start_unlocked()
        run.wait(app, "the worklist", window.worklist.isVisible, 20)
        app.processEvents()
        run.mark("worklist shown")

        server = _start_platform(run.folder / "platform", shell)
        run.mark("platform ready")
        reports: list[Any] = []
        shell.sync.finished.connect(reports.append)
        shell.sync.start()
        run.wait(app, "the sync", lambda: bool(reports), 60)
        if getattr(reports[0], "state", None) != "complete":
            raise SmokeFailure(f"the sync ended {getattr(reports[0], 'state', '?')}")
        run.wait(app, "the case in the worklist", lambda: bool(window.worklist_order()), 10)
        run.mark("case synced")
        _open_case(run, app, window, window.worklist_order()[0])
        run.mark("case shown")
        _check_signing()
        run.mark("PDF signed")
        _check_jpeg_lossless()
        _check_text_services()
        run.mark("codecs checked")
    finally:
        sys.excepthook = previous_hook
        shell.shutdown()
        if server is not None:
            server.stop()
        app.processEvents()


def _start_platform(storage: Path, shell: Any) -> Any:
    """The reference server with one small case, signed in; the shell's sync uses it."""
    from demo_server.server import start
    from reviewer_app.exchange import MemoryTokenStore, PlatformSession
    from ui.demo_platform import demo_browser
    from ui.sync_controller import PlatformConfig

    server = start(port=0, cases=1, seed=1, storage=storage, ct_slices=SMOKE_CT_SLICES)
    try:
        store = MemoryTokenStore()
        with PlatformSession(server.fhir_base, store) as platform:
            platform.sign_in(open_browser=demo_browser, timeout=30)
        shell.sync.configure(PlatformConfig(server.fhir_base), store=store)
    except BaseException:
        server.stop()
        raise
    return server


def _open_case(run: _Run, app: Any, window: Any, case_id: str) -> None:
    """Open ``case_id`` and wait for a rendered page, a lab table and an image."""
    workspace = window.ensure_workspace()
    panes = {pane.pane_title: pane for pane in workspace.panes}
    for title in ("Records", "Labs", "Imaging"):
        if title not in panes:
            raise SmokeFailure(f"the workspace has no {title} pane")
    pages: list[int] = []
    images: list[int] = []
    panes["Records"].renderer.page_ready.connect(pages.append)
    panes["Imaging"].image_shown.connect(images.append)
    window.open_case(case_id)
    run.wait(app, "the case banner", lambda: workspace.shown_case() is not None, 20)
    run.wait(app, "a record page", lambda: bool(pages), 30)
    labs = panes["Labs"]
    run.wait(app, "the lab table", lambda: labs.flowsheet_proxy.rowCount() > 0, 20)
    run.wait(app, "an image", lambda: bool(images), 30)
    # Paint each pane once: a pane that cannot draw itself fails here, not on a desk.
    for title in ("Records", "Labs", "Imaging"):
        if panes[title].grab().isNull():
            raise SmokeFailure(f"the {title} pane did not paint")


def _check_signing() -> None:
    """Sign a one-page PDF, verify the signature and render the signed page."""
    from datetime import UTC, datetime, timedelta

    import pymupdf
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    from reviewer_app.opinion.keys import SigningIdentity, new_private_key
    from reviewer_app.opinion.signing import STAMP_FONTS, sign_pdf
    from reviewer_app.opinion.verify import verify_pdf

    if not STAMP_FONTS[0].is_file():
        raise SmokeFailure("the signature block's font is not where the app looks for it")
    # A name beyond Latin-1: signing fails unless a font is found, subset and embedded.
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Dr Łukasz Żółć")])
    key = new_private_key()
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    with pymupdf.open() as doc:
        doc.new_page(width=300, height=300).insert_text((30, 50), "Smoke test opinion")
        pdf = doc.tobytes()
    signed = sign_pdf(pdf, SigningIdentity(key, (certificate,)))
    report = verify_pdf(signed, [certificate])
    if not report.ok:
        raise SmokeFailure(f"the signed PDF does not verify: {report.reason}")
    with pymupdf.open(stream=signed, filetype="pdf") as doc:
        if doc.load_page(0).get_pixmap(dpi=36).is_unicolor:
            raise SmokeFailure("the signed PDF renders blank")


#: A 16 x 16, 12-bit JPEG Lossless (process 14, selection value 1) frame of
#: ``_jpeg_lossless_expected()``, encoded once with GDCM.
_JPEG_LOSSLESS_FRAME = (
    "/9j/wwALEAAQABABAREA/8QAFgABAQEAAAAAAAAAAAAAAAAACAYQ/9oACAEBAAEAAMyGQyGQyGQyGQyGQyGQyGQy"
    "KVkslkslkslhMlkslkslksJk0rKZTKYbKZTDZTKZTDZTKYbKpWWy2Iy2Iy2Iy2WxGWxGWxGXSsxisxisxisVmMVm"
    "MVmMVisylZrGYzNYzGYzNYzGZrGYzGZtKzmOx2Ox2Ox2cx2Ox2Ox2OzqVkMhkMhkMhkMhkMhkMhkMhkUrJZLJZL"
    "JZLCZLJZLJZLJYTJpWUymUw2UymGymUymGymUw2VSstlsRlsRlsRlstiMtiMtiMulZjFZjFZjFYrMYrMYrMYrFZl"
    "KzWMxmaxmMxmaxmMzWMxmMzaVnMdjsdjsdjs5jsdjsdjsdnUrIZDIZDIZDIZDIZDIZDIZDIpWSyWSyWSyWEyWSy"
    "WSyWSwmT//2QA="
)


def _jpeg_lossless_expected() -> Any:
    import numpy as np

    rows, columns = np.mgrid[0:16, 0:16]
    return (columns * 200 + rows * 37 + (columns * rows) % 7).astype(np.uint16)


def _check_jpeg_lossless() -> None:
    """Decode JPEG Lossless (the usual syntax of patients' CDs) through pydicom."""
    import base64

    import numpy as np
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate
    from pydicom.pixels import pixel_array
    from pydicom.uid import JPEGLosslessSV1

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = JPEGLosslessSV1
    ds.Rows = ds.Columns = 16
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = encapsulate([base64.b64decode(_JPEG_LOSSLESS_FRAME)])
    if not np.array_equal(pixel_array(ds), _jpeg_lossless_expected()):
        raise SmokeFailure("a JPEG Lossless frame decoded to the wrong pixels")


def _check_text_services() -> None:
    """Collation, time-zone names and (on Linux) code pages: Qt asks ICU for these."""
    from ui.qt import QCollator, QLocale, QStringDecoder, QTimeZone

    # Qt without collation data falls back to comparing code points ("B" < "a").
    if QCollator(QLocale("en_US")).compare("apple", "Banana") >= 0:
        raise SmokeFailure("Qt's collation does not sort by language rules")
    zone = QTimeZone(b"Europe/Berlin")
    name = zone.displayName(
        QTimeZone.TimeType.StandardTime, QTimeZone.NameType.LongName, QLocale("en_US")
    )
    # Without time-zone names ICU answers with the offset ("GMT+01:00").
    if not zone.isValid() or not name or name.startswith(("GMT", "UTC")):
        raise SmokeFailure("Qt has no name for a time zone")
    if sys.platform.startswith("linux"):  # Qt uses ICU for code pages only on Linux
        for encoding in ("windows-1250", "Shift_JIS", "GB18030", "Big5", "EUC-KR", "KOI8-R"):
            if not QStringDecoder(encoding).isValid():
                raise SmokeFailure(f"Qt has no {encoding} decoder")
