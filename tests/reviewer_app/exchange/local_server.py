"""A tiny scripted HTTP server on 127.0.0.1 for protocol edge cases.

The reference server answers correctly; these tests need a server that answers
*wrongly* on purpose (malformed JSON, lying sizes, non-DICOM parts), so each test
registers the exact bytes to send for a path.
"""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Answer:
    """What to send back: status, headers, body (a bytes or a list of chunks)."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | list[bytes] = b""
    #: Close the connection after this many body bytes (a dropped download).
    drop_after: int | None = None
    #: Send no Content-Length (close-delimited body).
    no_length: bool = False


Route = Callable[["Handler"], Answer]


class Handler(http.server.BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        self.server.requests.append((self.command, self.path, dict(self.headers)))
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        route = self.server.routes.get(urlsplit(self.path).path)
        answer = route(self) if route else Answer(404, body=b"{}")
        chunks = answer.body if isinstance(answer.body, list) else [answer.body]
        total = sum(len(c) for c in chunks)
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if answer.no_length:
            self.send_header("Connection", "close")
            self.close_connection = True
        elif "Content-Length" not in answer.headers:
            self.send_header("Content-Length", str(total))
        self.end_headers()
        sent = 0
        for chunk in chunks:
            if answer.drop_after is not None and sent + len(chunk) > answer.drop_after:
                self.wfile.write(chunk[: answer.drop_after - sent])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(chunk)
            sent += len(chunk)
        self.wfile.flush()

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, format: str, *args: object) -> None:
        return


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    @property
    def base(self) -> str:
        scheme = "https" if isinstance(self.socket, ssl.SSLSocket) else "http"
        return f"{scheme}://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients that stop reading (a refused download) reset the connection: expected.
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]

    def route(self, path: str, answer: Answer | Route) -> None:
        self.routes[path] = answer if callable(answer) else (lambda _h, a=answer: a)


@contextmanager
def serve(tls: ssl.SSLContext | None = None) -> Iterator[Server]:
    """Run a scripted server in a thread for the duration of the block."""
    server = Server()
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
