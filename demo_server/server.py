"""The HTTP side of the demo server: one ThreadingHTTPServer on 127.0.0.1 speaking
HTTP/1.1 with keep-alive, routing to OAuth, FHIR, DICOMweb and admin handlers, and the
one place where faults touch the socket.

``start()`` runs it in a background thread for tests and ``--demo``.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from demo_server import loader
from demo_server.admin import Admin
from demo_server.ca import CertificateAuthority, account_for
from demo_server.dicomweb import DicomWeb
from demo_server.faults import Faults
from demo_server.fhir import Fhir
from demo_server.oauth import OAuth
from demo_server.reply import HttpError, Reply, fhir_reply, json_reply, outcome
from demo_server.store import Store

log = logging.getLogger("demo_server")
HOST = "127.0.0.1"
MAX_BODY = 256 * 1024 * 1024


@dataclass(frozen=True)
class Config:
    """How a server instance is set up."""

    storage: Path
    seed: int = 1
    cases: int = 12
    ct_slices: int = 220
    dicomweb: str | None = None
    access_token_lifetime: float = 300.0
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    unassigned: int = 0
    omit_instances: bool = False
    retention_days: int = loader.DEFAULT_RETENTION_DAYS


class App:
    """Everything behind the socket: store, handlers and faults."""

    def __init__(self, config: Config, base_url: str) -> None:
        self.config = config
        self.base_url = base_url
        config.storage.mkdir(parents=True, exist_ok=True)
        self.store = Store(config.storage / "demo-server.sqlite3")
        self.oauth = OAuth(self.store, base_url, config.access_token_lifetime)
        self.fhir = Fhir(self.store, f"{base_url}/fhir")
        self.dicomweb = DicomWeb(self.store, f"{base_url}/dicomweb", self._render)
        self.faults = Faults()
        self.admin = Admin(self.store, self.faults, self.reset)
        # Kept in its own folder: a reset reloads the cases but keeps the CA and the
        # certificates it issued, as a platform would.
        self.ca = CertificateAuthority(config.storage / "ca", base_url)
        self._specs: dict[str, Any] = {}
        self._specs_ready = threading.Event()
        self._spec_thread: threading.Thread | None = None
        self._ensure_loaded()

    @property
    def dicomweb_address(self) -> str:
        """Where ImagingStudy endpoints point."""
        return self.config.dicomweb or f"{self.base_url}/dicomweb"

    def _wanted(self) -> dict[str, Any]:
        c = self.config
        return {
            "seed": c.seed,
            "cases": c.cases,
            "ct_slices": c.ct_slices,
            "external": c.dicomweb is not None,
            "dicomweb": self.dicomweb_address if c.dicomweb else None,
            "unassigned": c.unassigned,
            "omit_instances": c.omit_instances,
        }

    def _ensure_loaded(self) -> None:
        loaded = self.store.get_meta("loaded")
        previous = json.loads(loaded) if loaded else None
        if previous is not None:
            previous["dicomweb"] = previous["dicomweb"] if previous["external"] else None
        if previous == self._wanted():
            # Keep the state (assignments, uploads); rebuild only the lazy renderers, in the
            # background so a restart serves FHIR at once.
            self._spec_thread = threading.Thread(
                target=self._rebuild_specs, name="demo-specs", daemon=True
            )
            self._spec_thread.start()
            endpoint = self.store.get("Endpoint", loader.ENDPOINT_ID)
            if endpoint is None or endpoint["address"] != self.dicomweb_address:
                self.store.put(loader.endpoint_resource(self.dicomweb_address))
        else:
            self.reset()

    def close(self) -> None:
        """Wait for background work and close the store."""
        if self._spec_thread is not None:
            self._spec_thread.join(timeout=300)
        self.store.close()

    def _rebuild_specs(self) -> None:
        c = self.config
        try:
            bundles = loader.generate(c.seed, c.cases, c.ct_slices)
            self._specs = {s.sop_instance_uid: s for b in bundles for s in b.instances}
        finally:
            # Even on failure: _render then answers 404 instead of waiting.
            self._specs_ready.set()

    def reset(self) -> None:
        """Forget all state and load the cases afresh."""
        with self.store.lock:
            self.store.clear()
            self._specs = loader.load(
                self.store,
                seed=self.config.seed,
                cases=self.config.cases,
                ct_slices=self.config.ct_slices,
                dicomweb_address=self.dicomweb_address,
                external=self.config.dicomweb is not None,
                unassigned=self.config.unassigned,
                omit_instances=self.config.omit_instances,
                retention_days=self.config.retention_days,
            )
            self._specs_ready.set()

    def _render(self, sop_uid: str) -> bytes:
        self._specs_ready.wait(timeout=300)
        spec = self._specs.get(sop_uid)
        if spec is None:
            raise HttpError(404, "no such instance", "not-found")
        return bytes(spec.render())

    # --- routing ------------------------------------------------------------------------

    def dispatch(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        """Route one request; ``headers`` have lower-case names."""
        split = urlsplit(target)
        parts = [unquote(p) for p in split.path.split("/") if p]
        query = parse_qsl(split.query, keep_blank_values=True)
        try:
            return self._route(method, parts, query, headers, body)
        except HttpError as error:
            return error.reply()

    def _route(
        self,
        method: str,
        parts: list[str],
        query: list[tuple[str, str]],
        headers: dict[str, str],
        body: bytes,
    ) -> Reply:
        if parts[-2:] == [".well-known", "smart-configuration"] and parts[:-2] in ([], ["fhir"]):
            return json_reply(200, {**self.oauth.configuration(), **self.ca.discovery()})
        head = parts[0] if parts else ""
        if parts[:2] == [".well-known", "est"] and len(parts) == 3:
            return self._est(method, parts[2], headers, body)
        if parts == ["crl"] and method == "GET":
            return self.ca.crl()
        if parts == ["tsa"] and method == "POST":
            return self.ca.timestamp(body, headers.get("content-type", ""))
        if head == "oauth" and len(parts) == 2:
            form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            if parts[1] == "authorize" and method == "GET":
                return self.oauth.authorize_page(dict(query))
            if parts[1] == "authorize" and method == "POST":
                return self.oauth.authorize_submit(form)
            if parts[1] == "token" and method == "POST":
                return self.oauth.token(form)
            if parts[1] == "revoke" and method == "POST":
                return self.oauth.revoke(form)
            raise HttpError(405, "unsupported OAuth request", "not-supported")
        if head == "admin":
            given = headers.get("authorization", "")
            if not hmac.compare_digest(
                given.encode(), f"Bearer {self.config.admin_token}".encode()
            ):
                raise HttpError(401, "the admin endpoint needs the admin token", "login")
            return self.admin.handle(method, parts[1:], body)
        if head == "fhir" and parts[1:] == ["metadata"] and method == "GET":
            return fhir_reply(200, self.fhir.capability_statement())
        if head in ("fhir", "dicomweb"):
            authorization = headers.get("authorization")
            practitioner = self.oauth.practitioner_for(authorization)
            if practitioner is None:
                raise HttpError(
                    401,
                    "a valid bearer token is required",
                    "login",
                    OAuth.challenge(authorization is not None),
                )
            if head == "fhir":
                return self.fhir.handle(
                    method, parts[1:], query, headers=headers, body=body, practitioner=practitioner
                )
            return self.dicomweb.handle(method, parts[1:], query, headers)
        raise HttpError(404, "not found", "not-found")

    def _est(self, method: str, operation: str, headers: dict[str, str], body: bytes) -> Reply:
        """Certificate enrollment (docs/exchange.md §10)."""
        if operation == "cacerts" and method == "GET":
            return self.ca.cacerts()
        if operation != "simpleenroll" or method != "POST":
            raise HttpError(404, "not found", "not-found")
        authorization = headers.get("authorization")
        practitioner = self.oauth.practitioner_for(authorization)
        if practitioner is None:
            raise HttpError(
                401,
                "a valid bearer token is required",
                "login",
                OAuth.challenge(bool(authorization)),
            )
        return self.ca.simpleenroll(body, account_for(practitioner))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, the second one waits
    # for a delayed ACK (~40 ms per request on keep-alive connections).
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _serve(self) -> None:
        app = self.server.app
        headers = {k.lower(): v for k, v in self.headers.items()}
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._send(Reply(411, {"Content-Type": "text/plain"}, b"send Content-Length"), None)
            return
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._send(Reply(400, {"Content-Type": "text/plain"}, b"bad Content-Length"), None)
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        drop = None
        if not path.startswith("/admin"):
            decision = app.faults.decide(path)
            if decision.latency_ms:
                time.sleep(decision.latency_ms / 1000)
            if decision.error_status is not None:
                reply = fhir_reply(
                    decision.error_status,
                    outcome("injected fault", "transient"),
                    {"Retry-After": "1"},
                )
                self._send(reply, None)
                return
            drop = decision.drop_after_bytes
        try:
            reply = app.dispatch(self.command, self.path, headers, body)
        except Exception:
            # Never echo details (they could carry case data); the log has the traceback.
            log.exception("internal error on %s %s", self.command, path)
            reply = fhir_reply(500, outcome("internal server error", "exception"))
        self._send(reply, drop)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def _send(self, reply: Reply, drop_after: int | None) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        chunks: Iterable[bytes]
        if isinstance(reply.body, bytes | bytearray):
            chunked = False
            chunks = [bytes(reply.body)]
            self.send_header("Content-Length", str(len(reply.body)))
        else:
            chunked = True
            chunks = reply.body
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sent = 0
        for chunk in chunks:
            if drop_after is not None and sent + len(chunk) > drop_after:
                self._write(chunk[: drop_after - sent], chunked)
                self._drop()
                return
            self._write(chunk, chunked)
            sent += len(chunk)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _write(self, data: bytes, chunked: bool) -> None:
        if not data:
            return
        if chunked:
            self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        else:
            self.wfile.write(data)

    def _drop(self) -> None:
        """Cut the connection mid-body, as a failing network would."""
        self.wfile.flush()
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    app: App


@dataclass
class RunningServer:
    """A server running in a background thread."""

    base_url: str
    admin_token: str
    app: App
    _server: _Server
    _thread: threading.Thread
    _tempdir: Path | None

    @property
    def fhir_base(self) -> str:
        """The FHIR base URL (what the app is configured with)."""
        return f"{self.base_url}/fhir"

    def stop(self) -> None:
        """Stop serving, close the store, remove a temporary storage directory."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self.app.close()
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)


def bind(port: int) -> _Server:
    """A server socket on 127.0.0.1 (port 0: any free port)."""
    return _Server((HOST, port), _Handler, bind_and_activate=True)


def start(
    port: int = 0,
    cases: int = 3,
    seed: int = 1,
    storage: Path | str | None = None,
    dicomweb: str | None = None,
    *,
    ct_slices: int = 220,
    access_token_lifetime: float = 300.0,
    admin_token: str | None = None,
    unassigned: int = 0,
    omit_instances: bool = False,
    retention_days: int = loader.DEFAULT_RETENTION_DAYS,
) -> RunningServer:
    """Start a demo server in a background thread and return once it accepts requests."""
    tempdir = None
    if storage is None:
        tempdir = Path(tempfile.mkdtemp(prefix="demo-server-"))
        storage = tempdir
    httpd = bind(port)
    base_url = f"http://{HOST}:{httpd.server_address[1]}"
    config = Config(
        storage=Path(storage),
        seed=seed,
        cases=cases,
        ct_slices=ct_slices,
        dicomweb=dicomweb,
        access_token_lifetime=access_token_lifetime,
        admin_token=admin_token or secrets.token_urlsafe(24),
        unassigned=unassigned,
        omit_instances=omit_instances,
        retention_days=retention_days,
    )
    try:
        httpd.app = App(config, base_url)
    except BaseException:
        httpd.server_close()
        if tempdir is not None:
            shutil.rmtree(tempdir, ignore_errors=True)
        raise
    thread = threading.Thread(target=httpd.serve_forever, name="demo-server", daemon=True)
    thread.start()
    return RunningServer(base_url, config.admin_token, httpd.app, httpd, thread, tempdir)
