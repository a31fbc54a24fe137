"""Take the user guide's screenshots from the real app, on synthetic demo cases.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/take.py

It starts the reference server, syncs its cases into a throwaway memory-key vault,
enrolls a demo signing certificate, and then walks what the user guide describes: the
first-run welcome, a sync half-way, worklist, workspace, citing a key image, the opinion
editor, signing, the worklist's opinion states, the signed letter, each pane on its own
and the lock screen. Each screen is grabbed from its widget (no window manager needed)
into docs/screenshots/. Look at every one before committing.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

PASSPHRASE = "maple-river-copper-lantern"


def wait(app: object, what: str, ready: Callable[[], bool], seconds: float = 60) -> None:
    """Process events until ``ready()``; SystemExit naming ``what`` if it never is."""
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: no {what} after {seconds:.0f} s")
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.02)


def settle(app: object, seconds: float = 0.6) -> None:
    """Let rendering that runs off the UI thread arrive and paint."""
    end = time.monotonic() + seconds
    wait(app, "time", lambda: time.monotonic() > end)


def save(widget: object, name: str) -> None:
    widget.grab().save(str(OUT / name))  # type: ignore[attr-defined]
    print(f"wrote docs/screenshots/{name}")


def first_run(app: object, shell: object) -> None:
    """The welcome dialog of a first start, passphrase typed, on a desktop with a keyring."""
    from reviewer_app.vault import Profile
    from ui.first_run import FirstRunDialog

    dialog = FirstRunDialog(
        shell.ops,  # type: ignore[attr-defined]
        shell.icon,  # type: ignore[attr-defined]
        lambda passphrase: None,
        keyring_available=True,
        profile_folder=str(Profile.default().root),
    )
    dialog.show()
    dialog.passphrase.setText(PASSPHRASE)
    dialog.repeat.setText(PASSPHRASE)
    settle(app, 0.3)
    save(dialog, "first-run.png")
    dialog.reject()


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="reviewer-shots-"))
    from ui.qt import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))

    from demo_server.faults import Fault
    from demo_server.server import start
    from reviewer_app.exchange import MemoryTokenStore, PlatformSession
    from reviewer_app.opinion import outbox
    from reviewer_app.opinion.drafts import Section, Verdict
    from reviewer_app.vault import KeySource, Profile, create_profile
    from ui import theme
    from ui.app import Shell, create_application
    from ui.demo_platform import demo_browser, enroll_signer
    from ui.imaging.pane import ImagingPane
    from ui.opinion.sign_dialog import SignDialog
    from ui.qt import QProgressBar, QTextCursor
    from ui.settings import app_settings
    from ui.sync_controller import PlatformConfig

    app = create_application([])
    settings = app_settings()
    theme.apply(app, theme.saved(settings))
    shell = Shell(app, settings, idle_ms=3_600_000, watch_session=False)
    server = start(port=0, cases=6, seed=3, storage=folder / "platform", ct_slices=80)
    try:
        vault = create_profile(Profile(folder / "profile"), PASSPHRASE, key_source=KeySource.MEMORY)
        store = MemoryTokenStore()
        with PlatformSession(server.fhir_base, store) as platform:
            platform.sign_in(open_browser=demo_browser, timeout=30)
            enroll_signer(platform, vault, PASSPHRASE)
        first_run(app, shell)
        shell.sync.configure(PlatformConfig(server.fhir_base), store=store)
        shell._use_vault(vault, sync=False)
        shell._set_profile_name(vault.profile.root)
        window = shell.window
        window.resize(1600, 960)
        window.show()
        window.activateWindow()  # so the editor sees which section had the focus
        window.start_unlocked()
        reports: list[object] = []
        shell.sync.finished.connect(reports.append)
        # Slow every answer down a little, so that the sync can be caught half-way.
        server.app.faults.add(Fault(latency_ms=150))
        shell.sync.start()
        bar = window.findChild(QProgressBar, "syncProgress")
        wait(app, "sync progress", lambda: bar.maximum() > 0 and bar.value() > bar.maximum() // 3)
        settle(app, 0.3)
        save(window, "sync-progress.png")
        server.app.faults.clear()
        wait(app, "sync", lambda: bool(reports), 300)
        wait(app, "worklist", lambda: len(window.worklist_order()) >= 4)

        # A case with a CT: the workspace, then a key image cited into the opinion.
        workspace = window.ensure_workspace()
        editor = workspace.opinion
        imaging = next(p for p in workspace.panes if isinstance(p, ImagingPane))
        from reviewer_app.casefile import load_case

        def ct_series(case_id: str) -> str | None:
            for study in load_case(vault, case_id).studies:
                for series in study.series:
                    if series.modality == "CT":
                        return series.series_uid
            return None

        case_id = next(c for c in window.worklist_order() if ct_series(c))
        case = load_case(vault, case_id)
        shown: list[str] = []
        editor.draft_shown.connect(shown.append)
        window.open_case(case_id)
        wait(app, "draft", lambda: case_id in shown)
        imaging.open_series(ct_series(case_id) or "")
        presets = imaging.presets
        wait(
            app,
            "CT image",
            lambda: (
                imaging.view.has_image()
                and any(presets.itemText(i).startswith("Lung") for i in range(presets.count()))
            ),
        )
        imaging.go_to(imaging.slice_count() // 2)
        imaging.apply_preset("Lung")
        settle(app, 1.5)

        def type_into(widget: object, text: str) -> None:
            widget.setFocus()  # type: ignore[attr-defined]
            widget.moveCursor(QTextCursor.MoveOperation.End)  # type: ignore[attr-defined]
            widget.insertPlainText(text)  # type: ignore[attr-defined]

        # Written for the case this seed picks (synthetic relapsing-remitting MS).
        texts = {
            Section.CASE_SUMMARY: "Synthetic case: relapsing-remitting multiple sclerosis for "
            "three years on dimethyl fumarate, one sensory relapse seven months ago with full "
            "recovery; the question is whether to escalate therapy. ",
            Section.ASSESSMENT: "I partly agree with the current assessment. The head CT shows "
            "no acute change ",
            Section.DIFFERENTIAL: "Disease activity on treatment; pseudo-relapse. ",
            Section.TREATMENT: "Discuss escalation to a high-efficacy therapy. ",
            Section.FURTHER_TESTS: "Repeat MRI with contrast in three months. ",
            Section.LIMITATIONS: "Review of the records and images sent; no examination. ",
            Section.REFERENCES: "Synthetic reference list. ",
        }
        for section, text in texts.items():
            type_into(editor.section_editor(section), text)
        editor.verdict_button(Verdict.PARTLY).click()
        for number in range(1, len(case.patient_questions) + 1):
            type_into(editor.answer_editor(number), "Synthetic answer in plain words. ")
        type_into(editor.section_editor(Section.ASSESSMENT), "")
        cited: list[object] = []
        imaging.cite_requested.connect(cited.append)
        imaging.cite_action.trigger()
        wait(app, "citation", lambda: bool(cited))
        settle(app, 1.5)
        save(window, "workspace.png")
        save(editor, "opinion-editor.png")

        # Signing: the dialog shows the exact PDF; the passphrase signs it.
        wait(app, "complete draft", lambda: not editor.findings(), 20)
        editor.request_sign()
        wait(app, "sign dialog", lambda: isinstance(window.signing.dialog, SignDialog))
        dialog = window.signing.dialog
        wait(app, "preview", lambda: dialog.pages.currentWidget() is dialog.review_page, 120)
        dialog.passphrase.setText(PASSPHRASE)
        settle(app)
        save(dialog, "sign-dialog.png")
        signed: list[object] = []
        window.signing.signed.connect(lambda *args: signed.append(args))
        dialog.sign_button.click()
        wait(app, "signature", lambda: bool(signed), 120)
        settle(app)
        save(dialog, "signed.png")
        dialog.accept()
        (item,) = outbox.items(vault, case_id)
        pdf = folder / "opinion.pdf"
        pdf.write_bytes(outbox.signed_pdf(vault, item.item_id))
        for page in (1, 2):
            subprocess.run(
                ["pdftoppm", "-r", "70", "-png", "-f", str(page), "-l", str(page),
                 "-singlefile", str(pdf), str(OUT / f"opinion-pdf-{page}")],
                check=True,
            )  # fmt: skip
            print(f"wrote docs/screenshots/opinion-pdf-{page}.png")

        # Back to the worklist, where the opinion's state shows; a second draft too.
        window.show_worklist()
        other = next(c for c in window.worklist_order() if c != case_id)
        window.open_case(other)
        wait(app, "second draft", lambda: other in shown)
        type_into(editor.section_editor(Section.CASE_SUMMARY), "Synthetic summary. ")
        settle(app, 1.0)
        window.show_worklist()
        window.worklist.reload()
        settle(app, 1.5)
        save(window, "main-window.png")

        window.signing.setup_certificate()
        settle(app, 1.5)
        save(window.signing.dialog, "signing-certificate.png")
        window.signing.dialog.reject()

        # Each pane on its own (maximised), the labs with the trend of a frequent test.
        window.open_case(case_id)
        wait(app, "case again", lambda: shown.count(case_id) >= 2)
        labs = next(p for p in workspace.panes if p.pane_title == "Labs")
        wait(app, "lab table", lambda: labs.flowsheet_proxy.rowCount() > 0)
        settle(app, 1.0)
        codes = [lab.code for lab in case.labs]
        labs.open_ref(f"lab:{max(set(codes), key=codes.count)}")
        for title in ("Records", "Labs", "Imaging"):
            dock = workspace.docks[title]
            workspace.toggle_maximise(dock)
            settle(app, 1.5)
            save(window, f"{title.lower()}-pane.png")
            workspace.toggle_maximise(dock)

        window.lock("requested")
        settle(app)
        save(window, "lock-screen.png")
    finally:
        shell.shutdown()
        server.stop()
        app.processEvents()


if __name__ == "__main__":
    main()
