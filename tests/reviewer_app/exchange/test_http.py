"""TLS verification (with a private CA bundle), timeouts, status mapping and the
retry policy, against real HTTP(S) servers on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import ipaddress
import random
import socket
import ssl
import threading
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

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
from reviewer_app.exchange.http import (
    READ_BYTES,
    HttpSettings,
    RetryPolicy,
    check_server_url,
    check_status,
    make_client,
    read_json,
    retry_after_seconds,
    translate_errors,
)
from tests.reviewer_app.exchange.local_server import Answer, serve


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _make_ca_and_server_cert(folder: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1 signed by it."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Reviewer test CA"))
        .issuer_name(_name("Reviewer test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "server.pem", folder / "key.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_path, cert_path, key_path


def test_private_ca_bundle_is_trusted_and_nothing_else(tmp_path: Path) -> None:
    ca, cert, key = _make_ca_and_server_cert(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with serve(tls) as server:
        server.route("/fhir/metadata", Answer(body=b'{"resourceType": "CapabilityStatement"}'))
        url = server.base + "/fhir/metadata"
        with make_client(HttpSettings(ca_bundle=ca)) as client, translate_errors():
            response = client.get(url)
            assert response.json() == {"resourceType": "CapabilityStatement"}
        # Without the bundle the platform's private CA is unknown: refused.
        with make_client(HttpSettings()) as client, pytest.raises(TLSFailure), translate_errors():
            client.get(url)
        # Another CA's bundle does not help either.
        (tmp_path / "other").mkdir()
        other, _, _ = _make_ca_and_server_cert(tmp_path / "other")
        with (
            make_client(HttpSettings(ca_bundle=other)) as client,
            pytest.raises(TLSFailure),
            translate_errors(),
        ):
            client.get(url)


def test_bodies_are_read_in_pieces_larger_than_httpcores_64_kib() -> None:
    body = bytes(range(256)) * (8 * 4096)  # 8 MiB
    with serve() as server:
        server.route("/big", Answer(body=body))
        with (
            make_client(HttpSettings()) as client,
            client.stream("GET", server.base + "/big") as response,
        ):
            time.sleep(0.3)  # let the socket fill: a read then takes what is there
            pieces = [len(piece) for piece in response.iter_raw()]
    assert sum(pieces) == len(body)
    assert max(pieces) > 64 * 1024
    assert max(pieces) <= READ_BYTES


def test_unreadable_ca_bundle(tmp_path: Path) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate")
    with pytest.raises(TLSFailure):
        make_client(HttpSettings(ca_bundle=bogus))
    with pytest.raises(TLSFailure):
        make_client(HttpSettings(ca_bundle=tmp_path / "missing.pem"))


def test_refused_connection_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port any more.
    with (
        make_client(HttpSettings()) as client,
        pytest.raises(ServerUnreachable),
        translate_errors(),
    ):
        client.get(f"http://127.0.0.1:{port}/")


def test_silent_server_times_out() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]))
    thread.start()
    settings = HttpSettings(connect_timeout=1.0, read_timeout=0.3)
    started = time.monotonic()
    try:
        with (
            make_client(settings) as client,
            pytest.raises(ServerUnreachable, match="in time"),
            translate_errors(),
        ):
            client.get(f"http://127.0.0.1:{listener.getsockname()[1]}/")
    finally:
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, SignInRequired), (412, VersionConflict), (404, ServerError), (503, ServerError)],
)
def test_status_mapping(status: int, error: type[Exception]) -> None:
    with serve() as server:
        server.route("/x", Answer(status, {"Retry-After": "7"}, b"{}"))
        with make_client(HttpSettings()) as client:
            response = client.get(server.base + "/x")
    with pytest.raises(error) as caught:
        check_status(response)
    if isinstance(caught.value, ServerError):
        assert caught.value.status == status
        assert caught.value.retry_after == 7.0


def test_read_json_limits_and_shapes() -> None:
    with serve() as server:
        server.route("/big", Answer(body=b"{}", headers={"Content-Length": "999999999"}))
        server.route("/long", Answer(body=[b'{"a": "', b"x" * 5000, b'"}'], no_length=True))
        server.route("/bad", Answer(body=b"{not json"))
        server.route("/list", Answer(body=b"[1, 2]"))
        server.route("/ok", Answer(body=b'{"a": 1}'))
        with make_client(HttpSettings()) as client:

            def get(path: str) -> dict[str, object]:
                with client.stream("GET", server.base + path) as response:
                    return read_json(response, "Bundle", 1000)

            with pytest.raises(SizeLimitExceeded):
                get("/big")
            with pytest.raises(SizeLimitExceeded):
                get("/long")
            with pytest.raises(MalformedServerData, match="not JSON"):
                get("/bad")
            with pytest.raises(MalformedServerData, match="not a JSON object"):
                get("/list")
            assert get("/ok") == {"a": 1}


@pytest.mark.parametrize(
    "url",
    ["http://platform.example.org/fhir", "ftp://127.0.0.1/", "https:///nohost", "file:///etc"],
)
def test_only_https_or_loopback(url: str) -> None:
    with pytest.raises(InsecureServerAddress):
        check_server_url(url)


@pytest.mark.parametrize(
    "url", ["https://platform.example.org/fhir", "http://127.0.0.1:8080/fhir", "http://[::1]:1/"]
)
def test_allowed_addresses(url: str) -> None:
    assert check_server_url(url) == url


def test_retry_after_parsing() -> None:
    now = 1_800_000_000.0
    assert retry_after_seconds("120") == 120.0
    http_date = "Fri, 15 Jan 2027 08:00:30 GMT"
    when = dt.datetime(2027, 1, 15, 8, 0, 30, tzinfo=dt.UTC).timestamp()
    assert retry_after_seconds(http_date, now=when - 30) == 30.0
    assert retry_after_seconds(http_date, now=when + 30) == 0.0
    assert retry_after_seconds("soon", now=now) is None
    assert retry_after_seconds(None) is None


class _Flaky:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "done"


def test_backoff_is_full_jitter_with_exponential_ceiling() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(
        max_attempts=6, base_delay=1.0, max_delay=8.0, rng=random.Random(42), sleep=sleeps.append
    )
    op = _Flaky([ServerUnreachable()] * 5)
    assert policy.run(op) == "done"
    assert op.calls == 6
    ceilings = [1.0, 2.0, 4.0, 8.0, 8.0]
    expected_rng = random.Random(42)
    assert sleeps == [expected_rng.uniform(0.0, c) for c in ceilings]
    assert all(0.0 <= s <= c for s, c in zip(sleeps, ceilings, strict=True))


def test_retry_after_is_honoured_but_bounded() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(
        base_delay=0.1, max_retry_after=60.0, rng=random.Random(1), sleep=sleeps.append
    )
    op = _Flaky([ServerError(429, retry_after=20.0), ServerError(503, retry_after=3600.0)])
    assert policy.run(op) == "done"
    assert sleeps == [20.0, 60.0]


@pytest.mark.parametrize(
    "error",
    [
        ServerError(404),
        ServerError(400),
        VersionConflict(),
        SignInRequired(),
        TLSFailure(),
        MalformedServerData("Task", "id", "bad"),
    ],
)
def test_permanent_failures_are_not_retried(error: Exception) -> None:
    sleeps: list[float] = []
    op = _Flaky([error])
    with pytest.raises(type(error)):
        RetryPolicy(sleep=sleeps.append).run(op)
    assert op.calls == 1
    assert sleeps == []


def test_attempts_run_out() -> None:
    sleeps: list[float] = []
    op = _Flaky([ServerError(502)] * 10)
    with pytest.raises(ServerError):
        RetryPolicy(max_attempts=3, rng=random.Random(0), sleep=sleeps.append).run(op)
    assert op.calls == 3
    assert len(sleeps) == 2


def test_client_has_timeouts_and_verification() -> None:
    with make_client(HttpSettings(connect_timeout=3, read_timeout=9)) as client:
        assert client.timeout.connect == 3
        assert client.timeout.read == 9
        assert isinstance(client, httpx.Client)
