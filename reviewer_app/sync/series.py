"""Which DICOM instances arrive in one WADO-RS stream per series, and which one by one.

A series request (``studies/{s}/series/{se}``) brings every instance of a series in one
``multipart/related`` body: one request instead of hundreds, which saves the per-request
work on both ends (headers, authentication, routing) that dominates over a fast link.
The price is that the server sends the whole series, done or not, so a series is
streamed only while most of it is still missing; a series that is mostly here already
(an earlier run was cut short) has its few missing instances fetched one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reviewer_app.sync.local import WorkItem
from reviewer_app.vault import Vault

#: A series with fewer pending instances is fetched one instance per request.
STREAM_MIN = 4


@dataclass(frozen=True)
class SeriesJob:
    """The pending instances of one series of one case, fetched as one stream."""

    items: tuple[WorkItem, ...]

    @property
    def dicomweb_base(self) -> str:
        """Where the series is retrieved from (its study's Endpoint)."""
        base = self.items[0].dicomweb_base
        assert base is not None
        return base

    @property
    def study_uid(self) -> str:
        """The series' study."""
        uid = self.items[0].study_uid
        assert uid is not None
        return uid

    @property
    def series_uid(self) -> str:
        """The series."""
        uid = self.items[0].series_uid
        assert uid is not None
        return uid


def plan(vault: Vault, items: Sequence[WorkItem]) -> list[WorkItem | SeriesJob]:
    """Group pending instances into series streams where that pays; keep the order.

    A series is streamed when at least :data:`STREAM_MIN` of its instances, and at least
    half of them, are pending; each job takes the place of its series' first item."""
    totals = {
        (case_id, study, series): count
        for case_id, study, series, count in vault.read().execute(
            "SELECT case_id, study_uid, series_uid, count(*) FROM instances "
            "GROUP BY case_id, study_uid, series_uid"
        )
    }
    groups: dict[tuple[str, str | None, str | None, str | None], list[WorkItem]] = {}
    for item in items:
        key = (item.case_id, item.dicomweb_base, item.study_uid, item.series_uid)
        groups.setdefault(key, []).append(item)
    planned: list[WorkItem | SeriesJob] = []
    emitted: set[tuple[str, str | None, str | None, str | None]] = set()
    for item in items:
        key = (item.case_id, item.dicomweb_base, item.study_uid, item.series_uid)
        group = groups[key]
        total = totals.get((item.case_id, item.study_uid, item.series_uid), len(group))
        streamed = (
            item.dicomweb_base is not None
            and item.study_uid is not None
            and item.series_uid is not None
            and len(group) >= STREAM_MIN
            and 2 * len(group) >= total
        )
        if not streamed:
            planned.append(item)
        elif key not in emitted:
            emitted.add(key)
            planned.append(SeriesJob(tuple(group)))
    return planned
