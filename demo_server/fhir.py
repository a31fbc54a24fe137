"""The FHIR R4 REST API of the demo server: read, vread, search, Binary with Range,
the few writes the contract allows, and transaction/batch Bundles with ``ifNoneExist``
and ``ifMatch``. See docs/exchange.md §4-9.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import uuid
from http import HTTPStatus
from typing import Any

from demo_server.reply import FHIR_JSON, HttpError, Reply, fhir_reply, outcome
from demo_server.search import PARAMETERS, Searcher, find
from demo_server.store import Store, parse_instant

Resource = dict[str, Any]

_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_ETAG = re.compile(r'^(W/)?"?([0-9]+)"?$')
TYPES = frozenset({*PARAMETERS, "Binary"})
CREATABLE = frozenset({"DocumentReference", "Provenance", "AuditEvent"})
TASK_STATES_BY_SPECIALIST = frozenset({"accepted", "in-progress", "completed"})
CLOSED_TASK_STATES = frozenset({"cancelled", "rejected", "completed", "entered-in-error"})
CONSULT_NOTE = ("http://loinc.org", "11488-4")
RELATION_CODES = frozenset({"appends", "replaces", "transforms", "signs"})


def etag(resource: Resource) -> str:
    """The weak ETag of a resource version."""
    return f'W/"{resource["meta"]["versionId"]}"'


def _location_headers(base: str, resource: Resource) -> dict[str, str]:
    meta = resource["meta"]
    modified = parse_instant(meta["lastUpdated"])
    path = f"{resource['resourceType']}/{resource['id']}/_history/{meta['versionId']}"
    return {
        "ETag": etag(resource),
        "Last-Modified": modified.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "Location": f"{base}/{path}",
    }


def _version_of(if_match: str) -> int:
    found = _ETAG.match(if_match.strip())
    if not found:
        raise HttpError(400, f'If-Match {if_match!r} is not a version ETag like W/"3"')
    return int(found.group(2))


def _rewrite_references(value: Any, mapping: dict[str, str]) -> Any:
    """Replace ``urn:uuid:`` references of a transaction with the ids they became."""
    if isinstance(value, dict):
        return {
            k: (
                mapping.get(v, v)
                if k == "reference" and isinstance(v, str)
                else _rewrite_references(v, mapping)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_rewrite_references(v, mapping) for v in value]
    return value


class Fhir:
    """Handles every request under ``/fhir``."""

    def __init__(self, store: Store, base: str) -> None:
        self.store = store
        self.base = base
        self.searcher = Searcher(store, base)

    # --- routing ------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        parts: list[str],
        query: list[tuple[str, str]],
        *,
        headers: dict[str, str],
        body: bytes,
        practitioner: str,
    ) -> Reply:
        """Answer one authenticated FHIR request; ``parts`` is the path below /fhir."""
        if parts and parts[0] not in TYPES:
            raise HttpError(404, f"unknown resource type {parts[0]!r}", "not-supported")
        if not parts:
            if method == "GET" and any(k == "_getpages" for k, _ in query):
                return fhir_reply(200, self.searcher.page(query))
            if method == "POST":
                return self.bundle(_parse_json(body), practitioner)
            raise HttpError(405, "only POST of a transaction or batch Bundle here", "not-supported")
        rtype = parts[0]
        if len(parts) == 1:
            if rtype == "Binary":
                raise HttpError(405, "Binary is read by id only", "not-supported")
            if method == "GET":
                return fhir_reply(200, self.searcher.search(rtype, query))
            if method == "POST":
                resource = _parse_json(body)
                created, status = self.create(
                    rtype, resource, practitioner, headers.get("if-none-exist")
                )
                return fhir_reply(status, created, _location_headers(self.base, created))
        elif len(parts) == 2:
            if method == "GET":
                if rtype == "Binary":
                    return self.binary(parts[1], headers)
                return self.read(rtype, parts[1])
            if method == "PUT":
                resource = _parse_json(body)
                updated, status = self.update(
                    rtype, parts[1], resource, practitioner, headers.get("if-match")
                )
                return fhir_reply(status, updated, _location_headers(self.base, updated))
        elif len(parts) == 4 and parts[2] == "_history" and method == "GET":
            found = self.store.vread(rtype, parts[1], int(parts[3])) if parts[3].isdigit() else None
            if found is None:
                raise HttpError(404, f"{rtype}/{parts[1]} has no version {parts[3]}", "not-found")
            return fhir_reply(200, found, {"ETag": etag(found)})
        raise HttpError(405, f"{method} is not supported on this path", "not-supported")

    # --- read -----------------------------------------------------------------------------

    def read(self, rtype: str, rid: str) -> Reply:
        """GET {type}/{id}."""
        found = self.store.get(rtype, rid)
        if found is None:
            raise HttpError(404, f"{rtype}/{rid} is not known", "not-found")
        headers = _location_headers(self.base, found)
        del headers["Location"]
        return fhir_reply(200, found, headers)

    def binary(self, bid: str, headers: dict[str, str]) -> Reply:
        """GET Binary/{id}: raw bytes with Range, or the Binary resource as JSON."""
        found = self.store.get_binary(bid)
        if found is None:
            raise HttpError(404, f"Binary/{bid} is not known", "not-found")
        content_type, data = found
        if "fhir+json" in headers.get("accept", ""):
            resource = {
                "resourceType": "Binary",
                "id": bid,
                "contentType": content_type,
                "data": base64.b64encode(data).decode(),
            }
            return fhir_reply(200, resource)
        tag = f'"{hashlib.sha1(data).hexdigest()}"'
        common = {"Content-Type": content_type, "Accept-Ranges": "bytes", "ETag": tag}
        wanted = headers.get("range")
        if_range = headers.get("if-range")
        if wanted is None or (if_range is not None and if_range.strip() != tag):
            return Reply(200, common, data)
        span = _parse_range(wanted, len(data))
        if span is None:
            return Reply(200, common, data)
        start, end = span
        if start >= len(data) or start > end:
            return Reply(416, {**common, "Content-Range": f"bytes */{len(data)}"}, b"")
        end = min(end, len(data) - 1)
        return Reply(
            206,
            {**common, "Content-Range": f"bytes {start}-{end}/{len(data)}"},
            data[start : end + 1],
        )

    # --- writes ---------------------------------------------------------------------------

    def create(
        self, rtype: str, resource: Resource, practitioner: str, if_none_exist: str | None
    ) -> tuple[Resource, int]:
        """Create a resource (201) or, with ``ifNoneExist`` matching one, return it (200)."""
        with self.store.transaction():
            if if_none_exist:
                existing = self.conditional_match(rtype, if_none_exist)
                if existing is not None:
                    return existing, 200
            resource = dict(resource)
            resource["id"] = str(uuid.uuid4())
            self._check_create(rtype, resource, practitioner)
            return self.store.put(resource), 201

    def conditional_match(self, rtype: str, criteria: str) -> Resource | None:
        """The one resource matching ``ifNoneExist`` criteria; 412 when several do."""
        if rtype not in PARAMETERS:
            raise HttpError(400, f"{rtype} cannot be created conditionally")
        from urllib.parse import parse_qsl

        params = parse_qsl(criteria.split("?", 1)[-1], keep_blank_values=True)
        if not params:
            raise HttpError(400, "ifNoneExist has no search criteria")
        found = find(self.store, rtype, params)
        if len(found) > 1:
            raise HttpError(412, f"ifNoneExist matches {len(found)} resources", "duplicate")
        return found[0] if found else None

    def update(
        self,
        rtype: str,
        rid: str,
        resource: Resource,
        practitioner: str,
        if_match: str | None,
    ) -> tuple[Resource, int]:
        """PUT {type}/{id}: a Task (status and output only) or an AuditEvent."""
        if resource.get("resourceType") != rtype or resource.get("id") != rid:
            raise HttpError(400, f"the body must be {rtype} with id {rid!r}")
        if not _ID.match(rid):
            raise HttpError(400, f"{rid!r} is not a FHIR id")
        with self.store.transaction():
            current = self.store.get(rtype, rid)
            if rtype == "AuditEvent":
                self._check_audit_event(resource, practitioner)
                resource = {k: v for k, v in resource.items() if k != "meta"}
                return self.store.put(resource), 200 if current else 201
            if rtype != "Task":
                raise HttpError(405, f"{rtype} cannot be updated here", "not-supported")
            if current is None:
                raise HttpError(404, f"Task/{rid} is not known", "not-found")
            if not if_match:
                raise HttpError(428, "updating a Task needs If-Match (ifMatch in a Bundle)")
            version = _version_of(if_match)
            if int(current["meta"]["versionId"]) != version:
                raise HttpError(
                    412,
                    f"Task/{rid} is at version {current['meta']['versionId']}, "
                    f"If-Match asked for {version}",
                    "conflict",
                )
            if current.get("owner", {}).get("reference") != f"Practitioner/{practitioner}":
                raise HttpError(403, f"Task/{rid} is not owned by you", "forbidden")
            if current.get("status") in CLOSED_TASK_STATES:
                raise HttpError(
                    409, f"Task/{rid} is {current['status']} and can no longer change", "conflict"
                )
            status = resource.get("status")
            if status not in TASK_STATES_BY_SPECIALIST:
                raise HttpError(400, f"a specialist cannot set Task.status to {status!r}")
            updated = copy.deepcopy(current)
            updated["status"] = status
            if "output" in resource:
                for output in resource["output"]:
                    ref = output.get("valueReference", {}).get("reference", "")
                    kind, _, ref_id = ref.partition("/")
                    if kind != "DocumentReference" or self.store.get(kind, ref_id) is None:
                        raise HttpError(400, f"Task.output references unknown {ref!r}")
                updated["output"] = resource["output"]
            return self.store.put(updated), 200

    def _check_create(self, rtype: str, resource: Resource, practitioner: str) -> None:
        if rtype not in CREATABLE:
            raise HttpError(405, f"{rtype} cannot be created here", "not-supported")
        if resource.get("resourceType") != rtype:
            raise HttpError(400, f"the body must be a {rtype}")
        if rtype == "DocumentReference":
            self._check_opinion(resource, practitioner)
        elif rtype == "Provenance":
            for key in ("target", "recorded", "agent"):
                if not resource.get(key):
                    raise HttpError(400, f"Provenance.{key} is required", "required")
        else:
            self._check_audit_event(resource, practitioner)

    def _check_opinion(self, resource: Resource, practitioner: str) -> None:
        if not resource.get("subject", {}).get("reference"):
            raise HttpError(400, "DocumentReference.subject is required", "required")
        content = resource.get("content") or [{}]
        attachment = content[0].get("attachment", {})
        if "data" not in attachment:
            raise HttpError(400, "the opinion must carry its PDF in attachment.data", "required")
        try:
            data = base64.b64decode(attachment["data"], validate=True)
        except ValueError as error:
            raise HttpError(400, "attachment.data is not base64") from error
        if "size" in attachment and attachment["size"] != len(data):
            raise HttpError(400, f"attachment.size {attachment['size']} != {len(data)} bytes")
        if "hash" in attachment:
            digest = base64.b64encode(hashlib.sha1(data).digest()).decode()
            if attachment["hash"] != digest:
                raise HttpError(400, "attachment.hash is not the SHA-1 of attachment.data")
        authors = [a.get("reference") for a in resource.get("author", [])]
        if authors and f"Practitioner/{practitioner}" not in authors:
            raise HttpError(403, "the opinion's author must be the signed-in specialist")
        for relation in resource.get("relatesTo", []):
            self._check_relation(relation, resource)

    def _check_relation(self, relation: Any, resource: Resource) -> None:
        """An addendum ``appends`` to an opinion of the same patient, named by identifier
        (or reference); it is kept as sent and never touches the Task."""
        if not isinstance(relation, dict) or relation.get("code") not in RELATION_CODES:
            raise HttpError(400, f"relatesTo.code must be one of {sorted(RELATION_CODES)}")
        target = relation.get("target")
        target = target if isinstance(target, dict) else {}
        identifier = target.get("identifier")
        if isinstance(identifier, dict) and identifier.get("value"):
            token = f"{identifier.get('system', '')}|{identifier['value']}"
            found = find(self.store, "DocumentReference", [("identifier", token)])
        else:
            kind, _, rid = str(target.get("reference", "")).partition("/")
            document = self.store.get(kind, rid) if kind == "DocumentReference" else None
            found = [document] if document is not None else []
        if len(found) != 1:
            raise HttpError(400, "relatesTo.target is not a known DocumentReference", "not-found")
        if found[0].get("subject") != resource.get("subject"):
            raise HttpError(400, "relatesTo.target is about another patient")

    @staticmethod
    def _check_audit_event(resource: Resource, practitioner: str) -> None:
        for key in ("type", "recorded", "agent", "source"):
            if not resource.get(key):
                raise HttpError(400, f"AuditEvent.{key} is required", "required")
        agents = resource["agent"]
        first = agents[0] if isinstance(agents, list) and isinstance(agents[0], dict) else {}
        who = (first.get("who") or {}).get("reference")
        if who != f"Practitioner/{practitioner}":
            raise HttpError(403, "AuditEvent.agent[0].who must be the signed-in specialist")

    # --- bundles --------------------------------------------------------------------------

    def bundle(self, bundle: Resource, practitioner: str) -> Reply:
        """POST of a transaction or batch Bundle."""
        if bundle.get("resourceType") != "Bundle":
            raise HttpError(400, "POST to the base needs a Bundle")
        kind = bundle.get("type")
        entries = bundle.get("entry", [])
        if not isinstance(entries, list):
            raise HttpError(400, "Bundle.entry must be a list")
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict):
                raise HttpError(400, "each entry needs a request object")
            request = entry["request"]
            if request.get("method") not in ("POST", "PUT") or not request.get("url"):
                raise HttpError(400, "each entry needs request.method POST or PUT and a url")
            if not isinstance(entry.get("resource"), dict):
                raise HttpError(400, "each entry needs a resource")
        if kind == "transaction":
            return fhir_reply(200, self._transaction(entries, practitioner))
        if kind == "batch":
            return fhir_reply(200, self._batch(entries, practitioner))
        raise HttpError(400, "Bundle.type must be transaction or batch")

    def _transaction(self, entries: list[Resource], practitioner: str) -> Resource:
        with self.store.transaction():
            mapping: dict[str, str] = {}
            plan: list[tuple[Resource, Resource | None]] = []
            for original in entries:
                entry = original
                request = entry["request"]
                rtype = request["url"].split("/")[0].split("?")[0]
                existing = None
                if request["method"] == "POST" and request.get("ifNoneExist"):
                    existing = self.conditional_match(rtype, request["ifNoneExist"])
                full_url = entry.get("fullUrl", "")
                if request["method"] == "POST":
                    new_id = existing["id"] if existing else str(uuid.uuid4())
                    if full_url:
                        mapping[full_url] = f"{rtype}/{new_id}"
                    entry = {**entry, "resource": {**entry["resource"], "id": new_id}}
                plan.append((entry, existing))
            results = []
            for entry, existing in plan:
                request = entry["request"]
                rtype = request["url"].split("/")[0].split("?")[0]
                resource = _rewrite_references(entry["resource"], mapping)
                if existing is not None:
                    results.append(_entry_response("200 OK", self.base, existing))
                elif request["method"] == "POST":
                    if rtype not in PARAMETERS:
                        raise HttpError(404, f"unknown resource type {rtype!r}", "not-supported")
                    self._check_create(rtype, resource, practitioner)
                    created = self.store.put(resource)
                    results.append(_entry_response("201 Created", self.base, created))
                else:
                    rid = request["url"].split("/")[1] if "/" in request["url"] else ""
                    updated, status = self.update(
                        rtype, rid, resource, practitioner, request.get("ifMatch")
                    )
                    label = "201 Created" if status == 201 else "200 OK"
                    results.append(_entry_response(label, self.base, updated))
        return {"resourceType": "Bundle", "type": "transaction-response", "entry": results}

    def _batch(self, entries: list[Resource], practitioner: str) -> Resource:
        results = []
        for entry in entries:
            request = entry["request"]
            rtype = request["url"].split("/")[0].split("?")[0]
            try:
                if rtype not in PARAMETERS:
                    raise HttpError(404, f"unknown resource type {rtype!r}", "not-supported")
                if request["method"] == "POST":
                    done, status = self.create(
                        rtype, entry["resource"], practitioner, request.get("ifNoneExist")
                    )
                else:
                    rid = request["url"].split("/")[1] if "/" in request["url"] else ""
                    done, status = self.update(
                        rtype, rid, entry["resource"], practitioner, request.get("ifMatch")
                    )
                label = "201 Created" if status == 201 else "200 OK"
                results.append(_entry_response(label, self.base, done))
            except HttpError as error:
                results.append(
                    {
                        "response": {
                            "status": f"{error.status} {HTTPStatus(error.status).phrase}",
                            "outcome": outcome(error.message, error.code),
                        }
                    }
                )
        return {"resourceType": "Bundle", "type": "batch-response", "entry": results}

    # --- capability ---------------------------------------------------------------------

    def capability_statement(self) -> Resource:
        """GET metadata: what this server supports."""
        return {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-11-29",
            "kind": "instance",
            "software": {"name": "Reviewer demo server"},
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "rest": [
                {
                    "mode": "server",
                    "security": {
                        "service": [
                            {
                                "coding": [
                                    {
                                        "system": "http://terminology.hl7.org/CodeSystem/"
                                        "restful-security-service",
                                        "code": "SMART-on-FHIR",
                                    }
                                ]
                            }
                        ]
                    },
                    "resource": [
                        {
                            "type": rtype,
                            "interaction": [{"code": "read"}, {"code": "search-type"}],
                            "searchParam": [
                                {"name": name, "type": kind} for name, (kind, _) in params.items()
                            ],
                        }
                        for rtype, params in sorted(PARAMETERS.items())
                    ],
                    "interaction": [{"code": "transaction"}, {"code": "batch"}],
                }
            ],
        }


def _entry_response(status: str, base: str, resource: Resource) -> Resource:
    meta = resource["meta"]
    return {
        "response": {
            "status": status,
            "location": f"{resource['resourceType']}/{resource['id']}/_history/{meta['versionId']}",
            "etag": etag(resource),
            "lastModified": meta["lastUpdated"],
        }
    }


def _parse_json(body: bytes) -> Resource:
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise HttpError(400, f"the body is not JSON: {error}", "structure") from error
    if not isinstance(value, dict):
        raise HttpError(400, "the body must be a JSON object", "structure")
    return value


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single ``bytes=`` range; None to ignore the header."""
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None
    first, _, last = spec.strip().partition("-")
    try:
        if not first:  # suffix range: the last N bytes
            n = int(last)
            return (max(0, size - n), size - 1) if n > 0 else (size, size)
        return int(first), int(last) if last else size - 1
    except ValueError:
        return None


__all__ = ["FHIR_JSON", "Fhir"]
