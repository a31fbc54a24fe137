"""FHIR search on the demo server: the few parameters the contract uses, matched in
Python over the stored resources, and snapshot paging with ``link[next]``.

Unknown parameters are refused (400) rather than ignored: a client that believes it
filtered when it did not is the bug this server exists to catch.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from demo_server.reply import HttpError
from demo_server.store import Store, parse_instant

Resource = dict[str, Any]

DEFAULT_COUNT = 50
MAX_COUNT = 200
SNAPSHOT_LIFETIME = 1800.0
_MAX_SNAPSHOTS = 500


def _refs(*paths: str) -> Callable[[Resource], list[str]]:
    def get(resource: Resource) -> list[str]:
        found: list[str] = []
        for path in paths:
            value: Any = resource
            for key in path.split("."):
                value = value.get(key) if isinstance(value, dict) else None
            items = value if isinstance(value, list) else [value]
            found += [v["reference"] for v in items if isinstance(v, dict) and "reference" in v]
        return found

    return get


def _codings(path: str) -> Callable[[Resource], list[tuple[str, str]]]:
    """(system, code) pairs of a CodeableConcept (or list of them) at ``path``."""

    def get(resource: Resource) -> list[tuple[str, str]]:
        value = resource.get(path)
        concepts = value if isinstance(value, list) else [value]
        return [
            (c.get("system", ""), c.get("code", ""))
            for concept in concepts
            if isinstance(concept, dict)
            for c in concept.get("coding", [])
        ]

    return get


def _identifiers(resource: Resource) -> list[tuple[str, str]]:
    return [(i.get("system", ""), i.get("value", "")) for i in resource.get("identifier", [])]


def _code(key: str) -> Callable[[Resource], list[tuple[str, str]]]:
    return lambda r: [("", str(r[key]))] if key in r else []


_SUBJECT = _refs("subject")
# name -> (kind, extractor); kind is "reference" or "token".
PARAMETERS: dict[str, dict[str, tuple[str, Callable[[Resource], list[Any]]]]] = {
    "Task": {
        "owner": ("reference", _refs("owner")),
        "patient": ("reference", _refs("for")),
        "status": ("token", _code("status")),
        "identifier": ("token", _identifiers),
    },
    "DocumentReference": {
        "patient": ("reference", _SUBJECT),
        "subject": ("reference", _SUBJECT),
        "identifier": ("token", _identifiers),
        "type": ("token", _codings("type")),
    },
    "Observation": {
        "patient": ("reference", _SUBJECT),
        "subject": ("reference", _SUBJECT),
        "category": ("token", _codings("category")),
        "code": ("token", _codings("code")),
    },
    "ImagingStudy": {
        "patient": ("reference", _SUBJECT),
        "subject": ("reference", _SUBJECT),
        "identifier": ("token", _identifiers),
    },
    "ServiceRequest": {"patient": ("reference", _SUBJECT), "subject": ("reference", _SUBJECT)},
    "Patient": {"identifier": ("token", _identifiers)},
    "Practitioner": {"identifier": ("token", _identifiers)},
    "Endpoint": {},
    "Provenance": {"target": ("reference", _refs("target"))},
    "AuditEvent": {},
}
_TARGET_TYPE = {"patient": "Patient", "subject": "Patient", "owner": "Practitioner"}


def _match_reference(param: str, wanted: str, refs: list[str]) -> bool:
    # Accept "Patient/x", "x" and absolute URLs ending in "Patient/x".
    target = _TARGET_TYPE.get(param)
    if "/" not in wanted and target:
        wanted = f"{target}/{wanted}"
    return any(ref == wanted or ref.endswith("/" + wanted) for ref in refs)


def _match_token(wanted: str, pairs: list[tuple[str, str]]) -> bool:
    if "|" not in wanted:
        return any(code == wanted for _, code in pairs)
    system, code = wanted.split("|", 1)
    if not code:
        return any(s == system for s, _ in pairs)
    return any(s == system and c == code for s, c in pairs)


def _match_last_updated(value: str, stamp: str) -> bool:
    prefix = value[:2] if value[:2] in ("gt", "ge", "lt", "le", "eq") else "eq"
    text = value[2:] if value[:2] == prefix else value
    try:
        bound = parse_instant(text.replace(" ", "+"))
    except ValueError as error:
        raise HttpError(400, f"_lastUpdated: {value!r} is not a FHIR instant") from error
    moment = parse_instant(stamp)
    return {
        "gt": moment > bound,
        "ge": moment >= bound,
        "lt": moment < bound,
        "le": moment <= bound,
        "eq": moment == bound,
    }[prefix]


def matches(rtype: str, resource: Resource, params: list[tuple[str, str]]) -> bool:
    """Whether a resource satisfies every search parameter (comma = OR within one)."""
    known = PARAMETERS[rtype]
    for name, value in params:
        alternatives = value.split(",")
        if name == "_id":
            ok = resource["id"] in alternatives
        elif name == "_lastUpdated":
            ok = _match_last_updated(value, resource["meta"]["lastUpdated"])
        elif name in known:
            kind, extract = known[name]
            found = extract(resource)
            if kind == "reference":
                ok = any(_match_reference(name, alt, found) for alt in alternatives)
            else:
                ok = any(_match_token(alt, found) for alt in alternatives)
        else:
            raise HttpError(400, f"unknown search parameter {name!r} for {rtype}", "not-supported")
        if not ok:
            return False
    return True


def find(store: Store, rtype: str, params: list[tuple[str, str]]) -> list[Resource]:
    """Every current resource of ``rtype`` matching ``params`` (no paging)."""
    return [r for r in store.all(rtype) if matches(rtype, r, params)]


@dataclass
class _Snapshot:
    rtype: str
    keys: list[tuple[str, int]]
    taken: str
    elements: list[str] | None
    created: float


def _subset(resource: Resource, elements: list[str] | None) -> Resource:
    if elements is None:
        return resource
    keep = {"resourceType", "id", "meta", *elements}
    subset = {k: v for k, v in resource.items() if k in keep}
    meta = dict(subset.get("meta", {}))
    meta["tag"] = [
        *meta.get("tag", []),
        {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
            "code": "SUBSETTED",
        },
    ]
    subset["meta"] = meta
    return subset


class Searcher:
    """Runs searches and serves their pages from snapshots."""

    def __init__(self, store: Store, fhir_base: str) -> None:
        self.store = store
        self.fhir_base = fhir_base
        self._snapshots: dict[str, _Snapshot] = {}
        self._lock = threading.Lock()

    def search(self, rtype: str, query: list[tuple[str, str]]) -> Resource:
        """The first page of a search, as a searchset Bundle."""
        params: list[tuple[str, str]] = []
        count = DEFAULT_COUNT
        elements: list[str] | None = None
        for name, value in query:
            if name == "_count":
                count = _parse_count(value)
            elif name == "_elements":
                elements = [e.strip() for e in value.split(",") if e.strip()]
            elif name == "_format":
                continue
            else:
                params.append((name, value))
        with self.store.lock:
            found = find(self.store, rtype, params)
            taken = self.store.tick()
        snapshot = _Snapshot(
            rtype,
            [(r["id"], int(r["meta"]["versionId"])) for r in found],
            taken,
            elements,
            time.monotonic(),
        )
        token = secrets.token_urlsafe(12)
        with self._lock:
            self._expire()
            self._snapshots[token] = snapshot
        return self._page(token, snapshot, 0, count)

    def page(self, query: list[tuple[str, str]]) -> Resource:
        """A later page (``?_getpages=…&_offset=…&_count=…``)."""
        values = dict(query)
        with self._lock:
            snapshot = self._snapshots.get(values.get("_getpages", ""))
        if snapshot is None:
            raise HttpError(410, "this search has expired; search again", "not-found")
        try:
            offset = int(values.get("_offset", "0"))
        except ValueError as error:
            raise HttpError(400, "_offset must be an integer") from error
        return self._page(
            values["_getpages"], snapshot, offset, _parse_count(values.get("_count", "50"))
        )

    def _page(self, token: str, snapshot: _Snapshot, offset: int, count: int) -> Resource:
        keys = snapshot.keys[offset : offset + count]
        entries = []
        for rid, version in keys:
            resource = self.store.vread(snapshot.rtype, rid, version)
            if resource is None:  # the store was reset since the snapshot
                raise HttpError(410, "this search has expired; search again", "not-found")
            entries.append(
                {
                    "fullUrl": f"{self.fhir_base}/{snapshot.rtype}/{rid}",
                    "resource": _subset(resource, snapshot.elements),
                    "search": {"mode": "match"},
                }
            )

        def link(at: int) -> str:
            query = urlencode({"_getpages": token, "_offset": at, "_count": count})
            return f"{self.fhir_base}?{query}"

        links = [{"relation": "self", "url": link(offset)}]
        if offset + count < len(snapshot.keys):
            links.append({"relation": "next", "url": link(offset + count)})
        if offset > 0:
            links.append({"relation": "previous", "url": link(max(0, offset - count))})
        return {
            "resourceType": "Bundle",
            "id": token,
            "meta": {"lastUpdated": snapshot.taken},
            "type": "searchset",
            "total": len(snapshot.keys),
            "link": links,
            "entry": entries,
        }

    def _expire(self) -> None:
        now = time.monotonic()
        for token in [t for t, s in self._snapshots.items() if now - s.created > SNAPSHOT_LIFETIME]:
            del self._snapshots[token]
        while len(self._snapshots) >= _MAX_SNAPSHOTS:
            del self._snapshots[next(iter(self._snapshots))]


def _parse_count(value: str) -> int:
    try:
        count = int(value)
    except ValueError as error:
        raise HttpError(400, "_count must be an integer") from error
    if count < 1:
        raise HttpError(400, "_count must be at least 1")
    return min(count, MAX_COUNT)
