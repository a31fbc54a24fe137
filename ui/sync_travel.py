""" "Prepare for travel": after a full sync, which cases can be read offline.

:func:`travel_summary` turns the worklist rows and their offline state into a short
report (complete cases and their disk use, incomplete ones and why); the dialog shows it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ui.qt import QDialog, QDialogButtonBox, QLabel, QTextBrowser, QVBoxLayout, QWidget
from ui.sync_status import CaseSyncStatus, WorklistRows, size_text, sync_text


@dataclass(frozen=True)
class TravelLine:
    """One case in the summary."""

    case_id: str
    patient: str
    pinned: bool
    text: str


@dataclass(frozen=True)
class TravelSummary:
    """What is ready offline and what is not."""

    ready: tuple[TravelLine, ...]
    not_ready: tuple[TravelLine, ...]
    total_bytes: int
    sync_state: str | None


def _why(status: CaseSyncStatus | None) -> str:
    if status is None:
        return "Not synced yet"
    if status.errors:
        more = f" (and {len(status.errors) - 1} more)" if len(status.errors) > 1 else ""
        return f"{status.errors[0]}{more}"
    return sync_text(status)


def travel_summary(rows: WorklistRows, sync_state: str | None) -> TravelSummary:
    """Split the cases into ready offline and not, pinned first."""
    ready: list[TravelLine] = []
    not_ready: list[TravelLine] = []
    total = 0
    for case in sorted(rows.cases, key=lambda c: not c.pinned):
        status = rows.status.get(case.case_id)
        if status is not None and status.removed is not None:
            continue
        # Name and specialty: two cases of one patient are told apart.
        patient = " · ".join(
            p for p in (case.patient_name or "Unnamed patient", case.specialty) if p
        )
        if status is not None and status.complete:
            total += status.bytes_on_disk
            line = TravelLine(case.case_id, patient, case.pinned, size_text(status.bytes_on_disk))
            ready.append(line)
        else:
            not_ready.append(TravelLine(case.case_id, patient, case.pinned, _why(status)))
    return TravelSummary(tuple(ready), tuple(not_ready), total, sync_state)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def summary_html(summary: TravelSummary) -> str:
    """The summary as simple rich text."""
    parts = []
    if summary.sync_state == "offline":
        parts.append(
            "<p><b>The platform could not be reached</b>, so this is what was already "
            "on this computer.</p>"
        )
    elif summary.sync_state == "cancelled":
        parts.append("<p><b>The sync was cancelled</b>; this is what arrived.</p>")
    elif summary.sync_state is None:
        parts.append("<p><b>No sync could run</b>; this is what is on this computer.</p>")
    if summary.ready:
        parts.append(
            f"<h3>Ready offline: {len(summary.ready)} "
            f"{'case' if len(summary.ready) == 1 else 'cases'}, "
            f"{size_text(summary.total_bytes)}</h3><ul>"
        )
        for line in summary.ready:
            pin = "<b>Pinned</b> · " if line.pinned else ""
            parts.append(f"<li>{pin}{_escape(line.patient)} — {_escape(line.text)}</li>")
        parts.append("</ul>")
    if summary.not_ready:
        parts.append(f"<h3>Not complete offline: {len(summary.not_ready)}</h3><ul>")
        for line in summary.not_ready:
            pin = "<b>Pinned</b> · " if line.pinned else ""
            parts.append(f"<li>{pin}{_escape(line.patient)} — {_escape(line.text)}</li>")
        parts.append("</ul>")
    if not summary.ready and not summary.not_ready:
        parts.append("<p>There are no cases on this computer.</p>")
    return "".join(parts)


class TravelSummaryDialog(QDialog):
    """Shows the travel summary."""

    def __init__(self, summary: TravelSummary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("travelSummaryDialog")
        self.setWindowTitle("Prepare for travel")
        self.summary = summary
        ok = not summary.not_ready and summary.ready
        title = QLabel("Ready for travel" if ok else "Not everything is offline yet")
        title.setObjectName("dialogTitle")
        self.body = QTextBrowser()
        self.body.setObjectName("travelSummary")
        self.body.setOpenLinks(False)
        self.body.setHtml(summary_html(summary))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 22, 24, 18)
        layout.setSpacing(12)
        layout.addWidget(title)
        layout.addWidget(self.body, 1)
        layout.addWidget(buttons)
        self.resize(560, 460)
