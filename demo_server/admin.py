"""The admin endpoint (``/admin/…``): what the platform's staff would do to cases
(assign, withdraw, reassign, change), fault injection for tests, and a look at what
clients sent (AuditEvents, opinions). Guarded by the admin token; loopback only.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from demo_server.accounts import ACCOUNTS
from demo_server.faults import Fault, Faults
from demo_server.reply import HttpError, Reply, json_reply
from demo_server.store import Store

Resource = dict[str, Any]


class Admin:
    """Handles every request under ``/admin``."""

    def __init__(self, store: Store, faults: Faults, reset: Callable[[], None]) -> None:
        self.store = store
        self.faults = faults
        self._reset = reset

    def handle(self, method: str, parts: list[str], body: bytes) -> Reply:
        """Answer one admin request (the token was already checked)."""
        route = (method, "/".join(parts))
        data: dict[str, Any] = {}
        if body:
            try:
                data = json.loads(body)
            except json.JSONDecodeError as error:
                raise HttpError(400, "admin requests take a JSON object") from error
            if not isinstance(data, dict):
                raise HttpError(400, "admin requests take a JSON object")
        if route == ("GET", "cases"):
            return json_reply(200, [self._summary(t) for t in self.store.all("Task")])
        if route == ("POST", "assign"):
            return json_reply(200, self.assign(_case(data), data.get("practitioner", "spec-1")))
        if route == ("POST", "withdraw"):
            reason = str(data.get("reason", "Withdrawn by the platform"))
            return json_reply(200, self.withdraw(_case(data), reason))
        if route == ("POST", "reassign"):
            if "practitioner" not in data:
                raise HttpError(400, "reassign needs practitioner")
            return json_reply(200, self.reassign(_case(data), data["practitioner"]))
        if route == ("POST", "touch"):
            return json_reply(200, self.touch(_case(data)))
        if route == ("GET", "faults"):
            return json_reply(200, self.faults.describe())
        if route == ("POST", "faults"):
            try:
                self.faults.add(Fault.from_json(data))
            except (TypeError, ValueError) as error:
                raise HttpError(400, f"bad fault: {error}") from error
            return json_reply(200, self.faults.describe())
        if route == ("DELETE", "faults"):
            self.faults.clear()
            return json_reply(200, [])
        if route == ("GET", "audit-events"):
            return json_reply(200, self.store.all("AuditEvent"))
        if route == ("GET", "opinions"):
            return json_reply(
                200,
                [_without_data(d) for d in self.store.all("DocumentReference") if _is_opinion(d)],
            )
        if route == ("GET", "provenances"):
            return json_reply(200, self.store.all("Provenance"))
        if route == ("POST", "reset"):
            self._reset()
            return json_reply(200, {"reset": True})
        raise HttpError(404, f"no admin command {method} /admin/{route[1]}", "not-found")

    # --- case changes -------------------------------------------------------------------

    def task(self, case: str) -> Resource:
        """The Task of a case, by Task id or case key (``SYN-0003``)."""
        found = self.store.get("Task", case)
        if found is not None:
            return found
        for task in self.store.all("Task"):
            if case in [i.get("value") for i in task.get("identifier", [])]:
                return task
        raise HttpError(404, f"no case {case!r}", "not-found")

    def assign(self, case: str, practitioner: str) -> dict[str, Any]:
        """Give an unowned (or withdrawn) case to a specialist; it becomes requested."""
        with self.store.transaction():
            task = self.task(case)
            owner = task.get("owner", {}).get("reference")
            if owner and task.get("status") != "cancelled" and owner != _ref(practitioner):
                raise HttpError(409, f"{case} is owned by {owner}; use reassign", "conflict")
            updated = copy.deepcopy(task)
            updated["owner"] = _owner(practitioner)
            updated["status"] = "requested"
            updated.pop("statusReason", None)
            return self._summary(self.store.put(updated))

    def withdraw(self, case: str, reason: str) -> dict[str, Any]:
        """Withdraw a case: the Task is cancelled (it stays owned, so clients see it)."""
        with self.store.transaction():
            updated = copy.deepcopy(self.task(case))
            updated["status"] = "cancelled"
            updated["statusReason"] = {"text": reason}
            return self._summary(self.store.put(updated))

    def reassign(self, case: str, practitioner: str) -> dict[str, Any]:
        """Move a case to another specialist."""
        with self.store.transaction():
            task = self.task(case)
            if task.get("owner", {}).get("reference") == _ref(practitioner):
                raise HttpError(409, f"{case} is already owned by {practitioner}", "conflict")
            updated = copy.deepcopy(task)
            updated["owner"] = _owner(practitioner)
            return self._summary(self.store.put(updated))

    def touch(self, case: str) -> dict[str, Any]:
        """Change a case without changing its meaning (a new version, e.g. a corrected
        due date would do the same), so clients can meet a version clash."""
        with self.store.transaction():
            updated = copy.deepcopy(self.task(case))
            notes = updated.setdefault("note", [])
            notes.append({"text": f"Updated by the platform (revision {len(notes) + 1})."})
            return self._summary(self.store.put(updated))

    @staticmethod
    def _summary(task: Resource) -> dict[str, Any]:
        identifiers = task.get("identifier", [])
        return {
            "case": identifiers[0].get("value") if identifiers else None,
            "task": task["id"],
            "status": task.get("status"),
            "owner": task.get("owner", {}).get("reference"),
            "version": task["meta"]["versionId"],
            "lastUpdated": task["meta"]["lastUpdated"],
        }


def _case(data: dict[str, Any]) -> str:
    case = data.get("case")
    if not isinstance(case, str) or not case:
        raise HttpError(400, "the request needs case (a Task id or a case key)")
    return case


def _ref(practitioner: str) -> str:
    return f"Practitioner/{practitioner}"


def _owner(practitioner: str) -> dict[str, str]:
    account = next((a for a in ACCOUNTS if a.practitioner_id == practitioner), None)
    if account is None:
        known = ", ".join(a.practitioner_id for a in ACCOUNTS)
        raise HttpError(400, f"unknown practitioner {practitioner!r} (known: {known})")
    return {"reference": _ref(practitioner), "display": account.display}


def _is_opinion(document: Resource) -> bool:
    """A consult note written by a demo specialist (the records also hold consult notes,
    by the referring doctors)."""
    codings = document.get("type", {}).get("coding", [])
    authors = {a.get("reference") for a in document.get("author", [])}
    specialists = {_ref(a.practitioner_id) for a in ACCOUNTS}
    return bool(authors & specialists) and any(
        c.get("system") == "http://loinc.org" and c.get("code") == "11488-4" for c in codings
    )


def _without_data(document: Resource) -> Resource:
    trimmed = copy.deepcopy(document)
    for content in trimmed.get("content", []):
        content.get("attachment", {}).pop("data", None)
    return trimmed
