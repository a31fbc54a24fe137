"""What a running sync reports: plain frozen dataclasses passed to one callback.

The callback is called from the sync's threads (the caller's and the transfer workers');
a Qt layer forwards each event as a queued signal. Events name cases by id and items by
kind and reference (ids, UIDs), never patient data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum


class Phase(IntEnum):
    """The order items are fetched in, so a case opens while its images still arrive."""

    METADATA = 0  # the Case, patient, questions, lab results, lists of records and images
    DOCUMENTS = 1
    IMAGING = 2


@dataclass(frozen=True)
class SyncStarted:
    """A sync run began; ``cases`` is how many cases it looks at."""

    cases: int


@dataclass(frozen=True)
class PhaseStarted:
    """Every item of earlier phases is finished (or failed) before a phase starts."""

    phase: Phase
    items: int


@dataclass(frozen=True)
class ItemStarted:
    """A transfer worker began an item."""

    case_id: str
    kind: str
    ref: str
    phase: Phase


@dataclass(frozen=True)
class ItemFinished:
    """An item is stored and verified (``error`` None) or failed with ``error``.

    ``fetched`` counts the bytes received over the network for it in this run, so a
    resumed download shows that it did not start again from zero.
    """

    case_id: str
    kind: str
    ref: str
    phase: Phase
    error: str | None = None
    error_kind: str | None = None
    size: int = 0
    fetched: int = 0


@dataclass(frozen=True)
class CaseProgress:
    """One case's state for the worklist's per-case status."""

    case_id: str
    state: str
    items_done: int
    items_total: int
    items_failed: int


@dataclass(frozen=True)
class Progress:
    """Overall progress for the progress bar. ``rate`` in bytes/s, ``eta`` in seconds.

    The platform gives no size for a DICOM instance before it arrives, so while some are
    still to come ``bytes_total`` counts them at the average size of those that came
    (``bytes_estimated`` is then True), and is 0 (unknown, with no ``eta``) until the
    first one has: a total of the documents alone would promise an end long before it."""

    cases_done: int
    cases_total: int
    items_done: int
    items_total: int
    bytes_done: int
    bytes_total: int
    rate: float
    eta: float | None
    bytes_estimated: bool = False


@dataclass(frozen=True)
class CasePurged:
    """A case's data was crypto-shredded; ``drafts_kept`` unsent drafts/opinions remain."""

    case_id: str
    reason: str
    drafts_kept: int


@dataclass(frozen=True)
class Offline:
    """The platform could not be reached; the next attempt is in ``retry_in`` seconds."""

    message: str
    retry_in: float | None


@dataclass(frozen=True)
class SyncReport:
    """How a run ended. ``state``: complete, incomplete (some items failed), offline,
    cancelled."""

    state: str
    cases: int = 0
    items_done: int = 0
    items_failed: int = 0
    bytes_fetched: int = 0
    purged: tuple[str, ...] = ()
    errors: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class SyncFinished:
    """The run ended."""

    report: SyncReport


SyncEvent = (
    SyncStarted
    | PhaseStarted
    | ItemStarted
    | ItemFinished
    | CaseProgress
    | Progress
    | CasePurged
    | Offline
    | SyncFinished
)
EventSink = Callable[[SyncEvent], None]


def ignore(event: SyncEvent) -> None:
    """An event sink that drops everything."""
