"""HTTP plumbing shared by sign-in, FHIR and DICOMweb: one place for TLS, timeouts,
error mapping and the retry policy.

Everything the platform sends is untrusted, and every failure leaves here as one of the
exchange errors of :mod:`reviewer_app.errors`, never as an ``httpx`` exception, so the
sync engine and the UI only deal with our own types.
"""

from __future__ import annotations

import contextlib
import email.utils
import ipaddress
import json
import random
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpcore
import httpx

from reviewer_app.errors import (
    InsecureServerAddress,
    MalformedServerData,
    ServerError,
    ServerUnreachable,
    SignInRequired,
    SizeLimitExceeded,
    TLSFailure,
    VersionConflict,
)

T = TypeVar("T")

_LOOPBACK_NAMES = {"localhost"}


@dataclass(frozen=True)
class HttpSettings:
    """Connection settings for one platform.

    ``ca_bundle`` names a PEM file of the CA(s) that signed a platform's private
    certificate; when set, only those CAs are trusted for that platform. Verification
    itself cannot be turned off.
    """

    ca_bundle: Path | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    #: Largest JSON answer (a Bundle page, a resource) accepted.
    max_json_bytes: int = 32 * 1024 * 1024
    #: Largest Record (PDF) accepted.
    max_binary_bytes: int = 512 * 1024 * 1024
    #: Largest single DICOM instance accepted.
    max_instance_bytes: int = 1024 * 1024 * 1024
    user_agent: str = "Reviewer"

    def timeout(self) -> httpx.Timeout:
        """Timeouts for every phase of a request: no request waits forever."""
        return httpx.Timeout(
            connect=self.connect_timeout,
            read=self.read_timeout,
            write=self.read_timeout,
            pool=self.connect_timeout,
        )


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: the only places plain http is allowed."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_server_url(url: str) -> str:
    """Return ``url`` if it is an https URL (or http on this computer); raise otherwise."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return url
    raise InsecureServerAddress()


def origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lower-cased: what tokens are bound to."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin(url: str, other: str) -> bool:
    """Whether two URLs share scheme, host and port (so the same token may go to both)."""
    return origin(url) == origin(other)


def ssl_context(settings: HttpSettings) -> ssl.SSLContext | bool:
    """The TLS verification to use: the system/certifi trust store, or only the bundle."""
    if settings.ca_bundle is None:
        return True
    try:
        return ssl.create_default_context(cafile=str(settings.ca_bundle))
    except (OSError, ssl.SSLError) as exc:
        raise TLSFailure(
            "The CA bundle set for this platform could not be read.",
        ) from exc


#: Largest piece of a response body read from the socket at once.
READ_BYTES = 1024 * 1024


def _read_in_larger_pieces() -> None:
    """Have httpcore read response bodies up to :data:`READ_BYTES` at a time.

    httpcore reads an HTTP/1.1 body 64 KiB at a time, and each read is a round of Python
    in h11 plus a hand-over of the GIL, which the sync's store threads are waiting for:
    a CT series stream of 265 MB is 4,000 reads. With 1 MiB reads (a read returns less
    when less has arrived) the receiving thread's CPU fell by about a fifth and the
    imaging phase's by about 9 % (bench/sync_throughput.py). httpcore offers no setting
    for this, only the class attribute its connections read; a test checks it holds."""
    connection = httpcore.HTTP11Connection
    if getattr(connection, "READ_NUM_BYTES", READ_BYTES) < READ_BYTES:
        connection.READ_NUM_BYTES = READ_BYTES


def make_client(settings: HttpSettings, *, auth: httpx.Auth | None = None) -> httpx.Client:
    """An ``httpx.Client`` with verification on, timeouts set and no cookie jar."""
    _read_in_larger_pieces()
    return httpx.Client(
        verify=ssl_context(settings),
        timeout=settings.timeout(),
        auth=auth,
        follow_redirects=False,
        headers={"User-Agent": settings.user_agent},
        trust_env=False,
    )


def _is_tls_error(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return True
        current = current.__cause__ or current.__context__
    # httpcore re-raises ssl errors as its own type, keeping only the text.
    text = str(exc)
    return "CERTIFICATE_VERIFY_FAILED" in text or "[SSL" in text


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    """Turn transport failures into ServerUnreachable / TLSFailure."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise ServerUnreachable("The platform did not answer in time.") from exc
    except httpx.ConnectError as exc:
        if _is_tls_error(exc):
            raise TLSFailure() from exc
        raise ServerUnreachable() from exc
    except httpx.TransportError as exc:
        # Dropped connections, protocol errors mid-body: the network, not our data.
        raise ServerUnreachable("The connection to the platform was interrupted.") from exc


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Parse a Retry-After header (delta-seconds or HTTP-date) into seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def check_status(response: httpx.Response) -> None:
    """Raise the exchange error matching an unsuccessful status; return for 2xx."""
    status = response.status_code
    if 200 <= status < 300:
        return
    if status == 401:
        raise SignInRequired()
    if status == 412:
        raise VersionConflict()
    raise ServerError(status, retry_after_seconds(response.headers.get("Retry-After")))


def check_declared_size(response: httpx.Response, what: str, limit: int) -> None:
    """Refuse a body whose Content-Length is above ``limit`` before reading any of it."""
    declared = response.headers.get("Content-Length")
    if declared is None:
        return
    if not declared.strip().isdigit():
        raise MalformedServerData(what, "Content-Length", "not a number")
    size = int(declared)
    if size > limit:
        raise SizeLimitExceeded(what, size, limit)


def read_json(response: httpx.Response, what: str, limit: int) -> dict[str, Any]:
    """Read a streamed response body as one JSON object, never more than ``limit`` bytes."""
    check_declared_size(response, what, limit)
    body = bytearray()
    with translate_errors():
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > limit:
                raise SizeLimitExceeded(what, len(body), limit)
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedServerData(what, "body", "not JSON") from exc
    if not isinstance(data, dict):
        raise MalformedServerData(what, "body", "not a JSON object")
    return data


# --- retry ------------------------------------------------------------------------------


def is_retryable(exc: BaseException) -> bool:
    """Failures worth another try: the network, timeouts, 5xx and 429."""
    if isinstance(exc, TLSFailure):
        return False
    if isinstance(exc, ServerUnreachable):
        return True
    if isinstance(exc, ServerError):
        return exc.status == 429 or exc.status >= 500
    return False


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter (AWS architecture blog, 2015).

    Attempt ``n`` (0-based) waits a uniform random time in ``[0, min(cap, base * 2**n)]``,
    or at least what the server asked with Retry-After (bounded by ``max_retry_after``).
    ``rng`` and ``sleep`` are injectable so tests are deterministic and instant.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 300.0
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int, exc: BaseException | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        wait = self.rng.uniform(0.0, ceiling)
        if isinstance(exc, ServerError) and exc.retry_after is not None:
            wait = max(wait, min(exc.retry_after, self.max_retry_after))
        return wait

    def run(self, operation: Callable[[], T]) -> T:
        """Call ``operation`` until it succeeds, fails for good, or attempts run out."""
        attempt = 0
        while True:
            try:
                return operation()
            except Exception as exc:
                attempt += 1
                if attempt >= self.max_attempts or not is_retryable(exc):
                    raise
                self.sleep(self.delay(attempt - 1, exc))
