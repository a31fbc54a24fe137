"""What a handler answers: status, headers and a body, plus the FHIR error shape.

Handlers in ``fhir``, ``dicomweb``, ``oauth`` and ``admin`` return a Reply; only
``server`` touches sockets, which keeps fault injection in one place.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

FHIR_JSON = "application/fhir+json; fhirVersion=4.0; charset=utf-8"


@dataclass
class Reply:
    """An HTTP response. A body that is an iterable of chunks is sent chunked."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Iterable[bytes] = b""


class HttpError(Exception):
    """Raised by handlers to answer with an OperationOutcome (or OAuth error)."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str = "invalid",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}

    def reply(self) -> Reply:
        """The OperationOutcome for this error."""
        return fhir_reply(self.status, outcome(self.message, self.code), self.headers)


def outcome(message: str, code: str = "invalid", severity: str = "error") -> dict[str, Any]:
    """An OperationOutcome with one issue."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": message}],
    }


def fhir_reply(
    status: int, resource: dict[str, Any], headers: dict[str, str] | None = None
) -> Reply:
    """A FHIR JSON response."""
    body = json.dumps(resource, separators=(",", ":")).encode()
    return Reply(status, {"Content-Type": FHIR_JSON, **(headers or {})}, body)


def json_reply(status: int, data: Any, headers: dict[str, str] | None = None) -> Reply:
    """A plain JSON response (OAuth, admin, QIDO set their own content type)."""
    body = json.dumps(data, separators=(",", ":")).encode()
    return Reply(status, {"Content-Type": "application/json", **(headers or {})}, body)
