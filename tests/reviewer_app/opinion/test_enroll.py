"""Enrollment against the reference server over real HTTP: a CSR goes out, a chain comes
back, and the private key never leaves this computer."""

from __future__ import annotations

import base64

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from demo_server.server import RunningServer
from reviewer_app.errors import EnrollmentFailed, SignInRequired
from reviewer_app.exchange import MemoryTokenStore, PlatformSession
from reviewer_app.exchange.http import HttpSettings, make_client
from reviewer_app.opinion import Enrollment, PlatformPki, discover_pki, enroll, new_private_key


def test_discovery_finds_the_platform_pki(pki_server: RunningServer) -> None:
    with make_client(HttpSettings()) as client:
        pki = discover_pki(client, pki_server.fhir_base)
    assert pki == PlatformPki(
        est=f"{pki_server.base_url}/.well-known/est",
        tsa=f"{pki_server.base_url}/tsa",
        crl=f"{pki_server.base_url}/crl",
    )


def test_enrollment_returns_the_chain_to_the_platform_ca(enrollment: Enrollment) -> None:
    leaf, root = enrollment.chain
    leaf.verify_directly_issued_by(root)
    root.verify_directly_issued_by(root)
    assert enrollment.platform_ca == (root,)
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "Dr Demo Specialist"
    )
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment


def test_private_key_never_leaves_the_computer(
    pki_server: RunningServer, platform: PlatformSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, str, bytes]] = []
    dispatch = pki_server.app.dispatch

    def recording(method: str, target: str, headers: dict[str, str], body: bytes) -> object:
        seen.append((method, target, body))
        return dispatch(method, target, headers, body)

    monkeypatch.setattr(pki_server.app, "dispatch", recording)
    key = new_private_key()
    result = enroll(platform, key, common_name="Dr Demo Specialist")
    assert result.chain[0].public_key() == key.public_key()

    secret = key.private_numbers().private_value.to_bytes(32, "big")
    pkcs8 = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    forms = [
        secret,
        pkcs8,
        secret.hex().encode(),
        base64.b64encode(secret),
        base64.b64encode(pkcs8),
    ]
    assert seen, "no request reached the server"
    for _method, _target, body in seen:
        for form in forms:
            assert form not in body
    posts = [body for method, target, body in seen if target.endswith("/simpleenroll")]
    assert len(posts) == 1
    csr = x509.load_der_x509_csr(base64.b64decode(posts[0]))
    assert csr.is_signature_valid
    assert csr.public_key() == key.public_key()


def test_enrollment_without_sign_in_asks_to_sign_in(pki_server: RunningServer) -> None:
    with (
        PlatformSession(pki_server.fhir_base, MemoryTokenStore()) as session,
        pytest.raises(SignInRequired),
    ):
        enroll(session, new_private_key(), common_name="x")


def test_a_refused_request_is_enrollment_failed(
    pki_server: RunningServer, platform: PlatformSession
) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    # The platform accepts P-256 and P-384 only.
    with pytest.raises(EnrollmentFailed):
        enroll(platform, ec.generate_private_key(ec.SECP521R1()), common_name="x")
